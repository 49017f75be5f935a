import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { sql } from 'kysely';
import { isActiveStatus, type SnapshotResult } from '@pksync/core';
import { poolOf, type Db } from '../db.ts';

// pg-copy-streams ships no types; this is the one function used.
const require = createRequire(import.meta.url);
const { from: copyFrom } = require('pg-copy-streams') as {
  from: (text: string) => Writable & pg.Submittable;
};

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface StageSnapshotInput {
  runId: string;
  sourceId: string;
  /** The `source_fetches.id` this snapshot came from (kept for tracing). */
  fetchId?: number | string | null;
  result: SnapshotResult;
  contentHash?: string | null;
}

/** Staging input that cannot be staged (unknown run or source, malformed ids). */
export class StagingError extends Error {
  override name = 'StagingError';
}

/**
 * The UNLOGGED tables holding a staged snapshot's rows, each counted by a `staged_snapshots`
 * column: a header whose counts differ from the rows present lost them (a crash empties these
 * tables). Every reader that clears or counts staged rows goes through this list.
 */
export const STAGED_ROW_TABLES = [
  { table: 'staged_officers', count: 'officer_count' },
  { table: 'staged_formations', count: 'formation_count' },
  { table: 'staged_findings', count: 'finding_count' },
  { table: 'staged_workloads', count: 'workload_count' },
] as const;

/** `officer_count + formation_count + …` of a `staged_snapshots` row aliased `alias`: the rows it expects. */
export function stagedRowsExpected(alias: string) {
  return sql.join(
    STAGED_ROW_TABLES.map((t) => sql.ref(`${alias}.${t.count}`)),
    sql` + `,
  );
}

/**
 * Snapshots with more rows than this (all four tables together) are staged with COPY streams;
 * smaller ones — nearly every agency's — in one round trip (`pksync_stage_snapshot`, migration
 * 0009), since a COPY per table costs more round trips than its rows.
 */
export const STAGE_COPY_ABOVE = 5_000;

/** Each staged table's columns after (run_id, source_id), and a row's values in that order (text or null). */
const OFFICER_COLUMNS =
  'nip, name, name_normalised, gender, birth_date, level, grade, unit, region_code, tmt_jabatan, status, active, email, phone, source_updated_at, position';
const officerFields = (o: SnapshotResult['accepted'][number]): (string | null)[] => [
  o.nip,
  o.name,
  o.nameNormalised,
  o.gender,
  o.birthDate,
  o.level,
  o.grade,
  o.unit,
  o.regionCode,
  o.tmtJabatan,
  o.status,
  isActiveStatus(o.status) ? 't' : 'f',
  o.email,
  o.phone,
  o.updatedAt,
  String(o.position),
];
const FORMATION_COLUMNS = 'region_code, year, level, need, approved, position';
const formationFields = (f: SnapshotResult['formations'][number]): (string | null)[] => [
  f.regionCode,
  String(f.year),
  f.level,
  String(f.need),
  String(f.approved),
  String(f.position),
];
const WORKLOAD_COLUMNS = 'region_code, year, activity, volume, districts, complexity, position';
const workloadFields = (w: SnapshotResult['workloads'][number]): (string | null)[] => [
  w.regionCode,
  String(w.year),
  w.activity,
  String(w.volume),
  w.districts === null ? null : String(w.districts),
  w.complexity,
  String(w.position),
];
const FINDING_COLUMNS = 'code, severity, row, nip, details';
const findingFields = (f: SnapshotResult['findings'][number]): (string | null)[] => [
  f.code,
  f.severity,
  f.row === undefined ? null : String(f.row),
  f.nip ?? null,
  JSON.stringify(f.details ?? {}),
];
const REJECTED_COLUMNS = 'row, nip, codes, fields, raw';
const rejectedFields = (r: SnapshotResult['rejected'][number]): (string | null)[] => [
  String(r.row),
  r.nip ?? null,
  pgArray(r.codes),
  pgArray(r.fields),
  JSON.stringify(r.raw),
];

/**
 * Stages one source's normalised snapshot for a run: accepted officers, formations, workloads and the
 * normaliser's R2/R3/R7 findings into the UNLOGGED staging tables, R6 rejections into
 * `rejected_records`, and a header row with the counts — all in one transaction, after an advisory
 * lock on (run, source). Idempotent per (runId, sourceId): staging again replaces the previous
 * rows, so a retried job (even one racing its stalled predecessor) never doubles anything.
 * `reconcileRun` reads what is staged here. Up to `copyAbove` rows ({@link STAGE_COPY_ABOVE}) go in
 * one statement, more in one COPY stream per table.
 *
 * @example
 * await stageSnapshot(db, { runId, sourceId: '16.71-disnaker', fetchId, result: normaliser.finish(), contentHash });
 */
