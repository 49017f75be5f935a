import { sql, type Selectable } from 'kysely';
import type { Db } from '../db.ts';
import type { Database } from '../schema.ts';
import { getRegionSummaries, type RegionSummary } from './register.repository.ts';
import { STALE_SQL } from './staleness.sql.ts';

/** Read models for the API besides the register: findings, regions, sources, a version's diff, health and metrics. */

const provincePattern = (p: string) => `${p}.%`;

/**
 * Findings, newest first: keyset by id descending (`afterId` = the id of the last finding of the
 * previous page; ids are unique, so the order is total and a finding added meanwhile, with a
 * higher id, never shifts the rest). Ask for one more than a page to learn whether there is one.
 */
export async function listFindingsView(
  db: Db,
  f: {
    provinceCode?: string;
    regionCode?: string;
    rule?: string;
    status?: 'open' | 'acknowledged' | 'resolved';
    sourceId?: string;
    afterId?: number;
    limit: number;
  },
): Promise<Selectable<Database['findings']>[]> {
  let q = db.selectFrom('findings').selectAll();
  if (f.provinceCode) q = q.where('province_code', '=', f.provinceCode);
  if (f.regionCode) q = q.where('region_code', '=', f.regionCode);
  if (f.rule) q = q.where('code', '=', f.rule);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.sourceId) q = q.where('source_id', '=', f.sourceId);
  if (f.afterId !== undefined) q = q.where('id', '<', f.afterId);
  return q.orderBy('id', 'desc').limit(f.limit).execute();
}

