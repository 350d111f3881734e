import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Random opaque secret, base64url, `bytes` of entropy (refresh tokens: 32, reset tokens: 32). */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Opaque tokens are high-entropy random values, so one fast SHA-256 is enough to store them safely:
 * there is no dictionary to brute-force, unlike passwords.
 */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}
