/**
 * Pipeline errors (STYLE.md § Config and errors). Bad rows are data, not exceptions; these are
 * for the pipeline itself. The worker turns a {@link PermanentError} into BullMQ's
 * `UnrecoverableError` (no further attempts); anything else is retried with the job's back-off.
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** A failure a later attempt may not meet (5xx, time-out, lost connection). */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}
