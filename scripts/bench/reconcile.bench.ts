/**
 * Reconciliation benchmark: stages N officers over one source per regency/city, reconciles, then
 * measures a repeat run with nothing changed (unchanged fetches, and re-staged identical
 * snapshots) and one-region re-syncs (issue 16: a region run on the national run's `as_of`, one
 * on a later `as_of`, then the national run that brings that region back to the national
 * `as_of`). Prints figures and each phase's milliseconds; asserts nothing.
 *
 *   pnpm bench:reconcile [officers=1000000]
 *
 * Uses (and drops) its own database `reconcile_bench_<pid>` on BENCH_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import pg from 'pg';
import { regions } from '../../packages/reference/src/index.ts';
import type { Officer } from '../../packages/core/src/index.ts';
import { insertSource, snapshotOf } from '../../packages/testing/src/factories.ts';
import {
  createDb,
  migrateToLatest,
  poolOf,
  reconcileRun,
  stageSnapshot,
  type Db,
} from '../../packages/db/src/index.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const onlyFirst = process.env.BENCH_ONLY_FIRST === '1';
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `reconcile_bench_${process.pid}`;
const asOf = '2026-11-27';
/** A region re-sync's later `as_of` (half a year on: some officers reach their retirement age). */
const laterAsOf = '2027-05-27';

const LEVELS = [
  ['ahli_pertama', 'III/a'],
  ['ahli_muda', 'III/c'],
  ['ahli_madya', 'IV/a'],
  ['ahli_utama', 'IV/d'],
] as const;

function officersOf(regionCode: string, index: number, count: number): Officer[] {
  const out: Officer[] = [];
  for (let i = 0; i < count; i++) {
    const n = index * 10_000 + i;
    const year = 1966 + (n % 35);
    const month = String(1 + (n % 12)).padStart(2, '0');
    const day = String(1 + (n % 28)).padStart(2, '0');
    // Unique 18-digit NIP: birth date + the sequence (staging and reconciling do not re-parse it).
    const nip = `${year}${month}${day}${String(n).padStart(10, '0')}`;
    const [level, grade] = LEVELS[n % 4]!;
    out.push({
      nip,
      name: `Pejabat ${n}`,
      nameNormalised: `pejabat ${n}`,
      gender: n % 2 ? 'P' : 'L',
      birthDate: `${year}-${month}-${day}`,
      level,
      grade,
      unit: `Dinas Tenaga Kerja ${regionCode}`,
      regionCode,
      tmtJabatan: '2020-01-01',
      status: n % 50 === 0 ? 'cuti' : 'aktif',
      email: null,
      phone: null,
      updatedAt: null,
      position: i + 2,
    });
  }
  return out;
}

