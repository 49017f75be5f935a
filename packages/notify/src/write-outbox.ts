import {
  configuredWebhookContact,
  contactsFor,
  insertOutboxRows,
  markEscalated,
  markFindingsNotified,
  markResolutionsNotified,
  runProvinces,
  selectDigestFindings,
  type Db,
  type DigestFinding,
  type NewOutboxRow,
  withSavepoint,
} from '@pksync/db';
import { buildDigest, type DigestEntryKind } from './digest.ts';

export interface WriteDigestOutboxInput {
  runId: string;
  /** Findings the run opened (`reconcileRun`'s `findings.openedIds`). */
  openedFindingIds: readonly number[];
  /** Findings the run resolved. */
  resolvedFindingIds: readonly number[];
  /** Injectable clock (tests simulate days); default the current time. */
  now?: Date;
  /** Default 7 (R15). */
  reminderDays?: number;
  /** Default 30. */
  escalationDays?: number;
  /** Rows kept per (region, rule) group in a digest. Default 100. */
  maxRowsPerGroup?: number;
}

export interface WriteDigestOutboxResult {
  /** Outbox rows written. */
  rows: number;
  /** Provinces that got a digest (at least one contact, the configured ministry webhook included). */
  provinces: string[];
  /** Provinces with something to report but no enabled contact: nothing is marked, they are told later. */
  unreachableProvinces: string[];
  /** Province digests written for the configured ministry webhook (ALERT_WEBHOOK_URL). */
  ministryWebhookRows: number;
  /** Ministry (admin) rows written. */
  ministryRows: number;
  counts: Record<DigestEntryKind, number>;
}

/**
 * R15: writes a run's digests to the outbox — one row per (run, province, contact) with the
 * province's new findings, reminders due (open, last told ≥ 7 days ago) and resolutions, and one
 * row per (run, admin contact) with escalations (unresolved ≥ 30 days) and unreported delivery
 * failures. The configured ministry webhook (ALERT_WEBHOOK_URL), when enabled, is a contact of
 * every province: it gets each province's digest as a row of its own (audience `ministry`, so a
 * failure of it is logged, never reported as the province's `delivery_failed`), and, being an
 * admin contact, the ministry's alerts too. Call it inside the reconciliation transaction, after `reconcileRun`, so the
 * outbox commits with the findings or not at all; the notify worker delivers it afterwards.
 *
 * Idempotent: a second call for the same run writes nothing (findings are marked as told, and the
 * idempotency key `digest:<run>:<province>:<contact>` is unique).
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   const r = await reconcileRun(trx, { runId, asOf });
 *   await writeDigestOutbox(trx, { runId, openedFindingIds: r.findings.openedIds, resolvedFindingIds: r.findings.resolvedIds });
 * });
 */
