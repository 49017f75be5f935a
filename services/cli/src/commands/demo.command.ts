import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import pg from 'pg';
import { loadConfig, type Config } from '@pksync/config';
import {
  calendarDateIn,
  countOpenFindingsByCode,
  createDb,
  createKey,
  failInterruptedRuns,
  getNeeds,
  getRegionSummaries,
  importSources,
  latestUpload,
  migrateToLatest,
  saveUpload,
  type Db,
  type RegionSummary,
} from '@pksync/db';
import { createLogger, createQueueClient, triggerRun } from '@pksync/queue';
import { LEVEL_CODES } from '@pksync/reference';
import { formatMigrateReport } from './migrate.command.ts';
import { needsTable } from './needs.command.ts';
import { formatRunSummary, waitForRun } from './sync.command.ts';
import { runUntilSignal } from './serve.command.ts';

export interface DemoOptions {
  once?: boolean;
  regions: string;
  simPort: string;
  seed: string;
  workers: string;
  api: boolean;
}

const LEVEL_LABEL: Record<string, string> = {
  ahli_pertama: 'Pertama',
  ahli_muda: 'Muda',
  ahli_madya: 'Madya',
  ahli_utama: 'Utama',
};

/** One province's line of the national summary (R12 formation/shortfall, R13 coverage). */
export interface ProvinceLine {
  code: string;
  name: string;
  byLevel: Record<string, number>;
  active: number;
  formasi: number;
  kebutuhan: number;
  kekurangan: number;
  covered: number;
  total: number;
}

/**
 * Each province's line: its area's figures from `getRegionSummaries` (the province with its
 * regencies/cities, as `GET /regions` shows it) — officers by level, formation, need, shortfall
 * (R12) — and its coverage (R13).
 */
export function provinceLines(regions: readonly RegionSummary[]): ProvinceLine[] {
  return regions
    .filter((r) => r.level === 'province')
    .map((r) => {
      const cells = LEVEL_CODES.map((l) => r.area.formationByLevel[l]);
      const sum = (f: (c: (typeof cells)[number]) => number | null) => cells.reduce((a, c) => a + (f(c) ?? 0), 0);
      return {
        code: r.code,
        name: r.name,
        byLevel: { ...r.area.activeByLevel },
        active: r.area.active,
        formasi: sum((c) => c.formasi),
        kebutuhan: sum((c) => c.kebutuhan),
        kekurangan: sum((c) => c.kekurangan),
        covered: r.coverage?.covered ?? 0,
        total: r.coverage?.total ?? 0,
      };
    });
}

const PLANNING_CODES = [
  'need_differs_from_declared',
  'workload_missing',
  'appointed_without_formation',
  'appointed_beyond_formation',
  'retirement_wave',
] as const;

/** `need_differs_from_declared 12, workload_missing 50, …`: the open R16–R18 findings by code. */
async function planningFindingCounts(db: Db): Promise<string> {
  const rows = await countOpenFindingsByCode(db, PLANNING_CODES);
  return PLANNING_CODES.map((c) => `${c} ${rows[c] ?? 0}`).join(', ');
}

/** The national summary table printed by the demo. */
export function formatNationalSummary(lines: readonly ProvinceLine[], year: number): string {
  const head = [
    'kode',
    'provinsi'.padEnd(28),
    ...LEVEL_CODES.map((l) => (LEVEL_LABEL[l] ?? l).padStart(7)),
    'aktif'.padStart(6),
    'formasi'.padStart(8),
    'kebutuhan'.padStart(9),
    'kekurangan'.padStart(10),
    'cakupan kab/kota'.padStart(17),
  ].join(' ');
  const rows = lines.map((p) =>
    [
      p.code.padEnd(4),
      p.name.slice(0, 28).padEnd(28),
      ...LEVEL_CODES.map((l) => String(p.byLevel[l] ?? 0).padStart(7)),
      String(p.active).padStart(6),
      String(p.formasi).padStart(8),
      String(p.kebutuhan).padStart(9),
      String(p.kekurangan).padStart(10),
      `${p.covered} of ${p.total}`.padStart(17),
    ].join(' '),
  );
  const sum = (f: (p: ProvinceLine) => number) => lines.reduce((s, p) => s + f(p), 0);
  const total = [
    '    ',
    'NASIONAL'.padEnd(28),
    ...LEVEL_CODES.map((l) => String(sum((p) => p.byLevel[l] ?? 0)).padStart(7)),
    String(sum((p) => p.active)).padStart(6),
    String(sum((p) => p.formasi)).padStart(8),
    String(sum((p) => p.kebutuhan)).padStart(9),
    String(sum((p) => p.kekurangan)).padStart(10),
    `${sum((p) => p.covered)} of ${sum((p) => p.total)}`.padStart(17),
  ].join(' ');
  return [
    `National register, formation year ${year} (active officers by level; formasi = approved, kebutuhan = need, kekurangan = shortfall; coverage = regencies/cities with at least one active officer)`,
    head,
    '-'.repeat(head.length),
    ...rows,
    '-'.repeat(head.length),
    total,
  ].join('\n');
}

