/**
 * Whether an error means PostgreSQL could not be reached or dropped the connection (refused,
 * reset, terminated, shutting down, starting up, out of connections) rather than rejecting the
 * statement itself. Such an error is an outage: the work is retried once the server is back
 * (jobs are delayed, the API answers 503), never recorded as the work's own failure. Follows
 * `cause` chains and `AggregateError`s (a refused connection to both ::1 and 127.0.0.1).
 */
export function isConnectionError(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const err = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  // SQLSTATE class 08 (connection exception), 57P01–57P03 (admin/crash shutdown, cannot connect
  // now), 53300 (too many connections).
  if (/^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))
    return true;
  const message = typeof err.message === 'string' ? err.message : '';
  if (
    /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable|the database system is (starting up|shutting down|in recovery mode)|terminating connection due to/i.test(
      message,
    )
  )
    return true;
  if (Array.isArray(err.errors) && err.errors.some((x) => isConnectionError(x, depth + 1))) return true;
  return isConnectionError(err.cause, depth + 1);
}
