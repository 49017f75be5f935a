import { sql } from 'kysely';
import type { Db } from '../db.ts';
import type { AlertContactRow, AlertOutboxRow, Finding, FindingStatus } from '../schema.ts';

/**
 * R15 alert bookkeeping: which findings a run's digests report (new, reminders, resolutions,
 * escalations), the outbox written in the findings' transaction, and the lease-based claim the
 * notify worker delivers from. Every function takes a `Db` that may be a transaction.
 */

const DAY_MS = 86_400_000;

/** The columns a digest needs from a finding. */
export type DigestFinding = Pick<
  Finding,
  | 'id'
  | 'code'
  | 'severity'
  | 'status'
  | 'province_code'
  | 'region_code'
  | 'source_id'
  | 'nip'
  | 'row'
  | 'message'
  | 'details'
  | 'first_seen_at'
  | 'last_seen_at'
  | 'last_notified_at'
  | 'acknowledged_at'
  | 'ack_note'
  | 'resolved_at'
>;

const DIGEST_COLUMNS = [
  'id',
  'code',
  'severity',
  'status',
  'province_code',
  'region_code',
  'source_id',
  'nip',
  'row',
  'message',
  'details',
  'first_seen_at',
  'last_seen_at',
  'last_notified_at',
  'acknowledged_at',
  'ack_note',
  'resolved_at',
] as const;

/**
 * The provinces a run covers, from its scope: `'all'` for a national run (or an unknown run),
 * else the province of the province/region/source it ran for.
 */
export async function runProvinces(db: Db, runId: string): Promise<'all' | string[]> {
  const run = await db
    .selectFrom('runs')
    .select(['scope_kind', 'scope_value'])
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!run || run.scope_kind === 'national' || !run.scope_value) return 'all';
  if (run.scope_kind === 'province') return [run.scope_value];
  if (run.scope_kind === 'region') return [run.scope_value.slice(0, 2)];
  const source = await db
    .selectFrom('sources')
    .select('region_code')
    .where('id', '=', run.scope_value)
    .executeTakeFirst();
  return source ? [source.region_code.slice(0, 2)] : 'all';
}

export interface DigestSelection {
  /** Open findings no digest has reported yet (opened by this run, or never told for want of a contact). */
  fresh: DigestFinding[];
  /** Open findings last reported at least `reminderDays` ago. */
  reminders: DigestFinding[];
  /** Findings this run resolved that a digest had reported. */
  resolved: DigestFinding[];
  /** Unresolved findings first seen at least `escalationDays` ago, not yet escalated. */
  escalations: DigestFinding[];
  /** Open `delivery_failed` findings the ministry has not been told about. */
  deliveryFailed: DigestFinding[];
}

export interface SelectDigestOptions {
  runId: string;
  openedFindingIds: readonly number[];
  resolvedFindingIds: readonly number[];
  /** The run's provinces ({@link runProvinces}); findings the run opened or resolved count anyway. */
  provinces: 'all' | readonly string[];
  now: Date;
  reminderDays?: number;
  escalationDays?: number;
}

/**
 * Selects what a run's digests report. Idempotent with the `mark*` functions: a finding once
 * reported (last_notified_at), once announced resolved (resolution_notified_at) or once escalated
 * (escalated_at) is not selected again for the same reason.
 */
