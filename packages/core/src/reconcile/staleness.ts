/** R9: a source with no successful fetch for this many days is `source_stale`. */
export const STALE_AFTER_DAYS = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * R9: stale when the last success (or, for a source that never succeeded, the time it was
 * registered) is at least 3 days before `now`.
 *
 * The one R9 staleness rule. Production uses it as is for the `source_stale` finding
 * (`sourceFindings` in @pksync/db: a handful of covered sources, in JS); the `stale` flag of
 * `GET /sources`, `GET /regions` and the demo is its SQL twin `STALE_SQL`
 * (packages/db/src/repositories/staleness.sql.ts), set-based over every source. This function is
 * the oracle: packages/db/src/reconcile/oracles.int.test.ts pins the SQL to it.
 */
export function isStale(lastSuccessAt: Date | null, registeredAt: Date, now: Date): boolean {
  const since = lastSuccessAt ?? registeredAt;
  return now.getTime() - since.getTime() >= STALE_AFTER_DAYS * DAY_MS;
}