/** One finding by id, or null. */
export async function getFindingView(db: Db, id: number): Promise<Selectable<Database['findings']> | null> {
  return (await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
}

/**
 * What `GET /regions` reads: every region's summary ({@link getRegionSummaries}, the same read as
 * the demo's national summary) at the latest version, for its formation year, and the open
 * findings.
 */
export interface RegionStats {
  version: number;
  /** The formation year: the latest publication's `as_of` year (R12), else `fallbackYear`. */
  year: number;
  /** Every region's summary by code, in code order. */
  regions: Map<string, RegionSummary>;
  /** Open (not resolved) findings by province and by region. */
  openFindingsByProvince: Map<string, number>;
  openFindingsByRegion: Map<string, number>;
}

export async function getRegionStats(db: Db, fallbackYear: number): Promise<RegionStats> {
  const pub = await db
    .selectFrom('publications')
    .select(['version', 'as_of'])
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  const version = pub?.version ?? 0;
  const year = pub ? Number(pub.as_of.slice(0, 4)) : fallbackYear;
  const [summaries, findingRows] = await Promise.all([
    getRegionSummaries(db, pub ? { year, version } : { year }),
    db
      .selectFrom('findings')
      .select(['province_code', 'region_code', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '<>', 'resolved')
      .groupBy(['province_code', 'region_code'])
      .execute(),
  ]);
  const openFindingsByProvince = new Map<string, number>();
  const openFindingsByRegion = new Map<string, number>();
  for (const r of findingRows) {
    const n = Number(r.n);
    openFindingsByProvince.set(r.province_code, (openFindingsByProvince.get(r.province_code) ?? 0) + n);
    if (r.region_code) openFindingsByRegion.set(r.region_code, (openFindingsByRegion.get(r.region_code) ?? 0) + n);
  }
  const regions = new Map(summaries.map((r) => [r.code, r]));
  return { version, year, regions, openFindingsByProvince, openFindingsByRegion };
}

/** A source as the API and the CLI show it, with its staleness (R9) and last finished fetch: never the token, only whether there is one. */
export interface SourceView {
  id: string;
  agency: string;
  regionCode: string;
  transport: 'api' | 'csv' | 'xlsx' | 'upload';
  url: string | null;
  formationsUrl: string | null;
  workloadsUrl: string | null;
  hasToken: boolean;
  enabled: boolean;
  timeoutS: number | null;
  maxBytes: number | null;
  maxRows: number | null;
  lastSuccessAt: Date | null;
  stale: boolean;
  lastFetch: { status: string; finishedAt: Date | null; errorCode: string | null; errorMessage: string | null } | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Sources (by province, region or id), ordered by id, with staleness and last fetch: `GET /sources`, `pksync sources list`. */
export async function listSources(
  db: Db,
  f: { provinceCode?: string; regionCode?: string; id?: string } = {},
): Promise<SourceView[]> {
  const p = f.provinceCode ?? null;
  const r = f.regionCode ?? null;
  const id = f.id ?? null;
  const res = await sql<{
    id: string;
    agency: string;
    region_code: string;
    transport: SourceView['transport'];
    url: string | null;
    formations_url: string | null;
    workloads_url: string | null;
    has_token: boolean;
    enabled: boolean;
    timeout_s: number | null;
    max_bytes: number | null;
    max_rows: number | null;
    last_success_at: Date | null;
    stale: boolean;
    lf_status: string | null;
    lf_finished_at: Date | null;
    lf_error_code: string | null;
    lf_error_message: string | null;
    created_at: Date;
    updated_at: Date;
  }>`
    select s.id, s.agency, s.region_code, s.transport, s.url, s.formations_url, s.workloads_url, s.token_encrypted is not null as has_token,
           s.enabled, s.timeout_s, s.max_bytes, s.max_rows, s.last_success_at, ${STALE_SQL} as stale,
           lf.status as lf_status, lf.finished_at as lf_finished_at, lf.error_code as lf_error_code,
           lf.error_message as lf_error_message, s.created_at, s.updated_at
    from sources s
    left join lateral (select status, finished_at, error_code, error_message from source_fetches f
                       where f.source_id = s.id and f.status in ('succeeded', 'unchanged', 'failed')
                       order by f.id desc limit 1) lf on true
    where (${p}::text is null or s.region_code = ${p} or s.region_code like ${p === null ? null : provincePattern(p)})
      and (${r}::text is null or s.region_code = ${r})
      and (${id}::text is null or s.id = ${id})
    order by s.id`.execute(db);
  return res.rows.map((row) => ({
    id: row.id,
    agency: row.agency,
    regionCode: row.region_code,
    transport: row.transport,
    url: row.url,
    formationsUrl: row.formations_url,
    workloadsUrl: row.workloads_url,
    hasToken: row.has_token,
    enabled: row.enabled,
    timeoutS: row.timeout_s,
    maxBytes: row.max_bytes === null ? null : Number(row.max_bytes),
    maxRows: row.max_rows,
    lastSuccessAt: row.last_success_at,
    stale: row.stale,
    lastFetch: row.lf_status
      ? {
          status: row.lf_status,
          finishedAt: row.lf_finished_at,
          errorCode: row.lf_error_code,
          errorMessage: row.lf_error_message,
        }
      : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

/**
 * The diff of one version, ordered by NIP (unique within a version: the primary key), with
 * optional filters; keyset paged by `afterNip`, the NIP of the last change of the previous page.
 * The NIP is a key only the API sees: its cursors are sealed, so the public, which sees diffs
 * without NIPs, cannot read it.
 */
export async function getPublicationDiffView(
  db: Db,
  version: number,
  opts: {
    limit: number;
    afterNip?: string;
    change?: 'added' | 'removed' | 'changed';
    provinceCode?: string;
    regionCode?: string;
  },
): Promise<Selectable<Database['publication_changes']>[]> {
  let q = db.selectFrom('publication_changes').selectAll().where('version', '=', version);
  if (opts.change) q = q.where('change', '=', opts.change);
  if (opts.regionCode) q = q.where('region_code', '=', opts.regionCode);
  if (opts.provinceCode) q = q.where('province_code', '=', opts.provinceCode);
  if (opts.afterNip !== undefined) q = q.where('nip', '>', opts.afterNip);
  return q.orderBy('nip').limit(opts.limit).execute();
}

/** `select 1`: readiness of PostgreSQL. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

// pg-copy-streams ships no types; this is the one function used here.
