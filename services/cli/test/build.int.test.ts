/**
 * The production build (scripts/build.ts, `pnpm build`): it succeeds, and the built CLI — with no
 * TypeScript loader — answers --help, migrates an empty database to the same history the sources
 * give (the migrations folder as .js files), and serves the API with the console's static files and
 * the reference data found under dist/assets/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useTestRedis } from '@pksync/testing';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const adminUrl = inject('pksyncDatabaseUrl');
const dbName = `pksync_build_${process.pid}`;
const demoDb = `pksync_build_demo_${process.pid}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
let out: string;

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [path.join(out, 'pksync.mjs'), ...args], {
    cwd: tmpdir(), // nothing from the work tree by accident: only what dist/ holds and links
    env: { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: 'error', ...env },
    encoding: 'utf8',
  });
}

async function query<T>(sql: string, url = dbUrl): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {}); // a dropped connection: its query rejects
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  out = await mkdtemp(path.join(tmpdir(), 'pksync-build-'));
  const build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`pnpm build failed:\n${build.stdout}\n${build.stderr}`);
  await query(`drop database if exists ${dbName} with (force)`, adminUrl);
  await query(`create database ${dbName}`, adminUrl);
}, 120_000);

afterAll(async () => {
  await query(`drop database if exists ${dbName} with (force)`, adminUrl);
  await query(`drop database if exists ${demoDb} with (force)`, adminUrl);
  if (out) await rm(out, { recursive: true, force: true });
});

describe('the built CLI', () => {
  const r = useTestRedis();
  it('lists the packages it bundles, whose production dependencies the image installs', async () => {
    const dirs = (await readFile(path.join(out, 'packages.txt'), 'utf8')).trim().split('\n');
    expect(dirs).toEqual(expect.arrayContaining(['services/cli', 'packages/db', 'services/api', 'services/worker']));
    expect(dirs).not.toContain('packages/testing'); // test tools (vitest, testcontainers) stay out of the image
  });

  it('answers --help listing every command, and a command its own --help', () => {
    const help = cli(['--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: pksync/);
    for (const c of ['migrate', 'serve', 'runs', 'healthcheck']) expect(help.stdout).toMatch(new RegExp(`\\n  ${c} `));
    const runs = cli(['runs', '--help']);
    expect(runs.status, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/--last/);
  });

  it('migrates an empty database to the history of the sources, then applies nothing', async () => {
    const first = cli(['migrate']);
    expect(first.status, first.stderr).toBe(0);
    const sources = (await readdir(path.join(ROOT, 'packages/db/src/migrations')))
      .filter((f) => /^\d{4}_[\w-]+\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    const applied = await query<{ name: string }>('select name from kysely_migration order by name');
    expect(applied.map((r) => r.name)).toEqual(sources);
    // Reference data read from dist/assets/packages/reference/data.
    expect(await query<{ n: string }>('select count(*)::text as n from regions')).toEqual([{ n: '552' }]);
    const second = cli(['migrate']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).not.toMatch(/applied/);
    // `healthcheck migrate`: a one-shot role, nothing to probe.
    expect(cli(['healthcheck', 'migrate']).status).toBe(0);
  });

  it('serves the API and the console from dist/, and its healthcheck passes', async () => {
    const child = spawn(process.execPath, [path.join(out, 'pksync.mjs'), 'serve', 'api'], {
      cwd: tmpdir(),
      env: { ...process.env, DATABASE_URL: dbUrl, PORT: '0', LOG_LEVEL: 'info', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      // The API logs the URL it listens on (PORT=0: any free port).
      const url = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          const m = /"url":"(http:\/\/[^"]+)".*"msg":"api listening"/.exec(buf);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`api exited ${code}: ${buf}`)));
      });
      const ready = await fetch(`${url}/api/v1/readyz`);
      expect(ready.status).toBe(200);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      const port = new URL(url).port;
      expect(cli(['healthcheck', 'api'], { PORT: port }).status).toBe(0);
      const down = cli(['healthcheck', 'worker'], { METRICS_PORT: port }); // nothing serves /readyz there
      expect(down.status).toBe(1);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    }
  });

  it('runs the pipeline: simulator, workers, scheduler and a sync of one region (pksync demo)', async () => {
    const u = new URL(adminUrl);
    u.pathname = `/${demoDb}`;
    const child = spawn(
      process.execPath,
      [path.join(out, 'pksync.mjs'), 'demo', '--once', '--regions', '16.71', '--no-api'],
      {
        cwd: tmpdir(),
        env: { ...process.env, DATABASE_URL: u.toString(), REDIS_URL: r.url, QUEUE_PREFIX: r.prefix, LOG_LEVEL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(log).toMatch(/run [0-9a-f-]{36} \(national, as_of \d{4}-\d{2}-\d{2}\): completed/);
    expect(log).toMatch(/published version 1: \+\d+ added/);
    expect(code, log).toBe(0);
  }, 240_000);
});
