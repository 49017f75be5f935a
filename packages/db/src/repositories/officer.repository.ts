import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { sql, type ExpressionBuilder, type Selectable, type SelectQueryBuilder } from 'kysely';
import type pg from 'pg';
import { normaliseName } from '@pksync/core';
import { poolOf, type Db } from '../db.ts';
import type { Database } from '../schema.ts';
import { getRegisterVersion } from './register.repository.ts';

/**
 * The register's officers for the API: the list (cursor paging, filters, name search) and the
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
