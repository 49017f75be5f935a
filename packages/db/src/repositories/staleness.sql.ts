import { sql } from 'kysely';
import { STALE_AFTER_DAYS } from '@pksync/core';

// R9 in SQL, for the reads that judge every source at once (`GET /sources`, `GET /regions`, the
// demo's summary). The rule itself is `isStale` of @pksync/core: the oracle, and what the
// `source_stale` finding uses. packages/db/src/reconcile/oracles.int.test.ts pins these to it.
// Both fragments read a source as `s`; `STALE_SQL` also its latest finished fetch as `lf`.

/**
 * R9: when source `s` last succeeded — its `last_success_at` stamp or its latest
 * `succeeded`/`unchanged` fetch, whichever is later; null when it never did.
 */
export const LAST_SUCCESS_SQL = sql<Date | null>`greatest(s.last_success_at,
  (select coalesce(f.finished_at, f.started_at) from source_fetches f
   where f.source_id = s.id and f.status in ('succeeded', 'unchanged')
   order by f.id desc limit 1))`;

/**
 * R9 `stale` of source `s`: its latest finished fetch `lf` (`succeeded`, `unchanged` or `failed`)
 * failed, or its last success (for one that never succeeded, its registration) is at least
 * `STALE_AFTER_DAYS` before the database clock — counted in hours, as `isStale` counts them.
 */
export const STALE_SQL = sql<boolean>`(coalesce(lf.status = 'failed', false)
  or coalesce(${LAST_SUCCESS_SQL}, s.created_at) <= now() - make_interval(hours => ${STALE_AFTER_DAYS * 24}::int))`;
