import { sql, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { ReconcileContext } from './context.ts';

/** From this many regions evaluated on another `as_of`, a national run evaluates the whole register (one scan). */
export const WIDE_FROM_REGIONS = 100;

/** Where a run evaluates the date-dependent rules, decided before its phases. */
export interface RunScope {
  /** R11/R12/R17/R18 over the whole register (see `ReconcileContext.registerWide`). */
  registerWide: boolean;
  /** Regions in `dreg` so far: evaluated in full on the run's `as_of`. */
  dated: number;
}

/**
 * Phase 0, the run's scope (docs/decisions.md § Scoped runs): `sreg`, the regions of a scoped
 * run's sources (empty for a national run), and `dreg`, the regions to evaluate in full on the
 * run's `as_of` because their last evaluation — the `as_of` of their `retirement_outlook` rows,
 * written whenever a region is evaluated — was on another date:
 *
 * - a national run on a new `as_of` evaluates everything (`registerWide`, `dreg` empty); on the
 *   last national `as_of`, the regions scoped runs left on other dates (all of them, as one scan,
 *   when they are {@link WIDE_FROM_REGIONS} or more);
 * - a scoped run, its own regions so dated (the regions its changes reach are added by
 *   {@link addDatedRegions}); it never evaluates the register as a whole.
 *
 * A region without active officers has no outlook row and nothing date-dependent to evaluate
 * (R11 flags, R12 findings, R17 and R18 all concern active officers).
 */
export async function readRunScope(
  trx: Transaction<Database>,
  run: { runId: string; asOf: string; national: boolean; evaluatedAsOf: string | null },
): Promise<RunScope> {
  const { runId, asOf, national } = run;
  if (national) await sql`create temporary table sreg (region_code text) on commit drop`.execute(trx);
  else
    await sql`
      create temporary table sreg on commit drop as
      select distinct s.region_code from source_fetches f join sources s on s.id = f.source_id
      where f.run_id = ${runId}::uuid`.execute(trx);
  const newDate = national && run.evaluatedAsOf !== asOf;
  const candidates = national ? sql`(select distinct region_code from retirement_outlook)` : sql`sreg`;
  await sql`
    create temporary table dreg on commit drop as
    select c.region_code from ${candidates} c
    where ${!newDate}
      and exists (select 1 from retirement_outlook r where r.region_code = c.region_code and r.as_of <> ${asOf}::date)`.execute(
    trx,
  );
  const dated = Number((await sql<{ n: number }>`select count(*)::int as n from dreg`.execute(trx)).rows[0]?.n ?? 0);
  if (national && dated >= WIDE_FROM_REGIONS) {
    await sql`truncate dreg`.execute(trx);
    return { registerWide: true, dated: 0 };
  }
  return { registerWide: newDate, dated };
}

/**
 * After the touched regions (`treg`) are known: a scoped run also evaluates in full, on its
 * `as_of`, the regions its changes reach that were evaluated on another date (a transfer's other
 * region); then every dated region joins `treg`, so R12/R17/R18 are evaluated there too. Returns
 * how many regions `dreg` holds.
 */
export async function addDatedRegions(ctx: ReconcileContext): Promise<number> {
  const { trx, asOf } = ctx;
  if (ctx.registerWide) return 0;
  if (!ctx.national) {
    await sql`
      insert into dreg
      select distinct t.region_code from treg t
      where not exists (select 1 from dreg d where d.region_code = t.region_code)
        and exists (select 1 from retirement_outlook r where r.region_code = t.region_code and r.as_of <> ${asOf}::date)`.execute(
      trx,
    );
  }
  await sql`
    insert into treg
    select d.region_code from dreg d where not exists (select 1 from treg t where t.region_code = d.region_code)`.execute(
    trx,
  );
  return Number((await sql<{ n: number }>`select count(*)::int as n from dreg`.execute(trx)).rows[0]?.n ?? 0);
}
