import {
  cancelOutbox,
  claimDueOutbox,
  completeOutbox,
  contactsFor,
  decryptContactSecret,
  failOutbox,
  getContactForDelivery,
  insertOutboxRows,
  markFailureReported,
  markFindingsNotified,
  resolveDeliveryFailed,
  upsertDeliveryFailedFinding,
  type AlertOutboxRow,
  type Db,
} from '@pksync/db';
import { buildDigest, parseDigest } from './digest.ts';
import { renderEmail, renderWebhookBody } from './render.ts';
import { DeliveryError, createSmtpMailer, postWebhook, type Mailer } from './transports.ts';

/** What the notify worker needs from the configuration (`@pksync/config` `Config`). */
export interface NotifyConfig {
  smtpUrl: string | undefined;
  alertFrom: string;
  publicBaseUrl: string;
  /** Decrypts webhook secrets (TOKEN_ENCRYPTION_KEY). */
  tokenKey: Buffer | undefined;
}

export interface RetryPolicy {
  /** First retry delay; doubles each attempt up to `maxDelayMs`. Default 30 s. */
  baseDelayMs: number;
  /** Default 1 h. */
  maxDelayMs: number;
  /** After this long failing, a `delivery_failed` finding is raised for the ministry. Default 24 h. */
  reportAfterMs: number;
  /** After this long failing, the row is given up (`dead`). Default 7 days. */
  giveUpAfterMs: number;
  /**
   * Claim lease: a worker killed mid-send leaves the row to another after this. Default 5 min; it
   * must exceed the time one batch can take (`batchSize` × the slowest attempt), or a slow row
   * could be claimed (and sent) again by another worker.
   */
  leaseMs: number;
  /** Per-phase network time-out (SMTP connect/greeting/socket, webhook). Default 30 s. */
  timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  reportAfterMs: 24 * 3_600_000,
  giveUpAfterMs: 7 * 24 * 3_600_000,
  leaseMs: 300_000,
  timeoutMs: 30_000,
};

export interface NotifyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silent: NotifyLogger = { info() {}, warn() {}, error() {} };

export interface NotifyDeps {
  db: Db;
  config: NotifyConfig;
  /** Default: a nodemailer SMTP mailer from `config.smtpUrl` (none when unset: e-mail rows wait and fail). */
  mailer?: Mailer;
  fetch?: typeof fetch;
  /** Injectable clock. */
  now?: () => Date;
  retry?: Partial<RetryPolicy>;
  logger?: NotifyLogger;
  /** Test seam: runs after a message left and before it is recorded (crash tests kill the process here). */
  afterSend?: (row: AlertOutboxRow) => void | Promise<void>;
}

export interface DeliverOptions {
  /** Only this run's rows (the `notify.deliver` job of a run). */
  runId?: string;
  /** Only these rows. */
  ids?: readonly number[];
  /** Rows claimed per batch. Default 1: a row is claimed just before it is sent, so its lease is short. */
  batchSize?: number;
  /** Stop after this many batches (a poller tick). Default 500. */
  maxBatches?: number;
  signal?: AbortSignal;
}

export interface DeliverSummary {
  status: 'completed';
  counts: { claimed: number; sent: number; failed: number; cancelled: number; dead: number; reported: number };
}

/** Delay before attempt `attempts + 1`: base · 2^(attempts−1), capped. */
export function backoffDelay(attempts: number, p: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>): number {
  return Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempts - 1));
}

const EVENT_BY_KIND = {
  digest: 'findings.digest',
  escalation: 'findings.escalation',
  delivery_failed: 'findings.delivery_failed',
} as const;

/**
 * Delivers due outbox rows (R15): claims a batch under a lease, renders each digest, sends it by
 * SMTP or signed webhook, and records the outcome; failures are retried with exponential back-off.
 * A row failing for 24 h raises a `delivery_failed` finding and tells the ministry's admin contacts
 * at once; a row failing for 7 days is given up (`dead`). At-least-once: a worker killed between
 * sending and recording leaves the lease to expire and the row is sent again with the same
 * idempotency key (webhook `Idempotency-Key`, e-mail `Message-ID`). Safe to run in any number of
 * workers at once.
 */
