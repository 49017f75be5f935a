import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptToken, encryptToken, TokenCryptoError } from './token-crypto.ts';

const key = randomBytes(32);

describe('token crypto', () => {
  it('round-trips, with a fresh IV each time, and the token not visible in the ciphertext', () => {
    const a = encryptToken('rahasia-token-123', key, '16.71-disnaker');
    const b = encryptToken('rahasia-token-123', key, '16.71-disnaker');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a).not.toContain('rahasia');
    expect(Buffer.from(a.split(':')[3]!, 'base64').toString('latin1')).not.toContain('rahasia');
    expect(decryptToken(a, key, '16.71-disnaker')).toBe('rahasia-token-123');
  });

  it('does not decrypt with another key, for another source, or when tampered', () => {
    const c = encryptToken('t0k3n', key, 'a');
    expect(() => decryptToken(c, randomBytes(32), 'a')).toThrow(TokenCryptoError);
    expect(() => decryptToken(c, key, 'b')).toThrow(TokenCryptoError);
    const parts = c.split(':');
    const data = Buffer.from(parts[3]!, 'base64');
    data[0] = data[0]! ^ 1;
    expect(() => decryptToken([...parts.slice(0, 3), data.toString('base64')].join(':'), key, 'a')).toThrow(
      TokenCryptoError,
    );
    try {
      decryptToken(c, randomBytes(32), 'a');
    } catch (e) {
      expect((e as Error).message).not.toContain('t0k3n');
    }
  });

  it('refuses without a key, naming the variable', () => {
    expect(() => encryptToken('x', undefined, 'a')).toThrow(/TOKEN_ENCRYPTION_KEY/);
  });
});
