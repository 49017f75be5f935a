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

  it('reads TRUST_PROXY as fastify takes it: a proxy on this host or a private network by default', () => {
    expect(loadConfig({}).trustProxy).toEqual(['loopback', 'uniquelocal']);
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
    ]);
    for (const bad of ['yes', '10.0.0.0/33', 'proxy.local', '10.0.0.1,,'])
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ SMTP_URL: '', PORT: ' ' }).port).toBe(8080);
  });
});

describe('loadConfig: the ministry webhook (ALERT_WEBHOOK_URL, ALERT_WEBHOOK_SECRET)', () => {
  const KEY = { TOKEN_ENCRYPTION_KEY: 'ab'.repeat(32) };
  const URL = 'https://pusat.kemnaker.go.id/hooks/pksync';
  const SECRET = 'a-ministry-signing-secret';
  const variables = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).issues.map((i) => i.variable).sort();
    }
    return [];
  };

  it('is off by default', () => {
    expect(loadConfig({}).alertWebhook).toBeUndefined();
  });

  it('the URL without a secret names ALERT_WEBHOOK_SECRET', () => {
    expect(variables({ ...KEY, ALERT_WEBHOOK_URL: URL })).toEqual(['ALERT_WEBHOOK_SECRET']);
    expect(() => loadConfig({ ...KEY, ALERT_WEBHOOK_URL: URL })).toThrow(/ALERT_WEBHOOK_SECRET: is required/);
    // An empty secret is no secret.
    expect(variables({ ...KEY, ALERT_WEBHOOK_URL: URL, ALERT_WEBHOOK_SECRET: ' ' })).toEqual(['ALERT_WEBHOOK_SECRET']);
  });

  it('a secret without the URL names ALERT_WEBHOOK_URL', () => {
    expect(variables({ ...KEY, ALERT_WEBHOOK_SECRET: SECRET })).toEqual(['ALERT_WEBHOOK_URL']);
  });

  it('both: the config carries them, frozen', () => {
    const c = loadConfig({ ...KEY, ALERT_WEBHOOK_URL: URL, ALERT_WEBHOOK_SECRET: SECRET });
    expect(c.alertWebhook).toEqual({ url: URL, secret: SECRET });
    expect(Object.isFrozen(c.alertWebhook)).toBe(true);
  });

  it('validates the secret like contact secrets (16 to 256 characters) and never shows it', () => {
    try {
      loadConfig({ ...KEY, ALERT_WEBHOOK_URL: URL, ALERT_WEBHOOK_SECRET: 'too-short-secret'.slice(0, 15) });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).issues).toEqual([
        { variable: 'ALERT_WEBHOOK_SECRET', message: 'must be at least 16 characters' },
      ]);
      expect((e as Error).message).not.toContain('too-short-secre');
    }
    expect(variables({ ...KEY, ALERT_WEBHOOK_URL: URL, ALERT_WEBHOOK_SECRET: 'x'.repeat(257) })).toEqual([
      'ALERT_WEBHOOK_SECRET',
    ]);
    expect(
      loadConfig({ ...KEY, ALERT_WEBHOOK_URL: URL, ALERT_WEBHOOK_SECRET: 'x'.repeat(16) }).alertWebhook,
    ).toBeDefined();
  });

  it('refuses a URL that is not http(s) or carries credentials', () => {
    expect(variables({ ...KEY, ALERT_WEBHOOK_URL: 'ftp://x.example/h', ALERT_WEBHOOK_SECRET: SECRET })).toEqual([
      'ALERT_WEBHOOK_URL',
    ]);
    expect(variables({ ...KEY, ALERT_WEBHOOK_URL: 'https://u:p@x.example/h', ALERT_WEBHOOK_SECRET: SECRET })).toEqual([
      'ALERT_WEBHOOK_URL',
    ]);
  });

  it('needs TOKEN_ENCRYPTION_KEY (the secret is stored encrypted), named with every other bad variable', () => {
    expect(variables({ ALERT_WEBHOOK_URL: URL, ALERT_WEBHOOK_SECRET: SECRET })).toEqual(['TOKEN_ENCRYPTION_KEY']);
    expect(variables({ ALERT_WEBHOOK_URL: URL, PORT: 'eighty' })).toEqual([
      'ALERT_WEBHOOK_SECRET',
      'PORT',
      'TOKEN_ENCRYPTION_KEY',
    ]);
  });
});
