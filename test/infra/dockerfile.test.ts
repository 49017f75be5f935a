/**
 * infra/Dockerfile holds what the image must be (issue 17), checked without a Docker engine:
 * multi-stage, the runtime stage with the built output and production dependencies only, a
 * non-root user, tini as the init process, a role-aware HEALTHCHECK, one entry point for every role.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../services/cli/src/program.ts';
import { parseDockerfile, type Instruction, type Stage } from './support/dockerfile.ts';

const text = readFileSync(new URL('../../infra/Dockerfile', import.meta.url), 'utf8');
const file = parseDockerfile(text);
const runtime = file.stages.at(-1)!;
const stage = (name: string): Stage => {
  const s = file.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const all = (s: Stage, name: string): Instruction[] => s.instructions.filter((i) => i.name === name);
const runs = (s: Stage): string =>
  all(s, 'RUN')
    .map((i) => i.args)
    .join('\n');

describe('infra/Dockerfile', () => {
  it('parses a small Dockerfile the way BuildKit reads it (continuations, comments, stages)', () => {
    const f = parseDockerfile(
      'ARG B=node:20\nFROM ${B} AS one\nRUN a \\\n  # note\n  && b\nFROM one\nCOPY --from=one --chown=1:1 /x /y\nCMD ["x", "y"]\n',
    );
    expect(f.stages.map((s) => [s.name, s.base])).toEqual([
      ['one', 'node:20'],
      [null, 'one'],
    ]);
    expect(f.stages[0]!.instructions[0]!.args).toBe('a && b');
    expect(f.stages[1]!.instructions[0]!.flags).toEqual({ from: 'one', chown: '1:1' });
    expect(f.stages[1]!.instructions[1]!.exec).toEqual(['x', 'y']);
  });

  it('is multi-stage: the build stage installs every dependency and runs pnpm build', () => {
    expect(file.stages.length).toBeGreaterThanOrEqual(3);
    const build = stage('build');
    expect(runs(build)).toMatch(/pnpm install --frozen-lockfile/);
    expect(runs(build)).not.toMatch(/--prod/);
    expect(runs(build)).toMatch(/pnpm build/);
    // The manifests for the production install: the root's and the bundled packages' only.
    expect(runs(build)).toMatch(/done < dist\/packages\.txt/);
  });

  it('the runtime stage holds the built output and production dependencies only', () => {
    expect(runtime.name).toBe('runtime');
    // Nothing from the build context: every COPY comes from a stage.
    const copies = all(runtime, 'COPY');
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(c.flags.from, `line ${c.line}: COPY ${c.args}`).toBeDefined();
    // From the build stage, dist/ alone (no sources, no dev node_modules).
    const fromBuild = copies.filter((c) => c.flags.from === 'build');
    expect(fromBuild.map((c) => c.args.split(/\s+/)[0])).toEqual(['/app/dist/']);
    // node_modules from a stage that installed with --prod, for the CLI and its packages only.
    const depStages = copies.map((c) => c.flags.from!).filter((f) => f !== 'build');
    expect(depStages.length).toBeGreaterThan(0);
    for (const name of depStages) {
      const install = all(stage(name), 'RUN').filter((r) => /pnpm install/.test(r.args));
      expect(install.length, `stage ${name} installs`).toBeGreaterThan(0);
      for (const r of install) {
        expect(r.args).toMatch(/--prod\b/);
        expect(r.args).toMatch(/--frozen-lockfile/);
        expect(r.args).toMatch(/--filter '@pksync\/cli\.\.\.'/);
      }
      // That stage copies nothing but package manifests and the lockfile from outside.
      for (const c of all(stage(name), 'COPY'))
        expect(c.args, `stage ${name} COPY`).toMatch(
          /^(pnpm-lock\.yaml pnpm-workspace\.yaml \.npmrc \.\/|\/manifests\/ \.\/)$/,
        );
    }
    // No install of anything else at run time but tini from Debian.
    expect(runs(runtime)).not.toMatch(/\b(pnpm|npm|yarn)\b/);
  });

  it('runs as a non-root numeric user', () => {
    const users = all(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const [user, group] = users.at(-1)!.args.split(':');
    expect(user).toMatch(/^\d+$/);
    expect(Number(user)).toBeGreaterThan(0);
    if (group !== undefined) expect(Number(group)).toBeGreaterThan(0);
    // Nothing after the USER switches back.
    const last = runtime.instructions.lastIndexOf(users.at(-1)!);
    expect(runtime.instructions.slice(last + 1).filter((i) => i.name === 'USER')).toEqual([]);
  });

  it('starts under tini (installed from Debian) and runs the built CLI for every role', () => {
    expect(runs(runtime)).toMatch(/apt-get install .*\btini\b/);
    const entry = all(runtime, 'ENTRYPOINT').at(-1)!;
    expect(entry.exec).toEqual(['/usr/bin/tini', '--', 'node', '/app/dist/pksync.mjs']);
    expect(all(runtime, 'CMD').at(-1)!.exec).toEqual(['serve', 'api']);
    // `docker run IMAGE migrate`, `serve worker`…: commands of that CLI.
    for (const c of ['migrate', 'serve', 'healthcheck']) expect(Object.keys(COMMANDS)).toContain(c);
  });

  it('has a HEALTHCHECK through the CLI healthcheck command', () => {
    const hc = all(runtime, 'HEALTHCHECK');
    expect(hc).toHaveLength(1);
    expect(hc[0]!.flags).toMatchObject({ interval: expect.any(String), timeout: expect.any(String) });
    expect(hc[0]!.args).toMatch(/^CMD \["node", "\/app\/dist\/pksync\.mjs", "healthcheck"\]$/);
  });
});
