import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import { regionByCode } from '@pksync/reference';
import type { Db } from '../db.ts';
import { writeAudit } from './audit.repository.ts';

/** A key's role (register-api-v1.md § Roles). `public` is the absence of a key. */
export type KeyRole = 'admin' | 'province';

/** Who is calling, once a key has been checked. */
export interface ApiPrincipal {
  keyId: number;
  name: string;
  role: KeyRole;
  /** The 2-digit province of a `province` key; null for `admin`. */
  provinceCode: string | null;
}

/** A key as listed: never the key or its hash. */
export interface ApiKeyInfo {
  id: number;
  name: string;
  role: KeyRole;
  provinceCode: string | null;
  createdAt: Date;
  createdBy: string | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

/** A key operation that cannot be done (duplicate name, bad province, …); `message` is for the operator. */
export class KeyError extends Error {
  override readonly name = 'KeyError';
  constructor(
    readonly code: 'key_name_taken' | 'key_not_found' | 'invalid_province' | 'invalid_name',
    message: string,
  ) {
    super(message);
  }
}

const KEY_RE = /^pks_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** sha256 of the whole key, hex. The key has 256 random bits, so a fast hash is enough (no stretching needed). */
function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Creates a key and writes the audit entry in the same transaction. Returns the key itself: it is
 * shown once and never stored (only its hash is).
 *
 * @example
 * const { key } = await createKey(db, { name: 'sumsel-ops', role: 'province', provinceCode: '16', actor: 'cli:root' });
 */
export async function createKey(
  db: Db,
  input: { name: string; role: KeyRole; provinceCode?: string | null; actor: string; reason?: string | null },
): Promise<{ key: string; info: ApiKeyInfo }> {
  const name = input.name.trim();
  if (!/^[\w.@-]{1,64}$/.test(name)) {
    throw new KeyError('invalid_name', 'key name must be 1–64 letters, digits, ".", "_", "-" or "@"');
  }
  let provinceCode: string | null = null;
  if (input.role === 'province') {
    const p = input.provinceCode?.trim() ?? '';
    const region = regionByCode(p);
    if (!region || region.level !== 'province') {
      throw new KeyError('invalid_province', `a province key needs a province code such as 16 (got "${p}")`);
    }
    provinceCode = p;
  } else if (input.provinceCode) {
    throw new KeyError('invalid_province', 'an admin key is not bound to a province');
  }
  const lookup = randomBytes(8).toString('hex');
  const key = `pks_${lookup}_${randomBytes(32).toString('base64url')}`;
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .insertInto('api_keys')
      .values({
        name,
        role: input.role,
        province_code: provinceCode,
        lookup,
        key_hash: hashKey(key),
        created_by: input.actor,
        revoked_at: null,
        revoked_by: null,
        last_used_at: null,
      })
      .onConflict((oc) => oc.column('name').where('revoked_at', 'is', null).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new KeyError('key_name_taken', `a live key named "${name}" already exists`);
    await writeAudit(trx, {
      actor: input.actor,
      actorRole: 'admin',
      action: 'key.create',
      target: `key:${name}`,
      provinceCode,
      reason: input.reason ?? null,
      details: { role: input.role },
    });
    return { key, info: toInfo(row) };
  });
}

/** Revokes the live key named `name` (audited). Throws `key_not_found` when there is none. */
export async function revokeKey(
  db: Db,
  input: { name: string; actor: string; reason?: string | null },
): Promise<ApiKeyInfo> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .updateTable('api_keys')
      .set({ revoked_at: sql`now()`, revoked_by: input.actor })
      .where('name', '=', input.name.trim())
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new KeyError('key_not_found', `no live key named "${input.name}"`);
    await writeAudit(trx, {
      actor: input.actor,
      actorRole: 'admin',
      action: 'key.revoke',
      target: `key:${row.name}`,
      provinceCode: row.province_code,
      reason: input.reason ?? null,
      details: { role: row.role },
    });
    return toInfo(row);
  });
}

/** Every key, live ones first, newest first. */
export async function listKeys(db: Db, opts: { includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
  let q = db.selectFrom('api_keys').selectAll();
  if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
  const rows = await q
    .orderBy(sql`revoked_at is not null`)
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toInfo);
}

/**
 * Checks a presented key: finds the row by its public lookup part, compares the SHA-256 hashes in
 * constant time, and refuses revoked keys. Returns null for anything that is not a live key (the
 * caller answers 401 without saying why).
 */
export async function authenticateKey(db: Db, presented: string): Promise<ApiPrincipal | null> {
  const m = KEY_RE.exec(presented);
  if (!m) return null;
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'name', 'role', 'province_code', 'key_hash', 'revoked_at', 'last_used_at'])
    .where('lookup', '=', m[1]!)
    .executeTakeFirst();
  const expected = Buffer.from(row?.key_hash ?? '0'.repeat(64), 'hex');
  const actual = Buffer.from(hashKey(presented), 'hex');
  // Compare even when no row was found, so timing does not tell a known lookup from an unknown one.
  const same = timingSafeEqual(expected, actual);
  if (!row || !same || row.revoked_at !== null) return null;
  // last_used_at is informational: refresh it at most every 5 minutes, off the request path.
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 5 * 60_000) {
    db.updateTable('api_keys')
      .set({ last_used_at: sql`now()` })
      .where('id', '=', row.id)
      .execute()
      .catch(() => {});
  }
  return { keyId: row.id, name: row.name, role: row.role, provinceCode: row.province_code };
}

function toInfo(row: {
  id: number;
  name: string;
  role: KeyRole;
  province_code: string | null;
  created_at: Date;
  created_by: string | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}): ApiKeyInfo {
  return {
    id: Number(row.id),
    name: row.name,
    role: row.role,
    provinceCode: row.province_code,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}
