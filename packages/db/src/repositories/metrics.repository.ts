import { sql } from 'kysely';
import type { Db } from '../db.ts';

/** The pipeline's current state for a worker's Prometheus gauges (current rows, never history). */
export interface OperationalStateRow {
  /**
   * Outbox messages by state: `pending` (no failed attempt yet), `retrying` (pending after a failed
   * delivery attempt), `dead` (given up after its attempts). A partition: they add up.
   */
  outbox: { pending: number; retrying: number; dead: number };
  /** Unix seconds, or null before any completed national run. */
  lastNationalRunCompletedAt: number | null;
  /** Enabled sources with their last successful fetch (unix seconds; their creation when never). */
  sources: { id: string; region: string; lastSuccessAt: number }[];
}

/**
 * Reads what the worker's gauges show at scrape time: outbox messages by status, the last
 * completed national run and each enabled source's `last_success_at` (R9: what staleness is
 * measured from). Three small reads on indexed or small tables, not aggregates over the history.
 */
export async function readOperationalState(db: Db): Promise<OperationalStateRow> {
  const [outbox, national, sources] = await Promise.all([
    db
      .selectFrom('alert_outbox')
      .select([
        sql<string>`case when status = 'pending' and attempts > 0 then 'retrying' else status::text end`.as('state'),
        sql<number>`count(*)::int`.as('n'),
      ])
      .where('status', 'in', ['pending', 'dead'])
      .groupBy(sql`1`)
      .execute(),
    db
      .selectFrom('runs')
      .select(sql<number | null>`extract(epoch from max(finished_at))::float8`.as('at'))
      .where('scope_kind', '=', 'national')
      .where('status', '=', 'completed')
      .executeTakeFirst(),
    db
      .selectFrom('sources')
      .select([
        'id',
        'region_code',
        sql<number>`extract(epoch from coalesce(last_success_at, created_at))::float8`.as('at'),
      ])
      .where('enabled', '=', true)
      .orderBy('id')
      .execute(),
  ]);
  const count = (s: string) => Number(outbox.find((r) => r.state === s)?.n ?? 0);
  return {
    outbox: { pending: count('pending'), retrying: count('retrying'), dead: count('dead') },
    lastNationalRunCompletedAt: national?.at == null ? null : Number(national.at),
    sources: sources.map((r) => ({ id: r.id, region: r.region_code, lastSuccessAt: Math.floor(Number(r.at)) })),
  };
}

/** The latest published register version (0 before any): the API's `pksync_register_version`. */
export async function latestRegisterVersion(db: Db): Promise<number> {
  const r = await db
    .selectFrom('publications')
    .select(sql<number | null>`max(version)`.as('v'))
    .executeTakeFirst();
  return Number(r?.v ?? 0);
}
