import { sql } from 'kysely';
import { needsLevel, parametersInForce, sumNeedsLevels, type NeedParameters, type NeedsLevel } from '@pksync/core';
import { isLevelCode, LEVEL_CODES, type LevelCode } from '@pksync/reference';
import type { Db } from '../db.ts';
import { writeAudit } from './audit.repository.ts';
import { calendarDateIn } from './run.repository.ts';
import { addNeedParameters, type StoredNeedParameters } from './need-parameters.repository.ts';

/**
 * Reads of needs planning (needs-planning-v1.md § Interface): the planning figures per region and
 * level that `GET /needs`, `pksync needs` and the console show, and the parameter set versions.
 * Only small tables are read (formations, computed_needs, retirement_outlook, need_parameters,
 * regions — a few thousand rows for the nation), never officer_records: the reconcile keeps
 * `retirement_outlook.active` (`terisi`) up to date.
 */

/** The parameter version of shown computed needs, with its status and provenance. */
export interface NeedsParameterInfo {
  version: string;
  status: NeedParameters['status'];
  validFrom: string;
  source: string;
}

/** One level's figures in a row (`GET /needs` NeedsLevel). */
export type NeedsLevelRow = NeedsLevel & { level: LevelCode };

/** One row of the needs table: the nation, a province (its whole area) or one region's own figures. */
export interface NeedsRow {
  kind: 'nation' | 'province' | 'region';
  /** Null for the nation. */
  code: string | null;
  /** The reference name; "Indonesia" for the nation. */
  name: string;
  /** The version the row's computed needs were computed with (the most common); null without any. */
  parameterVersion: string | null;
  parameterStatus: NeedParameters['status'] | null;
  /** One per level, in LEVEL_CODES order. */
  levels: NeedsLevelRow[];
  /** The sum over the levels. */
  allLevels: NeedsLevel;
}

/** What `GET /needs` answers (needs-api contract), in camelCase. */
export interface NeedsReport {
  year: number;
  /** `as_of` of the retirement outlook shown; null before any reconcile wrote one. */
  asOf: string | null;
  parameters: NeedsParameterInfo | null;
  scope: { province: string | null; region: string | null };
  total: NeedsRow;
  /** Nation: the 38 provinces; a province: its own office then its regencies/cities; a region: itself. */
  data: NeedsRow[];
}

/** A bad `getNeeds` argument, naming it: `unknown` is a well-formed code the reference does not hold. */
export class NeedsQueryError extends Error {
  override name = 'NeedsQueryError';
  constructor(
    readonly field: 'province' | 'region' | 'year',
    readonly reason: 'invalid' | 'unknown' | 'outside',
    /** For people, in Bahasa Indonesia, without the parameter's name (the caller names it its way). */
    message: string,
  ) {
    super(message);
  }
}

export interface NeedsQuery {
  province?: string;
  region?: string;
  /** Default: the year of the register's last evaluated `as_of`, else the year of `today`. */
  year?: number;
  /** `YYYY-MM-DD`, for the default year (default: today in Asia/Jakarta). */
  today?: string;
}

interface RegionRef {
  code: string;
  name: string;
  level: 'province' | 'regency';
  parent_code: string | null;
}

type RawLevel = { formasi: number | null; declared: number | null; computed: number | null };
type Outlook = { active: number; r1: number; r3: number; r5: number };

/**
 * The needs table of the nation, a province or a region for a year (needs-api contract): per
 * region and level `formasi`, declared and computed need, `terisi`, R17's available formation, R18's
 * retiring counts and projected shortfalls (@pksync/core `needsLevel`), province and nation rows
 * adding their regions up (`sumNeedsLevels`). Regions without any data are listed with null/0
 * figures. All reads in one repeatable-read snapshot, so a reconcile committing meanwhile is seen
 * whole or not at all. Throws {@link NeedsQueryError} for a bad argument.
 *
 * @example const report = await getNeeds(db, { province: '16', year: 2026 });
 */