export async function deliverDue(deps: NotifyDeps, options: DeliverOptions = {}): Promise<DeliverSummary> {
  const retry = { ...DEFAULT_RETRY, ...deps.retry };
  const log = deps.logger ?? silent;
  const clock = deps.now ?? (() => new Date());
  const counts = { claimed: 0, sent: 0, failed: 0, cancelled: 0, dead: 0, reported: 0 };
  let mailer = deps.mailer;
  let ownMailer: Mailer | undefined;
  const getMailer = (): Mailer => {
    if (mailer) return mailer;
    if (!deps.config.smtpUrl) throw new DeliveryError('SMTP_URL is not set: e-mail cannot be sent');
    ownMailer = createSmtpMailer(deps.config.smtpUrl, { timeoutMs: retry.timeoutMs });
    mailer = ownMailer;
    return mailer;
  };
  try {
    for (let batch = 0; batch < (options.maxBatches ?? 500); batch++) {
      if (options.signal?.aborted) break;
      const rows = await claimDueOutbox(deps.db, {
        now: clock(),
        leaseMs: retry.leaseMs,
        limit: options.batchSize ?? 1,
        runId: options.runId,
        ids: options.ids,
      });
      if (rows.length === 0) break;
      counts.claimed += rows.length;
      for (const row of rows) {
        const outcome = await deliverOne(deps, row, retry, getMailer, log, clock, options.signal);
        counts[outcome.result]++;
        if (outcome.reported) counts.reported++;
      }
    }
  } finally {
    ownMailer?.close();
  }
  return { status: 'completed', counts };
}

