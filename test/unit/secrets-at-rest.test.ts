import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { createKmsSecretBox, TOTP_ENCRYPTION_CONTEXT } from '../../shared/aws/kms-secret-box.js';
import { loadConfig } from '../../shared/config.js';
import { createLocalSecretBox } from '../../shared/crypto/local-secret-box.js';
import type { PasswordHasher } from '../../shared/crypto/password-hasher.js';
import { AccountExistsError, TooManyRequestsError } from '../../shared/errors.js';
import type { Clock } from '../../shared/ports/clock.js';
import { signUp } from '../../shared/use-cases/accounts.js';
import type { Deps } from '../../shared/use-cases/deps.js';
import { newRecoveryCode, normaliseRecoveryCode } from '../../shared/use-cases/mfa.js';
import { unitTestEnv } from '../support/unit-config.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'secret-box-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TOTP secrets at rest', () => {
  it('opens a sealed secret only for the user it was sealed for', async () => {
    const box = createLocalSecretBox(join(dir, 'bound.key'));
    const sealed = await box.seal('JBSWY3DPEHPK3PXP', 'totp:user-a');
    await expect(box.open(sealed, 'totp:user-a')).resolves.toBe('JBSWY3DPEHPK3PXP');
    // Copied onto another account's record, the same ciphertext fails authentication.
    await expect(box.open(sealed, 'totp:user-b')).rejects.toThrow();
  });

  it('still opens secrets sealed before the binding existed', async () => {
    const keyFile = join(dir, 'legacy.key');
    const box = createLocalSecretBox(keyFile);
    await box.seal('warm-up', 'totp:x'); // creates the key file
    const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update('LEGACYSECRET', 'utf8'), cipher.final()]);
    const legacy = ['lgcm1', iv, body, cipher.getAuthTag()]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
      .join('.');
    await expect(box.open(legacy, 'totp:anyone')).resolves.toBe('LEGACYSECRET');
  });
});

describe('recovery codes', () => {
  it('carry at least 112 bits: 24 base32 characters, and never repeat', () => {
    const codes = Array.from({ length: 500 }, newRecoveryCode);
    for (const code of codes) {
      expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){5}$/);
      expect(normaliseRecoveryCode(code).length * Math.log2(32)).toBeGreaterThanOrEqual(112);
    }
    expect(new Set(codes).size).toBe(codes.length);
    expect(normaliseRecoveryCode(' ABCD-efgh ')).toBe('abcdefgh');
  });
});

describe('sign-up', () => {
  function deps(options: { existing?: boolean; slotFree?: boolean }) {
    let hashes = 0;
    const hasher: PasswordHasher = {
      hash: async () => {
        hashes += 1;
        return 'hash';
      },
      verify: async () => false,
      verifyDummy: async () => undefined,
      needsRehash: () => false,
    };
    const clock: Clock = { now: () => new Date('2026-12-03T10:00:00Z') };
    const value = {
      config: loadConfig({ ...unitTestEnv }),
      clock,
      hasher,
      passwordBlocklist: new Set<string>(),
      breachedPasswords: undefined,
      throttles: { tryTake: async () => options.slotFree !== false },
      users: {
        findUserId: async () => (options.existing ? 'someone' : undefined),
        create: async () => undefined,
      },
      events: { record: async () => undefined },
    } as unknown as Deps;
    return { deps: value, hashes: () => hashes };
  }
  const input = { email: 'new@example.test', username: 'newbie', password: 'lantern-violet-harbour' };
  const origin = { ip: '198.51.100.7', userAgent: null };

  it('answers a taken email or username before any argon2 work', async () => {
    const { deps: d, hashes } = deps({ existing: true });
    await expect(signUp(d, input, origin)).rejects.toBeInstanceOf(AccountExistsError);
    expect(hashes()).toBe(0);
  });

  it('refuses a source over its sign-up limit before any argon2 work', async () => {
    const { deps: d, hashes } = deps({ slotFree: false });
    await expect(signUp(d, input, origin)).rejects.toBeInstanceOf(TooManyRequestsError);
    expect(hashes()).toBe(0);
  });

  it('hashes once for an accepted sign-up', async () => {
    const { deps: d, hashes } = deps({});
    await expect(signUp(d, input, origin)).resolves.toMatchObject({ email: 'new@example.test' });
    expect(hashes()).toBe(1);
  });
});

describe('TOTP secrets in KMS', () => {
  it('binds the user id into the encryption context, and opens old unbound ciphertexts with the old context', async () => {
    const sent: { name: string; context: unknown }[] = [];
    const kms = {
      send: async (command: { constructor: { name: string }; input: { EncryptionContext?: unknown } }) => {
        sent.push({ name: command.constructor.name, context: command.input.EncryptionContext });
        return command.constructor.name === 'EncryptCommand'
          ? { CiphertextBlob: Buffer.from('blob') }
          : { Plaintext: Buffer.from('SECRET') };
      },
    } as unknown as KMSClient;
    const box = createKmsSecretBox(kms, 'key-id');
    const sealed = await box.seal('SECRET', 'totp:user-a');
    expect(sealed.startsWith('kms2.')).toBe(true);
    await box.open(sealed, 'totp:user-a');
    await box.open(`kms1.${Buffer.from('old').toString('base64')}`, 'totp:user-a');
    expect(sent).toEqual([
      { name: 'EncryptCommand', context: { ...TOTP_ENCRYPTION_CONTEXT, boundTo: 'totp:user-a' } },
      { name: 'DecryptCommand', context: { ...TOTP_ENCRYPTION_CONTEXT, boundTo: 'totp:user-a' } },
      { name: 'DecryptCommand', context: TOTP_ENCRYPTION_CONTEXT },
    ]);
  });
});
