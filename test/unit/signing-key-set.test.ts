import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import { createFileKeyStore, importSigningKeys } from '../../shared/crypto/key-store.js';
import {
  generateSigningKey,
  MIN_RSA_MODULUS_BITS,
  parsePublicKeySet,
  parseSigningKeySet,
  publicJwkOf,
  SIGNING_ALGORITHMS,
  SigningKeySetError,
} from '../../shared/crypto/signing-key-set.js';

const now = new Date('2026-12-03T12:00:00.000Z');

describe.each(SIGNING_ALGORITHMS)('a %s key set', (algorithm) => {
  test('generates a private JWK whose kid is the thumbprint of its public half, and reads it back', async () => {
    const key = await generateSigningKey(algorithm, now);

    expect(key).toMatchObject({ alg: algorithm, use: 'sig', createdAt: now.toISOString() });
    expect(key.kid).toBe(await calculateJwkThumbprint(publicJwkOf(key), 'sha256'));
    expect(parseSigningKeySet(algorithm, JSON.stringify({ keys: [key] }))).toEqual({ keys: [key] });
  });

  test('signs tokens that the parsed public document verifies, and publishes no private member', async () => {
    const key = await generateSigningKey(algorithm, now);
    const published = parsePublicKeySet(algorithm, JSON.stringify({ keys: [key] }));

    expect(
      published.keys.map((jwk) =>
        Object.keys(jwk).filter((m) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].includes(m)),
      ),
    ).toEqual([[]]);
    const token = await new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: algorithm, kid: key.kid })
      .sign(await importJWK(key, algorithm));
    const [jwk] = published.keys;
    const { payload } = await jwtVerify(token, await importJWK(jwk!, algorithm), { algorithms: [algorithm] });
    expect(payload.sub).toBe('user-1');
  });

  test('refuses keys of the other algorithm in the private and the public document', async () => {
    const other = SIGNING_ALGORITHMS.find((candidate) => candidate !== algorithm)!;
    const foreign = await generateSigningKey(other, now);

    expect(() => parseSigningKeySet(algorithm, JSON.stringify({ keys: [foreign] }))).toThrow(
      SigningKeySetError,
    );
    expect(() => parsePublicKeySet(algorithm, JSON.stringify({ keys: [publicJwkOf(foreign)] }))).toThrow(
      SigningKeySetError,
    );
  });

  test('names the offending member without echoing key material', async () => {
    const { d: _d, ...withoutPrivate } = await generateSigningKey(algorithm, now);
    let message = '';
    try {
      parseSigningKeySet(
        algorithm,
        JSON.stringify({ keys: [{ ...withoutPrivate, createdAt: 'yesterday' }] }),
      );
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/keys\.0\.(d|createdAt)/);
    expect(message).not.toContain(withoutPrivate.kid);
  });

  test('the local key file is created once, owner-only, in the same format as the secret', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signing-key-set-'));
    try {
      const path = join(dir, 'keys.json');
      const first = await createFileKeyStore(path, algorithm).load();
      const again = await createFileKeyStore(path, algorithm).load();

      expect(again.signers.map((signer) => signer.kid)).toEqual(first.signers.map((signer) => signer.kid));
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      const set = parseSigningKeySet(algorithm, await readFile(path, 'utf8'));
      expect(set.keys).toHaveLength(1);
      expect((await importSigningKeys(set)).publicJwks).toEqual(first.publicJwks);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('an RS256 key with a modulus under 2048 bits is refused', async () => {
  const key = await generateSigningKey('RS256', now);
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'jwk' });

  expect(MIN_RSA_MODULUS_BITS).toBe(2048);
  expect(() => parseSigningKeySet('RS256', JSON.stringify({ keys: [{ ...key, ...weak }] }))).toThrow(
    /at least 2048 bits/,
  );
  expect(() =>
    parsePublicKeySet('RS256', JSON.stringify({ keys: [{ ...publicJwkOf(key), n: weak.n }] })),
  ).toThrow(/at least 2048 bits/);
});

test('a corrupt local key file stops the local runner instead of being replaced', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'signing-key-set-'));
  try {
    const path = join(dir, 'keys.json');
    await writeFile(path, '{"keys":[{"kid":"half-a-key"}]}');
    await chmod(path, 0o600);

    await expect(createFileKeyStore(path).load()).rejects.toThrow(SigningKeySetError);
    expect(await readFile(path, 'utf8')).toBe('{"keys":[{"kid":"half-a-key"}]}');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
