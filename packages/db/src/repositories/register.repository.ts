import { sql } from 'kysely';
import {
  formationFigures,
  isCovered,
  provinceCoverage,
  sumFormationFigures,
  type Coverage,
  type FormationFigures,
} from '@pksync/core';
import { isLevelCode, LEVEL_CODES, type LevelCode } from '@pksync/reference';
import type { Db } from '../db.ts';
import type { OfficerRecord } from '../schema.ts';
import { LAST_SUCCESS_SQL, STALE_SQL } from './staleness.sql.ts';

// `Generated<Timestamp>` columns select as the ColumnType wrapper in Kysely's types; pg gives a Date.
const asDate = (v: unknown): Date => v as Date;

/** Reads of the published register for the API, the console and the demo (reconciliation writes it: `../reconcile/`). */

/** The latest published version of the register (R14), or null before the first publication. */
export async function getRegisterVersion(db: Db): Promise<number | null> {
  const row = await db
    .selectFrom('publications')
    .select((eb) => eb.fn.max('version').as('v'))
    .executeTakeFirst();
  return row?.v ?? null;
}

/** R12 figures of one level: `formasi`/`kebutuhan` are null when the region has no formation row for it. */
export type LevelFigures = FormationFigures;

/** The register figures of one region, or of a province's whole area. */
export interface RegionFigures {
  /** Active officers (R5) by level. */
  activeByLevel: Record<LevelCode, number>;
  active: number;
  /** R12 for the year: formasi, kebutuhan, terisi (active at the level), kekurangan. */
  formationByLevel: Record<LevelCode, LevelFigures>;
  /** Latest success of the sources (R9), null when none ever succeeded. */
  lastSuccessAt: Date | null;
  /** R9: a source failed its latest fetch or has had no success for 3 days. */
  stale: boolean;
  /** Enabled sources, and how many of them are stale. */
  sources: number;
  staleSources: number;
}

/** A region's own figures (its agencies, not its regencies/cities), and its area's. */
export interface RegionSummary extends RegionFigures {
  code: string;
  name: string;
  level: 'province' | 'regency';
  kind: 'provinsi' | 'kabupaten' | 'kota';
  parentCode: string | null;
  /** R13: at least one active officer. */
  covered: boolean;
  /** R13, provinces only: covered regencies/cities out of all of them; null for a regency/city. */
  coverage: Coverage | null;
  /** Provinces only: active officers in the whole province (its own office and its regencies/cities). */
  provinceActive: number | null;
  /**
   * The figures of the region's whole area — for a province, its own office and all its
   * regencies/cities added up (`sumFormationFigures`); for a regency/city, its own. What
   * `GET /regions` and the demo's summary show.
   */
  area: RegionFigures;
}

const emptyByLevel = <T>(f: () => T): Record<LevelCode, T> =>
  Object.fromEntries(LEVEL_CODES.map((l) => [l, f()])) as Record<LevelCode, T>;

/** Adds up the figures of several regions (R12 by {@link sumFormationFigures}). */
function addFigures(parts: readonly RegionFigures[]): RegionFigures {
  const sum = (f: (p: RegionFigures) => number) => parts.reduce((a, p) => a + f(p), 0);
  const last = parts.reduce<Date | null>(
    (a, p) => (p.lastSuccessAt && (!a || p.lastSuccessAt > a) ? p.lastSuccessAt : a),
    null,
  );
  const activeByLevel = emptyByLevel(() => 0);
  const formationByLevel = emptyByLevel(() => formationFigures({ formasi: null, kebutuhan: null, terisi: 0 }));
  for (const l of LEVEL_CODES) {
    activeByLevel[l] = sum((p) => p.activeByLevel[l]);
    formationByLevel[l] = sumFormationFigures(parts.map((p) => p.formationByLevel[l]));
  }
  return {
    activeByLevel,
    active: sum((p) => p.active),
    formationByLevel,
    lastSuccessAt: last,
    stale: parts.some((p) => p.stale),
    sources: sum((p) => p.sources),
    staleSources: sum((p) => p.staleSources),
  };
}

/**
 * Every region (provinces and regencies/cities, in code order) with its register figures at a
 * version (default: the latest) for a formation year: active officers by level, R12 formation
 * figures, R13 coverage, R9 last success and staleness — each region's own, and its area's
 * (`area`: a province with its regencies/cities). The one read of region figures: `GET /regions`
 * (through `getRegionStats`) and the demo's national summary both show what this returns.
 *
 * @example const regions = await getRegionSummaries(db, { year: 2026 });
 */
