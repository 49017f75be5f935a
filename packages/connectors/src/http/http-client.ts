import { setTimeout as delay } from 'node:timers/promises';
import { FetchError } from '../fetch-error.ts';
import { httpGet, type HttpResponse } from './http-get.ts';
import type { ConnectorLogger, FetchLimits } from '../connector.types.ts';

/** State shared by every request of one fetch. */
export interface HttpSession {
  /** The caller's signal (cancellation): its reason is rethrown as is. */
  callerSignal: AbortSignal;
  /** Caller's signal combined with the whole-fetch deadline. */
  fetchSignal: AbortSignal;
  limits: FetchLimits;
  token: string | null;
  sourceId: string;
  log: ConnectorLogger | undefined;
  /** Total HTTP attempts made (for reports and tests). */
  attempts: number;
}

export function createHttpSession(opts: {
  signal: AbortSignal;
  limits: FetchLimits;
  token: string | null;
  sourceId: string;
  log: ConnectorLogger | undefined;
}): HttpSession {
  return {
    callerSignal: opts.signal,
    fetchSignal: AbortSignal.any([opts.signal, AbortSignal.timeout(opts.limits.fetchTimeoutMs)]),
    limits: opts.limits,
    token: opts.token,
    sourceId: opts.sourceId,
    log: opts.log,
    attempts: 0,
  };
}

