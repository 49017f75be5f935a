/**
 * The production build (`pnpm build`): one ES-module bundle of the `pksync` command line and every
 * service it starts, `dist/pksync.mjs`, run with `node dist/pksync.mjs …` (the image's entry point).
 * Development keeps running the TypeScript sources through tsx; nothing here changes that path.
 * `pnpm build --out DIR` builds into DIR instead of dist/.
 *
 * What the bundle holds and what it leaves outside:
 * - The @pksync/* workspace packages are bundled (they export `./src/index.ts`; Node cannot load
 *   them). The services that `pksync serve` and `pksync demo` import dynamically become chunks
 *   (`dist/chunks/`), loaded only by the command that needs them, so `--help` stays cheap.
 * - Third-party packages stay external (but the few in {@link BUNDLED}, for start-up time) and are
 *   loaded from node_modules at run time, through `dist/node_modules/<name>`: relative links, made
 *   here, to the place where the workspace package that declares the dependency sees it
 *   (`packages/db/node_modules/bullmq`), so the same links work in the build tree and in the image
 *   (same layout, production install).
 * - Files that code finds relative to its own module (`new URL('../data/x.csv', import.meta.url)`:
 *   the reference data, the console's static files, the migrations folder) are copied under
 *   `dist/assets/` at their source paths, and such a `new URL(…, import.meta.url)` is rewritten to
 *   resolve from the module's source path under `dist/assets/`, so every relative path stays true.
 * - Migrations are loaded from a folder at run time (packages/db/src/migrate.ts): each is compiled
 *   on its own to `dist/assets/packages/db/src/migrations/NNNN_name.js`, which the provider accepts.
 */
import { build, type Plugin } from 'esbuild';
import { cp, mkdir, readFile, readdir, rm, symlink, realpath, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
// `--out DIR` (tests build elsewhere, so a build under test never replaces the tree's dist/).
const outArg = process.argv.indexOf('--out');
const OUT = outArg > 0 ? path.resolve(process.argv[outArg + 1]!) : path.join(ROOT, 'dist');
const ASSETS = path.join(OUT, 'assets');

/** Source folders that code reads relative to its own module, copied under dist/assets/. */
const ASSET_DIRS = ['packages/reference/data', 'services/web/public'];
const MIGRATIONS = 'packages/db/src/migrations';
/**
 * Libraries bundled in rather than loaded from node_modules, with their own dependencies: each is
 * many small files (kysely ~280, zod ~100, pg and its pg-* helpers ~25), and reading and compiling
 * them one by one was most of a command's start-up (issue 17); csv-parse/sync parses the reference
 * data at start-up. All are plain code without files of their own to read at run time. zod v4
 * checks schemas by trait, not identity, so the API's fastify-type-provider-zod (external, with
 * its own zod) still recognises bundled schemas.
 */
const BUNDLED = new Set(['kysely', 'zod', 'decimal.js', 'csv-parse/sync', 'pg', 'commander']);

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

/** Every workspace package's folder by name (`@pksync/db` → `/…/packages/db`). */
function workspacePackages(): Map<string, string> {
  const out = new Map<string, string>();
  for (const group of ['packages', 'services']) {
    for (const dir of readdirSync(path.join(ROOT, group)).sort()) {
      const file = path.join(ROOT, group, dir, 'package.json');
      if (!existsSync(file)) continue;
      const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      out.set(m.name, path.join(ROOT, group, dir));
    }
  }
  return out;
}

/** The workspace packages the CLI reaches through `dependencies`, the CLI included. */
function closure(packages: Map<string, string>, from: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const m = JSON.parse(readFileSync(path.join(packages.get(name)!, 'package.json'), 'utf8')) as Manifest;
    for (const d of Object.keys(m.dependencies ?? {})) if (packages.has(d)) visit(d);
  };
  visit(from);
  return [...seen].sort();
}

/**
 * Links dist/node_modules/<dep> to the declaring package's node_modules/<dep> for every
 * third-party production dependency of the bundled packages. Fails when two packages resolve one
 * name to different installs (the bundle could load only one of them).
 */