async function newRun(
  db: Db,
  fetches: { sourceId: string; status: 'succeeded' | 'unchanged' }[],
  scope: { kind: 'national' } | { kind: 'region'; value: string } = { kind: 'national' },
  runAsOf = asOf,
): Promise<string> {
  const run = await db
    .insertInto('runs')
    .values({
      scope_kind: scope.kind,
      scope_value: scope.kind === 'national' ? null : scope.value,
      scope_key: `bench:${Date.now()}:${Math.random()}`,
      trigger: 'manual',
      requested_by: 'bench',
      reason: 'bench',
      as_of: runAsOf,
      status: 'completed',
      schedule_slot: null,
      version_published: null,
      error: null,
      started_at: new Date(),
      finished_at: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (let i = 0; i < fetches.length; i += 1000) {
    await db
      .insertInto('source_fetches')
      .values(
        fetches.slice(i, i + 1000).map((f) => ({
          run_id: run.id,
          source_id: f.sourceId,
          status: f.status,
          finished_at: new Date(),
        })),
      )
      .execute();
  }
  return run.id;
}

const secs = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2);

/**
 * CPU seconds used so far by this process and by the PostgreSQL backends serving the bench
 * database (read from /proc: PostgreSQL runs on this machine). On a shared, loaded machine the
 * wall time says little; CPU time is what an idle 2-core machine would need (the work is
 * single-threaded per statement).
 */
async function cpu(db: Db): Promise<{ node: number; pg: number }> {
  const { readFile } = await import('node:fs/promises');
  const pids = (
    await poolOf(db).query<{ p: number[] }>(
      'select array(select pid from pg_stat_activity where datname = current_database()) as p',
    )
  ).rows[0]!;
  let ticks = 0;
  for (const pid of pids.p) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  const u = process.cpuUsage();
  return { node: (u.user + u.system) / 1e6, pg: ticks / 100 };
}
async function cpuSince(db: Db, label: string, before: { node: number; pg: number }): Promise<string> {
  const now = await cpu(db);
  return `${label}: CPU node ${(now.node - before.node).toFixed(2)} s + PostgreSQL ${(now.pg - before.pg).toFixed(2)} s`;
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => {}); // a dropped connection: its query rejects (no listener would end the process)
  await admin.connect();
  await admin.query(`drop database if exists ${dbName}`);
  await admin.query(`create database ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const db = createDb(url.toString(), { max: 2 });
  try {
    await migrateToLatest(db);
    const regencies = regions.filter((r) => r.level === 'regency');
    const per = Math.ceil(total / regencies.length);
    for (const r of regencies)
      await insertSource(db, {
        id: `${r.code}-disnaker`,
        agency: `Disnaker ${r.name}`,
        regionCode: r.code,
        transport: 'api',
      });

    // 1. Full national run: stage every source, reconcile.
    const all = regencies.map((r) => ({ sourceId: `${r.code}-disnaker`, status: 'succeeded' as const }));
    const run1 = await newRun(db, all);
    let c0 = await cpu(db);
    let t0 = performance.now();
    let staged = 0;
    for (const [i, r] of regencies.entries()) {
      const officers = officersOf(r.code, i, Math.min(per, total - staged));
      staged += officers.length;
      await stageSnapshot(db, { runId: run1, sourceId: `${r.code}-disnaker`, result: snapshotOf(officers) });
    }
    console.log(`stage ${staged} officers over ${regencies.length} sources: ${secs(t0)} s`);
    console.log(await cpuSince(db, '  stage', c0));
    c0 = await cpu(db);
    t0 = performance.now();
    const r1 = await reconcileRun(db, { runId: run1, asOf });
    console.log(`reconcile first national run: ${secs(t0)} s`, r1.version, r1.counts, r1.findings, r1.timings);
    console.log(await cpuSince(db, '  reconcile', c0));

    if (onlyFirst) return;
    // 2. Repeat run, every fetch 'unchanged' (content hash equal).
    const run2 = await newRun(
      db,
      all.map((a) => ({ ...a, status: 'unchanged' as const })),
    );
    c0 = await cpu(db);
    t0 = performance.now();
    const r2 = await reconcileRun(db, { runId: run2, asOf });
    console.log(`reconcile repeat run, all unchanged: ${secs(t0)} s`, r2.version, r2.findings, r2.timings);
    console.log(await cpuSince(db, '  reconcile', c0));

    // 3. One region re-sync (a region-scoped run): one source re-staged with 5 changes, on the
    // national run's as_of; then another region on a later as_of (issue 16: R11/R12/R17/R18 are
    // evaluated in its scope only); then a national run on the national as_of, all unchanged,
    // which evaluates that region again.
    const resync = async (index: number, label: string, runAsOf: string) => {
      const r = regencies[index]!;
      const run = await newRun(
        db,
        [{ sourceId: `${r.code}-disnaker`, status: 'succeeded' }],
        { kind: 'region', value: r.code },
        runAsOf,
      );
      const changed = officersOf(r.code, index, per).map((o, i) => (i < 5 ? { ...o, grade: 'III/b' } : o));
      c0 = await cpu(db);
      t0 = performance.now();
      await stageSnapshot(db, { runId: run, sourceId: `${r.code}-disnaker`, result: snapshotOf(changed) });
      const t1 = performance.now();
      const res = await reconcileRun(db, { runId: run, asOf: runAsOf });
      console.log(
        `${label} (${r.code}, ${per} officers, stage + reconcile): ${secs(t0)} s, reconcile ${secs(t1)} s`,
        res.version,
        res.counts,
        res.timings,
      );
      console.log(await cpuSince(db, '  stage + reconcile', c0));
    };
    await resync(0, 'one region re-sync, the national as_of', asOf);
    await resync(1, 'one region re-sync, a later as_of', laterAsOf);
    const run3c = await newRun(
      db,
      all.map((a) => ({ ...a, status: 'unchanged' as const })),
    );
    c0 = await cpu(db);
    t0 = performance.now();
    const r3c = await reconcileRun(db, { runId: run3c, asOf });
    console.log(
      `national run after it, all unchanged, the national as_of: ${secs(t0)} s`,
      r3c.version,
      r3c.counts,
      r3c.findings,
      r3c.timings,
    );
    console.log(await cpuSince(db, '  reconcile', c0));

    // 4. Repeat national run with every snapshot re-staged identical (no content-hash shortcut).
    const run4 = await newRun(db, all);
    c0 = await cpu(db);
    t0 = performance.now();
    staged = 0;
    for (const [i, r] of regencies.entries()) {
      const officers = officersOf(r.code, i, Math.min(per, total - staged)).map((o, j) =>
        i === 0 && j < 5 ? { ...o, grade: 'III/b' } : o,
      );
      staged += officers.length;
      await stageSnapshot(db, { runId: run4, sourceId: `${r.code}-disnaker`, result: snapshotOf(officers) });
    }
    const stageSecs = secs(t0);
    t0 = performance.now();
    const r4 = await reconcileRun(db, { runId: run4, asOf });
    console.log(
      `repeat national run re-staged identical: stage ${stageSecs} s, reconcile ${secs(t0)} s`,
      r4.version,
      r4.timings,
    );
    console.log(await cpuSince(db, '  stage + reconcile', c0));
  } finally {
    await db.destroy();
    if (!process.env.BENCH_KEEP) await admin.query(`drop database if exists ${dbName}`);
    await admin.end();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
