import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptToken, encryptToken, GCM_TAG_BYTES, gcmDecipher, TokenCryptoError } from './token-crypto.ts';

const key = randomBytes(32);

/** The error `f` throws; fails the test when it returns instead. */
function failureOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure, got a result');
}

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

  it('does not decrypt with another key, for another source, or when tampered, never naming the token', () => {
    const c = encryptToken('t0k3n', key, 'a');
    const parts = c.split(':');
    const data = Buffer.from(parts[3]!, 'base64');
    data[0] = data[0]! ^ 1;
    const tampered = [...parts.slice(0, 3), data.toString('base64')].join(':');
    for (const [what, attempt, source] of [
      ['another key', () => decryptToken(c, randomBytes(32), 'a'), 'a'],
      ['another source', () => decryptToken(c, key, 'b'), 'b'],
      ['tampered', () => decryptToken(tampered, key, 'a'), 'a'],
      ['not v1', () => decryptToken(`v2:${parts.slice(1).join(':')}`, key, 'a'), 'a'],
    ] as const) {
      const error = failureOf(attempt);
      expect(error, what).toBeInstanceOf(TokenCryptoError);
      expect((error as Error).message, what).toContain(`source ${source}`);
      expect((error as Error).message, what).not.toContain('t0k3n');
    }
  });

  it('refuses a tag cut short (GCM would otherwise check only the bytes it is given)', () => {
    const c = encryptToken('t0k3n', key, 'a');
    const parts = c.split(':');
    for (const bytes of [4, 8, 12, 15]) {
      const tag = Buffer.from(parts[2]!, 'base64').subarray(0, bytes).toString('base64');
      const error = failureOf(() => decryptToken([parts[0], parts[1], tag, parts[3]].join(':'), key, 'a'));
      expect(error, `${bytes}-byte tag`).toBeInstanceOf(TokenCryptoError);
      expect((error as Error).message).not.toContain('t0k3n');
    }
  });

  it('gcmDecipher refuses a short tag or IV before deciphering, and opens the full tag', () => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from('x'));
    const data = Buffer.concat([cipher.update('hello', 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    expect(tag).toHaveLength(GCM_TAG_BYTES);
    expect(() => gcmDecipher(key, iv, tag.subarray(0, 4), Buffer.from('x'))).toThrow(/tag must be 16 bytes/);
    expect(() => gcmDecipher(key, iv.subarray(0, 8), tag, Buffer.from('x'))).toThrow(/IV must be 12 bytes/);
    const d = gcmDecipher(key, iv, tag, Buffer.from('x'));
    expect(Buffer.concat([d.update(data), d.final()]).toString('utf8')).toBe('hello');
  });

  it('refuses without a key, naming the variable', () => {
    expect(() => encryptToken('x', undefined, 'a')).toThrow(/TOKEN_ENCRYPTION_KEY/);
  });
});
