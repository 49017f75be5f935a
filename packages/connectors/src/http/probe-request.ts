import http from 'node:http';
import https from 'node:https';
import { FetchError } from '../fetch-error.ts';
import { agents, httpTarget } from './http-get.ts';

/**
 * The status of one GET with `headers`, reading no body: a 304's (empty) body is drained so the
 * socket is reused, any other answer's socket is closed without reading what it sends. No retry,
 * no redirect followed (a redirect is just its status). Used by `Connector.probe`, where a night
 * asks hundreds of agencies "still the same file?": `node:http` costs a fraction of `fetch` per
 * request, and anything but a clear 304 simply sends the source to its fetch job.
 *
 * Throws a {@link FetchError} (`timeout`, `network_error`) or the signal's reason.
 */
export function probeStatus(
  url: string,
  headers: Record<string, string>,
  opts: { signal: AbortSignal; timeoutMs: number },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = httpTarget(url);
    const protocol = target.protocol;
    if (opts.signal.aborted) {
      reject(opts.signal.reason);
      return;
    }
    const lib = protocol === 'https:' ? https : http;
    const req = lib.request(
      target,
      { method: 'GET', headers, agent: agents[protocol], timeout: opts.timeoutMs },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status === 304) res.resume();
        else res.destroy();
        cleanup();
        resolve(status);
      },
    );
    const onAbort = () => req.destroy(opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    const cleanup = () => opts.signal.removeEventListener('abort', onAbort);
    opts.signal.addEventListener('abort', onAbort, { once: true });
    req.on('timeout', () =>
      req.destroy(new FetchError('timeout', `no response for ${opts.timeoutMs} ms`, { retryable: true })),
    );
    req.on('error', (e) => {
      cleanup();
      if (opts.signal.aborted) reject(opts.signal.reason);
      else if (e instanceof FetchError) reject(e);
      else reject(new FetchError('network_error', `network error: ${e.message}`, { retryable: true, cause: e }));
    });
    req.end();
  });
}
