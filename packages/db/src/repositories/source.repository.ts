import { sql, type Kysely, type Selectable } from 'kysely';
import type { SourceDefinition } from '@pksync/core';
import type { Database, SourceTable } from '../schema.ts';
import { decryptToken, encryptToken } from '../token-crypto.ts';

type Transport = SourceTable['transport'];

/**
 * A source as written in the sources file (register-api-v1.md § Sources file), already validated
 * (see `parseSourcesFile` in `@pksync/connectors`). `token`: absent keeps the stored token (tokens
 * are never exported, so a re-imported export must not wipe them); `null` removes it.
 */
export interface SourceInput {
  id: string;
  agency: string;
  region_code: string;
  transport: Transport;
  url?: string | null;
  formations_url?: string | null;
  token?: string | null;
  enabled?: boolean;
  timeout_s?: number | null;
  max_bytes?: number | null;
  max_rows?: number | null;
}

/** A source with its token decrypted: the shape connectors take. */
export type SourceWithToken = SourceDefinition;

/** A source as the API and CLI show it: never the token, only whether there is one. */
export interface PublicSource {
  id: string;
  agency: string;
  region_code: string;
  transport: Transport;
  url: string | null;
  formations_url: string | null;
  has_token: boolean;
  enabled: boolean;
  timeout_s: number | null;
  max_bytes: number | null;
  max_rows: number | null;
  last_success_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface ImportReport {
  created: string[];
  /** Changed sources with the names of the changed fields (`token` when the token changed; never its value). */
  updated: { id: string; fields: string[] }[];
  unchanged: string[];
}

type SourceRow = Selectable<SourceTable>;

/** The columns a fetch needs (what {@link toSourceWithToken} reads, plus the last snapshot's hash). */
export type SourceFetchRow = Pick<
  SourceRow,
  | 'id'
  | 'agency'
  | 'region_code'
  | 'transport'
  | 'url'
  | 'formations_url'
  | 'token_encrypted'
  | 'enabled'
  | 'timeout_s'
  | 'max_bytes'
  | 'max_rows'
  | 'last_content_hash'
  | 'last_validators'
>;

/** Decrypts a row's token with `tokenKey` (throws `TokenCryptoError` when it cannot). */
export function toSourceWithToken(
  row: Omit<SourceFetchRow, 'last_content_hash' | 'last_validators'>,
  tokenKey: Buffer | undefined,
): SourceWithToken {
  return {
    id: row.id,
    agency: row.agency,
    regionCode: row.region_code,
    transport: row.transport,
    url: row.url,
    formationsUrl: row.formations_url,
    token: row.token_encrypted ? decryptToken(row.token_encrypted, tokenKey, row.id) : null,
    enabled: row.enabled,
    timeoutS: row.timeout_s,
    maxBytes: row.max_bytes === null ? null : Number(row.max_bytes),
    maxRows: row.max_rows,
  };
}

export function toPublicSource(row: SourceRow): PublicSource {
  return {
    id: row.id,
    agency: row.agency,
    region_code: row.region_code,
    transport: row.transport,
    url: row.url,
    formations_url: row.formations_url,
    has_token: row.token_encrypted !== null,
    enabled: row.enabled,
    timeout_s: row.timeout_s,
    max_bytes: row.max_bytes === null ? null : Number(row.max_bytes),
    max_rows: row.max_rows,
    last_success_at: row.last_success_at,
    // The schema's Generated<Timestamp> selects as the column type; pg returns Date objects.
    created_at: row.created_at as unknown as Date,
    updated_at: row.updated_at as unknown as Date,
  };
}

/** One source with its token decrypted, for a fetch. Null when it does not exist. */
export async function getSourceForFetch(
  db: Kysely<Database>,
  id: string,
  tokenKey: Buffer | undefined,
): Promise<SourceWithToken | null> {
  const row = await db.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toSourceWithToken(row, tokenKey) : null;
}

export interface SourceFilter {
  /** Province code (`16`): the province's own sources and those of its regencies/cities. */
  province?: string;
  regionCode?: string;
  ids?: readonly string[];
  enabled?: boolean;
}

/** Sources matching a filter, ordered by id, without tokens. */
export async function listSources(db: Kysely<Database>, filter: SourceFilter = {}): Promise<PublicSource[]> {
  let q = db.selectFrom('sources').selectAll().orderBy('id');
  if (filter.province) {
    const p = filter.province;
    q = q.where((eb) => eb.or([eb('region_code', '=', p), eb('region_code', 'like', `${p}.%`)]));
  }
  if (filter.regionCode) q = q.where('region_code', '=', filter.regionCode);
  if (filter.ids) q = filter.ids.length ? q.where('id', 'in', [...filter.ids]) : q.where('id', '=', '\u0000none');
  if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled);
  return (await q.execute()).map(toPublicSource);
}

