import { FetchError } from '../fetch-error.ts';
import { httpGet, type HttpResponse } from './http-get.ts';

/**
 * The status of one GET with `headers`, reading no body ({@link httpGet}, whose `discard` drains
 * a 304's empty body so the socket is reused and closes a large answer unread). No retry, no
 * redirect followed (a redirect is just its status). Used by `Connector.probe`, where a night asks
 * hundreds of agencies "still the same file?", and anything but a clear 304 simply sends the
 * source to its fetch job.
 *
 * Throws a {@link FetchError} (`timeout` after `timeoutMs` without an answer, `network_error`)
 * or the signal's reason.
 */
export async function probeStatus(
  url: string,
  headers: Record<string, string>,
  opts: { signal: AbortSignal; timeoutMs: number },
): Promise<number> {
  if (opts.signal.aborted) throw opts.signal.reason;
  // The caller's signal and the deadline, linked by hand: a night makes ~1,000 probes, and
  // AbortSignal.any + AbortSignal.timeout cost several times as much per request (and keep a
  // timer for the whole time-out).
  const request = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    request.abort(new Error('probe time-out'));
  }, opts.timeoutMs);
  const onAbort = () => request.abort(opts.signal.reason);
  opts.signal.addEventListener('abort', onAbort, { once: true });
  let res: HttpResponse;
  try {
    res = await httpGet(url, headers, request.signal);
  } catch (e) {
    if (opts.signal.aborted) throw opts.signal.reason;
    if (e instanceof FetchError) throw e;
    if (timedOut) throw new FetchError('timeout', `no response for ${opts.timeoutMs} ms`, { retryable: true });
    const message = e instanceof Error ? e.message : String(e);
    throw new FetchError('network_error', `network error: ${message}`, { retryable: true, cause: e });
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener('abort', onAbort);
  }
  res.discard();
  return res.status;
}
