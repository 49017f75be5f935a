/**
 * `pnpm bench:api`: the register API with 1,000,000 officers (register-api-v1.md, issue 6 § Speed).
 *
 * 1. Builds a bench database (`pksync_bench_api`, dropped and recreated) and fills the register
 *    with BENCH_OFFICERS (default 1,000,000) officers spread over every regency/city, in SQL.
 * 2. Starts the API as its own process (`pksync serve api`) and loads `GET /officers?province=…`
 *    from a second process (autocannon) with 50 concurrent clients on loopback: prints requests/s
 *    and latency percentiles (target: p95 < 50 ms; autocannon reports p90 and p97.5, and
 *    p95 ≤ p97.5).
 * 3. Streams the national CSV export over HTTP: prints rows/s (target ≥ 100,000) and the API
 *    process's resident memory, sampled during the export, and its peak (VmHWM).
 *
 * Needs PostgreSQL and Redis (DATABASE_URL's server, REDIS_URL; the local defaults otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDb, migrateToLatest } from '../../packages/db/src/index.ts';

const OFFICERS = Number(process.env.BENCH_OFFICERS ?? 1_000_000);
const CONCURRENCY = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const adminUrl = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
adminUrl.pathname = '/postgres';
const benchUrl = new URL(adminUrl);
benchUrl.pathname = '/pksync_bench_api';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const log = (msg: string) => console.log(`[bench:api] ${msg}`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function buildDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  admin.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await admin.connect();
  await admin.query('drop database if exists pksync_bench_api with (force)');
  await admin.query('create database pksync_bench_api');
  await admin.end();
  const db = createDb(benchUrl.toString(), { max: 2 });
  await migrateToLatest(db);
  await db.destroy();
  const c = new pg.Client({ connectionString: benchUrl.toString() });
  c.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await c.connect();
  const t0 = Date.now();
  await c.query(`insert into sources (id, agency, region_code, transport, last_success_at)
                 select code || '-disnaker', 'Dinas Tenaga Kerja ' || name, code, 'upload', now() from regions where level = 'regency'`);
  const run = await c.query<{
    id: string;
  }>(`insert into runs (scope_kind, scope_key, trigger, as_of, status, version_published, finished_at)
                 values ('national', 'national', 'schedule', '2026-11-27', 'completed', 1, now()) returning id`);
  await c.query(`insert into publications (version, run_id, as_of) values (1, $1, '2026-11-27')`, [run.rows[0]!.id]);
  // Bulk load: the trigram index is built once afterwards rather than maintained row by row.
  await c.query('drop index officer_records_current_name_trgm');
  // Officers spread evenly over every regency/city; NIP = birth date, TMT, gender, sequence.
  await c.query(
    `with r as (select code, parent_code, row_number() over (order by code) - 1 as k, count(*) over () as n
                from regions where level = 'regency'),
          g as (select i, (date '1965-01-01' + (i % 12000))::date as birth from generate_series(0, $1::int - 1) i)
     insert into officer_records (nip, source_id, region_code, province_code, name, name_normalised, gender, birth_date,
                                  level, grade, unit, tmt_jabatan, status, active, email, phone, valid_from)
     select to_char(g.birth, 'YYYYMMDD') || to_char(g.birth + interval '25 years', 'YYYYMM') || (1 + g.i % 2)::text
              || lpad((g.i / 12000)::text, 3, '0'),
            r.code || '-disnaker', r.code, r.parent_code,
            (array['Budi','Siti','Andi','Dewi','Agus','Rina','Hendra','Putri'])[1 + g.i % 8] || ' ' ||
              (array['Santoso','Aminah','Wijaya','Lestari','Saputra','Hidayat','Nugroho','Kusuma'])[1 + (g.i / 8) % 8] || ' ' || g.i,
            lower((array['Budi','Siti','Andi','Dewi','Agus','Rina','Hendra','Putri'])[1 + g.i % 8] || ' ' ||
              (array['Santoso','Aminah','Wijaya','Lestari','Saputra','Hidayat','Nugroho','Kusuma'])[1 + (g.i / 8) % 8] || ' ' || g.i),
            case when g.i % 2 = 0 then 'L' else 'P' end, g.birth,
            (array['ahli_pertama','ahli_muda','ahli_madya','ahli_utama'])[1 + g.i % 4],
            (array['III/a','III/c','IV/a','IV/d'])[1 + g.i % 4],
            'Dinas Tenaga Kerja ' || r.code, date '2020-01-01' + (g.i % 1500),
            case when g.i % 20 = 0 then 'pensiun' else 'aktif' end, g.i % 20 <> 0,
            'pejabat' || g.i || '@example.go.id', '08' || lpad(g.i::text, 10, '0'), 1
     from g join r on r.k = g.i % r.n`,
    [OFFICERS],
  );
  await c.query(
    'create index officer_records_current_name_trgm on officer_records using gin (name_normalised gin_trgm_ops) where valid_to is null',
  );
  await c.query('analyze');
  log(`register filled: ${OFFICERS.toLocaleString('en')} officers in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await c.end();
}

async function startApi(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/cli/src/main.ts', 'serve', 'api'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: benchUrl.toString(),
      REDIS_URL: redisUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      QUEUE_PREFIX: '{pksync-bench-api}',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    await new Promise((r) => setTimeout(r, 200));
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/api/v1/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
  }
  throw new Error('the API did not become ready in 60 s');
}

/** VmRSS and VmHWM (peak) of a process, in MiB (Linux /proc). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p97_5: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
}

async function load(url: string): Promise<AutocannonResult> {
  const bin = fileURLToPath(new URL('../../services/api/node_modules/autocannon/autocannon.js', import.meta.url));
  const child = spawn(process.execPath, [bin, '-c', String(CONCURRENCY), '-d', String(DURATION_S), '-j', url], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(out) as AutocannonResult;
}

function report(what: string, r: AutocannonResult): void {
  const l = r.latency;
  log(
    `${what}: ${Math.round(r.requests.average)} req/s, latency ms p50 ${l.p50} · p90 ${l.p90} · p97.5 ${l.p97_5} · p99 ${l.p99} · max ${l.max}` +
      ` (${r.requests.total} requests, ${r.non2xx} non-2xx, ${r.errors} errors)`,
  );
}

async function main(): Promise<void> {
  log(`building a register of ${OFFICERS.toLocaleString('en')} officers (database pksync_bench_api)`);
  await buildDatabase();
  const port = await freePort();
  const api = await startApi(port);
  const base = `http://127.0.0.1:${port}/api/v1`;
  try {
    log(
      `API process ${api.pid} at ${base}; ${CONCURRENCY} clients for ${DURATION_S} s from a second process (autocannon)`,
    );
    // Warm-up (JIT, connection pool, buffer cache).
    await load(`${base}/officers?province=32&limit=50`).catch(() => undefined);
    const r1 = await load(`${base}/officers?province=16&limit=50`);
    report('GET /officers?province=16&limit=50', r1);
    const pass = r1.latency.p97_5 < 50 && r1.non2xx === 0;
    log(`target p95 < 50 ms: ${pass ? 'met' : 'NOT met'} (p95 ≤ p97.5 = ${r1.latency.p97_5} ms)`);
    const r2 = await load(`${base}/officers?q=siti%20aminah%20123&limit=50`);
    report('GET /officers?q=siti aminah 123 (name search, national)', r2);

    log('national CSV export over HTTP (public view)');
    const before = memory(api.pid!);
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(memory(api.pid!).rss), 250);
    const t0 = Date.now();
    const res = await fetch(`${base}/export?format=csv`);
    let rows = -1; // the header line
    let bytes = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      for (let i = 0; i < value.length; i++) if (value[i] === 0x0a) rows++;
    }
    const s = (Date.now() - t0) / 1000;
    clearInterval(sampler);
    const after = memory(api.pid!);
    const rate = rows / s;
    log(
      `exported ${rows.toLocaleString('en')} rows (${(bytes / 1024 / 1024).toFixed(0)} MiB) in ${s.toFixed(1)} s: ` +
        `${Math.round(rate).toLocaleString('en')} rows/s — target ≥ 100,000: ${rate >= 100_000 ? 'met' : 'NOT met'}`,
    );
    const min = Math.min(...samples);
    const max = Math.max(...samples);
    log(
      `API resident memory: ${before.rss.toFixed(0)} MiB before, ${min.toFixed(0)}–${max.toFixed(0)} MiB during the export (${samples.length} samples), ` +
        `peak RSS of the process ${after.peak.toFixed(0)} MiB`,
    );
    if (rows !== OFFICERS) log(`WARNING: expected ${OFFICERS} rows`);

    // XLSX is written in Node (exceljs streaming writer): slower, but memory should stay flat too.
    const xSamples: number[] = [];
    const xSampler = setInterval(() => xSamples.push(memory(api.pid!).rss), 250);
    const x0 = Date.now();
    const xres = await fetch(`${base}/export?format=xlsx`);
    let xbytes = 0;
    const xreader = xres.body!.getReader();
    for (;;) {
      const { done, value } = await xreader.read();
      if (done) break;
      xbytes += value.length;
    }
    clearInterval(xSampler);
    const xs = (Date.now() - x0) / 1000;
    log(
      `XLSX national export: ${(xbytes / 1024 / 1024).toFixed(0)} MiB in ${xs.toFixed(1)} s (${Math.round(OFFICERS / xs).toLocaleString('en')} rows/s); ` +
        `API RSS ${Math.min(...xSamples).toFixed(0)}–${Math.max(...xSamples).toFixed(0)} MiB, peak ${memory(api.pid!).peak.toFixed(0)} MiB`,
    );
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  }
}

await main();
