import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Dependency hygiene of the workspace, read from the files themselves: every package.json
 * declares only what its package imports (or runs), a dependency shared by several packages has
 * one range — the pnpm catalog's (`catalog:`, pnpm-workspace.yaml) — and the two pins the code
 * relies on hold (exceljs exactly, one `@bull-board/api`).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

type DependencyField = 'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies';
const FIELDS: DependencyField[] = ['dependencies', 'devDependencies', 'optionalDependencies'];

interface Manifest {
  name: string;
  scripts?: Record<string, string>;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface WorkspacePackage {
  /** Directory relative to the root ('' for the root itself). */
  dir: string;
  manifest: Manifest;
}

/**
 * Declared on purpose though no file of the package imports it; each reason names the file that
 * uses it, and the test checks that the file still mentions it.
 */
const USED_WITHOUT_IMPORT: Record<string, Record<string, { file: string; mentions: string }>> = {
  '@pksync/api': {
    // The API bench runs autocannon's binary from the API's own node_modules.
    autocannon: { file: 'scripts/bench/api.bench.ts', mentions: 'services/api/node_modules/autocannon/' },
  },
};

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** The workspace's packages, as pnpm-workspace.yaml lists them (globs of one `*`), and the root. */
function workspacePackages(): WorkspacePackage[] {
  const yaml = readFileSync(path.join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^packages:\n((?:[ \t]+-.*\n?)+)/m.exec(yaml)?.[1] ?? '';
  const dirs = [...block.matchAll(/-\s*['"]?([^'"\n]+?)['"]?\s*$/gm)].flatMap(([, glob]) => {
    if (!glob!.endsWith('/*')) return [glob!];
    const parent = glob!.slice(0, -2);
    return readdirSync(path.join(ROOT, parent), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${parent}/${e.name}`);
  });
  return ['', ...dirs]
    .filter((dir) => existsSync(path.join(ROOT, dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readJson<Manifest>(path.join(ROOT, dir, 'package.json')) }));
}

/** The default catalog of pnpm-workspace.yaml: name → range. */
function catalog(): Map<string, string> {
  const yaml = readFileSync(path.join(ROOT, 'pnpm-workspace.yaml'), 'utf8');
  const block = /^catalog:\n((?:[ \t]+.*\n?)+)/m.exec(yaml)?.[1] ?? '';
  return new Map(
    [...block.matchAll(/^[ \t]+['"]?([^'":\s]+)['"]?:\s*['"]?([^'"\n]+?)['"]?\s*$/gm)].map(([, n, r]) => [n!, r!]),
  );
}

function dependencies(m: Manifest): [name: string, range: string, field: DependencyField][] {
  return FIELDS.flatMap((f) =>
    Object.entries(m[f] ?? {}).map(([n, r]) => [n, r, f] as [string, string, DependencyField]),
  );
}

const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (SOURCE.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * The files of a package: its whole tree. The root's devDependencies serve the whole workspace
 * (vitest, fast-check: Node finds them from any package by walking up), so the root's files are
 * every file of the repository.
 */
function filesOf(pkg: WorkspacePackage): string[] {
  return sourceFiles(path.join(ROOT, pkg.dir));
}

const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire(?:\.resolve)?\(\s*|\bvi\.mock\(\s*|\bimport\.meta\.resolve\(\s*)['"]([^'"\n]+)['"]/g;

/** The package names a file imports (`@scope/name/sub` → `@scope/name`). */
function importedPackages(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, spec] of text.matchAll(SPECIFIER)) {
    if (spec!.startsWith('.') || spec!.startsWith('/')) continue;
    if (spec!.startsWith('node:')) {
      names.add('node:');
      continue;
    }
    const parts = spec!.split('/');
    names.add(spec!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return names;
}

/** The binary names a dependency installs (read from its installed package.json). */
function binariesOf(pkg: WorkspacePackage, dependency: string): string[] {
  const file = path.join(ROOT, pkg.dir, 'node_modules', dependency, 'package.json');
  if (!existsSync(file)) return [];
  const { bin, name } = readJson<Manifest>(file);
  if (typeof bin === 'string') return [name.split('/').at(-1)!];
  return Object.keys(bin ?? {});
}

/** Commands a package runs: its package.json scripts, and for the root also its shell scripts and CI. */
function commandsOf(pkg: WorkspacePackage): string {
  const scripts = Object.values(pkg.manifest.scripts ?? {});
  if (pkg.dir !== '') return scripts.join('\n');
  const shell = ['scripts/test', 'scripts/demo', '.ci/run', ...listDir('scripts/lib').map((f) => `scripts/lib/${f}`)]
    .filter((f) => existsSync(path.join(ROOT, f)) && !f.endsWith('.ts'))
    .map((f) => readFileSync(path.join(ROOT, f), 'utf8'));
  return [...scripts, ...shell].join('\n');
}

function listDir(dir: string): string[] {
  return existsSync(path.join(ROOT, dir)) ? readdirSync(path.join(ROOT, dir)) : [];
}

function isUsed(pkg: WorkspacePackage, dependency: string, imported: Set<string>, commands: string): boolean {
  if (imported.has(dependency)) return true;
  if (dependency.startsWith('@types/')) {
    // @types/node types node: built-ins; @types/a__b types @a/b.
    const typed = dependency.slice('@types/'.length);
    if (typed === 'node') return imported.has('node:');
    return imported.has(typed.includes('__') ? `@${typed.replace('__', '/')}` : typed);
  }
  const word = (b: string) =>
    new RegExp(`(?:^|[\\s/'"\`;&|(])${b.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[\\s'"\`;&|)])`, 'm');
  return binariesOf(pkg, dependency).some((b) => word(b).test(commands));
}

describe('workspace dependencies', () => {
  const packages = workspacePackages();
  const cat = catalog();

  it('finds the workspace: the root and the packages under packages/ and services/', () => {
    expect(packages.map((p) => p.manifest.name)).toEqual(
      expect.arrayContaining(['pksync', '@pksync/core', '@pksync/db', '@pksync/api', '@pksync/web']),
    );
    expect(cat.size).toBeGreaterThan(0);
  });

  it('declares only what each package imports or runs', () => {
    const unused: string[] = [];
    for (const pkg of packages) {
      const imported = new Set(filesOf(pkg).flatMap((f) => [...importedPackages(readFileSync(f, 'utf8'))]));
      const commands = commandsOf(pkg);
      const allowed = USED_WITHOUT_IMPORT[pkg.manifest.name] ?? {};
      for (const [name, , field] of dependencies(pkg.manifest)) {
        if (name in allowed || isUsed(pkg, name, imported, commands)) continue;
        unused.push(`${pkg.manifest.name} (${pkg.dir || '.'}/package.json ${field}): ${name}`);
      }
    }
    expect(unused, 'declared but never imported: remove them').toEqual([]);
  });

  it('keeps the reasons of the dependencies declared without an import true', () => {
    for (const [pkgName, deps] of Object.entries(USED_WITHOUT_IMPORT)) {
      const pkg = packages.find((p) => p.manifest.name === pkgName);
      expect(pkg, pkgName).toBeDefined();
      for (const [dep, { file, mentions }] of Object.entries(deps)) {
        expect(
          dependencies(pkg!.manifest).map(([n]) => n),
          `${pkgName} declares ${dep}`,
        ).toContain(dep);
        expect(readFileSync(path.join(ROOT, file), 'utf8'), `${file} uses ${dep}`).toContain(mentions);
      }
    }
  });

  it('gives a dependency one range across the workspace: the catalog’s, wherever two packages share it', () => {
    const byName = new Map<string, { where: string; range: string }[]>();
    for (const pkg of packages) {
      for (const [name, range] of dependencies(pkg.manifest)) {
        if (range.startsWith('workspace:')) continue;
        byName.set(name, [...(byName.get(name) ?? []), { where: pkg.manifest.name, range }]);
      }
    }
    const problems: string[] = [];
    for (const [name, uses] of byName) {
      const ranges = new Set(uses.map((u) => u.range));
      if (ranges.size > 1) problems.push(`${name}: ${uses.map((u) => `${u.where} ${u.range}`).join(', ')}`);
      else if (uses.length > 1 && !ranges.has('catalog:'))
        problems.push(`${name}: shared by ${uses.map((u) => u.where).join(', ')} but not from the catalog`);
      if (ranges.has('catalog:') && !cat.has(name)) problems.push(`${name}: catalog: but not in the catalog`);
    }
    expect(problems).toEqual([]);
  });

  it('pins exceljs exactly: the parser drives its private methods (exceljs-internals.ts)', () => {
    const users = packages.filter((p) => dependencies(p.manifest).some(([n]) => n === 'exceljs'));
    expect(users.length).toBeGreaterThan(0);
    for (const pkg of users) {
      const range = dependencies(pkg.manifest).find(([n]) => n === 'exceljs')![1];
      const resolved = range === 'catalog:' ? cat.get('exceljs') : range;
      expect(resolved, `${pkg.manifest.name}: exceljs`).toMatch(/^\d+\.\d+\.\d+$/);
    }
  });

  it('has one @bull-board/api: the exact version its fastify adapter depends on', () => {
    const api = packages.find((p) => p.manifest.name === '@pksync/api')!;
    const adapter = readJson<Manifest>(path.join(ROOT, api.dir, 'node_modules/@bull-board/fastify/package.json'));
    const wanted = adapter.dependencies?.['@bull-board/api'];
    expect(wanted).toMatch(/^\d+\.\d+\.\d+$/);
    const declared = (range: string | undefined) => (range === 'catalog:' ? cat.get('@bull-board/api') : range);
    expect(declared(api.manifest.dependencies?.['@bull-board/api'])).toBe(wanted);
    const installed = readJson<Manifest & { version: string }>(
      path.join(ROOT, api.dir, 'node_modules/@bull-board/api/package.json'),
    );
    expect(installed.version).toBe(wanted);
  });
});
