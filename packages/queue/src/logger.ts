import pino, { type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

/** Pino `redact` paths: tokens, keys and authorization headers never reach a log line. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'token_encrypted',
  '*.token_encrypted',
  'tokenKey',
  '*.tokenKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
];

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi;
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

/** Removes credentials from URLs (`postgres://user:pw@host` → `postgres://***@host`) and bearer tokens from text. */
export function scrubSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@').replace(BEARER, '$1***');
}

function scrubValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return scrubSecrets(v);
  if (v instanceof Error) return serializeError(v);
  if (depth > 3 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrubValue(x, depth + 1);
  return out;
}

const ERROR_FIELDS = ['code', 'status', 'retryable', 'detail', 'hint', 'table', 'column', 'constraint', 'routine'];

/** An error as a log field: type, message, stack (secrets scrubbed), useful extra fields, cause. */
export function serializeError(e: unknown, depth = 0): unknown {
  if (!(e instanceof Error)) return typeof e === 'string' ? scrubSecrets(e) : e;
  const out: Record<string, unknown> = {
    type: e.name,
    message: scrubSecrets(e.message),
    stack: scrubSecrets(e.stack ?? ''),
  };
  const fields = e as unknown as Record<string, unknown>;
  for (const k of ERROR_FIELDS) if (fields[k] !== undefined) out[k] = fields[k];
  if (e.cause !== undefined && depth < 3) out.cause = serializeError(e.cause, depth + 1);
  return out;
}

export interface CreateLoggerOptions {
  level?: string;
  /** Fixed fields on every line (`service`, `pid` …). */
  base?: Record<string, unknown>;
  /** Readable output (pino-pretty); default: when stdout is a terminal. */
  pretty?: boolean;
  /** Where lines go (tests); default stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The pipeline's logger: pino JSON (one object per line), readable with pino-pretty on a terminal,
 * with secrets redacted by path ({@link REDACT_PATHS}) and by shape (credentials in URLs, bearer
 * tokens in messages). Children carry `runId`, `sourceId` and `jobId` on every line.
 *
 * @example const log = createLogger({ level: config.logLevel, base: { service: 'worker' } });
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid, ...options.base },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      log: (obj) => scrubValue(obj, 0) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        // The message itself (a string argument) is scrubbed too.
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a) : a)) as typeof args;
        method.apply(this, scrubbed);
      },
    },
    serializers: { err: serializeError },
  };
  const usePretty = options.pretty ?? (!options.destination && Boolean(process.stdout.isTTY));
  if (usePretty) {
    return pino(opts, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
}

export type { Logger };