async function deliverOne(
  deps: NotifyDeps,
  row: AlertOutboxRow,
  retry: RetryPolicy,
  getMailer: () => Mailer,
  log: NotifyLogger,
  clock: () => Date,
  signal: AbortSignal | undefined,
): Promise<{ result: 'sent' | 'failed' | 'cancelled' | 'dead'; reported: boolean }> {
  const token = row.claim_token!;
  const contact = row.contact_id ? await getContactForDelivery(deps.db, row.contact_id) : undefined;
  if (!contact || !contact.enabled) {
    await cancelOutbox(deps.db, row.id, token, contact ? 'contact disabled' : 'contact removed');
    log.warn({ outboxId: row.id }, 'outbox row cancelled: its contact is gone or disabled');
    return { result: 'cancelled', reported: false };
  }
  try {
    const digest = parseDigest(row.payload);
    const render = { publicBaseUrl: deps.config.publicBaseUrl };
    if (row.channel === 'email') {
      const mail = renderEmail(digest, render);
      await getMailer().send(
        {
          to: contact.address,
          from: deps.config.alertFrom,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<${row.idempotency_key.replace(/[^A-Za-z0-9.:-]/g, '-')}@pksync>`,
          idempotencyKey: row.idempotency_key,
        },
        signal,
      );
    } else {
      if (!contact.secret_encrypted) throw new DeliveryError('webhook contact has no secret', false);
      const secret = decryptContactSecret(contact.secret_encrypted, deps.config.tokenKey, contact.id);
      const event = EVENT_BY_KIND[row.kind];
      await postWebhook(
        {
          url: contact.address,
          body: renderWebhookBody(digest, { ...render, idempotencyKey: row.idempotency_key, event }),
          secret,
          idempotencyKey: row.idempotency_key,
          event,
          timeoutMs: retry.timeoutMs,
          signal,
        },
        deps.fetch,
      );
    }
  } catch (e) {
    return recordFailure(deps, row, contact.address, e, retry, log, clock);
  }
  await deps.afterSend?.(row);
  const now = clock();
  const recorded = await completeOutbox(deps.db, row.id, token, now);
  if (!recorded) log.warn({ outboxId: row.id }, 'delivered, but the claim had expired: another worker may resend it');
  await resolveDeliveryFailed(deps.db, contact.id, now);
  log.info({ outboxId: row.id, channel: row.channel, province: row.province_code }, 'digest delivered');
  return { result: 'sent', reported: false };
}

async function recordFailure(
  deps: NotifyDeps,
  row: AlertOutboxRow,
  address: string,
  e: unknown,
  retry: RetryPolicy,
  log: NotifyLogger,
  clock: () => Date,
): Promise<{ result: 'failed' | 'dead'; reported: boolean }> {
  const now = clock();
  const error = e instanceof Error ? e.message : String(e);
  const firstAttempt = row.first_attempt_at ?? now;
  const failingFor = now.getTime() - new Date(firstAttempt).getTime();
  const dead = failingFor >= retry.giveUpAfterMs;
  const next = new Date(now.getTime() + backoffDelay(row.attempts, retry));
  await failOutbox(deps.db, row.id, row.claim_token!, { error, nextAttemptAt: next, dead });
  log.warn({ outboxId: row.id, attempts: row.attempts, error, dead }, 'digest delivery failed');
  let reported = false;
  // R15: failing for 24 h becomes a finding for the ministry. Failures of the ministry's own
  // alerts are only logged: telling the ministry that telling the ministry failed would loop.
  if (
    failingFor >= retry.reportAfterMs &&
    !row.failure_reported_at &&
    row.audience === 'province' &&
    row.province_code &&
    row.contact_id
  ) {
    reported = await reportDeliveryFailure(deps, row, address, error, now);
  }
  return { result: dead ? 'dead' : 'failed', reported };
}

async function reportDeliveryFailure(
  deps: NotifyDeps,
  row: AlertOutboxRow,
  address: string,
  error: string,
  now: Date,
): Promise<boolean> {
  return deps.db.transaction().execute(async (trx) => {
    if (!(await markFailureReported(trx, row.id, now))) return false;
    const channel = row.channel === 'email' ? 'e-mail' : 'webhook';
    const finding = await upsertDeliveryFailedFinding(trx, {
      contactId: row.contact_id!,
      contactAddress: address,
      channel: row.channel,
      provinceCode: row.province_code!,
      outboxId: row.id,
      idempotencyKey: row.idempotency_key,
      error,
      message: `Pemberitahuan temuan untuk Provinsi ${row.province_code} melalui ${channel} ${address} gagal dikirim selama 24 jam: ${error}`,
      now,
    });
    const admins = await contactsFor(trx, [], { admin: true });
    if (admins.length === 0) return true;
    const f = await trx.selectFrom('findings').selectAll().where('id', '=', finding.id).executeTakeFirstOrThrow();
    const digest = buildDigest({
      audience: 'ministry',
      runId: row.run_id,
      provinceCode: null,
      generatedAt: now,
      entries: [
        {
          kind: 'delivery_failed',
          finding: {
            id: Number(f.id),
            code: f.code,
            severity: f.severity,
            province_code: f.province_code,
            region_code: f.region_code,
            source_id: f.source_id,
            nip: null,
            row: null,
            message: f.message,
            first_seen_at: f.first_seen_at as unknown as Date,
          },
        },
      ],
    });
    await insertOutboxRows(
      trx,
      admins.map((c) => ({
        idempotencyKey: `delivery_failed:${row.id}:${c.id}`,
        kind: 'delivery_failed' as const,
        runId: row.run_id,
        audience: 'ministry' as const,
        provinceCode: null,
        contactId: c.id,
        channel: c.kind,
        payload: digest as unknown as Record<string, unknown>,
        findingIds: [finding.id],
        now,
      })),
    );
    await markFindingsNotified(trx, [finding.id], now);
    return true;
  });
}

export interface NotifyPoller {
  /** Runs one delivery pass now (also what each tick does). */
  tick(): Promise<DeliverSummary | undefined>;
  /** Stops the timer and waits for a pass in progress. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Polls the outbox every `intervalMs` (default 15 s) inside the worker service, so rows whose
 * `notify.deliver` job was never enqueued (a crash right after the reconcile commit) and rows due
 * for a retry are delivered. Passes never overlap within one poller.
 */
export function startNotifyPoller(deps: NotifyDeps, options: { intervalMs?: number } = {}): NotifyPoller {
  const controller = new AbortController();
  let running: Promise<DeliverSummary | undefined> | undefined;
  let stopped = false;
  const tick = async () => {
    if (stopped) return undefined;
    if (running) return running;
    running = deliverDue(deps, { signal: controller.signal })
      .catch((e: unknown) => {
        (deps.logger ?? silent).error({ err: e instanceof Error ? e.message : String(e) }, 'notify poll failed');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void tick(), options.intervalMs ?? 15_000);
  timer.unref();
  return {
    tick,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      controller.abort();
      await running;
    },
  };
}
