import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { regionByCode } from '@pksync/reference';
import type { Db } from '../db.ts';
import { GCM_TAG_BYTES, gcmDecipher } from '../token-crypto.ts';
import type { AlertContactRow } from '../schema.ts';

/**
 * R15 alert contacts: e-mail addresses and webhook URLs per province, and the ministry's admin
 * contacts (province null) that receive escalations and delivery failures. Webhook signing secrets
 * are stored AES-256-GCM encrypted with `config.tokenKey`, the contact id bound as additional
 * authenticated data; they are never returned by the listing functions.
 *
 * One contact is not managed here but by the configuration: the ministry webhook of
 * ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SECRET ({@link syncConfiguredWebhook}), an admin contact with
 * a fixed id that receives every province's digest as well as the ministry's alerts.
 */

/**
 * The id of the configured ministry webhook (a name-based UUID of `pksync:ALERT_WEBHOOK_URL`). Fixed,
 * so the same contact survives restarts and URL or secret changes, and with it its idempotency keys
 * (`digest:<run>:<province>:<id>`) and its outbox rows.
 */
export const CONFIGURED_WEBHOOK_ID = '7e1e2416-fa8d-5c41-84d3-ef2e23acd53c';
const CONFIGURED_NAME = 'ministry webhook (ALERT_WEBHOOK_URL)';
const CONFIGURED_BY = 'ALERT_WEBHOOK_URL';

/** A contact as shown to admins: never the secret. */
export interface AlertContact {
  id: string;
  provinceCode: string | null;
  isAdmin: boolean;
  kind: 'email' | 'webhook';
  address: string;
  name: string | null;
  enabled: boolean;
  hasSecret: boolean;
  /** The ministry webhook of ALERT_WEBHOOK_URL: changed only through the configuration. */
  configured: boolean;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewContactInput {
  /** A province code (`16`), or null/undefined with `admin: true` for a ministry contact. */
  provinceCode?: string | null;
  admin?: boolean;
  kind: 'email' | 'webhook';
  address: string;
  name?: string | null;
  /** Webhook signing secret (at least 16 characters). Required for webhooks, refused for e-mail. */
  secret?: string | null;
  createdBy?: string | null;
}

/** Bad contact input; `field` names what is wrong. */
export class ContactValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ContactValidationError';
  }
}

/**
 * An attempt to edit, disable or remove the configured ministry webhook, which only
 * ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SECRET change. `statusCode` 409 for HTTP callers.
 */
export class ConfiguredContactError extends ContactValidationError {
  readonly statusCode = 409;
  constructor(field: string) {
    super(
      field,
      'this contact is the ministry webhook set by ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SECRET: change or unset those variables and restart the workers',
    );
    this.name = 'ConfiguredContactError';
  }
}

function refuseConfigured(id: string, field: string): void {
  if (id.toLowerCase() === CONFIGURED_WEBHOOK_ID) throw new ConfiguredContactError(field);
}

