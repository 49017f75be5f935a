import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { sql, type ExpressionBuilder, type Selectable, type SelectQueryBuilder } from 'kysely';
import type pg from 'pg';
import { normaliseName } from '@pksync/core';
import { poolOf, type Db } from '../db.ts';
import type { Database } from '../schema.ts';
import { getRegionSummaries, getRegisterVersion, type RegionSummary } from './register.repository.ts';
import { STALE_SQL } from './staleness.sql.ts';

/**
 * Read models for the register API: the officers list (cursor paging, filters, name search) and the
 * streamed export. Every read sees one whole published version (R14): a page or an export is read
 * in one repeatable-read snapshot, and a cursor carries the version it was made for.
 */

/** `active`/`inactive` group the statuses by R5; any other value is one status. */
export type OfficerStatusFilter = string;

export interface OfficerFilter {
  provinceCode?: string;
  regionCode?: string;
  level?: string;
  status?: OfficerStatusFilter;
  /** Free text matched against the normalised name (titles removed, lower case). */
  q?: string;
}

/** One register row as the API reads it (personal fields are removed by the API where needed). */
export interface OfficerView {
  id: number;
  nip: string;
  name: string;
  gender: 'L' | 'P';
  birthDate: string;
  level: string;
  grade: string;
  unit: string;
  regionCode: string;
  provinceCode: string;
  sourceId: string;
  tmtJabatan: string;
  status: string;
  active: boolean;
  email: string | null;
  phone: string | null;
  pastRetirement: boolean;
}

/** The version asked for was never published. */
export class VersionNotFoundError extends Error {
  override readonly name = 'VersionNotFoundError';
  constructor(readonly version: number) {
    super(`version ${version} has not been published`);
  }
}

const COLUMNS = [
  'id',
  'nip',
  'name',
  'gender',
  'birth_date',
  'level',
  'grade',
  'unit',
  'region_code',
  'province_code',
  'source_id',
  'tmt_jabatan',
  'status',
  'active',
  'email',
  'phone',
  'past_retirement',
] as const;

type Row = Pick<Selectable<Database['officer_records']>, (typeof COLUMNS)[number]>;

function toView(r: {
  id: number;
  nip: string;
  name: string;
  gender: 'L' | 'P';
  birth_date: string;
  level: string;
  grade: string;
  unit: string;
  region_code: string;
  province_code: string;
  source_id: string;
  tmt_jabatan: string;
  status: string;
  active: boolean;
  email: string | null;
  phone: string | null;
  past_retirement: boolean;
}): OfficerView {
  return {
    id: Number(r.id),
    nip: r.nip,
    name: r.name,
    gender: r.gender,
    birthDate: r.birth_date,
    level: r.level,
    grade: r.grade,
    unit: r.unit,
    regionCode: r.region_code,
    provinceCode: r.province_code,
    sourceId: r.source_id,
    tmtJabatan: r.tmt_jabatan,
    status: r.status,
    active: r.active,
    email: r.email,
    phone: r.phone,
    pastRetirement: r.past_retirement,
  };
}

/** `%`, `_` and `\` are LIKE wildcards: escape them so a name with them is matched literally. */
function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function applyFilter<O>(
  q: SelectQueryBuilder<Database, 'officer_records', O>,
  filter: OfficerFilter,
  version: { current: boolean; version: number },
): SelectQueryBuilder<Database, 'officer_records', O> {
  if (version.current) {
    q = q.where('valid_to', 'is', null);
  } else {
    const v = version.version;
    q = q
      .where('valid_from', '<=', v)
      .where((eb: ExpressionBuilder<Database, 'officer_records'>) =>
        eb.or([eb('valid_to', 'is', null), eb('valid_to', '>', v)]),
      );
  }
  if (filter.provinceCode) q = q.where('province_code', '=', filter.provinceCode);
  if (filter.regionCode) q = q.where('region_code', '=', filter.regionCode);
  if (filter.level) q = q.where('level', '=', filter.level);
  if (filter.status === 'active') q = q.where('active', '=', true);
  else if (filter.status === 'inactive') q = q.where('active', '=', false);
  else if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.q !== undefined && filter.q.trim() !== '') {
    const needle = normaliseName(filter.q) || filter.q.trim().toLowerCase();
    q = q.where(sql<boolean>`name_normalised like ${likeContains(needle)}`);
  }
  return q;
}

/**
 * One page of the register, ordered by record id. `afterId` is the last id of the previous page;
 * `version` the version that page was read at (from the cursor): when it is still the latest the
 * current rows are read (fast partial indexes), otherwise that version's rows. Without `version`,
 * the latest version. Returns the version read, so the caller can put it into the next cursor.
 *
 * @throws VersionNotFoundError when `version` was never published.
 */
