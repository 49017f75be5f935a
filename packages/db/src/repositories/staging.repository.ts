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
 * Stages one source's normalised snapshot for a run: accepted officers, formations and the
 * normaliser's R2/R3/R7 findings into the UNLOGGED staging tables (COPY, one stream per table),
 * R6 rejections into `rejected_records`, and a header row with the counts — all in one
 * transaction. Idempotent per (runId, sourceId): staging again replaces the previous rows, so a
 * retried job never doubles anything. `reconcileRun` reads what is staged here.
 *
 * @example
 * await stageSnapshot(db, { runId, sourceId: '16.71-disnaker', fetchId, result: normaliser.finish(), contentHash });
 */
export async function stageSnapshot(db: Db, input: StageSnapshotInput): Promise<void> {
  const { runId, sourceId, result } = input;
  if (!UUID_RE.test(runId)) throw new StagingError(`stageSnapshot: runId must be a UUID, got "${runId}"`);
  if (!sourceId) throw new StagingError('stageSnapshot: sourceId is required');
  for (const key of ['accepted', 'formations', 'rejected', 'findings'] as const) {
    if (!Array.isArray(result?.[key])) {
      throw new StagingError(`stageSnapshot: result.${key} must be an array (a SnapshotResult from the normaliser)`);
    }
  }
  const fetchId = input.fetchId === undefined || input.fetchId === null ? null : Number(input.fetchId);
  if (fetchId !== null && !Number.isSafeInteger(fetchId)) {
    throw new StagingError(`stageSnapshot: fetchId must be an integer, got "${String(input.fetchId)}"`);
  }
  const client = await poolOf(db).connect();
  try {
    await client.query('begin');
    // One round trip (552 sources a night): check the run and source, serialise two stagings of
    // the same (run, source) (a retried job racing its predecessor), then clear what an earlier
    // attempt staged. The lock is an init plan of every delete, so it is taken before they run.
    const known = await client.query<{ run: boolean; source: boolean }>(
      `with lock as (select pg_advisory_xact_lock(hashtext($3)) as l),
         d1 as (delete from staged_officers where run_id = $1 and source_id = $2 and exists (select 1 from lock)),
         d2 as (delete from staged_formations where run_id = $1 and source_id = $2 and exists (select 1 from lock)),
         d3 as (delete from staged_findings where run_id = $1 and source_id = $2 and exists (select 1 from lock)),
         d4 as (delete from rejected_records where run_id = $1 and source_id = $2 and exists (select 1 from lock))
       select exists(select 1 from runs where id = $1) as run, exists(select 1 from sources where id = $2) as source,
         (select count(*) from lock) as locked`,
      [runId, sourceId, `pksync.stage:${runId}:${sourceId}`],
    );
    if (!known.rows[0]?.run) throw new StagingError(`stageSnapshot: run ${runId} does not exist`);
    if (!known.rows[0]?.source) throw new StagingError(`stageSnapshot: source "${sourceId}" does not exist`);

    await copyRows(
      client,
      'copy staged_officers (run_id, source_id, nip, name, name_normalised, gender, birth_date, level, grade, unit, region_code, tmt_jabatan, status, active, email, phone, source_updated_at, position) from stdin',
      result.accepted,
      (o) => [
        runId,
        sourceId,
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
      ],
    );
    await copyRows(
      client,
      'copy staged_formations (run_id, source_id, region_code, year, level, need, approved, position) from stdin',
      result.formations,
      (f) => [
        runId,
        sourceId,
        f.regionCode,
        String(f.year),
        f.level,
        String(f.need),
        String(f.approved),
        String(f.position),
      ],
    );
    // R6 rejections are kept in rejected_records; their per-row findings are grouped per source
    // by reconcileRun, so only the other record findings are staged.
    const recordFindings = result.findings.filter((f) => f.code !== 'record_rejected');
    await copyRows(
      client,
      'copy staged_findings (run_id, source_id, code, severity, row, nip, details) from stdin',
      recordFindings,
      (f) => [
        runId,
        sourceId,
        f.code,
        f.severity,
        f.row === undefined ? null : String(f.row),
        f.nip ?? null,
        JSON.stringify(f.details ?? {}),
      ],
    );
    await copyRows(
      client,
      'copy rejected_records (run_id, source_id, row, nip, codes, fields, raw) from stdin',
      result.rejected,
      (r) => [
        runId,
        sourceId,
        String(r.row),
        r.nip ?? null,
        pgArray(r.codes),
        pgArray(r.fields),
        JSON.stringify(r.raw),
      ],
    );
    await client.query(
      `insert into staged_snapshots
         (run_id, source_id, fetch_id, content_hash, officer_count, formation_count, finding_count, rejected_count, stats)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       on conflict (run_id, source_id) do update set
         fetch_id = excluded.fetch_id, content_hash = excluded.content_hash,
         officer_count = excluded.officer_count, formation_count = excluded.formation_count,
         finding_count = excluded.finding_count, rejected_count = excluded.rejected_count,
         stats = excluded.stats, staged_at = clock_timestamp(), reconciled_at = null, discarded_at = null`,
      [
        runId,
        sourceId,
        fetchId,
        input.contentHash ?? null,
        result.accepted.length,
        result.formations.length,
        recordFindings.length,
        result.rejected.length,
        JSON.stringify(result.stats),
      ],
    );
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => {});
    if (e instanceof StagingError) throw e;
    // A value PostgreSQL refuses (e.g. a malformed date) fails the whole snapshot, never half of it.
    throw new StagingError(
      `stageSnapshot: could not stage source "${sourceId}" for run ${runId}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
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
      for (const table of ['staged_officers', 'staged_formations', 'staged_findings'] as const) {
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
  copySql: string,
  rows: readonly T[],
  toFields: (row: T) => (string | null)[],
): Promise<void> {
  if (rows.length === 0) return;
  const stream = client.query(copyFrom(copySql));
  const done = finished(stream);
  let buf = '';
  for (let i = 0; i < rows.length; i++) {
    buf += toFields(rows[i]!).map(copyField).join('\t') + '\n';
    if (buf.length > 1 << 16 || i === rows.length - 1) {
      // Wait for the socket to drain, or for the stream to fail (then `done` rejects).
      if (!stream.write(buf)) await Promise.race([once(stream, 'drain'), done]);
      buf = '';
    }
  }
  stream.end();
  await done;
}
