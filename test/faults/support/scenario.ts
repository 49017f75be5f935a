/**
 * The scenario every fault test breaks: South Sumatra (16), every agency slow, so a national run
 * of its 18 sources lasts seconds; one PostgreSQL server and one Redis of the test's own; one
 * database per disturbed run and one for the undisturbed reference run, each with the
 * simulator's sources and an alert contact for province 16 (so the run writes outbox rows).
 * What a disturbed run must equal is {@link FaultOutcome}: the register, the run's counts, the
 * tables' row counts and the published versions of the reference run.
 */
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import pg from 'pg';
import { addContact, createDb, getRunProgress, importSources, type Db, type Run, type RunProgress } from '@pksync/db';
import { selectRegions, type Simulator } from '@pksync/simulator';
import {
  dayDate,
  runOutcome,
  simulatorWithSources,
  testConfig,
  waitForRun,
  type RunOutcome,
} from '../../support/harness.ts';
import { startPostgres, type FaultPostgres } from './postgres.ts';
import { startRedis, type FaultRedis } from './redis.ts';
import { runCli, spawnService, type ServiceKind, type ServiceProcess } from './processes.ts';

/** Every agency of the scenario answers each request after this long (default). */
const SLOW_MS = 1_000;

export const epoch = (t: unknown): number => new Date(t as string | Date).getTime();

/** Polls `check` every `everyMs` until it returns something other than undefined; throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A run's outcome as two runs of the same scenario must share it (nothing lost, nothing doubled). */
export interface FaultOutcome extends RunOutcome {
  status: string;
  /** The version the run published, and every version in the database. */
  version: number | null;
  versions: number[];
}

export async function faultOutcome(db: Db, run: Run): Promise<FaultOutcome> {
  const versions = await db.selectFrom('publications').select('version').orderBy('version').execute();
  return {
    ...(await runOutcome(db, run)),
    status: run.status,
    version: run.version_published,
    versions: versions.map((v) => Number(v.version)),
  };
}

/** The reference: the scenario's national run, undisturbed, with two workers. */
export interface ReferenceRun {
  run: Run;
  outcome: FaultOutcome;
  /** Trigger → completed. */
  ms: number;
}

/**
 * Asserts that `run` (completed) has the reference's outcome: counts, row counts and versions
 * first (short messages), then the register entry by entry.
 */
export async function expectReferenceOutcome(db: Db, run: Run, ref: ReferenceRun): Promise<FaultOutcome> {
  const got = await faultOutcome(db, run);
  const { register, ...rest } = got;
  const { register: refRegister, ...refRest } = ref.outcome;
  expect(rest).toEqual(refRest);
  expect(register.size).toBe(refRegister.size);
  expect(register).toEqual(refRegister);
  return got;
}

/** Prints `FIGURE <fault>: undisturbed X s, fault→completed Y s, trigger→completed Z s`; returns Z − X (ms). */
export function logFigure(fault: string, ref: ReferenceRun, faultAt: number, run: Run): number {
  const s = (ms: number) => (ms / 1000).toFixed(1);
  const finished = epoch(run.finished_at);
  const total = finished - epoch(run.created_at);
  console.log(
    `FIGURE ${fault}: undisturbed ${s(ref.ms)} s, fault→completed ${s(finished - faultAt)} s, trigger→completed ${s(total)} s`,
  );
  return total - ref.ms;
}

/** Polls the run's progress until `ready` holds; throws when the run finished first (the fault came too late). */
export async function waitForProgress(
  db: Db,
  runId: string,
  what: string,
  ready: (p: RunProgress) => boolean,
  timeoutMs = 60_000,
): Promise<RunProgress> {
  return waitUntil(
    what,
    async () => {
      const p = (await getRunProgress(db, runId))!;
      if (ready(p)) return p;
      if (p.run.status !== 'queued' && p.run.status !== 'running')
        throw new Error(`the run was ${p.run.status} before ${what}`);
      return undefined;
    },
    timeoutMs,
    20,
  );
}

