import { SignJWT } from 'jose';
import { createAccessTokens } from '../../shared/crypto/access-tokens.js';
import { importSigningKeys, type KeyStore, type SigningKeys } from '../../shared/crypto/key-store.js';
import { generateSigningKey } from '../../shared/crypto/signing-key-set.js';
import { InvalidTokenError } from '../../shared/errors.js';

const jwtSettings = { issuer: 'https://auth.example.test', audience: 'example-api' };

/** A key store port whose key set a test can swap, as a rotation would. */
async function rotatingKeyStore() {
  let keys: SigningKeys = await importSigningKeys({ keys: [await generateSigningKey('ES256', new Date())] });
  const store: KeyStore & { retireAll(): Promise<void> } = {
    load: async () => keys,
    retireAll: async () => {
      keys = await importSigningKeys({ keys: [await generateSigningKey('ES256', new Date())] });
    },
  };
  return store;
}

describe('access tokens', () => {
  const issuedAt = 1_800_000_000;

  it('issues ES256 tokens with the contract claims and verifies them', async () => {
    let now = issuedAt * 1000;
    const tokens = createAccessTokens(await rotatingKeyStore(), jwtSettings, () => now);
    const { token, claims } = await tokens.issue({
      userId: 'u1',
      sessionId: 's1',
      tokenVersion: 4,
      issuedAt,
    });
    expect(claims).toMatchObject({ sub: 'u1', sid: 's1', tv: 4, iat: issuedAt, exp: issuedAt + 900 });
    now += 1000;
    await expect(tokens.verify(token)).resolves.toEqual(claims);
  });

  it('rejects an expired token even after its signature was verified and cached', async () => {
    let now = issuedAt * 1000;
    const tokens = createAccessTokens(await rotatingKeyStore(), jwtSettings, () => now);
    const { token } = await tokens.issue({ userId: 'u1', sessionId: 's1', tokenVersion: 0, issuedAt });
    await tokens.verify(token);
    now = (issuedAt + 900) * 1000;
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('rejects cached tokens once their signing key is retired', async () => {
    const now = issuedAt * 1000;
    const keyStore = await rotatingKeyStore();
    const tokens = createAccessTokens(keyStore, jwtSettings, () => now);
    const { token } = await tokens.issue({ userId: 'u1', sessionId: 's1', tokenVersion: 0, issuedAt });
    await tokens.verify(token);
    await keyStore.retireAll();
    await expect(tokens.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('rejects a tampered payload, a wrong audience and an unsigned token', async () => {
    const now = issuedAt * 1000;
    const keyStore = await rotatingKeyStore();
    const tokens = createAccessTokens(keyStore, jwtSettings, () => now);
    const { token } = await tokens.issue({ userId: 'u1', sessionId: 's1', tokenVersion: 0, issuedAt });
    const [header, payload, signature] = token.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'admin' }),
    ).toString('base64url');
    await expect(tokens.verify(`${header}.${forged}.${signature}`)).rejects.toBeInstanceOf(InvalidTokenError);

    const keys = await keyStore.load();
    const [signer] = keys.signers;
    const wrongAudience = await new SignJWT({ sid: 's1', tv: 0 })
      .setProtectedHeader({ alg: 'ES256', kid: signer!.kid, typ: 'at+jwt' })
      .setIssuer(jwtSettings.issuer)
      .setAudience('someone-else')
      .setSubject('u1')
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 900)
      .setJti('j')
      .sign(signer!.key);
    await expect(tokens.verify(wrongAudience)).rejects.toBeInstanceOf(InvalidTokenError);

    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: signer!.kid })).toString('base64url')}.${payload}.`;
    await expect(tokens.verify(none)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});