export async function listOfficers(
  db: Db,
  filter: OfficerFilter,
  page: { limit: number; afterId?: number; version?: number },
): Promise<{ version: number; officers: OfficerView[]; nextAfterId: number | null }> {
  const run = async (version: { current: boolean; version: number }) => {
    let q = db
      .selectFrom('officer_records')
      .select([...COLUMNS])
      // The latest version, read by the same statement (one snapshot) as the rows.
      .select(sql<number>`(select coalesce(max(version), 0) from publications)`.as('latest'));
    q = applyFilter(q, filter, version);
    if (page.afterId !== undefined) q = q.where('id', '>', page.afterId);
    const compiled = q
      .orderBy('id')
      .limit(page.limit + 1)
      .compile();
    // A named (prepared) statement: the hot listing is planned once per connection, not per request.
    const res = await poolOf(db).query({
      name: `officers_${createHash('sha1').update(compiled.sql).digest('hex').slice(0, 16)}`,
      text: compiled.sql,
      values: compiled.parameters as unknown[],
    });
    return res.rows as (Row & { latest: number })[];
  };
  // The common case in one round trip: the current rows (fast partial indexes) with the latest
  // version. Only a cursor made for an older version reads that version's rows instead.
  let rows = await run({ current: true, version: 0 });
  const latest = rows.length > 0 ? Number(rows[0]!.latest) : ((await getRegisterVersion(db)) ?? 0);
  let version = latest;
  if (page.version !== undefined && page.version !== latest) {
    await assertPublished(db, page.version);
    version = page.version;
    rows = await run({ current: false, version });
  }
  const more = rows.length > page.limit;
  const officers = rows.slice(0, page.limit).map(toView);
  return { version, officers, nextAfterId: more ? (officers[officers.length - 1]?.id ?? null) : null };
}

async function assertPublished(db: Db, version: number): Promise<void> {
  const row = await db.selectFrom('publications').select('version').where('version', '=', version).executeTakeFirst();
  if (!row) throw new VersionNotFoundError(version);
}

/**
 * Opens a repeatable-read, read-only transaction on `client` and resolves which version it reads:
 * `requested`, or the latest published. A version published meanwhile does not mix into it.
 *
 * @throws VersionNotFoundError when `requested` was never published.
 */
async function beginVersionSnapshot(
  client: pg.PoolClient,
  requested: number | undefined,
): Promise<{ version: number; latest: number }> {
  await client.query('begin isolation level repeatable read read only');
  const v = await client.query<{ v: number | null }>('select max(version) as v from publications');
  const latest = Number(v.rows[0]?.v ?? 0);
  const version = requested ?? latest;
  if (version !== latest) {
    const p = await client.query('select 1 from publications where version = $1', [version]);
    if (p.rowCount === 0) throw new VersionNotFoundError(version);
  }
  return { version, latest };
}

/**
 * Streams the register (one version, default the latest) in batches of `batchSize`, ordered by id,
 * from one repeatable-read snapshot on one connection: memory stays flat whatever the size, and a
 * version published during the export does not mix into it. Stop early with `break`; the
 * connection is released either way.
 *
 * @example
 * for await (const batch of streamOfficers(db, { provinceCode: '16' })) write(batch);
 */
export async function* streamOfficers(
  db: Db,
  filter: OfficerFilter,
  opts: { version?: number; batchSize?: number; onVersion?: (version: number) => void } = {},
): AsyncGenerator<OfficerView[]> {
  const batchSize = opts.batchSize ?? 5000;
  const client = await poolOf(db).connect();
  let ok = false;
  try {
    const { version, latest } = await beginVersionSnapshot(client, opts.version);
    opts.onVersion?.(version);
    let afterId = 0;
    for (;;) {
      let q = db.selectFrom('officer_records').select([...COLUMNS]);
      q = applyFilter(q, filter, { current: version === latest, version });
      const compiled = q.where('id', '>', afterId).orderBy('id').limit(batchSize).compile();
      const res = await client.query(compiled.sql, compiled.parameters as unknown[]);
      const batch = (res.rows as Row[]).map(toView);
      if (batch.length > 0) yield batch;
      if (batch.length < batchSize) break;
      afterId = batch[batch.length - 1]!.id;
    }
    ok = true;
  } finally {
    await client.query(ok ? 'commit' : 'rollback').catch(() => {});
    client.release();
  }
}

const provincePattern = (p: string) => `${p}.%`;