export async function getNeeds(db: Db, query: NeedsQuery = {}): Promise<NeedsReport> {
  const { province, region, year } = query;
  if (province !== undefined && !/^\d{2}$/.test(province))
    throw new NeedsQueryError('province', 'invalid', 'harus kode provinsi 2 digit, mis. 16');
  if (region !== undefined && !/^\d{2}(\.\d{2})?$/.test(region))
    throw new NeedsQueryError('region', 'invalid', 'harus kode wilayah seperti 16 atau 16.71');
  if (year !== undefined && (!Number.isInteger(year) || year < 1900 || year > 9999))
    throw new NeedsQueryError('year', 'invalid', 'harus tahun 4 digit antara 1900 dan 9999');
  if (db.isTransaction) return needsInSnapshot(db, query);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((trx) => needsInSnapshot(trx, query));
}

async function needsInSnapshot(db: Db, query: NeedsQuery): Promise<NeedsReport> {
  const regions = await db
    .selectFrom('regions')
    .select(['code', 'name', 'level', 'parent_code'])
    .orderBy('code')
    .execute();
  const byCode = new Map<string, RegionRef>(regions.map((r) => [r.code, r]));
  const provinceOf = (r: RegionRef) => (r.level === 'province' ? r.code : r.parent_code!);

  if (query.province !== undefined && byCode.get(query.province)?.level !== 'province')
    throw new NeedsQueryError('province', 'unknown', `provinsi ${query.province} tidak ditemukan`);
  const regionRef = query.region === undefined ? undefined : byCode.get(query.region);
  if (query.region !== undefined && !regionRef)
    throw new NeedsQueryError('region', 'unknown', `wilayah ${query.region} tidak ditemukan`);
  if (regionRef && query.province !== undefined && provinceOf(regionRef) !== query.province)
    throw new NeedsQueryError(
      'region',
      'outside',
      `wilayah ${regionRef.code} tidak berada di provinsi ${query.province} (${byCode.get(query.province)!.name})`,
    );

  const year = query.year ?? (await defaultYear(db, query.today));
  // The regions whose figures are read: one region, a province's, or all.
  const inScope = regionRef
    ? [regionRef]
    : query.province !== undefined
      ? regions.filter((r) => provinceOf(r) === query.province)
      : regions;
  const codes = inScope.map((r) => r.code);
  // A province or a region: its regions by code (formations carry no province column); the
  // nation: everything (rows of codes the reference does not hold are never looked up).
  const where = regionRef || query.province !== undefined ? sql`region_code = any(${codes}::text[])` : sql`true`;

  const formations = (
    await sql<{ region_code: string; level: string; approved: number; need: number }>`
      select region_code, level, approved, need from formations
      where year = ${year} and valid_to is null and ${where}`.execute(db)
  ).rows;
  const computed = (
    await sql<{ region_code: string; level: string; need: number; parameter_version: string }>`
        select region_code, level, need, parameter_version from computed_needs
        where year = ${year} and ${where}`.execute(db)
  ).rows;
  const outlook = (
    await sql<{
      region_code: string;
      level: string;
      as_of: string;
      active: number;
      retiring_1: number;
      retiring_3: number;
      retiring_5: number;
    }>`
        select region_code, level, as_of, active, retiring_1, retiring_3, retiring_5 from retirement_outlook
        where ${where}`.execute(db)
  ).rows;
  const parameterSets = (
    await sql<{ version: string; status: NeedParameters['status']; valid_from: string; source: string }>`
      select version, status, valid_from, document->>'source' as source from need_parameters order by seq`.execute(db)
  ).rows;
  const parameterOf = new Map(parameterSets.map((p) => [p.version, p]));

  const raw = new Map<string, Map<LevelCode, RawLevel>>();
  const rawOf = (code: string, level: LevelCode): RawLevel => {
    const m = raw.get(code) ?? new Map<LevelCode, RawLevel>();
    raw.set(code, m);
    const cell = m.get(level) ?? { formasi: null, declared: null, computed: null };
    m.set(level, cell);
    return cell;
  };
  for (const f of formations) {
    if (!isLevelCode(f.level)) continue;
    const cell = rawOf(f.region_code, f.level);
    cell.formasi = f.approved;
    cell.declared = f.need;
  }
  // Parameter versions per region, counted over its levels, for the rows' "most common" version.
  const versionsOf = new Map<string, Map<string, number>>();
  for (const c of computed) {
    if (!isLevelCode(c.level)) continue;
    rawOf(c.region_code, c.level).computed = c.need;
    const v = versionsOf.get(c.region_code) ?? new Map<string, number>();
    v.set(c.parameter_version, (v.get(c.parameter_version) ?? 0) + 1);
    versionsOf.set(c.region_code, v);
  }
  const outlookOf = new Map<string, Outlook>();
  let asOf: string | null = null;
  for (const o of outlook) {
    if (!isLevelCode(o.level)) continue;
    outlookOf.set(`${o.region_code}|${o.level}`, {
      active: o.active,
      r1: o.retiring_1,
      r3: o.retiring_3,
      r5: o.retiring_5,
    });
    if (asOf === null || o.as_of > asOf) asOf = o.as_of;
  }

  // Each region's own figures (@pksync/core needsLevel: R17 available, R18 shortfalls).
  const own = new Map<string, Record<LevelCode, NeedsLevel>>();
  for (const r of inScope) {
    const levels = {} as Record<LevelCode, NeedsLevel>;
    for (const l of LEVEL_CODES) {
      const cell = raw.get(r.code)?.get(l);
      const o = outlookOf.get(`${r.code}|${l}`);
      levels[l] = needsLevel({
        formasi: cell?.formasi ?? null,
        kebutuhanDeclared: cell?.declared ?? null,
        kebutuhanComputed: cell?.computed ?? null,
        terisi: o?.active ?? 0,
        retiring: { 1: o?.r1 ?? 0, 3: o?.r3 ?? 0, 5: o?.r5 ?? 0 },
      });
    }
    own.set(r.code, levels);
  }

  const mostCommon = (parts: readonly string[]): NeedsParameterInfo | null => {
    const counts = new Map<string, number>();
    for (const code of parts) for (const [v, n] of versionsOf.get(code) ?? []) counts.set(v, (counts.get(v) ?? 0) + n);
    // The most rows; of equal counts the version added last (need_parameters.seq, the list's order).
    let best: { version: string; n: number; at: number } | null = null;
    for (const [version, n] of counts) {
      const at = parameterSets.findIndex((p) => p.version === version);
      if (!best || n > best.n || (n === best.n && at > best.at)) best = { version, n, at };
    }
    const p = best ? parameterOf.get(best.version) : undefined;
    return p ? { version: p.version, status: p.status, validFrom: p.valid_from, source: p.source } : null;
  };
  const row = (kind: NeedsRow['kind'], code: string | null, name: string, parts: readonly string[]): NeedsRow => {
    const levels = LEVEL_CODES.map((level): NeedsLevelRow => ({
      level,
      ...sumNeedsLevels(parts.map((c) => own.get(c)![level])),
    }));
    const p = mostCommon(parts);
    return {
      kind,
      code,
      name,
      parameterVersion: p?.version ?? null,
      parameterStatus: p?.status ?? null,
      levels,
      allLevels: sumNeedsLevels(levels.map(({ level: _level, ...figures }) => figures)),
    };
  };
  const areaOf = (provinceCode: string) => inScope.filter((r) => provinceOf(r) === provinceCode).map((r) => r.code);

  let total: NeedsRow;
  let data: NeedsRow[];
  if (regionRef) {
    total = row('region', regionRef.code, regionRef.name, [regionRef.code]);
    data = [total];
  } else if (query.province !== undefined) {
    const p = byCode.get(query.province)!;
    total = row('province', p.code, p.name, codes);
    // The province's own office first, then its regencies/cities (code order).
    data = inScope.map((r) => row('region', r.code, r.name, [r.code]));
  } else {
    data = regions.filter((r) => r.level === 'province').map((p) => row('province', p.code, p.name, areaOf(p.code)));
    total = row('nation', null, 'Indonesia', codes);
  }

  // The version of the computed needs shown; without any, the one in force on as_of (when it
  // falls in the year) or on 1 January of the year.
  const inForceOn = asOf !== null && asOf.startsWith(`${year}-`) ? asOf : `${String(year).padStart(4, '0')}-01-01`;
  const fallback = parametersInForce(parameterSets, inForceOn);
  const parameters =
    mostCommon(codes) ??
    (fallback && {
      version: fallback.version,
      status: fallback.status,
      validFrom: fallback.valid_from,
      source: fallback.source,
    });

  return {
    year,
    asOf,
    parameters,
    scope: { province: query.province ?? null, region: query.region ?? null },
    total,
    data,
  };
}