/**
 * `Retry-After` as milliseconds to wait: delta-seconds or an HTTP date (RFC 9110 § 10.2.3).
 * Returns null when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value == null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return null;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - now);
}

/** Exponential back-off with full jitter: uniform in [base·2^(n-1)/2, min(max, base·2^(n-1))]. */
export function backoffDelay(retry: number, limits: FetchLimits, random: () => number = Math.random): number {
  const ceiling = Math.min(limits.backoffMaxMs, limits.backoffBaseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Path without query (query strings may carry credentials): the only form of a URL we log. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

const MAX_REDIRECTS = 5;

class RetryableAttemptError extends Error {
  constructor(
    readonly fetchError: FetchError,
    readonly waitMs: number | null,
  ) {
    super(fetchError.message);
  }
}

/** Throws the right error once the fetch signal has fired: the caller's reason, or a time-out. */
export function throwIfFetchAborted(s: HttpSession): void {
  if (s.callerSignal.aborted) throw s.callerSignal.reason;
  if (s.fetchSignal.aborted) {
    throw new FetchError('timeout', `fetch deadline of ${s.limits.fetchTimeoutMs} ms exceeded`, { retryable: true });
  }
}

/**
 * One logical GET with retries: 5xx, 408, 429, connection resets and request time-outs are
 * retried with back-off and jitter; `Retry-After` on 429/503 is honoured (bounded by
 * `maxRetryAfterMs`; a longer one fails now, retryable later). `handle` reads the body of a 2xx
 * response; it may throw a {@link FetchError} (not retried) or fail on a broken connection
 * (retried as a network error).
 */
export async function getWithRetry<T>(
  s: HttpSession,
  url: string,
  accept: string,
  handle: (res: HttpResponse, signal: AbortSignal, touch: () => void) => Promise<T>,
  conditional?: { headers: Record<string, string>; notModified: () => T },
): Promise<T> {
  let last: FetchError | undefined;
  for (let attempt = 1; attempt <= s.limits.attempts; attempt++) {
    throwIfFetchAborted(s);
    s.attempts++;
    // requestTimeoutMs bounds the wait for the response headers, then each gap between body
    // chunks (`touch`), so a big file on a slow but live link is not cut off; the whole-fetch
    // deadline bounds the total.
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(), s.limits.requestTimeoutMs);
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), s.limits.requestTimeoutMs);
    };
    const requestSignal = AbortSignal.any([s.fetchSignal, idle.signal]);
    try {
      return await attemptOnce(s, url, accept, requestSignal, (res, signal) => handle(res, signal, touch), conditional);
    } catch (e) {
      if (!(e instanceof RetryableAttemptError)) throw e;
      last = e.fetchError;
      if (attempt === s.limits.attempts) break;
      const wait = e.waitMs ?? backoffDelay(attempt, s.limits);
      s.log?.warn(
        { source: s.sourceId, url: safeUrl(url), attempt, code: last.code, status: last.status, waitMs: wait },
        'request failed, retrying',
      );
      try {
        await delay(wait, undefined, { signal: s.fetchSignal });
      } catch {
        throwIfFetchAborted(s);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  throw new FetchError(
    last!.code,
    `${last!.message} (gave up after ${s.limits.attempts} attempts)`,
    last!.status === undefined ? { retryable: true } : { retryable: true, status: last!.status },
  );
}

async function attemptOnce<T>(
  s: HttpSession,
  url: string,
  accept: string,
  requestSignal: AbortSignal,
  handle: (res: HttpResponse, signal: AbortSignal) => Promise<T>,
  conditional?: { headers: Record<string, string>; notModified: () => T },
): Promise<T> {
  const headers: Record<string, string> = { ...conditional?.headers, accept };
  if (s.token) headers.authorization = `Bearer ${s.token}`;
  let res: HttpResponse;
  let target = url;
  try {
    // Redirects are followed by hand so that the token never goes to another origin.
    for (let hop = 0; ; hop++) {
      res = await httpGet(target, headers, requestSignal);
      if (![301, 302, 303, 307, 308].includes(res.status)) break;
      res.discard();
      const location = res.headers.get('location');
      if (!location || hop >= MAX_REDIRECTS) {
        throw new FetchError(
          'http_error',
          `HTTP ${res.status}: ${location ? 'too many redirects' : 'redirect without Location'}`,
          {
            retryable: false,
            status: res.status,
          },
        );
      }
      const next = new URL(location, target);
      if (next.origin !== new URL(target).origin) delete headers.authorization;
      target = next.toString();
    }
  } catch (e) {
    if (e instanceof FetchError) throw e;
    throw classifyTransportError(s, e, requestSignal);
  }
  const status = res.status;
  if (status >= 200 && status < 300) {
    try {
      return await handle(res, requestSignal);
    } catch (e) {
      if (e instanceof FetchError) throw e;
      throw classifyTransportError(s, e, requestSignal);
    }
  }
  // Not used: free the connection.
  res.discard();
  // A conditional GET answered "not modified": the file we already reconciled is still current.
  if (status === 304 && conditional) return conditional.notModified();
  if (status === 401 || status === 403) {
    throw new FetchError('unauthorized', `HTTP ${status}: the agency refused the credentials`, {
      retryable: false,
      status,
    });
  }
  if (status === 429 || status === 503) {
    const wait = parseRetryAfter(res.headers.get('retry-after'));
    if (wait !== null && wait > s.limits.maxRetryAfterMs) {
      throw new FetchError(
        'http_error',
        `HTTP ${status} with Retry-After of ${Math.ceil(wait / 1000)} s, over the ${s.limits.maxRetryAfterMs / 1000} s bound`,
        { retryable: true, status },
      );
    }
    throw new RetryableAttemptError(new FetchError('http_error', `HTTP ${status}`, { retryable: true, status }), wait);
  }
  if (status >= 500 || status === 408) {
    throw new RetryableAttemptError(new FetchError('http_error', `HTTP ${status}`, { retryable: true, status }), null);
  }
  throw new FetchError('http_error', `HTTP ${status} from ${safeUrl(url)}`, { retryable: false, status });
}

function classifyTransportError(s: HttpSession, e: unknown, requestSignal: AbortSignal): unknown {
  if (s.callerSignal.aborted) return s.callerSignal.reason;
  if (s.fetchSignal.aborted) {
    return new FetchError('timeout', `fetch deadline of ${s.limits.fetchTimeoutMs} ms exceeded`, { retryable: true });
  }
  if (requestSignal.aborted) {
    return new RetryableAttemptError(
      new FetchError('timeout', `no response for ${s.limits.requestTimeoutMs} ms`, { retryable: true }),
      null,
    );
  }
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : '';
  return new RetryableAttemptError(
    new FetchError('network_error', `network error${cause ? `: ${cause}` : ''}`, { retryable: true, cause: e }),
    null,
  );
}

/** Reads a body into memory, failing with `payload_too_large` past `maxBytes`. */
export async function readBodyLimited(
  res: HttpResponse,
  maxBytes: number,
  what: string,
  touch: () => void = () => {},
): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.discard();
    throw tooLarge(what, maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    touch();
    total += chunk.length;
    if (total > maxBytes) {
      res.discard();
      throw tooLarge(what, maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export function tooLarge(what: string, maxBytes: number): FetchError {
  return new FetchError('payload_too_large', `${what} exceeds the limit of ${maxBytes} bytes`, { retryable: false });
}
