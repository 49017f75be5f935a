import { describe, expect, it } from 'vitest';
import { unavailableDependency } from './errors.ts';

/** An error as pg, Node or ioredis make it: a message and, for some, a code. */
const err = (message: string, props: Record<string, unknown> = {}) => Object.assign(new Error(message), props);

describe('unavailableDependency: which outage an error is, if any', () => {
  it.each<[string, unknown]>([
    ['a refused connection', err('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    [
      'a refused connection to ::1 and 127.0.0.1',
      Object.assign(new AggregateError([err('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })], ''), {
        code: 'ECONNREFUSED',
      }),
    ],
    ['a dropped connection', err('Connection terminated unexpectedly')],
    ['a pool time-out', err('timeout exceeded when trying to connect')],
    ['57P01 admin shutdown', err('terminating connection due to administrator command', { code: '57P01' })],
    [
      '57P02 crash shutdown',
      err('terminating connection because of crash of another server process', { code: '57P02' }),
    ],
    ['57P03 cannot connect now', err('the database system is starting up', { code: '57P03' })],
    ['class 08', err('connection failure', { code: '08006' })],
  ])('PostgreSQL: %s', (_what, e) => {
    expect(unavailableDependency(e)).toBe('postgres');
  });

  it.each<[string, unknown]>([
    ['a command on a closed connection', err('Connection is closed.')],
    ['the offline queue off', err("Stream isn't writeable and enableOfflineQueue options is false")],
    [
      'out of retries',
      Object.assign(err('Reached the max retries per request limit (which is 1).'), {
        name: 'MaxRetriesPerRequestError',
      }),
    ],
    ['waitReady', err('Redis is not reachable: connect ECONNREFUSED 127.0.0.1:6390')],
    [
      'a run triggerRun could not enqueue (recognised by its cause too)',
      err('run 1 could not be queued (is Redis reachable?): Redis is not reachable: connect ECONNREFUSED', {
        cause: err('Redis is not reachable: connect ECONNREFUSED 127.0.0.1:6390'),
      }),
    ],
    ['a wrapper whose cause is Redis', err('enqueue failed', { cause: err('Connection is closed.') })],
  ])('Redis: %s', (_what, e) => {
    expect(unavailableDependency(e)).toBe('redis');
  });

  it.each<[string, unknown]>([
    [
      'a value out of range (a bug or bad input, not an outage)',
      err('value "2147483648" is out of range', { code: '22003' }),
    ],
    ['a unique violation', err('duplicate key value', { code: '23505' })],
    ['a plain error', err('boom')],
    ['not an error', 'ECONNREFUSED'],
    ['nothing', undefined],
  ])('neither: %s', (_what, e) => {
    expect(unavailableDependency(e)).toBeNull();
  });
});