export async function selectDigestFindings(db: Db, o: SelectDigestOptions): Promise<DigestSelection> {
  const reminderBefore = new Date(o.now.getTime() - (o.reminderDays ?? 7) * DAY_MS);
  const escalateBefore = new Date(o.now.getTime() - (o.escalationDays ?? 30) * DAY_MS);
  const opened = o.openedFindingIds.map(Number);
  const resolvedIds = o.resolvedFindingIds.map(Number);
  const all = o.provinces === 'all';
  const provinces = all ? [] : [...o.provinces];
  const base = () => db.selectFrom('findings').select(DIGEST_COLUMNS).where('code', '<>', 'delivery_failed');

  const fresh = await base()
    .where('status', '=', 'open')
    .where('last_notified_at', 'is', null)
    .where((eb) =>
      eb.or([
        ...(opened.length ? [eb('id', '=', eb.fn.any(eb.val(opened)))] : []),
        ...(all ? [eb.lit(true)] : provinces.length ? [eb('province_code', 'in', provinces)] : []),
        eb.lit(false),
      ]),
    )
    .orderBy('id')
    .execute();

  const reminders = await base()
    .where('status', '=', 'open')
    .where('last_notified_at', '<=', reminderBefore)
    .$if(!all, (q) => (provinces.length ? q.where('province_code', 'in', provinces) : q.where(sql.lit(false))))
    .orderBy('id')
    .execute();

  // Also resolutions an earlier run could not announce (its alert step failed, or no contact then).
  const resolved = await base()
    .where('status', '=', 'resolved')
    .where('resolution_notified_at', 'is', null)
    .where('last_notified_at', 'is not', null)
    .where((eb) =>
      eb.or([
        ...(resolvedIds.length ? [eb('id', '=', eb.fn.any(eb.val(resolvedIds)))] : []),
        eb('resolved_run_id', '=', o.runId),
        ...(all ? [eb.lit(true)] : provinces.length ? [eb('province_code', 'in', provinces)] : []),
      ]),
    )
    .orderBy('id')
    .execute();

  const escalations = await base()
    .where('status', 'in', ['open', 'acknowledged'])
    .where('escalated_at', 'is', null)
    .where(sql<boolean>`first_seen_at <= ${escalateBefore}`)
    .$if(!all, (q) => (provinces.length ? q.where('province_code', 'in', provinces) : q.where(sql.lit(false))))
    .orderBy('id')
    .execute();

  const deliveryFailed = await db
    .selectFrom('findings')
    .select(DIGEST_COLUMNS)
    .where('code', '=', 'delivery_failed')
    .where('status', '=', 'open')
    .where('last_notified_at', 'is', null)
    .orderBy('id')
    .execute();

  return { fresh, reminders, resolved, escalations, deliveryFailed };
}

/**
 * Runs `fn` inside a savepoint of the transaction `trx`: when it throws, its writes are rolled back
 * and the error is returned, while the surrounding transaction goes on (and can still commit).
 */
export async function withSavepoint<T>(
  trx: Db,
  name: string,
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`withSavepoint: bad savepoint name "${name}"`);
  await sql.raw(`savepoint ${name}`).execute(trx);
  try {
    const value = await fn();
    await sql.raw(`release savepoint ${name}`).execute(trx);
    return { ok: true, value };
  } catch (error) {
    await sql.raw(`rollback to savepoint ${name}`).execute(trx);
    return { ok: false, error };
  }
}

/** Enabled contacts of these provinces (`'all'`: every province), plus (with `admin`) the ministry's. */
export async function contactsFor(
  db: Db,
  provinces: 'all' | readonly string[],
  options: { admin?: boolean } = {},
): Promise<AlertContactRow[]> {
  return db
    .selectFrom('alert_contacts')
    .selectAll()
    .where('enabled', '=', true)
    .where((eb) => {
      const parts = [];
      if (provinces === 'all') parts.push(eb('is_admin', '=', false));
      else if (provinces.length) parts.push(eb('province_code', 'in', [...provinces]));
      if (options.admin) parts.push(eb('is_admin', '=', true));
      parts.push(eb.lit(false));
      return eb.or(parts);
    })
    .orderBy('province_code')
    .orderBy('kind')
    .orderBy('address')
    .execute();
}

export interface NewOutboxRow {
  idempotencyKey: string;
  kind: AlertOutboxRow['kind'];
  runId: string | null;
  audience: 'province' | 'ministry';
  provinceCode: string | null;
  contactId: string;
  channel: 'email' | 'webhook';
  payload: Record<string, unknown>;
  findingIds: number[];
  now: Date;
}

/** Inserts outbox rows; a row whose idempotency key exists is skipped. Returns how many were written. */
export async function insertOutboxRows(db: Db, rows: readonly NewOutboxRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  let written = 0;
  for (let i = 0; i < rows.length; i += 200) {
    const res = await db
      .insertInto('alert_outbox')
      .values(
        rows.slice(i, i + 200).map((r) => ({
          idempotency_key: r.idempotencyKey,
          kind: r.kind,
          run_id: r.runId,
          audience: r.audience,
          province_code: r.provinceCode,
          contact_id: r.contactId,
          channel: r.channel,
          payload: JSON.stringify(r.payload),
          finding_ids: r.findingIds,
          next_attempt_at: r.now,
          created_at: r.now,
        })),
      )
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .executeTakeFirst();
    written += Number(res.numInsertedOrUpdatedRows ?? 0);
  }
  return written;
}

