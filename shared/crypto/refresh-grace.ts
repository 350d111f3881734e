import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'rg1';

/**
 * The key that seals the next refresh token for the grace window, derived from the token it replaces. Only a
 * holder of that previous token can open it, and the stored SHA-256 of a token (sha256Hex of the bare secret)
 * says nothing about this key, because the derivation is domain-separated.
 */
function graceKey(previousSecret: string): Buffer {
  return createHash('sha256')
    .update(`account-shield/refresh-grace/v1\u0000${previousSecret}`, 'utf8')
    .digest();
}

/**
 * Seals `nextToken` (the full refresh token a rotation just issued) under a key derived from the secret it
 * replaced, bound to the session by the associated data. Two tabs that present the same token at once must both
 * end up with the same, single current token; the loser of the rotation race opens this instead of rotating
 * again, so a session never has two live refresh tokens.
 */
export function sealForGrace(nextToken: string, previousSecret: string, sessionKey: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', graceKey(previousSecret), iv);
  cipher.setAAD(Buffer.from(sessionKey, 'utf8'));
  const body = Buffer.concat([cipher.update(nextToken, 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    body.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.');
}

/** Opens what sealForGrace produced, or undefined when the secret or session does not match. */
export function openForGrace(sealed: string, previousSecret: string, sessionKey: string): string | undefined {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !body || !tag) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', graceKey(previousSecret), Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(sessionKey, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    return undefined;
  }
}