const COMPARED = [
  'agency',
  'region_code',
  'transport',
  'url',
  'formations_url',
  'enabled',
  'timeout_s',
  'max_bytes',
  'max_rows',
] as const;

function normalised(s: SourceInput) {
  return {
    agency: s.agency.trim(),
    region_code: s.region_code,
    transport: s.transport,
    url: s.url ?? null,
    formations_url: s.formations_url ?? null,
    enabled: s.enabled ?? true,
    timeout_s: s.timeout_s ?? null,
    max_bytes: s.max_bytes ?? null,
    max_rows: s.max_rows ?? null,
  };
}

/**
 * Upserts sources by id in one transaction and reports what changed. Tokens are encrypted with
 * `tokenKey` (AES-256-GCM); a token given without a key fails the whole import. Sources missing
 * from the input are left as they are (never deleted by an import).
 */
export async function importSources(
  db: Kysely<Database>,
  inputs: readonly SourceInput[],
  tokenKey: Buffer | undefined,
): Promise<ImportReport> {
  return db.transaction().execute(async (trx) => {
    const ids = inputs.map((s) => s.id);
    const existing = new Map(
      ids.length
        ? (await trx.selectFrom('sources').selectAll().where('id', 'in', ids).forUpdate().execute()).map((r) => [
            r.id,
            r,
          ])
        : [],
    );
    const report: ImportReport = { created: [], updated: [], unchanged: [] };
    for (const input of inputs) {
      const values = normalised(input);
      const old = existing.get(input.id);
      if (!old) {
        await trx
          .insertInto('sources')
          .values({
            id: input.id,
            ...values,
            token_encrypted: input.token ? encryptToken(input.token, tokenKey, input.id) : null,
            last_success_at: null,
            last_content_hash: null,
          })
          .execute();
        report.created.push(input.id);
        continue;
      }
      const fields: string[] = COMPARED.filter((k) => {
        const before = k === 'max_bytes' ? (old.max_bytes === null ? null : Number(old.max_bytes)) : old[k];
        return before !== values[k];
      });
      let tokenEncrypted = old.token_encrypted;
      if (input.token !== undefined) {
        const oldToken = old.token_encrypted ? decryptToken(old.token_encrypted, tokenKey, old.id) : null;
        const newToken = input.token ?? null;
        if (oldToken !== newToken) {
          fields.push('token');
          tokenEncrypted = newToken ? encryptToken(newToken, tokenKey, input.id) : null;
        }
      }
      if (fields.length === 0) {
        report.unchanged.push(input.id);
        continue;
      }
      await trx
        .updateTable('sources')
        .set({
          ...values,
          token_encrypted: tokenEncrypted, // `never`: the schema types updated_at as a nested ColumnType, so a raw now() needs a cast.
          updated_at: sql<never>`now()`,
        })
        .where('id', '=', input.id)
        .execute();
      report.updated.push({ id: input.id, fields });
    }
    return report;
  });
}

/** Records a successful fetch (R9 staleness is measured from `last_success_at`). */
export async function recordSourceSuccess(
  db: Kysely<Database>,
  id: string,
  at: Date,
  contentHash: string | null,
): Promise<void> {
  await db
    .updateTable('sources')
    .set({ last_success_at: at, last_content_hash: contentHash })
    .where('id', '=', id)
    .execute();
}
