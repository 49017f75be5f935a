import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';

/** Header names of the webhook contract (documented in packages/notify/README.md). */
export const SIGNATURE_HEADER = 'x-pksync-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const EVENT_HEADER = 'x-pksync-event';

/** A delivery attempt that failed; `retryable: false` means retrying cannot help (still retried until the deadline). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable = true,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

export interface EmailMessage {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per (run, province, contact): a resend after a crash carries the same Message-ID. */
  messageId: string;
  idempotencyKey: string;
}

/** Sends one e-mail or throws. */
export interface Mailer {
  send(message: EmailMessage, signal?: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * A nodemailer SMTP mailer from `SMTP_URL` (`smtp://user:pass@host:587`, `smtps://…:465`; nodemailer
 * options may follow as query parameters). A fresh connection per message: digests are few.
 */
export function createSmtpMailer(smtpUrl: string, options: { timeoutMs?: number } = {}): Mailer {
  const timeout = options.timeoutMs ?? 30_000;
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  } as never);
  return {
    async send(m) {
      try {
        await transport.sendMail({
          to: m.to,
          from: m.from,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: m.messageId,
          headers: { 'X-Pksync-Idempotency-Key': m.idempotencyKey },
        });
      } catch (e) {
        const code = (e as { responseCode?: number }).responseCode;
        // 5xx SMTP replies (bad recipient, rejected) will not heal by themselves.
        throw new DeliveryError(`SMTP: ${e instanceof Error ? e.message : String(e)}`, !(code && code >= 500));
      }
    },
    close() {
      transport.close();
    },
  };
}

/** `sha256=<hex>` HMAC-SHA256 of the exact body bytes with the contact's secret. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export interface WebhookRequest {
  url: string;
  body: string;
  secret: string;
  idempotencyKey: string;
  event: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * POSTs a signed webhook. A 2xx answer is a delivery; anything else (or no answer in time) throws
 * a {@link DeliveryError}. The same idempotency key goes with every retry of the same digest.
 */
export async function postWebhook(req: WebhookRequest, fetchImpl: typeof fetch = fetch): Promise<void> {
  const timeout = AbortSignal.timeout(req.timeoutMs ?? 30_000);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetchImpl(req.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'pksync-notify/1',
        [SIGNATURE_HEADER]: signWebhookBody(req.body, req.secret),
        [IDEMPOTENCY_HEADER]: req.idempotencyKey,
        [EVENT_HEADER]: req.event,
      },
      body: req.body,
      redirect: 'error',
      signal,
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    throw new DeliveryError(`webhook: ${e instanceof Error ? e.message : String(e)}${cause ? ` (${cause})` : ''}`);
  }
  // Drain the body so the connection can be reused; its content is not needed.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) {
    throw new DeliveryError(
      `webhook answered HTTP ${res.status}`,
      res.status >= 500 || res.status === 408 || res.status === 429,
    );
  }
}