export interface ScenarioDatabase {
  readonly name: string;
  readonly url: string;
  readonly db: Db;
  /**
   * The environment of a process on this database (its own queue prefix). `tag` becomes the
   * process's PostgreSQL `application_name` (`pksync-<tag>`), so a test can tell from
   * `pg_stat_activity` which process holds a connection.
   */
  env(tag?: string): Record<string, string>;
}

export interface TriggerResult {
  id: string;
  /** False when the CLI joined a run already queued or running for the scope. */
  created: boolean;
}

/** A run started by {@link FaultScenario.startRun}, at the point a fault is to hit it. */
export interface StartedRun {
  d: ScenarioDatabase;
  workers: ServiceProcess[];
  /** The API (when started with `services`). */
  api: ServiceProcess | undefined;
  /** The workers, then the API and the scheduler when started. */
  processes: ServiceProcess[];
  runId: string;
  progress: RunProgress;
}

const midFetch = (p: RunProgress) => p.sources.done >= 3 && p.sources.running > 0;

export interface FaultScenario {
  readonly pgServer: FaultPostgres;
  readonly redis: FaultRedis;
  readonly sim: Simulator;
  /** A fresh migrated database with the scenario's sources and contact. */
  database(name: string): Promise<ScenarioDatabase>;
  /** Starts a service; it is stopped after the file, and its output printed when a test fails. */
  spawn(kind: ServiceKind, env: Record<string, string>): Promise<ServiceProcess>;
  /** `count` workers tagged `worker-0`, `worker-1`, … (see {@link ScenarioDatabase.env}). */
  spawnWorkers(d: ScenarioDatabase, count: number): Promise<ServiceProcess[]>;
  /**
   * A fresh database, two workers on it (and the API and a scheduler with `services`), a national
   * run triggered; resolves once `until` holds (default: some sources done, some fetching).
   */
  startRun(
    name: string,
    options?: { services?: boolean; until?: (p: RunProgress) => boolean; what?: string },
  ): Promise<StartedRun>;
  /** `pksync sync --national --as-of <day 0>` with `env`. */
  triggerNational(env: Record<string, string>): Promise<TriggerResult>;
  /** The undisturbed run, run once (two workers) and remembered. */
  reference(): Promise<ReferenceRun>;
}

/**
 * Sets the scenario up in `beforeAll` (servers, simulator, the reference database) and tears it
 * down in `afterAll`; every test that fails prints the services' output.
 *
 * @example
 * const scenario = useFaultScenario({ env: { SHUTDOWN_TIMEOUT_MS: '5000' } });
 * it('…', async () => { const ref = await scenario.reference(); … });
 */
