const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parts(date: string, what: string): [number, number, number] {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`${what} must be YYYY-MM-DD, got "${date}"`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/**
 * Age in whole years on `asOf` (both `YYYY-MM-DD`): the birthday counts on its day; someone born
 * on 29 February turns a year older on 1 March in common years (as PostgreSQL's `age()` does).
 */
export function ageOn(birthDate: string, asOf: string): number {
  const [by, bm, bd] = parts(birthDate, 'birthDate');
  const [ay, am, ad] = parts(asOf, 'asOf');
  let age = ay - by;
  if (am < bm || (am === bm && ad < bd)) age--;
  return age;
}

/**
 * R11: an active officer whose age on `asOf` has reached the level's retirement age (levels.csv)
 * stays in the register, flagged `past_retirement_age`. Inactive officers are never flagged.
 *
 * The oracle, not production: `reconcileRun` (@pksync/db) flags in SQL, set-based over the
 * register — a date cut-off per level for the candidates (`collectCandidates`, born on or before
 * `as_of` minus the retirement age) and `age()` for the register rows the run did not touch
 * (`computeDiff`) and in the finding's text (`bufferRegisterFindings`).
 * packages/db/src/reconcile/oracles.int.test.ts runs random birth dates (leap days included)
 * through the real reconcile and pins all three to this function.
 */
export function isPastRetirement(input: {
  birthDate: string;
  asOf: string;
  retirementAge: number;
  active: boolean;
}): boolean {
  return input.active && ageOn(input.birthDate, input.asOf) >= input.retirementAge;
}
