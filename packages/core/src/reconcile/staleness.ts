/** R9: a source with no successful fetch for this many days is `source_stale`. */
export const STALE_AFTER_DAYS = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * R9: stale when the last success (or, for a source that never succeeded, the time it was
 * registered) is at least 3 days before `now`.
 */
export function isStale(lastSuccessAt: Date | null, registeredAt: Date, now: Date): boolean {
  const since = lastSuccessAt ?? registeredAt;
  return now.getTime() - since.getTime() >= STALE_AFTER_DAYS * DAY_MS;
}