/** The year of the register's last evaluated `as_of`; the year of `today` before any. */
async function defaultYear(db: Db, today: string | undefined): Promise<number> {
  const state = await db.selectFrom('register_state').select('evaluated_as_of').executeTakeFirst();
  const date = state?.evaluated_as_of ?? today ?? calendarDateIn('Asia/Jakarta');
  return Number(date.slice(0, 4));
}

/** A parameter set version as listed (`GET /needs/parameters`, `pksync needs parameters list`). */
export interface NeedParameterVersion {
  version: string;
  status: NeedParameters['status'];
  validFrom: string;
  source: string;
  addedAt: Date;
  addedBy: string;
  /** The version in force on `today` (the latest `valid_from` not after it, the later added of a tie). */
  inForceToday: boolean;
}

/**
 * Every parameter set version in the order added, with the one in force on `today` marked
 * (@pksync/core `parametersInForce`).
 */
export async function listNeedParameterVersions(db: Db, today: string): Promise<NeedParameterVersion[]> {
  const rows = await db
    .selectFrom('need_parameters')
    .select(['version', 'status', 'valid_from', 'added_at', 'added_by', sql<string>`document->>'source'`.as('source')])
    .orderBy('seq')
    .execute();
  const inForce = parametersInForce(rows, today);
  return rows.map((r) => ({
    version: r.version,
    status: r.status,
    validFrom: r.valid_from,
    source: r.source,
    addedAt: r.added_at,
    addedBy: r.added_by,
    inForceToday: r === inForce,
  }));
}

