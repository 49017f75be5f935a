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
  let res: HttpResponse;
  try {
    // The deadline is a timer on the request itself, not a signal: a night makes ~1,000 probes,
    // and a signal per request (AbortSignal.any/timeout, or a controller) costs more than the GET.
    res = await httpGet(url, headers, opts.signal, { responseTimeoutMs: opts.timeoutMs });
  } catch (e) {
    if (opts.signal.aborted) throw opts.signal.reason;
    if (e instanceof FetchError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    throw new FetchError('network_error', `network error: ${message}`, { retryable: true, cause: e });
  }
  res.discard();
  return res.status;
}