/** Findings, newest first, paged by id (`before` = last id of the previous page). */
export async function listFindingsView(
  db: Db,
  f: {
    provinceCode?: string;
    regionCode?: string;
    rule?: string;
    status?: 'open' | 'acknowledged' | 'resolved';
    sourceId?: string;
    before?: number;
    limit: number;
  },
): Promise<Selectable<Database['findings']>[]> {
  let q = db.selectFrom('findings').selectAll();
  if (f.provinceCode) q = q.where('province_code', '=', f.provinceCode);
  if (f.regionCode) q = q.where('region_code', '=', f.regionCode);
  if (f.rule) q = q.where('code', '=', f.rule);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.sourceId) q = q.where('source_id', '=', f.sourceId);
  if (f.before !== undefined) q = q.where('id', '<', f.before);
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
    select s.id, s.agency, s.region_code, s.transport, s.url, s.formations_url, s.token_encrypted is not null as has_token,
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
 * The diff of one version, ordered by NIP, with optional filters; `offset` pages it (the public
 * sees diffs without NIPs, so a page cannot be keyed by the last NIP).
 */
export async function getPublicationDiffView(
  db: Db,
  version: number,
  opts: {
    limit: number;
    offset: number;
    change?: 'added' | 'removed' | 'changed';
    provinceCode?: string;
    regionCode?: string;
  },
): Promise<Selectable<Database['publication_changes']>[]> {
  let q = db.selectFrom('publication_changes').selectAll().where('version', '=', version);
  if (opts.change) q = q.where('change', '=', opts.change);
  if (opts.regionCode) q = q.where('region_code', '=', opts.regionCode);
  if (opts.provinceCode) q = q.where('province_code', '=', opts.provinceCode);
  return q.orderBy('nip').limit(opts.limit).offset(opts.offset).execute();
}

/** `select 1`: readiness of PostgreSQL. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}

/** Pipeline totals read from PostgreSQL for Prometheus (every API replica reports the same). */
export interface PipelineMetrics {
  runs: { status: string; trigger: string; n: number }[];
  fetches: { status: string; n: number }[];
  fetchErrors: { code: string; n: number }[];
  records: { accepted: number; rejected: number };
  rejectedByCode: { code: string; n: number }[];
  runDurations: { status: string; seconds: number; n: number }[];
  fetchDurations: { status: string; seconds: number; n: number }[];
  lastRunSeconds: number | null;
  version: number;
}

export async function getPipelineMetrics(db: Db): Promise<PipelineMetrics> {
  const [runRows, fetchRows, errRows, recRows, rejRows, runDur, fetchDur, last, ver] = await Promise.all([
    sql<{
      status: string;
      trigger: string;
      n: number;
    }>`select status, trigger, count(*)::int as n from runs group by status, trigger`.execute(db),
    sql<{ status: string; n: number }>`select status, count(*)::int as n from source_fetches group by status`.execute(
      db,
    ),
    sql<{
      code: string | null;
      n: number;
    }>`select error_code as code, count(*)::int as n from source_fetches where status = 'failed' group by error_code`.execute(
      db,
    ),
    sql<{ accepted: number | null; rejected: number | null }>`
      select sum(case when jsonb_typeof(counts->'accepted') = 'number' then (counts->>'accepted')::numeric end)::float8 as accepted,
             sum(case when jsonb_typeof(counts->'rejected') = 'number' then (counts->>'rejected')::numeric end)::float8 as rejected
      from source_fetches`.execute(db),
    sql<{
      code: string;
      n: number;
    }>`select c as code, count(*)::int as n from rejected_records, unnest(codes) c group by c`.execute(db),
    sql<{ status: string; s: number; n: number }>`
      select status, coalesce(sum(extract(epoch from finished_at - coalesce(started_at, created_at))), 0)::float8 as s, count(*)::int as n
      from runs where finished_at is not null group by status`.execute(db),
    sql<{ status: string; s: number; n: number }>`
      select status, coalesce(sum(extract(epoch from finished_at - started_at)), 0)::float8 as s, count(*)::int as n
      from source_fetches where finished_at is not null and started_at is not null group by status`.execute(db),
    sql<{ s: number }>`
      select extract(epoch from finished_at - coalesce(started_at, created_at))::float8 as s
      from runs where finished_at is not null order by finished_at desc limit 1`.execute(db),
    sql<{ v: number | null }>`select max(version) as v from publications`.execute(db),
  ]);
  return {
    runs: runRows.rows.map((r) => ({ status: r.status, trigger: r.trigger, n: Number(r.n) })),
    fetches: fetchRows.rows.map((r) => ({ status: r.status, n: Number(r.n) })),
    fetchErrors: errRows.rows.map((r) => ({ code: r.code ?? 'unknown', n: Number(r.n) })),
    records: { accepted: Number(recRows.rows[0]?.accepted ?? 0), rejected: Number(recRows.rows[0]?.rejected ?? 0) },
    rejectedByCode: rejRows.rows.map((r) => ({ code: r.code, n: Number(r.n) })),
    runDurations: runDur.rows.map((r) => ({ status: r.status, seconds: Number(r.s), n: Number(r.n) })),
    fetchDurations: fetchDur.rows.map((r) => ({ status: r.status, seconds: Number(r.s), n: Number(r.n) })),
    lastRunSeconds: last.rows[0] ? Number(last.rows[0].s) : null,
    version: Number(ver.rows[0]?.v ?? 0),
  };
}