export async function stageSnapshot(
  db: Db,
  input: StageSnapshotInput,
  opts: { copyAbove?: number } = {},
): Promise<void> {
  const { runId, sourceId, result } = input;
  if (!UUID_RE.test(runId)) throw new StagingError(`stageSnapshot: runId must be a UUID, got "${runId}"`);
  if (!sourceId) throw new StagingError('stageSnapshot: sourceId is required');
  for (const key of ['accepted', 'formations', 'workloads', 'rejected', 'findings'] as const) {
    if (!Array.isArray(result?.[key])) {
      throw new StagingError(`stageSnapshot: result.${key} must be an array (a SnapshotResult from the normaliser)`);
    }
  }
  const fetchId = input.fetchId === undefined || input.fetchId === null ? null : Number(input.fetchId);
  if (fetchId !== null && !Number.isSafeInteger(fetchId)) {
    throw new StagingError(`stageSnapshot: fetchId must be an integer, got "${String(input.fetchId)}"`);
  }
  // R6 rejections are kept in rejected_records; their per-row findings are grouped per source
  // by reconcileRun, so only the other record findings are staged.
  const findings = result.findings.filter((f) => f.code !== 'record_rejected');
  const rows =
    result.accepted.length +
    result.formations.length +
    result.workloads.length +
    findings.length +
    result.rejected.length;
  const staged: Staged = { runId, sourceId, fetchId, contentHash: input.contentHash ?? null, result, findings };
  try {
    if (rows <= (opts.copyAbove ?? STAGE_COPY_ABOVE)) await stageInOneStatement(db, staged);
    else await stageWithCopy(db, staged);
  } catch (e) {
    if (e instanceof StagingError) throw e;
    const code = (e as { code?: unknown }).code;
    if (code === 'PK001') throw new StagingError(`stageSnapshot: run ${runId} does not exist`);
    if (code === 'PK002') throw new StagingError(`stageSnapshot: source "${sourceId}" does not exist`);
    // A value PostgreSQL refuses (e.g. a malformed date) fails the whole snapshot, never half of it.
    throw new StagingError(
      `stageSnapshot: could not stage source "${sourceId}" for run ${runId}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

interface Staged {
  runId: string;
  sourceId: string;
  fetchId: number | null;
  contentHash: string | null;
  result: SnapshotResult;
  /** The findings to stage (without R6's per-row ones). */
  findings: SnapshotResult['findings'];
}

async function stageInOneStatement(db: Db, s: Staged): Promise<void> {
  const { result } = s;
  await poolOf(db).query('select pksync_stage_snapshot($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)', [
    s.runId,
    s.sourceId,
    s.fetchId,
    s.contentHash,
    JSON.stringify(result.accepted.map(officerFields)),
    JSON.stringify(result.formations.map(formationFields)),
    JSON.stringify(s.findings.map(findingFields)),
    JSON.stringify(result.rejected.map(rejectedFields)),
    JSON.stringify(result.stats),
    JSON.stringify(result.workloads.map(workloadFields)),
  ]);
}

async function stageWithCopy(db: Db, s: Staged): Promise<void> {
  const { runId, sourceId, result } = s;
  const client = await poolOf(db).connect();
  try {
    await client.query('begin');
    // Serialise two stagings of the same (run, source) (a retried job racing its predecessor); the
    // statements after this one see what the other committed, and clear it.
    await client.query(`select pg_advisory_xact_lock(hashtext('pksync.stage:' || $1::uuid || ':' || $2))`, [
      runId,
      sourceId,
    ]);
    const clear = [...STAGED_ROW_TABLES.map((t) => t.table), 'rejected_records']
      .map((table, i) => `d${i} as (delete from ${table} where run_id = $1 and source_id = $2)`)
      .join(', ');
    const known = await client.query<{ run: boolean; source: boolean }>(
      `with ${clear}
       select exists(select 1 from runs where id = $1) as run, exists(select 1 from sources where id = $2) as source`,
      [runId, sourceId],
    );
    if (!known.rows[0]?.run) throw new StagingError(`stageSnapshot: run ${runId} does not exist`);
    if (!known.rows[0]?.source) throw new StagingError(`stageSnapshot: source "${sourceId}" does not exist`);
    const prefix = [runId, sourceId];
    await copyRows(client, 'staged_officers', OFFICER_COLUMNS, result.accepted, officerFields, prefix);
    await copyRows(client, 'staged_formations', FORMATION_COLUMNS, result.formations, formationFields, prefix);
    await copyRows(client, 'staged_workloads', WORKLOAD_COLUMNS, result.workloads, workloadFields, prefix);
    await copyRows(client, 'staged_findings', FINDING_COLUMNS, s.findings, findingFields, prefix);
    await copyRows(client, 'rejected_records', REJECTED_COLUMNS, result.rejected, rejectedFields, prefix);
    await client.query(
      `insert into staged_snapshots
         (run_id, source_id, fetch_id, content_hash, officer_count, formation_count, finding_count, rejected_count, stats,
          workload_count)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       on conflict (run_id, source_id) do update set
         fetch_id = excluded.fetch_id, content_hash = excluded.content_hash,
         officer_count = excluded.officer_count, formation_count = excluded.formation_count,
         finding_count = excluded.finding_count, rejected_count = excluded.rejected_count,
         workload_count = excluded.workload_count,
         stats = excluded.stats, staged_at = clock_timestamp(), reconciled_at = null, discarded_at = null`,
      [
        runId,
        sourceId,
        s.fetchId,
        s.contentHash,
        result.accepted.length,
        result.formations.length,
        s.findings.length,
        result.rejected.length,
        JSON.stringify(result.stats),
        result.workloads.length,
      ],
    );
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/**
 * Drops a run's staged rows (e.g. a run that failed and will not be reconciled). Snapshots that
 * are some source's current listing are kept: R10 still reads them.
 */
export async function discardStagedRun(db: Db, runId: string): Promise<{ snapshots: number }> {
  return db.transaction().execute(async (trx) => {
    const rows = await sql<{ source_id: string }>`
      update staged_snapshots s set discarded_at = now()
      where s.run_id = ${runId} and s.discarded_at is null
        and not exists (select 1 from source_listings l where l.run_id = s.run_id and l.source_id = s.source_id)
      returning s.source_id`.execute(trx);
    const sources = rows.rows.map((r) => r.source_id);
    if (sources.length) {
      for (const { table } of STAGED_ROW_TABLES) {
        await trx.deleteFrom(table).where('run_id', '=', runId).where('source_id', 'in', sources).execute();
      }
    }
    return { snapshots: sources.length };
  });
}

// COPY text format: backslash, tab, newline and carriage return escaped; \N is NULL. NUL bytes
// never reach here (the normaliser removes them; PostgreSQL text cannot hold them).
function copyField(v: string | null): string {
  if (v === null) return '\\N';
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** A PostgreSQL array literal of text values (elements quoted and escaped). */
function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

async function copyRows<T>(
  client: pg.PoolClient,
  table: string,
  columns: string,
  rows: readonly T[],
  toFields: (row: T) => (string | null)[],
  prefix: readonly string[],
): Promise<void> {
  if (rows.length === 0) return;
  const stream = client.query(copyFrom(`copy ${table} (run_id, source_id, ${columns}) from stdin`));
  const done = finished(stream);
  const head = prefix.map(copyField).join('\t') + '\t';
  let buf = '';
  for (let i = 0; i < rows.length; i++) {
    buf += head + toFields(rows[i]!).map(copyField).join('\t') + '\n';
    if (buf.length > 1 << 16 || i === rows.length - 1) {
      // Wait for the socket to drain, or for the stream to fail (then `done` rejects).
      if (!stream.write(buf)) await Promise.race([once(stream, 'drain'), done]);
      buf = '';
    }
  }
  stream.end();
  await done;
}

/**
 * The sources of a run whose staged snapshot lost rows: the header (`staged_snapshots`, logged)
 * counts more or fewer rows than the UNLOGGED row tables hold, as after a server crash, which
 * empties those tables. Only headers not discarded, of `sourceIds` when given. One grouped count
 * per table (by the run/source index). Read by `reconcileRun` (which must never take lost rows for
 * an empty snapshot: R8 would read it as a mass removal) and by `resumeRunRecord` (which re-fetches
 * them).
 */
export async function lostStagedSources(db: Db, runId: string, sourceIds?: readonly string[]): Promise<string[]> {
  if (sourceIds && sourceIds.length === 0) return [];
  const only = (col: string) => (sourceIds ? sql`and ${sql.ref(col)} = any(${[...sourceIds]}::text[])` : sql``);
  const counted = new Map<string, number>();
  for (const { table } of STAGED_ROW_TABLES) {
    const rows = await sql<{ source_id: string; n: number }>`
      select source_id, count(*)::int as n from ${sql.table(table)}
      where run_id = ${runId} ${only('source_id')} group by source_id`.execute(db);
    for (const r of rows.rows) counted.set(r.source_id, (counted.get(r.source_id) ?? 0) + r.n);
  }
  const headers = await sql<{ source_id: string; expected: number }>`
    select source_id, (${stagedRowsExpected('h')})::int as expected
    from staged_snapshots h where run_id = ${runId} and discarded_at is null ${only('source_id')}`.execute(db);
  return headers.rows.filter((h) => (counted.get(h.source_id) ?? 0) !== h.expected).map((h) => h.source_id);
}
