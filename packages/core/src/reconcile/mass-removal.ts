/** R8 mass-removal guard thresholds: at least this many officers … */
export const MASS_REMOVAL_MIN_OFFICERS = 3;
/** … and at least this share of the agency's active officers. */
export const MASS_REMOVAL_MIN_SHARE = 0.5;

export interface RemovalCounts {
  /** Active officers (R5) of the agency that the snapshot would remove. */
  removingActive: number;
  /** The agency's active officers in the register before the snapshot. */
  activeBefore: number;
}

/**
 * R8 mass-removal guard: a snapshot that would remove at least 3 officers and at least half of
 * the agency's active officers is held. Only active officers count (inactive ones are on record
 * but out of counts, R5).
 *
 * @example isMassRemoval({ removingActive: 3, activeBefore: 6 }) // true
 * @example isMassRemoval({ removingActive: 3, activeBefore: 7 }) // false (3/7 < half)
 */
export function isMassRemoval({ removingActive, activeBefore }: RemovalCounts): boolean {
  if (!Number.isInteger(removingActive) || removingActive < 0) {
    throw new RangeError(`removingActive must be a non-negative integer, got ${removingActive}`);
  }
  if (!Number.isInteger(activeBefore) || activeBefore < 0) {
    throw new RangeError(`activeBefore must be a non-negative integer, got ${activeBefore}`);
  }
  return removingActive >= MASS_REMOVAL_MIN_OFFICERS && removingActive >= activeBefore * MASS_REMOVAL_MIN_SHARE;
}

/** What happens to an agency's open held removal (R8) when a run covers the agency. */
export type HeldRemovalOutcome = 'apply_confirmed' | 'apply_repeated' | 'keep';

/**
 * R8: a held removal is applied when an admin has confirmed it (by the next run covering the
 * source, whatever its fetch outcome), or when a later snapshot shows the same removal again — a
 * new successful snapshot, or the same unchanged content served again on a later run. "Later"
 * means fetched after the fetch that made the hold had finished: the same fetch (its own run) or
 * one that overlapped it (two runs fetching the agency at once) is not a second look. A failed
 * fetch shows nothing, so the hold stays.
 */
export function heldRemovalOutcome(input: {
  status: 'held' | 'confirmed';
  /** This run's fetch of the source began after the fetch that made the hold had finished. */
  laterLook: boolean;
  fetchStatus: 'succeeded' | 'unchanged' | 'failed';
}): HeldRemovalOutcome {
  if (input.status === 'confirmed') return 'apply_confirmed';
  if (!input.laterLook || input.fetchStatus === 'failed') return 'keep';
  return 'apply_repeated';
}
