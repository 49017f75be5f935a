import http from 'node:http';
import https from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { FetchError } from '../fetch-error.ts';

/**
 * Keep-alive agents shared by every request of the process (downloads, API pages, probes): a
 * night's ~1,000 requests to a few hundred agencies reuse their sockets.
 */
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** An answer to {@link httpGet}: status, headers, and the body as a stream. */
export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** The body, decoded when the agency compressed it (gzip, deflate, br). */
  body: Readable;
  /** Stops reading the body and frees the connection (reused when nothing is left to read). */
  discard(): void;
}

/** Bodies up to this size are drained on {@link HttpResponse.discard}, so their socket is reused. */
const DRAIN_BYTES = 64 * 1024;

/** The URL when it is http(s); a {@link FetchError} (`http_error`, not retryable) otherwise. */
function httpTarget(url: string): URL & { protocol: 'http:' | 'https:' } {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new FetchError('http_error', 'invalid url', { retryable: false });
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new FetchError('http_error', `unsupported protocol ${target.protocol}`, { retryable: false });
  }
  return target as URL & { protocol: 'http:' | 'https:' };
}

/**
 * One GET over `node:http(s)` with keep-alive: no redirect followed, no retry (see
 * `getWithRetry`). `signal` aborts the request and, once the answer has come, its body. Costs a
 * fraction of `fetch` per request (no WHATWG streams), which counts over a night of hundreds of
 * agencies. Rejects with the signal's reason, a {@link FetchError} for a URL that is not http(s)
 * or for no answer within `responseTimeoutMs`, or the network error.
 */
export function httpGet(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  opts: { responseTimeoutMs?: number } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const target = httpTarget(url);
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const lib = target.protocol === 'https:' ? https : http;
    let response: http.IncomingMessage | null = null;
    let body: Readable | null = null;
    const onAbort = () => {
      const reason = signal.reason instanceof Error ? signal.reason : new Error('aborted');
      req.destroy(reason);
      body?.destroy(reason);
      response?.destroy(reason);
    };
    const done = () => signal.removeEventListener('abort', onAbort);
    const req = lib.request(
      target,
      {
        method: 'GET',
        headers: { 'accept-encoding': 'gzip, deflate, br', ...headers },
        agent: agents[target.protocol],
      },
      (res) => {
        clearTimeout(timer);
        response = res;
        res.once('close', done);
        const encoding = String(res.headers['content-encoding'] ?? '')
          .trim()
          .toLowerCase();
        const decoder =
          encoding === 'gzip' || encoding === 'x-gzip'
            ? createGunzip()
            : encoding === 'deflate'
              ? createInflate()
              : encoding === 'br'
                ? createBrotliDecompress()
                : null;
        // A broken connection fails the decoder too, so the reader sees the error either way.
        body = decoder ? pipeline(res, decoder, () => {}) : res;
        const length = Number(res.headers['content-length']);
        resolve({
          status: res.statusCode ?? 0,
          headers: {
            get: (name) => {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          body,
          discard: () => {
            if (decoder || (Number.isFinite(length) && length > DRAIN_BYTES)) {
              body?.destroy();
              res.destroy();
              return;
            }
            // Read what is left (a short error page, an empty 304), within bounds, to reuse the socket.
            let drained = 0;
            res.on('data', (c: Buffer) => {
              drained += c.length;
              if (drained > DRAIN_BYTES) res.destroy();
            });
            res.on('error', () => {});
            res.resume();
          },
        });
      },
    );
    // Without an answer (status and headers) in `responseTimeoutMs`: a `timeout` FetchError.
    const ms = opts.responseTimeoutMs;
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(() => req.destroy(new FetchError('timeout', `no response for ${ms} ms`, { retryable: true })), ms);
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => {
      clearTimeout(timer);
      done();
      reject(signal.aborted ? signal.reason : e);
    });
    req.end();
  });
}