/**
 * Adds a parameter set version (`addNeedParameters`: checked whole, never edited in place) and
 * writes the audit entry `needs.parameters.add` (target: the version) in the same transaction. A
 * version added again with the same document changes nothing and is not audited (`added: false`).
 * Throws `NeedParametersError` (`invalid`, `exists`) for a refused document.
 */
export async function addNeedParametersAudited(
  db: Db,
  document: unknown,
  by: { actor: string; actorRole: string; reason?: string | null },
): Promise<{ added: boolean; stored: StoredNeedParameters }> {
  return db.transaction().execute(async (trx) => {
    const result = await addNeedParameters(trx, document, by.actor);
    if (result.added) {
      await writeAudit(trx, {
        actor: by.actor,
        actorRole: by.actorRole,
        action: 'needs.parameters.add',
        target: result.stored.version,
        reason: by.reason ?? null,
        details: {
          status: result.stored.status,
          valid_from: result.stored.validFrom,
          source: result.stored.parameters.source,
        },
      });
    }
    return result;
  });
}

/** Open (unresolved) findings per code, for the given codes (the demo's needs-planning line). */
export async function countOpenFindingsByCode(
  db: Db,
  codes: readonly string[],
): Promise<Partial<Record<string, number>>> {
  if (codes.length === 0) return {};
  const rows = await db
    .selectFrom('findings')
    .select(['code', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '<>', 'resolved')
    .where('code', 'in', [...codes])
    .groupBy('code')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.code, Number(r.n)]));
}