export function useFaultScenario(options: { env?: Record<string, string>; slowMs?: number } = {}): FaultScenario {
  let pgServer: FaultPostgres;
  let redis: FaultRedis;
  let sim: Simulator;
  let tokenKey: Buffer;
  let refDatabase: ScenarioDatabase;
  let reference: Promise<ReferenceRun> | undefined;
  const dbs: Db[] = [];
  const services: ServiceProcess[] = [];

  const printOutputs = () => {
    for (const s of services) {
      const out = s.output();
      // The last 8,000 characters from a line's start (all of it with FAULT_LOGS).
      const tail =
        process.env.FAULT_LOGS || out.length <= 8_000 ? out : out.slice(out.indexOf('\n', out.length - 8_000) + 1);
      console.log(`--- pksync serve ${s.kind} (pid ${s.pid}) ---\n${tail}`);
    }
  };
  const scenarioDatabase = async (name: string, url: string): Promise<ScenarioDatabase> => {
    const db = createDb(url, { max: 3 });
    dbs.push(db);
    const common = {
      REDIS_URL: redis.url,
      QUEUE_PREFIX: `{${name}}`,
      TOKEN_ENCRYPTION_KEY: tokenKey.toString('hex'),
      WORKER_CONCURRENCY: '3',
      LOG_LEVEL: 'info',
      ...options.env,
    };
    return {
      name,
      url,
      db,
      env: (tag) => ({ ...common, DATABASE_URL: tag ? `${url}?application_name=pksync-${tag}` : url }),
    };
  };
  const addAlertContact = (db: Db) =>
    addContact(
      db,
      {
        provinceCode: '16',
        admin: false,
        kind: 'email',
        address: 'pengantar-kerja@disnakertrans.sumselprov.example',
        name: 'Disnakertrans Sumatera Selatan',
        secret: null,
        createdBy: 'fault-test',
      },
      tokenKey,
    );

  const scenario: FaultScenario = {
    get pgServer() {
      return pgServer;
    },
    get redis() {
      return redis;
    },
    get sim() {
      return sim;
    },
    async database(name) {
      const d = await scenarioDatabase(name, await pgServer.createDatabase(name));
      await importSources(d.db, sim.sourcesFile(), tokenKey);
      await addAlertContact(d.db);
      return d;
    },
    async spawn(kind, env) {
      const s = await spawnService(kind, env);
      services.push(s);
      return s;
    },
    spawnWorkers(d, count) {
      return Promise.all(Array.from({ length: count }, (_, i) => scenario.spawn('worker', d.env(`worker-${i}`))));
    },
    async startRun(name, o = {}) {
      const d = await scenario.database(name);
      const [workers, others] = await Promise.all([
        scenario.spawnWorkers(d, 2),
        Promise.all(
          o.services ? [scenario.spawn('api', d.env('api')), scenario.spawn('scheduler', d.env('scheduler'))] : [],
        ),
      ]);
      const { id } = await scenario.triggerNational(d.env());
      const progress = await waitForProgress(
        d.db,
        id,
        o.what ?? 'some sources done, some fetching',
        o.until ?? midFetch,
      );
      return { d, workers, api: others[0], processes: [...workers, ...others], runId: id, progress };
    },
    async triggerNational(env) {
      const r = await runCli(['sync', '--national', '--as-of', dayDate(0)], env, { timeoutMs: 30_000 });
      const queued = /run ([0-9a-f-]{36}) queued/.exec(r.stdout)?.[1];
      const joined = /is already \w+: ([0-9a-f-]{36})/.exec(r.stdout)?.[1];
      if (r.code !== 0 || !(queued ?? joined))
        throw new Error(`pksync sync failed (${r.code}):\n${r.stdout}${r.stderr}`);
      return { id: (queued ?? joined)!, created: queued !== undefined };
    },
    reference() {
      reference ??= (async () => {
        const workers = await scenario.spawnWorkers(refDatabase, 2);
        const { id } = await scenario.triggerNational(refDatabase.env());
        const run = await waitForRun(refDatabase.db, id, 90_000);
        expect(run.status, run.error ?? '').toBe('completed');
        await Promise.all(workers.map((w) => w.stop()));
        const outcome = await faultOutcome(refDatabase.db, run);
        // The scenario publishes one version with findings, rejections and a digest for province 16.
        expect(outcome.versions).toEqual([1]);
        for (const table of ['findings', 'rejected_records', 'alert_outbox'])
          expect([table, outcome.rows[table]]).not.toEqual([table, 0]);
        return { run, outcome, ms: epoch(run.finished_at) - epoch(run.created_at) };
      })();
      return reference;
    },
  };

  beforeAll(async () => {
    [pgServer, redis] = await Promise.all([startPostgres(), startRedis()]);
    const refUrl = await pgServer.createDatabase('pksync_reference');
    const config = testConfig({ url: refUrl }, { url: redis.url, prefix: '{pksync_reference}' });
    tokenKey = config.tokenKey!;
    refDatabase = await scenarioDatabase('pksync_reference', refUrl);
    // Every agency slow (the simulator's source ids: `<code>-disnakertrans` for the province).
    const ids = selectRegions('16').map((r) => `${r.code}-${r.level === 'province' ? 'disnakertrans' : 'disnaker'}`);
    sim = await simulatorWithSources(refDatabase.db, config, {
      regions: '16',
      delays: true,
      faults: Object.fromEntries(ids.map((id) => [id, ['slow' as const]])),
      faultTuning: { slowMs: options.slowMs ?? SLOW_MS },
    });
    const imported = await refDatabase.db.selectFrom('sources').select('id').execute();
    expect(imported.map((s) => s.id).sort()).toEqual([...ids].sort());
    await addAlertContact(refDatabase.db);
  });
  beforeEach(({ onTestFailed }) => onTestFailed(printOutputs));
  afterAll(async () => {
    await Promise.allSettled(services.map((s) => s.stop(10_000)));
    // FAULT_LOGS=1: every service's output, also when the tests passed.
    if (process.env.FAULT_LOGS) printOutputs();
    await sim?.close();
    await Promise.allSettled(dbs.map((db) => db.destroy()));
    await pgServer?.destroy();
    await redis?.destroy();
  });
  return scenario;
}