/** Records that a digest reported these open findings (new or reminded) at `now`. */
export async function markFindingsNotified(db: Db, ids: readonly number[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('findings')
    .set((eb) => ({ last_notified_at: now, notify_count: eb('notify_count', '+', 1) }))
    .where('id', '=', sql<number>`any(${[...ids]}::bigint[])`)
    .execute();
}

/** Records that a digest announced these findings' resolution. */
export async function markResolutionsNotified(db: Db, ids: readonly number[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('findings')
    .set({ resolution_notified_at: now })
    .where('id', '=', sql<number>`any(${[...ids]}::bigint[])`)
    .execute();
}

/** Records that these findings were escalated to the ministry. */
export async function markEscalated(db: Db, ids: readonly number[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('findings')
    .set({ escalated_at: now })
    .where('id', '=', sql<number>`any(${[...ids]}::bigint[])`)
    .execute();
}

export interface ClaimOptions {
  now: Date;
  /** How long a claim holds before another worker may take the row (and resend it). */
  leaseMs: number;
  limit: number;
  /** Only rows of this run. */
  runId?: string;
  /** Only these rows. */
  ids?: readonly number[];
}

/**
 * Claims due outbox rows for delivery: pending, due, and not under another worker's live lease.
 * Each claim gets a fresh `claim_token`; only its holder can record the outcome. `FOR UPDATE SKIP
 * LOCKED` lets any number of workers claim at once without taking the same row.
 */
export async function claimDueOutbox(db: Db, o: ClaimOptions): Promise<AlertOutboxRow[]> {
  const lockedUntil = new Date(o.now.getTime() + o.leaseMs);
  const rows = await sql<AlertOutboxRow>`
    update alert_outbox o
       set claim_token = gen_random_uuid(),
           locked_until = ${lockedUntil},
           attempts = o.attempts + 1,
           first_attempt_at = coalesce(o.first_attempt_at, ${o.now})
     where o.id in (
       select id from alert_outbox
        where status = 'pending'
          and next_attempt_at <= ${o.now}
          and (locked_until is null or locked_until <= ${o.now})
          ${o.runId ? sql`and run_id = ${o.runId}` : sql``}
          ${o.ids ? sql`and id = any(${o.ids.map(Number)}::bigint[])` : sql``}
        order by next_attempt_at, id
        limit ${o.limit}
        for update skip locked)
    returning o.*`.execute(db);
  return rows.rows.map((r) => ({ ...r, id: Number(r.id), finding_ids: (r.finding_ids ?? []).map(Number) }));
}

/** Records a delivery; false when the claim was lost (another worker holds the row now). */
export async function completeOutbox(db: Db, id: number, claimToken: string, now: Date): Promise<boolean> {
  const res = await db
    .updateTable('alert_outbox')
    .set({ status: 'sent', sent_at: now, locked_until: null, last_error: null })
    .where('id', '=', id)
    .where('claim_token', '=', claimToken)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Records a failed attempt: due again at `nextAttemptAt`, or `dead` when given up. */
export async function failOutbox(
  db: Db,
  id: number,
  claimToken: string,
  o: { error: string; nextAttemptAt: Date; dead?: boolean },
): Promise<boolean> {
  const res = await db
    .updateTable('alert_outbox')
    .set({
      status: o.dead ? 'dead' : 'pending',
      next_attempt_at: o.nextAttemptAt,
      locked_until: null,
      last_error: o.error.slice(0, 2000),
    })
    .where('id', '=', id)
    .where('claim_token', '=', claimToken)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Cancels a row that can no longer be delivered (its contact was removed or disabled). */
export async function cancelOutbox(db: Db, id: number, claimToken: string, reason: string): Promise<void> {
  await db
    .updateTable('alert_outbox')
    .set({ status: 'cancelled', locked_until: null, last_error: reason })
    .where('id', '=', id)
    .where('claim_token', '=', claimToken)
    .where('status', '=', 'pending')
    .execute();
}

/** Marks that the 24-hour failure of this row has been raised as a finding (once). */
export async function markFailureReported(db: Db, id: number, now: Date): Promise<boolean> {
  const res = await db
    .updateTable('alert_outbox')
    .set({ failure_reported_at: now })
    .where('id', '=', id)
    .where('failure_reported_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export interface DeliveryFailedInput {
  contactId: string;
  contactAddress: string;
  channel: 'email' | 'webhook';
  provinceCode: string;
  outboxId: number;
  idempotencyKey: string;
  error: string;
  message: string;
  now: Date;
}

/**
 * R15: a delivery failing for 24 h becomes a `delivery_failed` finding (one open finding per
 * contact; a second failing delivery to it updates that finding). Returns its id and whether it is new.
 */
export async function upsertDeliveryFailedFinding(
  db: Db,
  i: DeliveryFailedInput,
): Promise<{ id: number; created: boolean }> {
  const details = {
    contact_id: i.contactId,
    address: i.contactAddress,
    channel: i.channel,
    outbox_id: i.outboxId,
    idempotency_key: i.idempotencyKey,
    error: i.error.slice(0, 500),
  };
  const row = await db
    .insertInto('findings')
    .values({
      code: 'delivery_failed',
      severity: 'error',
      fingerprint: `delivery_failed:contact:${i.contactId}`,
      province_code: i.provinceCode,
      region_code: i.provinceCode,
      message: i.message,
      // Casts: FindingTable's Generated<Timestamp>/Generated<Json> columns nest ColumnTypes.
      details: JSON.stringify(details) as never,
      first_seen_at: i.now as never,
      last_seen_at: i.now as never,
    })
    .onConflict((oc) =>
      oc
        .column('fingerprint')
        .where('status', '<>', 'resolved')
        .doUpdateSet({ last_seen_at: i.now as never, details: JSON.stringify(details) as never, message: i.message }),
    )
    .returning(['id', sql<boolean>`(xmax = 0)`.as('created')])
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), created: row.created };
}

/** A successful delivery to a contact resolves its open `delivery_failed` finding. */
export async function resolveDeliveryFailed(db: Db, contactId: string, now: Date): Promise<number> {
  const res = await db
    .updateTable('findings')
    .set({ status: 'resolved', resolved_at: now })
    .where('fingerprint', '=', `delivery_failed:contact:${contactId}`)
    .where('status', '<>', 'resolved')
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export interface OutboxSummaryRow {
  id: number;
  kind: AlertOutboxRow['kind'];
  runId: string | null;
  audience: 'province' | 'ministry';
  provinceCode: string | null;
  contactId: string | null;
  channel: 'email' | 'webhook';
  status: AlertOutboxRow['status'];
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  sentAt: Date | null;
  createdAt: Date;
  findings: number;
}

/**
 * Outbox rows, newest first, for operators (`pksync contacts outbox`, `GET /contacts/deliveries`):
 * keyset by id descending, `afterId` = the id of the last row of the previous page.
 */
export async function listOutbox(
  db: Db,
  filter: {
    runId?: string;
    provinceCode?: string;
    status?: AlertOutboxRow['status'];
    limit?: number;
    afterId?: number;
  } = {},
): Promise<OutboxSummaryRow[]> {
  let q = db.selectFrom('alert_outbox').selectAll();
  if (filter.afterId !== undefined) q = q.where('id', '<', filter.afterId);
  if (filter.runId) q = q.where('run_id', '=', filter.runId);
  if (filter.provinceCode) q = q.where('province_code', '=', filter.provinceCode);
  if (filter.status) q = q.where('status', '=', filter.status);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(filter.limit ?? 100)
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    runId: r.run_id,
    audience: r.audience,
    provinceCode: r.province_code,
    contactId: r.contact_id,
    channel: r.channel,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    sentAt: r.sent_at,
    createdAt: r.created_at,
    findings: r.finding_ids.length,
  }));
}

export interface FindingListFilter {
  province?: string;
  region?: string;
  rule?: string;
  status?: FindingStatus;
  /** Open or acknowledged (not resolved). */
  unresolved?: boolean;
  limit?: number;
}

/** Findings for the CLI, newest first. */
export async function listFindingsForCli(db: Db, f: FindingListFilter = {}): Promise<Finding[]> {
  let q = db.selectFrom('findings').selectAll();
  if (f.province) q = q.where('province_code', '=', f.province);
  if (f.region) q = q.where('region_code', '=', f.region);
  if (f.rule) q = q.where('code', '=', f.rule);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.unresolved) q = q.where('status', '<>', 'resolved');
  return q
    .orderBy('province_code')
    .orderBy('region_code')
    .orderBy('code')
    .orderBy('id')
    .limit(f.limit ?? 1000)
    .execute();
}

/**
 * Acknowledges an open finding (by the province, with a note). `provinceCode` limits it to that
 * province's findings (a province key). Returns the outcome; an acknowledged finding is not reminded.
 */
export async function acknowledgeFindingById(
  db: Db,
  a: { id: number; by: string; note: string | null; provinceCode?: string; now: Date },
): Promise<'acknowledged' | 'not_found' | 'already_resolved' | 'already_acknowledged'> {
  const row = await db
    .selectFrom('findings')
    .select(['id', 'status', 'province_code'])
    .where('id', '=', a.id)
    .executeTakeFirst();
  if (!row || (a.provinceCode !== undefined && row.province_code !== a.provinceCode)) return 'not_found';
  if (row.status === 'resolved') return 'already_resolved';
  if (row.status === 'acknowledged') return 'already_acknowledged';
  const res = await db
    .updateTable('findings')
    .set({ status: 'acknowledged', acknowledged_at: a.now, acknowledged_by: a.by, ack_note: a.note })
    .where('id', '=', a.id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0 ? 'acknowledged' : 'already_acknowledged';
}
