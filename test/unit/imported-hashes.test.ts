import { createHash, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { pbkdf2 as noblePbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { hash as argon2Hash } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';
import {
  checkFastDigest,
  checkSlowHash,
  encodeAdaptedBase64,
  formatWrappedHash,
  UnsupportedHashError,
  verifyStoredHash,
} from '../../shared/crypto/imported-hashes.js';
import { createArgon2Hasher } from '../../shared/crypto/password-hasher.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const phcB64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

async function expectVerifies(stored: string, password: string) {
  expect(checkSlowHash(stored)).toBeDefined();
  expect(await verifyStoredHash(stored, password)).toBe(true);
  expect(await verifyStoredHash(stored, `${password}x`)).toBe(false);
}

describe('imported password hashes: known-answer vectors', () => {
  it('verifies the OpenWall bcrypt vectors ($2a$) and their $2b$/$2y$ spellings', async () => {
    await expectVerifies('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U');
    await expectVerifies('$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK', 'U*U*');
    await expectVerifies('$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a', 'U*U*U');
    // For ASCII passwords under 72 bytes the minor versions compute the same hash.
    await expectVerifies('$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U');
    await expectVerifies('$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U');
  });

  it('verifies the argon2 reference implementation vectors (argon2i, argon2id)', async () => {
    await expectVerifies(
      '$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA',
      'password',
    );
    await expectVerifies(
      '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
      'password',
    );
  });

  it('verifies the RFC 7914 scrypt vectors written as scrypt PHC strings', async () => {
    const empty =
      hex(`77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
      fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06`);
    expect(await verifyStoredHash(`$scrypt$ln=4,r=1,p=1$$${phcB64(empty)}`, '')).toBe(true);
    const nacl =
      hex(`fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
      2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40`);
    await expectVerifies(`$scrypt$ln=10,r=8,p=16$${phcB64(Buffer.from('NaCl'))}$${phcB64(nacl)}`, 'password');
  });

  it("verifies passlib's documented scrypt hashes", async () => {
    await expectVerifies(
      '$scrypt$ln=8,r=8,p=1$WKs1xljLudd6z9kbY0wpJQ$yCR4iDZYDKv+iEJj6yHY0lv/epnfB6f/w1EbXrsJOuQ',
      'password',
    );
    await expectVerifies(
      '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E',
      'password',
    );
  });

  it("verifies passlib's documented pbkdf2_sha256 hashes (adapted base64)", async () => {
    await expectVerifies(
      '$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M',
      'password',
    );
    await expectVerifies(
      '$pbkdf2-sha256$8000$XAuBMIYQQogxRg$tRRlz8hYn63B9LYiCd6PRo6FMiunY9ozmMMI3srxeRE',
      'password',
    );
    await expectVerifies(
      '$pbkdf2-sha256$29000$N2YMIWQsBWBMae09x1jrPQ$1t8iyB2A.WF/Z5JZv.lfCIhXXN33N23OSgQYThBYRfk',
      'toomanysecrets',
    );
  });

  it('verifies the RFC 6070 PBKDF2-HMAC-SHA1 vectors in the $pbkdf2$ format', async () => {
    const salt = encodeAdaptedBase64(Buffer.from('salt'));
    for (const [rounds, dk] of [
      [1, '0c60c80f961f0e71f3a9b524af6012062fe037a6'],
      [2, 'ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957'],
      [4096, '4b007901b765489abead49d926f721d065a429c1'],
    ] as const) {
      await expectVerifies(`$pbkdf2$${rounds}$${salt}$${encodeAdaptedBase64(hex(dk))}`, 'password');
    }
  });

  it('verifies $pbkdf2-sha512$ made by an independent implementation (@noble/hashes)', async () => {
    const salt = randomBytes(16);
    const dk = noblePbkdf2(sha512, 'hunter2 but longer', salt, { c: 1000, dkLen: 64 });
    await expectVerifies(
      `$pbkdf2-sha512$1000$${encodeAdaptedBase64(salt)}$${encodeAdaptedBase64(dk)}`,
      'hunter2 but longer',
    );
  });

  it('verifies wrapped fast digests against the FIPS 180 / RFC 1321 "abc" vectors', async () => {
    const vectors = {
      md5: '900150983cd24fb0d6963f7d28e17f72',
      sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      sha512:
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    } as const;
    for (const [algorithm, digest] of Object.entries(vectors) as [keyof typeof vectors, string][]) {
      const input = { algorithm, hash: digest.toUpperCase() };
      const wrapped = formatWrappedHash(input, await argon2Hash(checkFastDigest(input)));
      expect(wrapped).not.toContain(digest);
      expect(await verifyStoredHash(wrapped, 'abc')).toBe(true);
      expect(await verifyStoredHash(wrapped, 'abd')).toBe(false);
    }
  });

  it('verifies salted SHA-1 with the salt before or after the password', async () => {
    for (const saltPosition of ['prefix', 'suffix'] as const) {
      const salt = 'p$ä:l';
      const input = saltPosition === 'prefix' ? `${salt}secret` : `secret${salt}`;
      const row = {
        algorithm: 'sha1' as const,
        hash: createHash('sha1').update(input).digest('hex'),
        salt,
        saltPosition,
      };
      const wrapped = formatWrappedHash(row, await argon2Hash(checkFastDigest(row)));
      expect(await verifyStoredHash(wrapped, 'secret')).toBe(true);
      expect(await verifyStoredHash(wrapped, 'Secret')).toBe(false);
    }
  });
});

describe('imported password hashes: validation at import', () => {
  it.each([
    ['bcrypt cost above the limit', `$2b$31$${'C'.repeat(53)}`],
    ['scrypt needing gigabytes', `$scrypt$ln=24,r=8,p=1$c2FsdA$${'A'.repeat(43)}`],
    ['PBKDF2 with a billion rounds', `$pbkdf2-sha256$1000000000$c2FsdA$${'A'.repeat(43)}`],
    [
      'argon2 with 4 GiB',
      '$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc',
    ],
    ['an unknown scheme', '$1$saltsalt$abcdefghijklmnopqrstuv'],
    ['a plain hex digest string', '5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8'],
  ])('rejects %s', (_name, hash) => {
    expect(() => checkSlowHash(hash)).toThrow(UnsupportedHashError);
  });

  it('rejects a digest of the wrong length or with non-hex characters', () => {
    expect(() => checkFastDigest({ algorithm: 'sha1', hash: 'abc' })).toThrow(UnsupportedHashError);
    expect(() => checkFastDigest({ algorithm: 'md5', hash: 'z'.repeat(32) })).toThrow(UnsupportedHashError);
  });

  it('reads a corrupt stored hash as a failed sign-in, not an error', async () => {
    expect(await verifyStoredHash('$scrypt$ln=4,r=1,p=1$$AAAA', 'x')).toBe(false);
    expect(await verifyStoredHash('$as-wrap$sha1$none$$argon2id$garbage', 'x')).toBe(false);
  });
});

describe('password hasher with imported hashes', () => {
  const hasher = createArgon2Hasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

  it('verifies hashes made by independent implementations and asks for a re-hash of each', async () => {
    const salt = randomBytes(16);
    const stored = [
      bcrypt.hashSync('old password', 10),
      `$scrypt$ln=14,r=8,p=1$${phcB64(salt)}$${phcB64(scryptSync('old password', salt, 32, { N: 2 ** 14, r: 8, p: 1 }))}`,
      `$pbkdf2-sha256$10000$${encodeAdaptedBase64(salt)}$${encodeAdaptedBase64(pbkdf2Sync('old password', salt, 10000, 32, 'sha256'))}`,
      await argon2Hash('old password', { algorithm: 1 }),
      await argon2Hash('old password', { algorithm: 0 }),
    ];
    expect(stored.at(-1)).toMatch(/^\$argon2d\$/);
    for (const hash of stored) {
      expect(await hasher.verify(hash, 'old password')).toBe(true);
      expect(await hasher.verify(hash, 'wrong password')).toBe(false);
      expect(hasher.needsRehash(hash)).toBe(true);
    }
    const current = await hasher.hash('old password');
    expect(hasher.needsRehash(current)).toBe(false);
  });
});
