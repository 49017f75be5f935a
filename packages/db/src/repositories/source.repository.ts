import { sql, type Kysely, type Selectable } from 'kysely';
import { sourceEntryFields, type SourceDefinition, type SourceEntry } from '@pksync/core';
import type { Database, SourceTable } from '../schema.ts';
import { decryptToken, encryptToken } from '../token-crypto.ts';

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
  | 'workloads_url'
  | 'token_encrypted'
  | 'enabled'
  | 'timeout_s'
  | 'max_bytes'
  | 'max_rows'
  | 'last_content_hash'
  | 'last_validators'
>;

/** A row as the connectors take it, its token decrypted with `tokenKey` (throws `TokenCryptoError` when it cannot). */
export function toSourceWithToken(
  row: Omit<SourceFetchRow, 'last_content_hash' | 'last_validators'>,
  tokenKey: Buffer | undefined,
): SourceDefinition {
  return {
    id: row.id,
    agency: row.agency,
    regionCode: row.region_code,
    transport: row.transport,
    url: row.url,
    formationsUrl: row.formations_url,
    workloadsUrl: row.workloads_url,
    token: row.token_encrypted ? decryptToken(row.token_encrypted, tokenKey, row.id) : null,
    enabled: row.enabled,
    timeoutS: row.timeout_s,
    maxBytes: row.max_bytes === null ? null : Number(row.max_bytes),
    maxRows: row.max_rows,
  };
}

const COMPARED = [
  'agency',
  'region_code',
  'transport',
  'url',
  'formations_url',
  'workloads_url',
  'enabled',
  'timeout_s',
  'max_bytes',
  'max_rows',
] as const;

/**
 * Upserts sources by id in one transaction and reports what changed. Tokens are encrypted with
 * `tokenKey` (AES-256-GCM); a token given without a key fails the whole import. Sources missing
 * from the input are left as they are (never deleted by an import).
 */
export async function importSources(
  db: Kysely<Database>,
  inputs: readonly SourceEntry[],
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
      const values = sourceEntryFields(input);
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
