import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'node:crypto';

/**
 * Source tokens at rest: AES-256-GCM with a random 96-bit IV per value, stored in
 * `sources.token_encrypted` as `v1:<iv>:<tag>:<ciphertext>` (base64 parts). The 32-byte key is
 * `config.tokenKey` (env `TOKEN_ENCRYPTION_KEY`); the source id is bound as additional
 * authenticated data, so a ciphertext copied to another source's row does not decrypt.
 */
export class TokenCryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenCryptoError';
  }
}

/** GCM's full tag: a shorter one would be accepted by Node unless the length is fixed (a forger's shortcut). */
export const GCM_TAG_BYTES = 16;
const GCM_IV_BYTES = 12;

/**
 * A GCM decipher for `iv`, `tag` and `aad` that takes only the full 16-byte tag and a 12-byte IV:
 * `authTagLength` fixes the length Node checks, and a short tag is refused before it is set.
 *
 * @throws Error when the IV or the tag has another length (callers turn it into their own error).
 */
export function gcmDecipher(key: Buffer, iv: Buffer, tag: Buffer, aad: Buffer): DecipherGCM {
  if (iv.length !== GCM_IV_BYTES) throw new Error(`GCM IV must be ${GCM_IV_BYTES} bytes`);
  if (tag.length !== GCM_TAG_BYTES) throw new Error(`GCM tag must be ${GCM_TAG_BYTES} bytes`);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return decipher;
}

function checkKey(key: Buffer | undefined): Buffer {
  if (!key) throw new TokenCryptoError('TOKEN_ENCRYPTION_KEY is not set: source tokens cannot be stored or read');
  if (key.length !== 32) throw new TokenCryptoError('token key must be 32 bytes');
  return key;
}

/** Encrypts a token for the `sources` row of `sourceId`. */
export function encryptToken(token: string, key: Buffer | undefined, sourceId: string): string {
  const k = checkKey(key);
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', k, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(Buffer.from(sourceId, 'utf8'));
  const data = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return `v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${data.toString('base64')}`;
}

/** Decrypts a value made by {@link encryptToken}; throws {@link TokenCryptoError} (never the token) on failure. */
export function decryptToken(stored: string, key: Buffer | undefined, sourceId: string): string {
  const k = checkKey(key);
  const parts = stored.split(':');
  if (parts.length !== 4 || parts[0] !== 'v1')
    throw new TokenCryptoError(`token of source ${sourceId} is not in v1 form`);
  try {
    const decipher = gcmDecipher(
      k,
      Buffer.from(parts[1]!, 'base64'),
      Buffer.from(parts[2]!, 'base64'),
      Buffer.from(sourceId, 'utf8'),
    );
    return Buffer.concat([decipher.update(Buffer.from(parts[3]!, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new TokenCryptoError(`token of source ${sourceId} cannot be decrypted with this key`);
  }
}

/** Pino `redact` paths that keep tokens and keys out of every log line. */
export const TOKEN_REDACT_PATHS = [
  'token',
  '*.token',
  'token_encrypted',
  '*.token_encrypted',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'tokenKey',
  '*.tokenKey',
];