export async function getRegionSummaries(
  db: Db,
  options: { version?: number; year: number },
): Promise<RegionSummary[]> {
  if (!Number.isInteger(options.year) || options.year < 1900 || options.year > 9999) {
    throw new RangeError(`getRegionSummaries: year must be a 4-digit year, got ${options.year}`);
  }
  // R14: every read below in one snapshot, so a publication committing meanwhile is seen whole
  // or not at all (never one version's officers with the next one's formations).
  if (db.isTransaction) return summariesInSnapshot(db, options);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((trx) => summariesInSnapshot(trx, options));
}

async function summariesInSnapshot(db: Db, options: { version?: number; year: number }): Promise<RegionSummary[]> {
  const latest = await getRegisterVersion(db);
  const version = options.version ?? latest;
  if (
    options.version !== undefined &&
    (!Number.isInteger(options.version) || latest === null || options.version < 1 || options.version > latest)
  ) {
    throw new RangeError(`getRegionSummaries: version ${options.version} has not been published`);
  }
  const regionRows = await db.selectFrom('regions').selectAll().orderBy('code').execute();
  const active = new Map<string, Record<LevelCode, number>>();
  const formation = new Map<string, Map<string, { approved: number; need: number }>>();
  if (version !== null) {
    // The current version reads the current rows (index on valid_to is null); older ones the ranges.
    const atVersion = (v: number) =>
      v === latest ? sql`valid_to is null` : sql`valid_from <= ${v} and (valid_to is null or valid_to > ${v})`;
    const counts = await sql<{ region_code: string; level: string; n: number }>`
      select region_code, level, count(*)::int as n from officer_records
      where active and ${atVersion(version)} group by region_code, level`.execute(db);
    for (const r of counts.rows) {
      const byLevel = active.get(r.region_code) ?? emptyByLevel(() => 0);
      if (isLevelCode(r.level)) byLevel[r.level] += r.n;
      active.set(r.region_code, byLevel);
    }
    const forms = await sql<{ region_code: string; level: string; approved: number; need: number }>`
      select region_code, level, approved, need from formations
      where year = ${options.year} and ${atVersion(version)}`.execute(db);
    for (const f of forms.rows) {
      const m = formation.get(f.region_code) ?? new Map();
      m.set(f.level, { approved: f.approved, need: f.need });
      formation.set(f.region_code, m);
    }
  }
  // R9 per source in SQL (STALE_SQL, pinned to core's isStale), counted per region.
  const sourceRows = (
    await sql<{ region_code: string; n: number; stale: number; last: Date | null }>`
      select s.region_code, count(*)::int as n, (count(*) filter (where ${STALE_SQL}))::int as stale,
             max(${LAST_SUCCESS_SQL}) as last
      from sources s
      left join lateral (select f.status from source_fetches f
                         where f.source_id = s.id and f.status in ('succeeded', 'unchanged', 'failed')
                         order by f.id desc limit 1) lf on true
      where s.enabled
      group by s.region_code`.execute(db)
  ).rows;
  const sourceInfo = new Map(sourceRows.map((s) => [s.region_code, s]));

  const own = new Map(
    regionRows.map((r): [string, RegionFigures] => {
      const byLevel = active.get(r.code) ?? emptyByLevel(() => 0);
      const forms = formation.get(r.code);
      const formationByLevel = emptyByLevel<LevelFigures>(() =>
        formationFigures({ formasi: null, kebutuhan: null, terisi: 0 }),
      );
      for (const l of LEVEL_CODES) {
        const f = forms?.get(l);
        formationByLevel[l] = formationFigures({
          formasi: f?.approved ?? null,
          kebutuhan: f?.need ?? null,
          terisi: byLevel[l],
        });
      }
      const src = sourceInfo.get(r.code);
      return [
        r.code,
        {
          activeByLevel: byLevel,
          active: Object.values(byLevel).reduce((a, b) => a + b, 0),
          formationByLevel,
          lastSuccessAt: src?.last ?? null,
          stale: (src?.stale ?? 0) > 0,
          sources: src?.n ?? 0,
          staleSources: src?.stale ?? 0,
        },
      ];
    }),
  );
  const activeByRegion = new Map([...own].map(([code, f]) => [code, f.active]));
  const regenciesByProvince = new Map<string, string[]>();
  for (const r of regionRows) {
    if (r.parent_code)
      regenciesByProvince.set(r.parent_code, [...(regenciesByProvince.get(r.parent_code) ?? []), r.code]);
  }
  return regionRows.map((r): RegionSummary => {
    const figures = own.get(r.code)!;
    const regencies = regenciesByProvince.get(r.code) ?? [];
    const area = r.level === 'province' ? addFigures([figures, ...regencies.map((c) => own.get(c)!)]) : figures;
    return {
      code: r.code,
      name: r.name,
      level: r.level,
      kind: r.kind,
      parentCode: r.parent_code,
      ...figures,
      covered: isCovered(figures.active),
      coverage: r.level === 'province' ? provinceCoverage(regencies, activeByRegion) : null,
      provinceActive: r.level === 'province' ? area.active : null,
      area,
    };
  });
}