async function linkExternals(packages: Map<string, string>, bundled: string[]): Promise<string[]> {
  const chosen = new Map<string, { link: string; real: string; by: string }>();
  for (const name of bundled) {
    const dir = packages.get(name)!;
    const m = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Manifest;
    for (const dep of Object.keys(m.dependencies ?? {})) {
      if (packages.has(dep)) continue;
      const link = path.join(dir, 'node_modules', dep);
      if (!existsSync(link)) throw new Error(`${name} declares ${dep}, but ${link} is missing: run pnpm install`);
      const real = await realpath(link);
      const prev = chosen.get(dep);
      if (prev && prev.real !== real)
        throw new Error(`${dep}: ${prev.by} and ${name} resolve different installs (${prev.real} vs ${real})`);
      if (!prev) chosen.set(dep, { link, real, by: name });
    }
  }
  const nm = path.join(OUT, 'node_modules');
  for (const [dep, { link }] of [...chosen].sort(([a], [b]) => a.localeCompare(b))) {
    const at = path.join(nm, dep);
    await mkdir(path.dirname(at), { recursive: true });
    await symlink(path.relative(path.dirname(at), link), at);
  }
  return [...chosen.keys()].sort();
}

/**
 * Bare imports of third-party packages stay external (but those in `bundled`); @pksync/* and
 * relative ones are bundled.
 */
function externalThirdParty(bundled: ReadonlySet<string>): Plugin {
  return {
    name: 'external-third-party',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('@pksync/') || args.path.startsWith('node:') || bundled.has(args.path))
          return undefined;
        // Inside a package bundled in: its own dependencies come along (pg → pg-types, pg-pool…).
        if (bundled.size > 0 && /[/\\]node_modules[/\\]/.test(args.importer)) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * `new URL(rel, import.meta.url)` in a workspace source file resolves from that file's path
 * mirrored under dist/assets/, not from the bundle's own location.
 */
function assetRelativeUrls(): Plugin {
  return {
    name: 'asset-relative-urls',
    setup(b) {
      b.onLoad({ filter: /[/\\](packages|services)[/\\].*\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!/new URL\([^)]*import\.meta\.url\)/.test(text)) return undefined;
        const rel = path.relative(ROOT, args.path).split(path.sep).join('/');
        // The bundle (dist/pksync.mjs) or a chunk (dist/chunks/…): find dist/ from either.
        const base = `new URL(${JSON.stringify(`assets/${rel}`)}, globalThis.__pksyncDist)`;
        const contents = text.replace(/new URL\(([^)]*?),\s*import\.meta\.url\)/g, `new URL($1, ${base})`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  await rm(OUT, { recursive: true, force: true });
  const packages = workspacePackages();
  const bundled = closure(packages, '@pksync/cli');

  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { pksync: 'services/cli/src/main.ts' },
    outdir: OUT,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    sourcemap: 'linked',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // CommonJS code bundled in (pg, commander) calls require() for Node's built-in modules: give
    // esbuild's require shim one (a global, as a module-level `require` would clash with sources that
    // declare their own, e.g. staging.repository.ts). dist/ is the folder of the entry bundle;
    // chunks find it through __pksyncDist.
    banner: {
      js: [
        "import { createRequire as __pksyncCreateRequire } from 'node:module';",
        'globalThis.require ??= __pksyncCreateRequire(import.meta.url);',
        "globalThis.__pksyncDist ??= new URL('./', import.meta.url).href.replace(/chunks\\/$/, '');",
      ].join('\n'),
    },
    plugins: [externalThirdParty(BUNDLED), assetRelativeUrls()],
  });

  // Migrations: one file each, kept as a folder the provider reads.
  const migrations = (await readdir(path.join(ROOT, MIGRATIONS))).filter((f) => /^\d{4}_[\w-]+\.ts$/.test(f));
  await build({
    absWorkingDir: ROOT,
    entryPoints: migrations.map((f) => path.join(MIGRATIONS, f)),
    outdir: path.join(ASSETS, MIGRATIONS),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    logLevel: 'warning',
    // kysely from node_modules: one copy for the eleven, not one each (a migration only builds SQL).
    plugins: [externalThirdParty(new Set())],
  });

  for (const dir of ASSET_DIRS) await cp(path.join(ROOT, dir), path.join(ASSETS, dir), { recursive: true });
  const externals = await linkExternals(packages, bundled);
  // The folders of the bundled packages, whose production dependencies the image installs
  // (infra/Dockerfile: their package.json files alone, so packages/testing's test tools stay out).
  await writeFile(
    path.join(OUT, 'packages.txt'),
    bundled.map((n) => path.relative(ROOT, packages.get(n)!).split(path.sep).join('/') + '\n').join(''),
  );
  // Node reads dist/*.js as ES modules whatever the root says.
  await writeFile(path.join(OUT, 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');

  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(
    `${path.relative(process.cwd(), path.join(OUT, 'pksync.mjs'))}: ${bundled.length} workspace packages bundled, ${externals.length} external, ` +
      `${migrations.length} migrations, ${(bytes / 1024).toFixed(0)} KiB, ${Date.now() - started} ms`,
  );
}

await main();
