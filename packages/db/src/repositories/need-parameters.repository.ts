import type { Kysely, Transaction } from 'kysely';
import { parseNeedParameters, type NeedParameters } from '@pksync/core';
import { shippedNeedParameters } from '@pksync/reference';
import type { Db } from '../db.ts';
import type { Database } from '../schema.ts';

/** One stored parameter set version (needs-planning-v1.md § The parameter set). */
export interface StoredNeedParameters {
  version: string;
  status: NeedParameters['status'];
  validFrom: string;
  /** The whole document as added. */
  parameters: NeedParameters;
  addedBy: string;
  addedAt: Date;
}

/** A parameter document that cannot be added: refused whole, every problem named. */
export class NeedParametersError extends Error {
  override name = 'NeedParametersError';
  constructor(
    message: string,
    readonly errors: readonly string[],
    /** `invalid` (the document breaks the spec) or `exists` (the version is taken: never edited in place). */
    readonly reason: 'invalid' | 'exists',
  ) {
    super(message);
  }
}

type Reader = Kysely<Database> | Transaction<Database>;

const COLUMNS = ['version', 'status', 'valid_from', 'document', 'added_by', 'added_at'] as const;

function toStored(r: {
  version: string;
  status: 'confirmed' | 'unconfirmed';
  valid_from: string;
  document: unknown;
  added_by: string;
  added_at: Date;
}): StoredNeedParameters {
  return {
    version: r.version,
    status: r.status,
    validFrom: r.valid_from,
    parameters: r.document as NeedParameters,
    addedBy: r.added_by,
    addedAt: r.added_at,
  };
}

/** Every version, in the order they were added. */
export async function listNeedParameters(db: Reader): Promise<StoredNeedParameters[]> {
  const rows = await db.selectFrom('need_parameters').select(COLUMNS).orderBy('seq').execute();
  return rows.map(toStored);
}

/** One version, or null. */
export async function getNeedParameters(db: Reader, version: string): Promise<StoredNeedParameters | null> {
  const r = await db.selectFrom('need_parameters').select(COLUMNS).where('version', '=', version).executeTakeFirst();
  return r ? toStored(r) : null;
}

/**
 * The version in force on `asOf`: the latest `valid_from` not after it, of those the one added
 * last (@pksync/core `parametersInForce` states the rule; this is its query). Null before the first.
 */
export async function needParametersInForce(db: Reader, asOf: string): Promise<StoredNeedParameters | null> {
  const r = await db
    .selectFrom('need_parameters')
    .select(COLUMNS)
    .where('valid_from', '<=', asOf)
    .orderBy('valid_from', 'desc')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? toStored(r) : null;
}

/**
 * Adds a version after checking the document whole (@pksync/core `parseNeedParameters`). A
 * version already stored is never edited in place: adding it again with the same document is a
 * no-op (`added: false`), with another document a {@link NeedParametersError} (`exists`). The
 * caller audits (API, CLI).
 */
export async function addNeedParameters(
  db: Db | Transaction<Database>,
  document: unknown,
  addedBy: string,
): Promise<{ added: boolean; stored: StoredNeedParameters }> {
  const parsed = parseNeedParameters(document);
  if (!parsed.ok) {
    throw new NeedParametersError(`parameter set refused: ${parsed.errors.join('; ')}`, parsed.errors, 'invalid');
  }
  const p = parsed.parameters;
  const inserted = await db
    .insertInto('need_parameters')
    .values({
      version: p.version,
      status: p.status,
      valid_from: p.valid_from,
      document: JSON.stringify(p),
      added_by: addedBy,
    })
    .onConflict((oc) => oc.column('version').doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
  if (inserted) return { added: true, stored: toStored(inserted) };
  const existing = await getNeedParameters(db, p.version);
  if (existing && sameDocument(existing.parameters, p)) return { added: false, stored: existing };
  throw new NeedParametersError(
    `parameter set version "${p.version}" already exists with other contents: a version is never edited, add a new version`,
    [`version: "${p.version}" sudah ada dengan isi berbeda; tambahkan versi baru`],
    'exists',
  );
}

function sameDocument(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** JSON with object keys sorted (jsonb does not keep key order). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Loads the shipped parameter sets (@pksync/reference data/need-parameters/) that the database
 * does not hold yet; `pksync migrate` calls it. A shipped file that breaks the spec stops the
 * migration (a packaging error, not an operator's).
 */
export async function loadShippedNeedParameters(db: Db): Promise<{ added: string[] }> {
  const added: string[] = [];
  for (const { file, document } of shippedNeedParameters()) {
    try {
      const r = await addNeedParameters(db, document, 'pksync migrate');
      if (r.added) added.push(r.stored.version);
    } catch (e) {
      if (e instanceof NeedParametersError && e.reason === 'exists') continue; // an operator's own version of that name stands
      throw new Error(`shipped parameter set ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  return { added };
}
