import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Db } from '@pksync/db';
import type { NotifyConfig } from '../../src/index.ts';

/**
 * Test-only helpers (not exported from the package): a real SMTP server and a real HTTP webhook
 * receiver on loopback, and factories for runs and findings.
 */

export interface SmtpSink {
  readonly url: string;
  readonly port: number;
  readonly messages: ParsedMail[];
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that keeps every message, parsed by mailparser. */
export async function startSmtpSink(port = 0): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push(mail);
          callback();
        })
        .catch((e: Error) => callback(e));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${actual}`,
    port: actual,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on (for "SMTP down"). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every request, in order, with the status answered. */
  readonly requests: ReceivedWebhook[];
  /** Bodies processed, by idempotency key: a real receiver processes a key once. */
  readonly processed: Map<string, string>;
  /** Statuses to answer next (then 200). */
  failNext(...statuses: number[]): void;
  close(): Promise<void>;
}

/** A real HTTP webhook receiver on 127.0.0.1 that dedupes by `Idempotency-Key`, as a real one would. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const processed = new Map<string, string>();
  const script: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = script.shift() ?? 200;
      requests.push({ headers: req.headers, body, status });
      const key = String(req.headers['idempotency-key'] ?? '');
      if (status === 200 && key && !processed.has(key)) processed.set(key, body);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: status === 200 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/pksync`,
    requests,
    processed,
    failNext: (...s) => script.push(...s),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Inserts a completed run (scope national unless given) and returns its id. */
export async function insertRun(
  db: Db,
  o: { scope?: 'national' | { province: string }; asOf?: string; createdAt?: Date } = {},
): Promise<string> {
  const scope = o.scope ?? 'national';
  const row = await db
    .insertInto('runs')
    .values({
      scope_kind: scope === 'national' ? 'national' : 'province',
      scope_value: scope === 'national' ? null : scope.province,
      scope_key: scope === 'national' ? 'national' : `province:${scope.province}`,
      trigger: 'manual',
      as_of: o.asOf ?? '2026-11-27',
      status: 'completed',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface FindingSeed {
  code?: string;
  severity?: 'error' | 'warning' | 'info';
  region: string;
  sourceId?: string;
  nip?: string | null;
  row?: number | null;
  message?: string;
  runId: string;
  firstSeenAt?: Date;
}

/** Inserts an open finding as the pipeline would; returns its id. */
export async function insertFinding(db: Db, f: FindingSeed): Promise<number> {
  const code = f.code ?? 'record_rejected';
  const at = f.firstSeenAt ?? new Date('2026-11-27T01:00:00Z');
  const row = await db
    .insertInto('findings')
    .values({
      code,
      severity: f.severity ?? 'error',
      fingerprint: `${code}:${f.sourceId ?? f.region}:${f.nip ?? ''}:${f.row ?? ''}:${Math.random()}`,
      province_code: f.region.slice(0, 2),
      region_code: f.region,
      source_id: f.sourceId ?? `${f.region}-disnaker`,
      nip: f.nip ?? null,
      row: f.row ?? null,
      message: f.message ?? 'Baris ditolak: nip_invalid',
      first_run_id: f.runId,
      last_run_id: f.runId,
      first_seen_at: at as never,
      last_seen_at: at as never,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Resolves findings as a later run that no longer finds them would. */
export async function resolveFindings(db: Db, ids: number[], runId: string, at: Date): Promise<void> {
  await db
    .updateTable('findings')
    .set({ status: 'resolved', resolved_at: at, resolved_run_id: runId })
    .where('id', 'in', ids)
    .execute();
}

/**
 * A real SMTP sink and webhook receiver, and the notify config that sends to them (both closed by
 * the caller): what every end-to-end alert test starts with.
 */
export async function startAlertReceivers(
  tokenKey: Buffer,
): Promise<{ smtp: SmtpSink; hook: WebhookReceiver; config: NotifyConfig }> {
  const smtp = await startSmtpSink();
  const hook = await startWebhookReceiver();
  const config: NotifyConfig = {
    smtpUrl: smtp.url,
    alertFrom: 'pksync <noreply@pksync.test>',
    publicBaseUrl: 'https://pksync.test/',
    tokenKey,
  };
  return { smtp, hook, config };
}