/** Creates the demo database when it does not exist (connecting to `postgres` on the same server). */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[\w-]+$/.test(name)) throw new Error(`DATABASE_URL names an unusual database "${name}"; create it yourself`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  client.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`create database "${name}"`);
    return true;
  } catch (e) {
    // Another process created it at the same moment.
    if ((e as { code?: string }).code === '42P04') return false;
    throw e;
  } finally {
    await client.end();
  }
}

/**
 * The simulated agencies with the `upload` transport publish nothing to pull: as their provincial
 * operator would, the demo uploads each one's workbook (officers and `formasi` sheets) once.
 */
export async function uploadSimulatedFiles(
  db: Db,
  simUrl: string,
  sourceIds: readonly string[],
  maxBytes: number,
): Promise<number> {
  let uploaded = 0;
  const queue = [...sourceIds];
  const one = async (id: string) => {
    if (await latestUpload(db, id)) return;
    const res = await fetch(`${simUrl}/agencies/${encodeURIComponent(id)}/data.xlsx`);
    if (!res.ok || !res.body) throw new Error(`simulator: ${id}/data.xlsx answered ${res.status}`);
    await saveUpload(db, {
      sourceId: id,
      filename: `${id}.xlsx`,
      contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      uploadedBy: 'demo',
      note: 'simulated operator upload',
      content: [Buffer.from(await res.arrayBuffer())],
      maxBytes,
    });
    uploaded++;
  };
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      for (let id = queue.shift(); id; id = queue.shift()) await one(id);
    }),
  );
  return uploaded;
}

interface Stoppable {
  close(): Promise<void>;
}

/**
 * `pksync demo`: the whole pipeline on one machine — simulator, two workers, scheduler, a national
 * sync with progress, the national summary, the API with an admin key — until Ctrl-C.
 */