// Deliberately plain: one @, no spaces, a dot in the domain. SMTP is the real test.
const EMAIL_RE =
  /^[^\s@<>()[\]\\,;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

/** Validates and normalises contact input; throws {@link ContactValidationError} naming the field. */
function validateContactInput(input: NewContactInput): {
  provinceCode: string | null;
  isAdmin: boolean;
  kind: 'email' | 'webhook';
  address: string;
  name: string | null;
  secret: string | null;
} {
  const isAdmin = input.admin === true;
  let provinceCode: string | null = null;
  if (isAdmin) {
    if (input.provinceCode) {
      throw new ContactValidationError('province', 'an admin (ministry) contact has no province');
    }
  } else {
    const code = (input.provinceCode ?? '').trim();
    if (!code)
      throw new ContactValidationError('province', 'province is required (e.g. 16), or mark the contact admin');
    const region = regionByCode(code);
    if (!region || region.level !== 'province') {
      throw new ContactValidationError('province', `"${code}" is not a province code (two digits, e.g. 16)`);
    }
    provinceCode = region.code;
  }
  if (input.kind !== 'email' && input.kind !== 'webhook') {
    throw new ContactValidationError('kind', 'kind must be email or webhook');
  }
  const address = (input.address ?? '').trim();
  if (!address) throw new ContactValidationError('address', 'address is required');
  if (address.length > 500) throw new ContactValidationError('address', 'address is longer than 500 characters');
  const secret = input.secret ?? null;
  if (input.kind === 'email') {
    if (!EMAIL_RE.test(address)) throw new ContactValidationError('address', `"${address}" is not an e-mail address`);
    if (secret) throw new ContactValidationError('secret', 'an e-mail contact has no secret');
  } else {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      throw new ContactValidationError('address', `"${address}" is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ContactValidationError('address', 'a webhook URL must start with https:// or http://');
    }
    if (url.username || url.password) {
      throw new ContactValidationError('address', 'a webhook URL must not carry credentials; use the secret');
    }
    if (!secret) throw new ContactValidationError('secret', 'a webhook needs a signing secret');
    if (secret.length < 16)
      throw new ContactValidationError('secret', 'the signing secret must be at least 16 characters');
    if (secret.length > 256)
      throw new ContactValidationError('secret', 'the signing secret is longer than 256 characters');
  }
  const name = input.name?.trim() || null;
  if (name && name.length > 200) throw new ContactValidationError('name', 'name is longer than 200 characters');
  return { provinceCode, isAdmin, kind: input.kind, address, name, secret };
}

function toContact(row: AlertContactRow): AlertContact {
  return {
    id: row.id,
    provinceCode: row.province_code,
    isAdmin: row.is_admin,
    kind: row.kind,
    address: row.address,
    name: row.name,
    enabled: row.enabled,
    hasSecret: row.secret_encrypted !== null,
    configured: row.id === CONFIGURED_WEBHOOK_ID,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkKey(key: Buffer | undefined): Buffer {
  if (!key)
    throw new ContactValidationError(
      'secret',
      'TOKEN_ENCRYPTION_KEY is not set: webhook secrets cannot be stored or read',
    );
  if (key.length !== 32) throw new ContactValidationError('secret', 'the encryption key must be 32 bytes');
  return key;
}

/** Encrypts a webhook secret for the contact `id` (AES-256-GCM, `v1:iv:tag:data`). */
function encryptContactSecret(secret: string, key: Buffer | undefined, id: string): string {
  const k = checkKey(key);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(Buffer.from(`alert-contact:${id}`, 'utf8'));
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return `v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${data.toString('base64')}`;
}

/** Decrypts a secret made by {@link encryptContactSecret}; the error never contains the secret. */
export function decryptContactSecret(stored: string, key: Buffer | undefined, id: string): string {
  const k = checkKey(key);
  const parts = stored.split(':');
  if (parts.length !== 4 || parts[0] !== 'v1') throw new Error(`secret of contact ${id} is not in v1 form`);
  try {
    const decipher = gcmDecipher(
      k,
      Buffer.from(parts[1]!, 'base64'),
      Buffer.from(parts[2]!, 'base64'),
      Buffer.from(`alert-contact:${id}`, 'utf8'),
    );
    return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(`secret of contact ${id} cannot be decrypted with this key`);
  }
}

/**
 * Adds a contact after validating it. A duplicate (same province, kind and address, case
 * insensitive) is a {@link ContactValidationError} on `address`.
 *
 * @example await addContact(db, { provinceCode: '16', kind: 'email', address: 'data@sumsel.go.id' }, config.tokenKey)
 */
export async function addContact(db: Db, input: NewContactInput, key: Buffer | undefined): Promise<AlertContact> {
  const v = validateContactInput(input);
  const id = randomUUID();
  const secretEncrypted = v.secret ? encryptContactSecret(v.secret, key, id) : null;
  try {
    const row = await db
      .insertInto('alert_contacts')
      .values({
        id,
        province_code: v.provinceCode,
        is_admin: v.isAdmin,
        kind: v.kind,
        address: v.address,
        name: v.name,
        secret_encrypted: secretEncrypted,
        created_by: input.createdBy ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toContact(row);
  } catch (e) {
    if ((e as { code?: string }).code === '23505') {
      throw new ContactValidationError(
        'address',
        `a ${v.kind} contact "${v.address}" already exists for this audience`,
      );
    }
    throw e;
  }
}

export interface ContactFilter {
  /** Only this province's contacts. */
  provinceCode?: string;
  /** Only the ministry's admin contacts. */
  admin?: boolean;
}

/** Contacts ordered by audience, kind, address; never secrets. */
export async function listContacts(db: Db, filter: ContactFilter = {}): Promise<AlertContact[]> {
  let q = db.selectFrom('alert_contacts').selectAll();
  if (filter.provinceCode !== undefined) q = q.where('province_code', '=', filter.provinceCode);
  if (filter.admin !== undefined) q = q.where('is_admin', '=', filter.admin);
  const rows = await q
    .orderBy('is_admin', 'desc')
    .orderBy('province_code')
    .orderBy('kind')
    .orderBy('address')
    .execute();
  return rows.map(toContact);
}

/** One contact, or undefined. */
export async function getContact(db: Db, id: string): Promise<AlertContact | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  const row = await db.selectFrom('alert_contacts').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toContact(row) : undefined;
}

/**
 * Removes a contact; pending deliveries to it are cancelled. Returns whether it existed. The
 * configured ministry webhook is refused ({@link ConfiguredContactError}).
 */
export async function removeContact(db: Db, id: string): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  refuseConfigured(id, 'id');
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('alert_outbox')
      .set({ status: 'cancelled', last_error: 'contact removed' })
      .where('contact_id', '=', id)
      .where('status', '=', 'pending')
      .execute();
    const res = await trx.deleteFrom('alert_contacts').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  });
}

/**
 * Enables or disables a contact (a disabled contact gets no new digests). Returns whether it
 * exists. The configured ministry webhook is refused ({@link ConfiguredContactError}).
 */
export async function setContactEnabled(db: Db, id: string, enabled: boolean): Promise<boolean> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  refuseConfigured(id, 'id');
  const res = await db
    .updateTable('alert_contacts')
    .set({ enabled, updated_at: new Date() })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The raw row (with the encrypted secret) for delivery; undefined when gone. */
export async function getContactForDelivery(db: Db, id: string): Promise<AlertContactRow | undefined> {
  return db.selectFrom('alert_contacts').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Replaces a webhook contact's signing secret (validated like a new one). Pending deliveries are
 * signed with the new secret from their next attempt. Returns false when there is no such webhook.
 * The configured ministry webhook's secret is ALERT_WEBHOOK_SECRET ({@link ConfiguredContactError}).
 */
export async function rotateContactSecret(
  db: Db,
  id: string,
  secret: string,
  key: Buffer | undefined,
): Promise<boolean> {
  refuseConfigured(id, 'secret');
  if (secret.length < 16)
    throw new ContactValidationError('secret', 'the signing secret must be at least 16 characters');
  if (secret.length > 256)
    throw new ContactValidationError('secret', 'the signing secret is longer than 256 characters');
  if (!/^[0-9a-f-]{36}$/i.test(id)) return false;
  const res = await db
    .updateTable('alert_contacts')
    .set({ secret_encrypted: encryptContactSecret(secret, key, id), updated_at: new Date() })
    .where('id', '=', id)
    .where('kind', '=', 'webhook')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** What {@link syncConfiguredWebhook} did; `changed` lists what differed from the stored contact. */
export interface ConfiguredWebhookSync {
  status: 'created' | 'updated' | 'unchanged' | 'disabled' | 'absent';
  changed: ('url' | 'secret' | 'enabled')[];
}

/**
 * Brings the configured ministry webhook ({@link CONFIGURED_WEBHOOK_ID}) in line with
 * ALERT_WEBHOOK_URL and ALERT_WEBHOOK_SECRET (`config.alertWebhook`); the worker calls it at
 * start-up. Set: the contact is created, or its URL and secret (stored encrypted like every
 * contact secret) are updated and it is enabled; pending deliveries to it become due at once, and
 * go to the new URL with the new signature under their old idempotency keys. Unset: the contact is
 * disabled (kept, so its id, keys and past deliveries stay) and its pending deliveries are
 * cancelled. Safe to run in several workers at once. An admin webhook contact added by hand with
 * the same URL is a {@link ContactValidationError} on `address`.
 *
 * @example await syncConfiguredWebhook(db, config.alertWebhook, config.tokenKey)
 */
export async function syncConfiguredWebhook(
  db: Db,
  webhook: { url: string; secret: string } | undefined,
  key: Buffer | undefined,
  now: Date = new Date(),
): Promise<ConfiguredWebhookSync> {
  const id = CONFIGURED_WEBHOOK_ID;
  if (!webhook) {
    return db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('alert_contacts')
        .set({ enabled: false, updated_at: now })
        .where('id', '=', id)
        .where('enabled', '=', true)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return { status: 'absent', changed: [] };
      await trx
        .updateTable('alert_outbox')
        .set({ status: 'cancelled', last_error: 'ALERT_WEBHOOK_URL was unset' })
        .where('contact_id', '=', id)
        .where('status', '=', 'pending')
        .execute();
      return { status: 'disabled', changed: ['enabled'] };
    });
  }
  const v = validateContactInput({
    admin: true,
    kind: 'webhook',
    address: webhook.url,
    secret: webhook.secret,
    name: CONFIGURED_NAME,
  });
  const secret = v.secret!;
  const duplicate = (e: unknown): never => {
    if ((e as { code?: string }).code === '23505')
      throw new ContactValidationError(
        'address',
        `ALERT_WEBHOOK_URL ${v.address} is already a ministry webhook contact: remove that contact (pksync contacts list --admin) or set another URL`,
      );
    throw e;
  };
  return db
    .transaction()
    .execute(async (trx): Promise<ConfiguredWebhookSync> => {
      // Two workers starting at once: the second waits for the first's row, then compares.
      const inserted = await trx
        .insertInto('alert_contacts')
        .values({
          id,
          province_code: null,
          is_admin: true,
          kind: 'webhook',
          address: v.address,
          name: CONFIGURED_NAME,
          secret_encrypted: encryptContactSecret(secret, key, id),
          created_by: CONFIGURED_BY,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning('id')
        .executeTakeFirst();
      if (inserted) return { status: 'created', changed: [] };
      const row = await trx
        .selectFrom('alert_contacts')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const changed: ConfiguredWebhookSync['changed'] = [];
      if (row.address !== v.address) changed.push('url');
      let stored: string | null = null;
      try {
        stored = row.secret_encrypted ? decryptContactSecret(row.secret_encrypted, key, id) : null;
      } catch {
        // Encrypted with another TOKEN_ENCRYPTION_KEY: store it again with this one.
      }
      if (stored !== secret) changed.push('secret');
      if (!row.enabled) changed.push('enabled');
      if (changed.length === 0) return { status: 'unchanged', changed };
      await trx
        .updateTable('alert_contacts')
        .set({
          address: v.address,
          is_admin: true,
          province_code: null,
          name: CONFIGURED_NAME,
          enabled: true,
          ...(changed.includes('secret') ? { secret_encrypted: encryptContactSecret(secret, key, id) } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      if (changed.includes('url') || changed.includes('secret')) {
        // Rows waiting out a back-off against the old URL or secret are tried again now.
        await trx
          .updateTable('alert_outbox')
          .set({ next_attempt_at: now })
          .where('contact_id', '=', id)
          .where('status', '=', 'pending')
          .where('next_attempt_at', '>', now)
          .execute();
      }
      return { status: 'updated', changed };
    })
    .catch(duplicate);
}

/**
 * The configured ministry webhook's row when it is enabled (the outbox writer adds it to every
 * province's digest), else undefined.
 */
export async function configuredWebhookContact(db: Db): Promise<AlertContactRow | undefined> {
  return db
    .selectFrom('alert_contacts')
    .selectAll()
    .where('id', '=', CONFIGURED_WEBHOOK_ID)
    .where('enabled', '=', true)
    .executeTakeFirst();
}
