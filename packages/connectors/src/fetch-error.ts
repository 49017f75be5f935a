import type { FetchErrorCode } from '@pksync/core';

/**
 * A whole-fetch failure (R9). `retryable` says whether a later attempt may succeed (5xx,
 * time-out, reset) or not (bad credentials, unparseable data, over the limits). Messages never
 * hold a token.
 */
export class FetchError extends Error {
  readonly code: FetchErrorCode;
  readonly retryable: boolean;
  /** HTTP status of the last response, when there was one. */
  readonly status: number | undefined;

  constructor(
    code: FetchErrorCode,
    message: string,
    options: { retryable: boolean; status?: number; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FetchError';
    this.code = code;
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

export function isFetchError(e: unknown): e is FetchError {
  return e instanceof FetchError;
}