export async function writeDigestOutbox(trx: Db, input: WriteDigestOutboxInput): Promise<WriteDigestOutboxResult> {
  const now = input.now ?? new Date();
  const provinces = await runProvinces(trx, input.runId);
  const sel = await selectDigestFindings(trx, {
    runId: input.runId,
    openedFindingIds: input.openedFindingIds,
    resolvedFindingIds: input.resolvedFindingIds,
    provinces,
    now,
    reminderDays: input.reminderDays,
    escalationDays: input.escalationDays,
  });
  const counts = { new: 0, reminder: 0, resolved: 0, escalation: 0, delivery_failed: 0 };

  // ---- province digests
  const byProvince = new Map<string, { kind: DigestEntryKind; finding: DigestFinding }[]>();
  const add = (kind: DigestEntryKind, list: DigestFinding[]) => {
    for (const f of list) {
      const entries = byProvince.get(f.province_code) ?? [];
      entries.push({ kind, finding: f });
      byProvince.set(f.province_code, entries);
    }
  };
  add('new', sel.fresh);
  add('reminder', sel.reminders);
  add('resolved', sel.resolved);

  const reached: string[] = [];
  const unreachable: string[] = [];
  const rows: NewOutboxRow[] = [];
  const notified: number[] = [];
  const resolutionsTold: number[] = [];
  const contacts = byProvince.size ? await contactsFor(trx, [...byProvince.keys()]) : [];
  const ministryWebhook = byProvince.size ? await configuredWebhookContact(trx) : undefined;
  let ministryWebhookRows = 0;
  for (const [province, entries] of [...byProvince.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const targets = contacts.filter((c) => c.province_code === province);
    if (targets.length === 0 && !ministryWebhook) {
      unreachable.push(province);
      continue;
    }
    reached.push(province);
    const digest = buildDigest({
      audience: 'province',
      runId: input.runId,
      provinceCode: province,
      generatedAt: now,
      entries: entries.map((e) => ({ kind: e.kind, finding: toInput(e.finding) })),
      maxRowsPerGroup: input.maxRowsPerGroup,
    });
    const ids = entries.map((e) => Number(e.finding.id));
    for (const c of targets) {
      rows.push({
        idempotencyKey: `digest:${input.runId}:${province}:${c.id}`,
        kind: 'digest',
        runId: input.runId,
        audience: 'province',
        provinceCode: province,
        contactId: c.id,
        channel: c.kind,
        payload: digest as unknown as Record<string, unknown>,
        findingIds: ids,
        now,
      });
    }
    if (ministryWebhook) {
      rows.push({
        idempotencyKey: `digest:${input.runId}:${province}:${ministryWebhook.id}`,
        kind: 'digest',
        runId: input.runId,
        audience: 'ministry',
        provinceCode: province,
        contactId: ministryWebhook.id,
        channel: 'webhook',
        payload: digest as unknown as Record<string, unknown>,
        findingIds: ids,
        now,
      });
      ministryWebhookRows++;
    }
    for (const e of entries) {
      counts[e.kind]++;
      if (e.kind === 'resolved') resolutionsTold.push(Number(e.finding.id));
      else notified.push(Number(e.finding.id));
    }
  }

  // ---- ministry digest: escalations and delivery failures not yet told
  let ministryRows = 0;
  const ministryEntries = [
    ...sel.escalations.map((f) => ({ kind: 'escalation' as const, finding: f })),
    ...sel.deliveryFailed.map((f) => ({ kind: 'delivery_failed' as const, finding: f })),
  ];
  if (ministryEntries.length) {
    const admins = await contactsFor(trx, [], { admin: true });
    if (admins.length) {
      const digest = buildDigest({
        audience: 'ministry',
        runId: input.runId,
        provinceCode: null,
        generatedAt: now,
        entries: ministryEntries.map((e) => ({ kind: e.kind, finding: toInput(e.finding) })),
        maxRowsPerGroup: input.maxRowsPerGroup,
      });
      const ids = ministryEntries.map((e) => Number(e.finding.id));
      for (const c of admins) {
        rows.push({
          idempotencyKey: `escalation:${input.runId}:${c.id}`,
          kind: 'escalation',
          runId: input.runId,
          audience: 'ministry',
          provinceCode: null,
          contactId: c.id,
          channel: c.kind,
          payload: digest as unknown as Record<string, unknown>,
          findingIds: ids,
          now,
        });
        ministryRows++;
      }
      await markEscalated(
        trx,
        sel.escalations.map((f) => Number(f.id)),
        now,
      );
      counts.escalation += sel.escalations.length;
      counts.delivery_failed += sel.deliveryFailed.length;
      notified.push(...sel.deliveryFailed.map((f) => Number(f.id)));
    }
  }

  const written = await insertOutboxRows(trx, rows);
  await markFindingsNotified(trx, notified, now);
  await markResolutionsNotified(trx, resolutionsTold, now);
  return {
    rows: written,
    provinces: reached,
    unreachableProvinces: unreachable,
    ministryRows,
    ministryWebhookRows,
    counts,
  };
}

function toInput(f: DigestFinding) {
  return {
    id: Number(f.id),
    code: f.code,
    severity: f.severity,
    province_code: f.province_code,
    region_code: f.region_code,
    source_id: f.source_id,
    nip: f.nip,
    row: f.row,
    message: f.message,
    first_seen_at: f.first_seen_at as unknown as Date,
    ack_note: f.ack_note,
  };
}

/**
 * {@link writeDigestOutbox} in a savepoint: if the alert step fails, its writes are undone and the
 * reconciliation still commits (the register must not wait on alerts). Nothing is lost: findings
 * not marked as told are reported as new by the next run, and unannounced resolutions likewise.
 * This is what the worker's reconcile job writes the outbox with.
 */
export async function writeDigestOutboxIsolated(
  trx: Db,
  input: WriteDigestOutboxInput,
  onError: (error: unknown) => void = () => {},
): Promise<WriteDigestOutboxResult | null> {
  const r = await withSavepoint(trx, 'pksync_alerts', () => writeDigestOutbox(trx, input));
  if (r.ok) return r.value;
  onError(r.error);
  return null;
}
