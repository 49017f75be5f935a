import { describe, expect, it } from 'vitest';
import { readinessUrl, roleFromCommandLine } from './healthcheck.command.ts';

describe('pksync healthcheck', () => {
  it("reads the role from the container's main command (tini, node, the bundle, the command)", () => {
    const pid1 = (...args: string[]) => ['/usr/bin/tini', '--', 'node', '/app/dist/pksync.mjs', ...args];
    expect(roleFromCommandLine(pid1('serve', 'api'))).toBe('api');
    expect(roleFromCommandLine(pid1('serve', 'worker', '--concurrency', '4'))).toBe('worker');
    expect(roleFromCommandLine(pid1('serve', 'scheduler'))).toBe('scheduler');
    expect(roleFromCommandLine(pid1('migrate'))).toBe('migrate');
    expect(roleFromCommandLine(pid1('serve', 'simulator'))).toBeUndefined();
    expect(roleFromCommandLine(['/bin/sh'])).toBeUndefined();
  });

  it('probes the API on PORT and a worker or the scheduler on METRICS_PORT, with the config defaults', () => {
    expect(readinessUrl('api', {})).toBe('http://127.0.0.1:8080/api/v1/readyz');
    expect(readinessUrl('api', { PORT: '3000' })).toBe('http://127.0.0.1:3000/api/v1/readyz');
    expect(readinessUrl('worker', {})).toBe('http://127.0.0.1:9464/readyz');
    expect(readinessUrl('scheduler', { METRICS_PORT: '9500' })).toBe('http://127.0.0.1:9500/readyz');
    expect(readinessUrl('migrate', {})).toBeNull();
    expect(() => readinessUrl('api', { PORT: 'x' })).toThrow();
  });
});