// The advisory lock every reconciliation takes first in its transaction (RECONCILE_LOCK, 'pksync',
// of reconcileRun in @pksync/db): a bigint key shows in pg_locks as classid (high 32 bits) and
// objid (low 32 bits).
const RECONCILE_LOCK = "x'706b73796e63'::bigint";
const RECONCILE_LOCK_ROW = { classid: 0x706b, objid: 0x73796e63 };

/** Where {@link ReconcileGate.blocked} found the reconciliation. */
export interface BlockedReconcile {
  /** The backend of the reconcile transaction, and its process's `application_name` (`pksync-<tag>`). */
  pid: number;
  applicationName: string;
  /** True when the transaction had written already (it has a transaction id). */
  wrote: boolean;
  /** The statement it is blocked in. */
  query: string;
}

export interface ReconcileGate {
  /**
   * Waits until a reconciliation of `runId` is inside its transaction, lets it run on to its first
   * statement that locks the run's row (the publication's insert, which references the run, or
   * the run's completion: past the register's writes), and holds it there.
   */
  blocked(runId: string, timeoutMs?: number): Promise<BlockedReconcile>;
  /** Lets the reconciliation go on (when its process or the server is still there). Safe to call twice. */
  release(): Promise<void>;
}

/**
 * Holds every reconciliation of the database `url` mid-transaction, so a fault can hit it there:
 * first at the reconcile lock (held by the gate from now on), then, once one is waiting for it,
 * at its run's row (locked `for update` by the gate) — past the register's writes. Take the gate
 * before triggering the run.
 */
export async function reconcileGate(url: string): Promise<ReconcileGate> {
  const connect = async () => {
    const c = new pg.Client({ connectionString: url, application_name: 'pksync-fault-gate' });
    c.on('error', () => {}); // the server may be restarted under it
    await c.connect();
    return c;
  };
  const lock = await connect();
  const row = await connect();
  await lock.query(`select pg_advisory_lock(${RECONCILE_LOCK})`);
  const rowPid = (await row.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  let released = false;
  return {
    async blocked(runId, timeoutMs = 60_000) {
      const waiting = await waitUntil(
        'a reconciliation waiting for the reconcile lock',
        async () =>
          (
            await lock.query<{ pid: number; application_name: string }>(
              `select a.pid, a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid
               where l.locktype = 'advisory' and not l.granted and l.classid = $1 and l.objid = $2
                 and l.database = (select oid from pg_database where datname = current_database())`,
              [RECONCILE_LOCK_ROW.classid, RECONCILE_LOCK_ROW.objid],
            )
          ).rows[0],
        timeoutMs,
      );
      await row.query('begin');
      await row.query('select id from runs where id = $1 for update', [runId]);
      await lock.query(`select pg_advisory_unlock(${RECONCILE_LOCK})`);
      const at = await waitUntil(
        'the reconciliation blocked on its run row',
        async () =>
          (
            await lock.query<{ blocked: boolean; wrote: boolean; query: string }>(
              `select $2::int = any(pg_blocking_pids(pid)) as blocked, backend_xid is not null as wrote, query
               from pg_stat_activity where pid = $1`,
              [waiting.pid, rowPid],
            )
          ).rows.find((r) => r.blocked),
        timeoutMs,
        20,
      );
      return { pid: waiting.pid, applicationName: waiting.application_name, wrote: at.wrote, query: at.query };
    },
    async release() {
      if (released) return;
      released = true;
      await row.query('rollback').catch(() => {});
      await Promise.allSettled([lock.end(), row.end()]);
    },
  };
}
