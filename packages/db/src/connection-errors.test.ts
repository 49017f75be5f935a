import { describe, expect, it } from 'vitest';
import { isConnectionError } from './connection-errors.ts';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it('knows the errors of a server that is down, restarting or out of connections', () => {
    for (const e of [
      withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      withCode('ECONNRESET'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P02'),
      withCode('57P03', 'the database system is starting up'),
      withCode('53300', 'sorry, too many clients already'),
      withCode('08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('timeout exceeded when trying to connect'),
      // Both ::1 and 127.0.0.1 refused.
      new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], ''),
      new Error('the job failed', { cause: withCode('ECONNREFUSED') }),
    ])
      expect([e.message, isConnectionError(e)]).toEqual([e.message, true]);
  });

  it('does not take a rejected statement, a bad row or anything else for an outage', () => {
    for (const e of [
      withCode('23505', 'duplicate key value violates unique constraint'),
      withCode('22P02', 'invalid input syntax for type uuid'),
      withCode('40P01', 'deadlock detected'),
      new Error('reconcileRun: the staged snapshot of 16.71 is incomplete'),
      new Error('nothing', { cause: new Error('still nothing') }),
      null,
      undefined,
      'ECONNREFUSED',
      { code: 42 },
    ])
      expect(isConnectionError(e)).toBe(false);
  });
});
