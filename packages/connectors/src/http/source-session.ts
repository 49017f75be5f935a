import type { SourceDefinition } from '@pksync/core';
import { resolveLimits, type FetchContext, type FetchLimits } from '../connector.types.ts';
import { FetchError } from '../fetch-error.ts';
import { createHttpSession, type HttpSession } from './http-client.ts';

/**
 * What every HTTP transport starts with: the source's URL (a source without one cannot be
 * fetched), its effective limits, and an HTTP session carrying its token, time-outs and signal.
 */
export function openSourceSession(
  source: SourceDefinition,
  ctx: Pick<FetchContext, 'signal' | 'limits' | 'log'>,
): { url: string; limits: FetchLimits; session: HttpSession } {
  const url = sourceUrl(source);
  const limits = resolveLimits(source, ctx);
  const session = createHttpSession({
    signal: ctx.signal,
    limits,
    token: source.token,
    sourceId: source.id,
    log: ctx.log,
  });
  return { url, limits, session };
}

/** The source's url; a source without one cannot be fetched (`http_error`, not retryable). */
export function sourceUrl(source: SourceDefinition): string {
  if (!source.url) throw new FetchError('http_error', `source ${source.id} has no url`, { retryable: false });
  return source.url;
}