export async function runDemo(o: DemoOptions, print: (line: string) => void = console.log): Promise<void> {
  const env = { ...process.env };
  // Source tokens (the simulated `api` sources' tokens) are encrypted at rest. Without a configured
  // key the demo derives one from the demo database's name, so a restarted demo can read the
  // tokens it stored before. Demo only: production sets TOKEN_ENCRYPTION_KEY.
  if (!env.TOKEN_ENCRYPTION_KEY) {
    const name = new URL(env.DATABASE_URL ?? 'postgres://x/pksync').pathname;
    env.TOKEN_ENCRYPTION_KEY = createHash('sha256').update(`pksync-demo-only:${name}`).digest('hex');
  }
  const config: Config = loadConfig(env);
  // The demo's output is its progress and summaries; service logs show errors only unless LOG_LEVEL
  // asks for more.
  const log = createLogger({ level: env.LOG_LEVEL ? config.logLevel : 'error', base: { service: 'demo' } });
  const stoppables: Stoppable[] = [];
  const stopAll = async () => {
    for (const s of stoppables.reverse()) await s.close().catch(() => {});
  };
  try {
    const created = await ensureDatabase(config.databaseUrl);
    const dbName = new URL(config.databaseUrl).pathname.slice(1);
    print(`==> database ${dbName}${created ? ' created' : ''}`);
    const db: Db = createDb(config.databaseUrl, { max: 4, applicationName: 'pksync-demo' });
    stoppables.push({ close: () => db.destroy() });
    print(formatMigrateReport(await migrateToLatest(db)));
    const interrupted = await failInterruptedRuns(db, 'interrupted: the previous demo stopped before the run finished');
    if (interrupted) print(`  ${interrupted} unfinished run(s) of a previous demo marked failed`);

    const { start: startSimulator } = await import('@pksync/simulator');
    const sim = await startSimulator({ port: Number(o.simPort), seed: Number(o.seed), regions: o.regions });
    stoppables.push(sim);
    const agencies = sim.agencies();
    print(
      `==> simulator on ${sim.url}: ${agencies.length} agencies, ${agencies.reduce((s, a) => s + a.officers, 0)} officers (≈5% flaky, a few slow, down or malformed)`,
    );
    const report = await importSources(db, sim.sourcesFile(), config.tokenKey);
    const uploadIds = sim
      .sourcesFile()
      .filter((x) => x.transport === 'upload')
      .map((x) => x.id);
    const uploaded = await uploadSimulatedFiles(db, sim.url, uploadIds, config.limits.maxUploadBytes);
    print(
      `==> sources imported: ${report.created.length} created, ${report.updated.length} updated, ${report.unchanged.length} unchanged; ` +
        `${uploaded} operator uploads for the ${uploadIds.length} upload sources`,
    );

    const { start: startWorker } = await import('@pksync/worker');
    const workers = Math.max(1, Number(o.workers) || 2);
    for (let i = 1; i <= workers; i++) {
      stoppables.push(await startWorker(config, { log: log.child({ worker: i }) }));
    }
    const { start: startScheduler } = await import('@pksync/scheduler');
    const scheduler = await startScheduler(config, { log });
    stoppables.push(scheduler);
    print(
      `==> ${workers} workers and the scheduler started (nightly run ${config.syncCron} ${config.syncTimezone}; next ${scheduler.nextRun()?.toISOString() ?? '-'})`,
    );

    const queues = createQueueClient({ redisUrl: config.redisUrl, prefix: config.queuePrefix });
    stoppables.push(queues);
    const asOf = calendarDateIn(config.syncTimezone);
    const { run, created: fresh } = await triggerRun(db, queues, {
      scope: { kind: 'national' },
      trigger: 'manual',
      requestedBy: 'demo',
      reason: 'pksync demo',
      asOf,
    });
    print(`==> national sync ${fresh ? 'started' : 'already running'}: run ${run.id} (as_of ${asOf})`);
    const p = await waitForRun(db, run.id, { write: print });
    print(await formatRunSummary(db, p));
    if (p.run.status !== 'completed') throw new Error(`the national run ${p.run.status}: ${p.run.error ?? ''}`);

    const year = Number(asOf.slice(0, 4));
    const lines = provinceLines(await getRegionSummaries(db, { year }));
    print('');
    print(formatNationalSummary(lines, year));
    const sumsel = lines.find((l) => l.code === '16');
    if (sumsel)
      print(`\nSouth Sumatra (16, ${sumsel.name}): ${sumsel.covered} of ${sumsel.total} regencies/cities covered`);
    // Needs planning (R16–R18): South Sumatra's regions, and the planning findings nationwide.
    print('');
    print(needsTable(await getNeeds(db, { province: '16', year })));
    print(`\nneeds planning findings (open): ${await planningFindingCounts(db)}`);

    let apiUrl: string | null = null;
    if (o.api) {
      const { start: startApi } = await import('@pksync/api');
      const api = await startApi(config, { logger: log });
      stoppables.push(api);
      apiUrl = api.url;
      const { key } = await createKey(db, {
        name: `demo-admin-${Date.now().toString(36)}`,
        role: 'admin',
        actor: 'demo',
        reason: 'pksync demo',
      });
      print(`\n==> API on ${api.url} (console: ${api.url}/)`);
      print(`admin key (shown once): ${key}`);
      print('try:');
      print(`  curl -s ${api.url}/api/v1/regions/16 | head -c 600`);
      print(`  curl -s '${api.url}/api/v1/needs?province=16' | head -c 600   (console: ${api.url}/#/needs/16)`);
      print(`  curl -s -H 'Authorization: Bearer ${key}' '${api.url}/api/v1/officers?region=16.71&limit=5'`);
      print(
        `  curl -s -X POST -H 'Authorization: Bearer ${key}' -H 'content-type: application/json' -d '{"scope":{"region":"16.71"},"reason":"demo"}' ${api.url}/api/v1/sync`,
      );
    }
    const dbUrl = new URL(config.databaseUrl);
    if (dbUrl.password) dbUrl.password = '***';
    print(
      `\nre-sync one region: DATABASE_URL=${dbUrl.toString()} REDIS_URL=${config.redisUrl} pnpm pksync sync --region 16.71 --wait` +
        (apiUrl ? `\n   (or POST ${apiUrl}/api/v1/sync as above)` : ''),
    );
    if (o.once) {
      print('==> --once: stopping');
      return;
    }
    // Listen first: a Ctrl-C right after the prompt would otherwise kill the demo uncleanly.
    const stopped = runUntilSignal({ close: stopAll }, config.shutdownTimeoutMs * 2, 'demo');
    print('services are running; press Ctrl-C to stop');
    await stopped;
    print('==> stopped');
  } finally {
    await stopAll();
  }
}

/** `pksync demo`: see {@link runDemo}. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole pipeline on this machine: simulator, workers, scheduler, national sync, summary, API')
    .option('--once', 'exit after the national summary (CI, tests)')
    .option('--regions <spec>', 'simulated regions: all, a province (16) or a comma list', 'all')
    .option('--sim-port <p>', 'simulator port (0: any free port)', '0')
    .option('--seed <n>', 'simulator seed', '1')
    .option('--workers <n>', 'worker instances', '2')
    .option('--no-api', 'do not start the API')
    .action(async (o: DemoOptions) => {
      await runDemo(o);
    });
}
