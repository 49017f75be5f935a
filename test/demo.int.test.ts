import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { useTestRedis } from '@pksync/testing';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// scripts/demo, non-interactively (PKSYNC_DEMO_EXIT=1), on one simulated province: it creates and
// migrates its database, syncs, prints the summary (South Sumatra 12 of 17) and the API address.
describe('scripts/demo', () => {
  const r = useTestRedis();
  const adminUrl = inject('pksyncDatabaseUrl');
  // Each test its own demo database: the second must not inherit the first's sources, which point
  // at a simulator that has stopped.
  const dbNames = [1, 2].map((i) => `pksync_demo_test_${randomBytes(4).toString('hex')}_${i}`);
  const [dbUrl, dbUrl2] = dbNames.map((name) => {
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    return u.toString();
  });

  afterAll(async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    c.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
    await c.connect();
    for (const name of dbNames) await c.query(`drop database if exists "${name}" with (force)`);
    await c.end();
  });

  it('runs end to end and exits 0 after the summary', async () => {
    const child = spawn('scripts/demo', ['--regions', '16'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PKSYNC_DEMO_EXIT: '1',
        PKSYNC_SKIP_INSTALL: '1',
        DATABASE_URL: dbUrl,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        PORT: '0',
        LOG_LEVEL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    expect(out).toContain(`database ${dbNames[0]} created`);
    expect(out).toContain('applied 0001_base');
    expect(out).toMatch(/national sync started: run [0-9a-f-]{36}/);
    expect(out).toMatch(/run [0-9a-f-]{36} \(national, as_of \d{4}-\d{2}-\d{2}\): completed/);
    expect(out).toMatch(/published version 1: \+\d+ added/);
    expect(out).toMatch(/16 +Sumatera Selatan .* 12 of 17/);
    expect(out).toContain('South Sumatra (16, Sumatera Selatan): 12 of 17 regencies/cities covered');
    expect(out).toMatch(/API on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/admin key \(shown once\): \S+/);
    expect(out).toContain('pnpm pksync sync --region 16.71 --wait');
    expect(code).toBe(0);
  }, 240_000);

  it('without PKSYNC_DEMO_EXIT stays up until Ctrl-C, then stops cleanly', async () => {
    // Ctrl-C on a terminal signals the whole foreground process group (pnpm, tsx, node). 'close'
    // (not 'exit') so that everything the demo printed has been read.
    const child = spawn('scripts/demo', ['--regions', '16.71', '--no-api'], {
      cwd: ROOT,
      detached: true,
      env: {
        ...process.env,
        PKSYNC_DEMO_EXIT: '',
        PKSYNC_SKIP_INSTALL: '1',
        DATABASE_URL: dbUrl2,
        REDIS_URL: r.url,
        QUEUE_PREFIX: r.prefix,
        PORT: '0',
        LOG_LEVEL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const up = new Promise<void>((res) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('press Ctrl-C to stop')) res();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
    });
    const exited = new Promise<number | null>((res) => child.on('close', res));
    await Promise.race([up, exited]);
    expect(out).toContain('press Ctrl-C to stop');
    // Ctrl-C as soon as the prompt is shown: the demo listens for it before printing the next line.
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;
    expect(out).toMatch(/SIGINT received, stopping/);
    expect(out).toContain('==> stopped');
    expect(code).toBe(0);
  }, 240_000);
});
