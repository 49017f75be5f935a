/**
 * `pnpm bench:cli`: how long a `pksync` command takes to start and answer (issue 17: under 0.3 s
 * from the built output), for `--help` and for `runs --last 1` against a migrated database.
 *
 * Builds `dist/` first (`pnpm build`), creates and migrates `pksync_bench_cli` (dropped and
 * recreated), then runs each command BENCH_RUNS times (default 15), alternating the two paths so
 * machine load falls on both alike:
 *   tsx    node --import tsx services/cli/src/main.ts …   (development, as scripts/demo runs it)
 *   built  node dist/pksync.mjs …                          (production, the image's entry point)
 * and prints the median, the fastest and the slowest wall-clock time of each, and of `node -e 0`
 * (the floor: Node.js's own start-up on this machine).
 *
 * Needs PostgreSQL (DATABASE_URL's server; the local default otherwise).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const adminUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
adminUrl.pathname = '/postgres';
const benchUrl = new URL(adminUrl);
benchUrl.pathname = '/pksync_bench_cli';

const log = (msg: string) => console.log(`[bench:cli] ${msg}`);

async function createDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  admin.on('error', () => {}); // a dropped connection: its query rejects
  await admin.connect();
  await admin.query('drop database if exists pksync_bench_cli with (force)');
  await admin.query('create database pksync_bench_cli');
  await admin.end();
}

/** Wall-clock milliseconds of one run; throws when the command fails. */
function timed(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: benchUrl.toString(), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const f = (n: number) => `${(n / 1000).toFixed(3)} s`;
  return `median ${f(median)}  (fastest ${f(s[0]!)}, slowest ${f(s.at(-1)!)})`;
}

async function main(): Promise<void> {
  log('pnpm build');
  execFileSync('pnpm', ['-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  await createDatabase();
  log('migrating pksync_bench_cli with the built CLI');
  timed(['dist/pksync.mjs', 'migrate']);

  const paths = {
    tsx: ['--import', 'tsx', 'services/cli/src/main.ts'],
    built: ['dist/pksync.mjs'],
  };
  const commands = { '--help': ['--help'], 'runs --last 1': ['runs', '--last', '1'] };
  // One warm-up run each (file-system cache, tsx's transform cache), not counted.
  for (const p of Object.values(paths)) for (const c of Object.values(commands)) timed([...p, ...c]);
  timed(['-e', '0']);

  const results = new Map<string, number[]>();
  const add = (k: string, ms: number) => results.set(k, [...(results.get(k) ?? []), ms]);
  for (let i = 0; i < RUNS; i++) {
    add('node -e 0 (floor)', timed(['-e', '0']));
    for (const [cName, c] of Object.entries(commands))
      for (const [pName, p] of Object.entries(paths)) add(`${pName.padEnd(5)} pksync ${cName}`, timed([...p, ...c]));
  }
  log(`${RUNS} runs each, ${process.version}, load average ${loadavg()[0]!.toFixed(2)}`);
  for (const [k, xs] of results) console.log(`  ${k.padEnd(30)} ${stats(xs)}`);
}

await main();
