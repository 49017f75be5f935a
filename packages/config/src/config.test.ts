import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('uses local defaults and freezes the result', () => {
    const c = loadConfig({});
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/pksync');
    expect(c.syncCron).toBe('0 1 * * *');
    expect(c.syncTimezone).toBe('Asia/Jakarta');
    expect(c.queuePrefix).toBe('{pksync}');
    expect(c.limits.maxSnapshotRows).toBe(200_000);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
  });

  it('names every bad variable', () => {
    try {
      loadConfig({ DATABASE_URL: 'mysql://x', PORT: 'eighty', SYNC_TIMEZONE: 'Mars/Olympus', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const vars = (e as ConfigError).issues.map((i) => i.variable).sort();
      expect(vars).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT', 'SYNC_TIMEZONE']);
      expect((e as Error).message).toContain('SYNC_TIMEZONE');
    }
  });

  it('decodes the token key and rejects a short one', () => {
    expect(loadConfig({ TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32) }).tokenKey?.length).toBe(32);
    expect(() => loadConfig({ TOKEN_ENCRYPTION_KEY: 'short' })).toThrow(/TOKEN_ENCRYPTION_KEY/);
  });

  it('rejects a queue prefix that is not a hash tag', () => {
    expect(() => loadConfig({ QUEUE_PREFIX: 'pksync' })).toThrow(/QUEUE_PREFIX/);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ SMTP_URL: '', PORT: ' ' }).port).toBe(8080);
  });
});