// pg-copy-streams ships no types; this is the one function used here.
const requireCjs = createRequire(import.meta.url);
const { to: copyTo } = requireCjs('pg-copy-streams') as {
  to: (text: string) => Readable & pg.Submittable & { rowCount: number };
};

/**
 * A text column for a spreadsheet: a value starting with `=`, `+`, `-`, `@`, tab or CR gets a
 * leading `'` so no spreadsheet runs it as a formula (the same rule as the API's neutraliseCell).
 */
const neutralised = (col: string) =>
  sql`case when ${sql.ref(col)} ~ '^[-=+@\t\r]' then '''' || ${sql.ref(col)} else ${sql.ref(col)} end`;

/**
 * Streams the register as CSV straight from PostgreSQL (`COPY … TO STDOUT`, header row, comma,
 * LF), in one repeatable-read snapshot of one version: flat memory and no per-row work in Node.
 * Columns use the exchange-format names; text cells are neutralised against formulas. Personal
 * columns (`nip`, `tanggal_lahir`, `email`, `telepon`) are left out when `personal` is `'none'`,
 * filled for one province only when it is a province code, and for all rows when `'all'`.
 *
 * @throws VersionNotFoundError when `version` was never published.
 */
export async function copyOfficersCsv(
  db: Db,
  filter: OfficerFilter,
  opts: { version?: number; personal: 'none' | 'all' | { provinceCode: string } },
): Promise<{ version: number; stream: Readable; rowCount(): number }> {
  const client = await poolOf(db).connect();
  let released = false;
  const release = async (ok: boolean, broken = false) => {
    if (released) return;
    released = true;
    // A COPY stopped half-way (the client went away) leaves the connection mid-protocol: destroy it.
    if (broken) return client.release(new Error('export stream closed before its end'));
    await client.query(ok ? 'commit' : 'rollback').catch(() => {});
    client.release();
  };
  try {
    const { version, latest } = await beginVersionSnapshot(client, opts.version);
    const p = opts.personal;
    const personal = (col: string, as: string) =>
      p === 'all'
        ? sql`${neutralised(col)} as ${sql.ref(as)}`
        : sql`case when province_code = ${typeof p === 'object' ? p.provinceCode : ''} then ${neutralised(col)} end as ${sql.ref(as)}`;
    const cols = [
      ...(p === 'none' ? [] : [personal('nip', 'nip')]),
      sql`${neutralised('name')} as nama`,
      sql`gender as jenis_kelamin`,
      ...(p === 'none'
        ? []
        : [
            sql`case when ${p === 'all' ? sql`true` : sql`province_code = ${typeof p === 'object' ? p.provinceCode : ''}`} then birth_date end as tanggal_lahir`,
          ]),
      sql`${neutralised('level')} as jenjang`,
      sql`${neutralised('grade')} as golongan`,
      sql`${neutralised('unit')} as unit_kerja`,
      sql`region_code as kode_wilayah`,
      sql`province_code as kode_provinsi`,
      sql`tmt_jabatan`,
      sql`${neutralised('status')} as status`,
      sql`case when active then 'ya' else 'tidak' end as aktif`,
      ...(p === 'none' ? [] : [personal('email', 'email'), personal('phone', 'telepon')]),
    ];
    let q = db.selectFrom('officer_records').select(cols.map((c) => c as never));
    q = applyFilter(q, filter, { current: version === latest, version });
    const compiled = q.orderBy('id').compile();
    // COPY takes no bind parameters: inline them as escaped literals (they are validated codes,
    // enums and integers, and escapeLiteral quotes anything).
    const text = compiled.sql.replace(/\$(\d+)/g, (_m, n: string) => {
      const value = compiled.parameters[Number(n) - 1];
      if (typeof value === 'number' && Number.isInteger(value)) return String(value);
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      return client.escapeLiteral(String(value));
    });
    const stream = client.query(copyTo(`copy (${text}) to stdout with (format csv, header true)`));
    stream.once('end', () => void release(true));
    // `on`, not `once`: pg-copy-streams emits 'error' itself, and a second one with no listener would end the process.
    stream.on('error', () => void release(false, true));
    stream.once('close', () => void release(stream.readableEnded, !stream.readableEnded));
    return { version, stream, rowCount: () => stream.rowCount };
  } catch (e) {
    await release(false);
    throw e;
  }
}
