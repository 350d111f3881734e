import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretBox } from '../ports/secret-box.js';

/** `lgcm2` binds the ciphertext to its owner (associated data); `lgcm1` (before that) still opens, unbound. */
const VERSION = 'lgcm2';
const LEGACY_UNBOUND = 'lgcm1';

/** AES-256-GCM with a 256-bit key kept in a git-ignored, owner-only file (local runner and tests). */
export function createLocalSecretBox(keyFile: string): SecretBox {
  let key: Promise<Buffer> | undefined;
  const loadKey = () => {
    key ??= (async () => {
      try {
        return Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        const fresh = randomBytes(32);
        await mkdir(dirname(keyFile), { recursive: true });
        try {
          await writeFile(keyFile, fresh.toString('base64'), { flag: 'wx', mode: 0o600 });
          return fresh;
        } catch (writeError) {
          if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
          return Buffer.from((await readFile(keyFile, 'utf8')).trim(), 'base64');
        }
      }
    })();
    return key;
  };
  return {
    async seal(plaintext, boundTo) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', await loadKey(), iv);
      cipher.setAAD(Buffer.from(boundTo, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [
        VERSION,
        iv.toString('base64'),
        body.toString('base64'),
        cipher.getAuthTag().toString('base64'),
      ].join('.');
    },
    async open(ciphertext, boundTo) {
      const [version, iv, body, tag] = ciphertext.split('.');
      if ((version !== VERSION && version !== LEGACY_UNBOUND) || !iv || !body || !tag) {
        throw new Error('Unrecognised sealed secret');
      }
      const decipher = createDecipheriv('aes-256-gcm', await loadKey(), Buffer.from(iv, 'base64'));
      if (version === VERSION) decipher.setAAD(Buffer.from(boundTo, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    },
  };
}
