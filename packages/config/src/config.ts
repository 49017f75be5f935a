import { isIP } from 'node:net';
import { z } from 'zod';

const cronField = /^\S+(\s+\S+){4,5}$/;

const url = (protocols: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')})` },
  );

const positiveInt = z.coerce.number().int().positive();

/**
 * The environment every pksync service reads (register-api-v1.md § Services). Defaults are the
 * local services a developer machine runs; production sets every URL explicitly.
 */
export const envSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/pksync'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Whose X-Forwarded-For/-Proto/-Host the API believes (fastify `trustProxy`): `true`, `false`, a
   * hop count, or addresses and CIDRs (and proxy-addr's `loopback`, `linklocal`, `uniquelocal`),
   * comma separated. The default trusts a TLS proxy on this host or a private network (compose,
   * Kubernetes); a client reaching the API directly from elsewhere cannot claim HTTPS or an address.
   */
  TRUST_PROXY: z
    .string()
    .refine((v) => parseTrustProxy(v) !== null, {
      message:
        'must be true, false, a hop count, or comma-separated addresses/CIDRs (loopback, uniquelocal, 10.0.0.0/8)',
    })
    .default('loopback,uniquelocal'),
  /** Where a worker or the scheduler serves /healthz, /readyz and /metrics (0: any free port). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** Interface of that server: loopback by default, like HOST; 0.0.0.0 in a container. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  SYNC_CRON: z.string().regex(cronField, 'must be a cron expression with 5 or 6 fields').default('0 1 * * *'),
  SYNC_TIMEZONE: z
    .string()
    .refine(
      (tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      },
      { message: 'must be an IANA time zone such as Asia/Jakarta' },
    )
    .default('Asia/Jakarta'),
  SMTP_URL: url(['smtp:', 'smtps:']).optional(),
  ALERT_FROM: z.string().min(3).default('pksync <noreply@pksync.local>'),
  /**
   * The ministry-wide webhook: receives every province's digest and the ministry's alerts, signed
   * with ALERT_WEBHOOK_SECRET (the two go together; see {@link loadConfig}).
   */
  ALERT_WEBHOOK_URL: url(['http:', 'https:'])
    .refine((v) => v.length <= 500, { message: 'must be at most 500 characters' })
    .refine(
      (v) => {
        try {
          const u = new URL(v);
          return !u.username && !u.password;
        } catch {
          return true; // reported by url()
        }
      },
      { message: 'must not carry credentials; the signature (ALERT_WEBHOOK_SECRET) authenticates pksync' },
    )
    .optional(),
  /** Signing secret of ALERT_WEBHOOK_URL, as for contact webhooks: 16 to 256 characters. */
  ALERT_WEBHOOK_SECRET: z
    .string()
    .min(16, 'must be at least 16 characters')
    .max(256, 'must be at most 256 characters')
    .optional(),
  PUBLIC_BASE_URL: url(['http:', 'https:']).default('http://127.0.0.1:8080'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Hash-tag prefix for every BullMQ key, so one queue's keys share a Redis Cluster slot. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^\{[A-Za-z0-9:_-]+\}$/, 'must be a Redis hash tag such as {pksync}')
    .default('{pksync}'),
  /** 32-byte key (64 hex chars or base64) for AES-256-GCM encryption of source tokens at rest. */
  TOKEN_ENCRYPTION_KEY: z
    .string()
    .refine((v) => decodeKey(v) !== null, { message: 'must be 32 bytes as 64 hex characters or base64' })
    .optional(),
  MAX_SNAPSHOT_BYTES: positiveInt.default(50 * 1024 * 1024),
  MAX_SNAPSHOT_ROWS: positiveInt.default(200_000),
  MAX_UPLOAD_BYTES: positiveInt.default(50 * 1024 * 1024),
  FETCH_TIMEOUT_S: positiveInt.default(60),
  WORKER_CONCURRENCY: positiveInt.default(8),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(15_000),
  /**
   * Lock of a running job, renewed every half of it; a killed worker's jobs are taken over within
   * about 1.5× this (stalled jobs are looked for every half of it).
   */
  JOB_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(10_000),
  /** How often a worker's run healer looks for runs that lost their jobs or staged rows. */
  RUN_HEAL_INTERVAL_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  /** A run created or resumed less than this long ago is never taken for lost. */
  RUN_HEAL_GRACE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(15_000),
  /** Resumes of one run before the healer fails it instead. */
  RUN_MAX_RESUMES: z.coerce.number().int().min(0).max(100).default(5),
  /** Scheduled runs one night may start: the first and, after it failed, the retries. */
  SYNC_SLOT_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  /** The scheduler's back-off between retries of a night (a failed trigger or a failed run). */
  SYNC_RETRY_DELAY_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** R16: a computed need differing from the declared one by more than max(1, this × declared) is flagged. */
  NEED_TOLERANCE: z.coerce.number().min(0).max(10).default(0.2),
  /** R17: the first year whose appointments must have a formation. */
  FORMATION_START_YEAR: z.coerce.number().int().min(1900).max(9999).default(2024),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly port: number;
  readonly host: string;
  /** The API's fastify `trustProxy` (TRUST_PROXY): it decides when a request counts as HTTPS (HSTS). */
  readonly trustProxy: TrustProxy;
  /** A worker's or the scheduler's health and metrics server (METRICS_HOST, METRICS_PORT). */
  readonly metrics: { readonly host: string; readonly port: number };
  readonly syncCron: string;
  readonly syncTimezone: string;
  readonly smtpUrl: string | undefined;
  readonly alertFrom: string;
  /**
   * The ministry-wide webhook (ALERT_WEBHOOK_URL with ALERT_WEBHOOK_SECRET), or undefined. The
   * worker keeps one contact in line with it (`syncConfiguredWebhook` of `@pksync/db`).
   */
  readonly alertWebhook: { readonly url: string; readonly secret: string } | undefined;
  readonly publicBaseUrl: string;
  readonly logLevel: Env['LOG_LEVEL'];
  readonly queuePrefix: string;
  /** Decoded 32-byte key, or undefined when no TOKEN_ENCRYPTION_KEY is set. */
  readonly tokenKey: Buffer | undefined;
  readonly limits: {
    readonly maxSnapshotBytes: number;
    readonly maxSnapshotRows: number;
    readonly maxUploadBytes: number;
    readonly fetchTimeoutMs: number;
  };
  readonly workerConcurrency: number;
  readonly shutdownTimeoutMs: number;
  readonly jobLockMs: number;
  readonly heal: { readonly intervalMs: number; readonly graceMs: number; readonly maxResumes: number };
  readonly syncSlotAttempts: number;
  readonly syncRetryDelayMs: number;
  /** Needs planning (needs-planning-v1.md): R16's tolerance, R17's start year. */
  readonly needs: { readonly tolerance: number; readonly formationStartYear: number };
}

/** Thrown by {@link loadConfig}; its message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly issues: readonly { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** fastify's `trustProxy`: all, none, a hop count, or the proxies' addresses and CIDRs. */
export type TrustProxy = boolean | number | readonly string[];

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** TRUST_PROXY's value as fastify takes it, or null when it is none of the accepted forms. */
export function parseTrustProxy(value: string): TrustProxy | null {
  const v = value.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^\d{1,2}$/.test(v)) return Number(v);
  const entries = v.split(',').map((x) => x.trim());
  const ok = entries.every((x) => {
    if (PROXY_NAMES.has(x)) return true;
    const [addr, bits, ...rest] = x.split('/');
    const family = isIP(addr ?? '');
    if (!family || rest.length) return false;
    return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  return ok && entries.length ? Object.freeze(entries) : null;
}

export function decodeKey(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(v)) {
    const b = Buffer.from(v, 'base64');
    if (b.length === 32) return b;
  }
  return null;
}

/**
 * Variables that only make sense together, checked whatever else is wrong so that every bad
 * variable is named at once: the ministry webhook needs its secret (and the reverse), and its
 * secret is stored encrypted like contact secrets, so it needs TOKEN_ENCRYPTION_KEY.
 */
function pairIssues(env: Record<string, string>): { variable: string; message: string }[] {
  const issues: { variable: string; message: string }[] = [];
  if (env.ALERT_WEBHOOK_URL && !env.ALERT_WEBHOOK_SECRET)
    issues.push({
      variable: 'ALERT_WEBHOOK_SECRET',
      message: 'is required when ALERT_WEBHOOK_URL is set: the signing secret of that webhook (at least 16 characters)',
    });
  if (env.ALERT_WEBHOOK_SECRET && !env.ALERT_WEBHOOK_URL)
    issues.push({
      variable: 'ALERT_WEBHOOK_URL',
      message: 'is required when ALERT_WEBHOOK_SECRET is set: the ministry webhook that secret signs for',
    });
  if (env.ALERT_WEBHOOK_URL && !env.TOKEN_ENCRYPTION_KEY)
    issues.push({
      variable: 'TOKEN_ENCRYPTION_KEY',
      message:
        'is required when ALERT_WEBHOOK_URL is set: its signing secret is stored encrypted, like contact secrets',
    });
  return issues;
}

/**
 * Parses the environment once and returns a frozen {@link Config}. Empty strings count as unset.
 * Throws {@link ConfigError} naming each bad variable, a missing partner of a pair included
 * (ALERT_WEBHOOK_URL without ALERT_WEBHOOK_SECRET names ALERT_WEBHOOK_SECRET).
 *
 * @example const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v.trim();
  }
  const parsed = envSchema.safeParse(cleaned);
  const issues = [
    ...(parsed.success ? [] : parsed.error.issues).map((i) => ({
      variable: String(i.path[0] ?? '(environment)'),
      message: i.message,
    })),
    ...pairIssues(cleaned),
  ];
  if (!parsed.success || issues.length) throw new ConfigError(issues);
  const e = parsed.data;
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    host: e.HOST,
    trustProxy: parseTrustProxy(e.TRUST_PROXY)!,
    metrics: Object.freeze({ host: e.METRICS_HOST, port: e.METRICS_PORT }),
    syncCron: e.SYNC_CRON,
    syncTimezone: e.SYNC_TIMEZONE,
    smtpUrl: e.SMTP_URL,
    alertFrom: e.ALERT_FROM,
    alertWebhook:
      e.ALERT_WEBHOOK_URL && e.ALERT_WEBHOOK_SECRET
        ? Object.freeze({ url: e.ALERT_WEBHOOK_URL, secret: e.ALERT_WEBHOOK_SECRET })
        : undefined,
    publicBaseUrl: e.PUBLIC_BASE_URL,
    logLevel: e.LOG_LEVEL,
    queuePrefix: e.QUEUE_PREFIX,
    tokenKey: e.TOKEN_ENCRYPTION_KEY ? (decodeKey(e.TOKEN_ENCRYPTION_KEY) ?? undefined) : undefined,
    limits: Object.freeze({
      maxSnapshotBytes: e.MAX_SNAPSHOT_BYTES,
      maxSnapshotRows: e.MAX_SNAPSHOT_ROWS,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      fetchTimeoutMs: e.FETCH_TIMEOUT_S * 1000,
    }),
    workerConcurrency: e.WORKER_CONCURRENCY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    jobLockMs: e.JOB_LOCK_MS,
    heal: Object.freeze({
      intervalMs: e.RUN_HEAL_INTERVAL_MS,
      graceMs: e.RUN_HEAL_GRACE_MS,
      maxResumes: e.RUN_MAX_RESUMES,
    }),
    syncSlotAttempts: e.SYNC_SLOT_ATTEMPTS,
    syncRetryDelayMs: e.SYNC_RETRY_DELAY_MS,
    needs: Object.freeze({ tolerance: e.NEED_TOLERANCE, formationStartYear: e.FORMATION_START_YEAR }),
  });
}