export interface OfficerHistoryRecord {
  sourceId: string;
  regionCode: string;
  name: string;
  level: string;
  grade: string;
  unit: string;
  tmtJabatan: string;
  status: string;
  active: boolean;
  pastRetirement: boolean;
  /** Valid for versions [validFrom, validTo); validTo null = current. */
  validFrom: number;
  validTo: number | null;
}

export interface OfficerHistoryChange {
  version: number;
  publishedAt: Date;
  asOf: string;
  change: 'added' | 'removed' | 'changed';
  fields: string[];
  reason: string;
  regionCode: string;
  sourceId: string;
  previousRegionCode: string | null;
  previousSourceId: string | null;
}

export interface OfficerHistory {
  nip: string;
  /** The current register entry, or null when the officer has left the register. */
  current: OfficerRecord | null;
  /** Every version of the record, oldest first. */
  records: OfficerHistoryRecord[];
  /** Consecutive periods in one agency/region/unit. */
  assignments: {
    sourceId: string;
    regionCode: string;
    unit: string;
    fromVersion: number;
    toVersion: number | null;
    from: Date | null;
    to: Date | null;
  }[];
  /** Every published change of this NIP, with when and why. */
  changes: OfficerHistoryChange[];
  /** R10 transfers (mutasi): from which region/agency to which, when. */
  transfers: {
    version: number;
    at: Date;
    asOf: string;
    fromRegionCode: string | null;
    toRegionCode: string;
    fromSourceId: string | null;
    toSourceId: string;
  }[];
}

/**
 * An officer's history from the versioned register: records, assignments, changes and
 * transfers, with when (version, publication time, as_of) and why (the change reason). Null
 * for a NIP the register has never held. Personal data: for `province`/`admin` readers only.
 */
export async function getOfficerHistory(db: Db, nip: string): Promise<OfficerHistory | null> {
  const clean = nip.replace(/[\s.-]/g, '');
  const records = await db
    .selectFrom('officer_records')
    .selectAll()
    .where('nip', '=', clean)
    .orderBy('valid_from')
    .execute();
  if (records.length === 0) return null;
  const changes = await db
    .selectFrom('publication_changes as c')
    .innerJoin('publications as p', 'p.version', 'c.version')
    .select([
      'c.version',
      'p.published_at',
      'p.as_of',
      'c.change',
      'c.fields',
      'c.reason',
      'c.region_code',
      'c.source_id',
      'c.previous_region_code',
      'c.previous_source_id',
    ])
    .where('c.nip', '=', clean)
    .orderBy('c.version')
    .execute();
  const publishedAt = new Map(changes.map((c) => [c.version, asDate(c.published_at)]));
  const assignments: OfficerHistory['assignments'] = [];
  for (const r of records) {
    const last = assignments[assignments.length - 1];
    if (
      last &&
      last.sourceId === r.source_id &&
      last.regionCode === r.region_code &&
      last.unit === r.unit &&
      last.toVersion === r.valid_from
    ) {
      last.toVersion = r.valid_to;
      last.to = r.valid_to === null ? null : (publishedAt.get(r.valid_to) ?? null);
      continue;
    }
    assignments.push({
      sourceId: r.source_id,
      regionCode: r.region_code,
      unit: r.unit,
      fromVersion: r.valid_from,
      toVersion: r.valid_to,
      from: publishedAt.get(r.valid_from) ?? null,
      to: r.valid_to === null ? null : (publishedAt.get(r.valid_to) ?? null),
    });
  }
  const mapped: OfficerHistoryChange[] = changes.map((c) => ({
    version: c.version,
    publishedAt: asDate(c.published_at),
    asOf: c.as_of,
    change: c.change,
    fields: c.fields,
    reason: c.reason,
    regionCode: c.region_code,
    sourceId: c.source_id,
    previousRegionCode: c.previous_region_code,
    previousSourceId: c.previous_source_id,
  }));
  return {
    nip: clean,
    current: records.find((r) => r.valid_to === null) ?? null,
    records: records.map((r) => ({
      sourceId: r.source_id,
      regionCode: r.region_code,
      name: r.name,
      level: r.level,
      grade: r.grade,
      unit: r.unit,
      tmtJabatan: r.tmt_jabatan,
      status: r.status,
      active: r.active,
      pastRetirement: r.past_retirement,
      validFrom: r.valid_from,
      validTo: r.valid_to,
    })),
    assignments,
    changes: mapped,
    transfers: mapped
      .filter((c) => c.reason === 'transfer')
      .map((c) => ({
        version: c.version,
        at: c.publishedAt,
        asOf: c.asOf,
        fromRegionCode: c.previousRegionCode ?? c.regionCode,
        toRegionCode: c.regionCode,
        fromSourceId: c.previousSourceId,
        toSourceId: c.sourceId,
      })),
  };
}
