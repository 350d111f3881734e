import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, SecretsManagerRotationEvent } from 'aws-lambda';
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from 'jose';
import {
  handleCustomResource,
  type InitialKeyProperties,
  KeyRotationError,
  type KeySetTarget,
  keySetTarget,
  putInitialKeyIfMissing,
  rotate,
} from '../../functions/key-rotation.js';
import type { CloudFormationResponder } from '../../shared/aws/cloudformation-response.js';
import type { SigningKeySecrets } from '../../shared/aws/secrets-manager-key-secrets.js';
import {
  createSecretsManagerKeyStore,
  createSecretsManagerPublicKeys,
} from '../../shared/aws/secrets-manager-key-store.js';
import { createAccessTokens, createAccessTokenVerifier } from '../../shared/crypto/access-tokens.js';
import {
  KEY_PUBLISH_LEAD_MS,
  KEY_RETENTION_AFTER_REPLACEMENT_MS,
  KEY_SET_CACHE_MS,
  LONGEST_SIGNED_TOKEN_LIFETIME_MS,
} from '../../shared/crypto/key-timing.js';
import { createRemoteJwksSource } from '../../shared/crypto/remote-jwks.js';
import {
  generateSigningKey as generateKey,
  nextSigningKeySet,
  parseSigningKeySet as parseKeySet,
  publicKeyDocument,
  type SigningAlgorithm,
  type SigningKeyJwk,
  type SigningKeySet,
  SigningKeySetError,
} from '../../shared/crypto/signing-key-set.js';

const now = new Date('2026-11-22T10:00:00.000Z');
/** The access-token key set (ES256), which every test below rotates unless it says otherwise. */
const generateSigningKey = (at: Date) => generateKey('ES256', at);
const parseSigningKeySet = (value: string | undefined) => parseKeySet('ES256', value);

describe('generateSigningKey', () => {
  test('creates an ES256 private JWK whose kid is its RFC 7638 thumbprint', async () => {
    const key = await generateSigningKey(now);

    expect(key).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      createdAt: now.toISOString(),
    });
    expect(key.d).toEqual(expect.any(String));
    expect(key.kid).toBe(
      await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: key.x, y: key.y }, 'sha256'),
    );
  });

  test('signs tokens that its public half verifies', async () => {
    const key = await generateSigningKey(now);
    const { d: _private, ...publicJwk } = key;

    const token = await new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .sign(await importJWK(key, 'ES256'));

    const { payload } = await jwtVerify(token, await importJWK(publicJwk, 'ES256'), {
      algorithms: ['ES256'],
    });
    expect(payload.sub).toBe('user-1');
  });

  test('never returns the same key twice', async () => {
    const [a, b] = await Promise.all([generateSigningKey(now), generateSigningKey(now)]);
    expect(a.kid).not.toBe(b.kid);
  });
});

describe('nextSigningKeySet', () => {
  const key = (kid: string): SigningKeyJwk => ({
    kty: 'EC',
    crv: 'P-256',
    x: `x-${kid}`,
    y: `y-${kid}`,
    d: `d-${kid}`,
    kid,
    alg: 'ES256',
    use: 'sig',
    createdAt: now.toISOString(),
  });

  const minutes = (n: number) => new Date(now.getTime() + n * 60_000);

  test('puts the new key first and lets it sign only one publication lead later', () => {
    const next = nextSigningKeySet({ keys: [key('b'), key('a')] }, key('c'), now);
    expect(next.keys.map((k) => k.kid)).toEqual(['c', 'b', 'a']);
    expect(next.keys[0]?.activatesAt).toBe(new Date(now.getTime() + KEY_PUBLISH_LEAD_MS).toISOString());
    expect(KEY_PUBLISH_LEAD_MS).toBeGreaterThanOrEqual(2 * KEY_SET_CACHE_MS);
  });

  test('drops a replaced key only once its successor has signed for longer than the longest token lifetime', () => {
    const first = { keys: [{ ...key('a'), activatesAt: now.toISOString() }] };
    const second = nextSigningKeySet(first, key('b'), now); // b signs from +11 min
    const leadMinutes = KEY_PUBLISH_LEAD_MS / 60_000;
    const retentionMinutes = KEY_RETENTION_AFTER_REPLACEMENT_MS / 60_000;
    expect(retentionMinutes).toBeGreaterThanOrEqual(LONGEST_SIGNED_TOKEN_LIFETIME_MS / 60_000);

    const tooSoon = nextSigningKeySet(second, key('c'), minutes(leadMinutes + retentionMinutes - 1));
    expect(tooSoon.keys.map((k) => k.kid)).toEqual(['c', 'b', 'a']);
    const late = nextSigningKeySet(second, key('c'), minutes(leadMinutes + retentionMinutes));
    expect(late.keys.map((k) => k.kid)).toEqual(['c', 'b']);
  });

  test('keeps every key when rotations follow each other quickly (none has been replaced long enough)', () => {
    let set: SigningKeySet = { keys: [{ ...key('a'), activatesAt: now.toISOString() }] };
    for (const [i, kid] of ['b', 'c', 'd', 'e'].entries()) set = nextSigningKeySet(set, key(kid), minutes(i));
    expect(set.keys.map((k) => k.kid)).toEqual(['e', 'd', 'c', 'b', 'a']);
  });

  test('keeps two keys when rotations are days apart', () => {
    let set: SigningKeySet = { keys: [{ ...key('a'), activatesAt: now.toISOString() }] };
    for (const [i, kid] of ['b', 'c', 'd'].entries())
      set = nextSigningKeySet(set, key(kid), minutes((i + 1) * 1440));
    expect(set.keys.map((k) => k.kid)).toEqual(['d', 'c']);
  });

  test('does not list a key twice when the same key is added again', () => {
    const next = nextSigningKeySet({ keys: [key('a'), key('z')] }, key('a'), now);
    expect(next.keys.map((k) => k.kid)).toEqual(['a', 'z']);
  });

  test('does not change the previous set', () => {
    const previous = { keys: [key('a')] };
    nextSigningKeySet(previous, key('b'), now);
    expect(previous.keys.map((k) => k.kid)).toEqual(['a']);
  });

  test('publishes public members only', () => {
    const document = publicKeyDocument({ keys: [key('a')] });
    expect(document.keys).toEqual([
      { kty: 'EC', crv: 'P-256', x: 'x-a', y: 'y-a', kid: 'a', alg: 'ES256', use: 'sig' },
    ]);
  });
});

describe('parseSigningKeySet', () => {
  test('reads back what the rotation writes', async () => {
    const set = nextSigningKeySet({ keys: [] }, await generateSigningKey(now), now);
    expect(parseSigningKeySet(JSON.stringify(set))).toEqual(set);
  });

  test("treats the stack's placeholder value as an empty set", () => {
    expect(parseSigningKeySet('{"keys":[],"placeholder":"Xy12"}')).toEqual({ keys: [] });
  });

  test.each([
    ['not JSON', 'not json at all'],
    ['no key list', '{"key": []}'],
    [
      'a public key without d',
      JSON.stringify({
        keys: [
          { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k', alg: 'ES256', use: 'sig', createdAt: 't' },
        ],
      }),
    ],
    [
      'another algorithm',
      JSON.stringify({ keys: [{ kty: 'RSA', alg: 'RS256', use: 'sig', kid: 'k', createdAt: 't' }] }),
    ],
  ])('refuses %s instead of silently replacing the keys', (_case, value) => {
    expect(() => parseSigningKeySet(value)).toThrow(SigningKeySetError);
  });
});

/** An in-memory Secrets Manager secret with staging labels, as the rotation protocol sees it. */
class FakeSecret implements SigningKeySecrets {
  readonly versions = new Map<string, { value: string | undefined; stages: Set<string> }>();
  /** The public key set secret's current value. */
  published: string | undefined;
  rotationEnabled = true;
  failReads = false;

  constructor(initialValue: string) {
    this.versions.set('v0', { value: initialValue, stages: new Set(['AWSCURRENT']) });
  }

  /** What Secrets Manager does before calling createSecret: a version with AWSPENDING and no value yet. */
  startRotation(token: string): void {
    this.moveStage('AWSPENDING', token);
    this.versions.set(token, { value: undefined, stages: new Set(['AWSPENDING']) });
  }

  current(algorithm: SigningAlgorithm = 'ES256'): SigningKeyJwk[] {
    const version = [...this.versions.values()].find((candidate) => candidate.stages.has('AWSCURRENT'));
    return parseKeySet(algorithm, version?.value).keys as SigningKeyJwk[];
  }

  private moveStage(stage: string, to: string): void {
    for (const version of this.versions.values()) version.stages.delete(stage);
    this.versions.get(to)?.stages.add(stage);
  }

  async describe() {
    const versionStages = Object.fromEntries(
      [...this.versions].map(([id, version]) => [id, [...version.stages]]),
    );
    return { rotationEnabled: this.rotationEnabled, versionStages };
  }

  async read(_secretId: string, version: { stage: string; versionId?: string }) {
    if (this.failReads) throw new Error('Secrets Manager is unavailable');
    const found = version.versionId
      ? this.versions.get(version.versionId)
      : [...this.versions.values()].find((candidate) => candidate.stages.has(version.stage));
    return found?.stages.has(version.stage) ? found.value : undefined;
  }

  async write(_secretId: string, version: { token: string; value: string; stages?: string[] }) {
    const existing = this.versions.get(version.token);
    if (existing?.value !== undefined) {
      if (existing.value !== version.value) throw new Error('ResourceExistsException');
      return;
    }
    this.versions.set(version.token, { value: version.value, stages: existing?.stages ?? new Set() });
    if (!version.stages) {
      this.moveStage(
        'AWSPREVIOUS',
        [...this.versions].find(([, v]) => v.stages.has('AWSCURRENT'))?.[0] ?? '',
      );
      this.moveStage('AWSCURRENT', version.token);
    } else {
      for (const stage of version.stages) this.moveStage(stage, version.token);
    }
  }

  async publish(publicSecretId: string, value: string) {
    expect(publicSecretId).toBe(target.publicKeysSecretId);
    this.published = value;
  }

  async makeCurrent(_secretId: string, move: { to: string; from: string | undefined }) {
    if (move.from) this.moveStage('AWSPREVIOUS', move.from);
    this.moveStage('AWSCURRENT', move.to);
  }
}

const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:signing-AbCdEf';
const placeholder = '{"keys":[],"placeholder":"Xy12"}';
const target: KeySetTarget = {
  algorithm: 'ES256',
  publicKeysSecretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:public-keys-AbCdEf',
};
const step = (Step: SecretsManagerRotationEvent['Step'], token: string): SecretsManagerRotationEvent => ({
  Step,
  SecretId: secretArn,
  ClientRequestToken: token,
});

async function rotateFully(
  secret: FakeSecret,
  token: string,
  at: Date = now,
  keySet: KeySetTarget = target,
): Promise<void> {
  secret.startRotation(token);
  for (const name of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
    await rotate(step(name, token), secret, keySet, at);
  }
}

function customResourceEvent(
  RequestType: 'Create' | 'Update' | 'Delete',
  RequestId = 'request-1',
): CloudFormationCustomResourceEvent<InitialKeyProperties> {
  const common = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:key-rotation',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/presigned',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/AccountShield/1',
    RequestId,
    LogicalResourceId: 'SigningKeyInitialKey',
    ResourceType: 'Custom::SigningKey',
    ResourceProperties: { ServiceToken: 'token', SecretArn: secretArn },
  };
  if (RequestType === 'Create') return { ...common, RequestType };
  if (RequestType === 'Update') {
    return {
      ...common,
      RequestType,
      PhysicalResourceId: secretArn,
      OldResourceProperties: common.ResourceProperties,
    };
  }
  return { ...common, RequestType, PhysicalResourceId: secretArn };
}

/** Records what the handler would PUT to CloudFormation. */
function recordingResponder() {
  const responses: Parameters<CloudFormationResponder>[1][] = [];
  const respond: CloudFormationResponder = async (_event, body) => {
    responses.push(body);
  };
  return { respond, responses };
}

describe('the custom resource at deploy', () => {
  test('puts a first signing key into the placeholder secret and reports success', async () => {
    const secret = new FakeSecret(placeholder);
    const { respond, responses } = recordingResponder();

    await handleCustomResource(
      customResourceEvent('Create'),
      { logStreamName: 'stream' },
      secret,
      target,
      respond,
    );

    expect(secret.current()).toHaveLength(1);
    expect(responses).toEqual([{ Status: 'SUCCESS', Reason: 'OK', PhysicalResourceId: secretArn }]);
  });

  test('never replaces keys that are already there (a re-run must not sign everyone out)', async () => {
    const secret = new FakeSecret(placeholder);
    const { respond, responses } = recordingResponder();
    await handleCustomResource(
      customResourceEvent('Create', 'r1'),
      { logStreamName: 's' },
      secret,
      target,
      respond,
    );
    const [first] = secret.current();

    await handleCustomResource(
      customResourceEvent('Create', 'r2'),
      { logStreamName: 's' },
      secret,
      target,
      respond,
    );
    await handleCustomResource(
      customResourceEvent('Update', 'r3'),
      { logStreamName: 's' },
      secret,
      target,
      respond,
    );

    expect(secret.current()).toEqual([first]);
    expect(responses.map((response) => response.Status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
  });

  test('leaves the secret alone on delete', async () => {
    const secret = new FakeSecret(placeholder);
    const { respond, responses } = recordingResponder();

    await handleCustomResource(
      customResourceEvent('Delete'),
      { logStreamName: 's' },
      secret,
      target,
      respond,
    );

    expect(secret.versions.size).toBe(1);
    expect(responses).toEqual([{ Status: 'SUCCESS', Reason: 'OK', PhysicalResourceId: secretArn }]);
  });

  test('reports a failure to CloudFormation at once, naming the log stream', async () => {
    const secret = new FakeSecret(placeholder);
    secret.failReads = true;
    const { respond, responses } = recordingResponder();
    const logged: { message: string; extra: Record<string, unknown> }[] = [];

    await handleCustomResource(
      customResourceEvent('Create'),
      { logStreamName: 'stream-42' },
      secret,
      target,
      respond,
      { error: (message, extra) => logged.push({ message, extra }) },
    );

    expect(logged).toEqual([
      { message: 'Initial signing key failed', extra: { reason: 'Error: Secrets Manager is unavailable' } },
    ]);
    expect(responses).toEqual([
      {
        Status: 'FAILED',
        Reason: 'Error: Secrets Manager is unavailable (log stream stream-42)',
        PhysicalResourceId: secretArn,
      },
    ]);
  });
});

describe('a Secrets Manager rotation', () => {
  test('makes a new key current and keeps the previous one published', async () => {
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, target, secretArn, 'request-1', now);
    const [initial] = secret.current();

    await rotateFully(secret, 'rotation-1');

    const keys = secret.current();
    expect(keys).toHaveLength(2);
    expect(keys[1]).toEqual(initial);
    expect(keys[0]?.kid).not.toBe(initial?.kid);
    expect(secret.versions.get('rotation-1')?.stages.has('AWSCURRENT')).toBe(true);
  });

  test('publishes only the current key and its successor when rotations are a month apart', async () => {
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, target, secretArn, 'request-1', now);
    for (const [i, token] of ['r1', 'r2', 'r3', 'r4'].entries())
      await rotateFully(secret, token, new Date(now.getTime() + (i + 1) * 30 * 86_400_000));
    expect(secret.current()).toHaveLength(2);
    expect(JSON.parse(secret.published!)).toEqual(publicKeyDocument({ keys: secret.current() }));
  });

  test('is safe to retry: a repeated createSecret keeps the pending key, a repeated finishSecret does nothing', async () => {
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, target, secretArn, 'request-1', now);
    secret.startRotation('rotation-1');
    await rotate(step('createSecret', 'rotation-1'), secret, target, now);
    const pending = secret.versions.get('rotation-1')?.value;

    await rotate(step('createSecret', 'rotation-1'), secret, target, now);
    await rotate(step('finishSecret', 'rotation-1'), secret, target, now);
    await rotate(step('finishSecret', 'rotation-1'), secret, target, now);

    expect(secret.versions.get('rotation-1')?.value).toBe(pending);
    expect(secret.versions.get('rotation-1')?.stages.has('AWSCURRENT')).toBe(true);
  });

  test('refuses to run when rotation is off or the token is not the pending version', async () => {
    const secret = new FakeSecret(placeholder);
    secret.startRotation('rotation-1');

    await expect(rotate(step('createSecret', 'unknown-token'), secret, target, now)).rejects.toThrow(
      KeyRotationError,
    );
    secret.rotationEnabled = false;
    await expect(rotate(step('createSecret', 'rotation-1'), secret, target, now)).rejects.toThrow(
      'not enabled',
    );
  });

  test('fails testSecret when the pending version holds no key, so it never becomes current', async () => {
    const secret = new FakeSecret(placeholder);
    secret.startRotation('rotation-1');
    await secret.write(secretArn, { token: 'rotation-1', value: '{"keys":[]}', stages: ['AWSPENDING'] });

    await expect(rotate(step('testSecret', 'rotation-1'), secret, target, now)).rejects.toThrow(
      'holds no key',
    );
  });

  test('refuses to rotate a secret whose current value is corrupt rather than dropping its keys', async () => {
    const secret = new FakeSecret('{"keys":[{"kid":"half-a-key"}]}');
    secret.startRotation('rotation-1');

    await expect(rotate(step('createSecret', 'rotation-1'), secret, target, now)).rejects.toThrow(
      SigningKeySetError,
    );
  });
});

describe('rotation timing on a fake clock: no token is ever rejected', () => {
  const jwt = { issuer: 'https://issuer.example.test', audience: 'account-shield' };
  const publicArn = target.publicKeysSecretId;

  /** GetSecretValue against the fake secrets, as the runtime's key stores call it. */
  const secretsClient = (secret: FakeSecret) =>
    ({
      send: async (command: { input: { SecretId?: string } }) => {
        if (command.input.SecretId === publicArn) return { SecretString: secret.published };
        return { SecretString: JSON.stringify({ keys: secret.current() }) };
      },
    }) as unknown as SecretsManagerClient;

  test('signers, verifiers, the JWKS endpoint and a JWKS-caching authorizer agree through quick and scheduled rotations', async () => {
    const start = Date.parse('2026-11-22T10:00:00.000Z');
    let nowMs = start;
    const clock = () => nowMs;
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, target, secretArn, 'request-1', new Date(nowMs));
    const client = secretsClient(secret);

    // Several instances of each kind, whose caches were filled at different moments (one joins every minute).
    type Signer = ReturnType<typeof createAccessTokens>;
    type Verifier = ReturnType<typeof createAccessTokenVerifier>;
    const signers: Signer[] = [];
    const verifiers: { name: string; verifier: Verifier }[] = [];
    const addInstances = (k: number) => {
      signers.push(
        createAccessTokens(
          createSecretsManagerKeyStore(client, secretArn, clock),
          jwt,
          clock,
          createSecretsManagerPublicKeys(client, publicArn, clock),
        ),
      );
      // A verifying function (sessions, accounts, mfa): the public key set only.
      const publicKeys = createSecretsManagerPublicKeys(client, publicArn, clock);
      verifiers.push({
        name: `api-verifier-${k}`,
        verifier: createAccessTokenVerifier(publicKeys, jwt, clock),
      });
      // A resource server's authorizer: the JWKS served by a JWKS function instance, each with its own cache.
      // No reload on an unknown kid: the timing alone must be enough.
      const jwksFunction = createSecretsManagerPublicKeys(client, publicArn, clock);
      const fetchJwks = (async () =>
        new Response(JSON.stringify({ keys: (await jwksFunction.load()).publicJwks }), {
          headers: { 'content-type': 'application/json' },
        })) as unknown as typeof fetch;
      const remote = createRemoteJwksSource(
        'https://api.example.test/.well-known/jwks.json',
        fetchJwks,
        clock,
      );
      verifiers.push({
        name: `authorizer-${k}`,
        verifier: createAccessTokenVerifier({ load: () => remote.load() }, jwt, clock),
      });
    };

    const minute = 60_000;
    const rotations = new Map<number, string>([
      [20, 'scheduled-1'],
      [23, 'by-hand-right-after'],
      // Soon after the previous new key started signing: its predecessor still has live tokens.
      [40, 'by-hand-again'],
      [95, 'scheduled-2'],
    ]);
    const issued: { token: string; exp: number; kid: string }[] = [];
    const rejected: string[] = [];
    const kidsThatSigned = new Set<string>();
    for (let m = 0; m <= 150; m += 1) {
      nowMs = start + m * minute;
      if (m < 6) addInstances(m);
      const rotation = rotations.get(m);
      if (rotation) await rotateFully(secret, rotation, new Date(nowMs));
      for (const signer of signers) {
        const { token, claims } = await signer.issue({
          userId: 'user-1',
          sessionId: 'session-1',
          tokenVersion: 0,
          issuedAt: Math.floor(nowMs / 1000),
        });
        const kid = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
        kidsThatSigned.add(kid);
        issued.push({ token, exp: claims.exp, kid });
      }
      for (const { token, exp, kid } of issued) {
        if (exp * 1000 <= nowMs) continue;
        for (const { name, verifier } of verifiers) {
          await verifier
            .verify(token)
            .catch(() => rejected.push(`minute ${m}: ${name} rejected a token of ${kid}`));
        }
      }
    }

    expect(rejected).toEqual([]);
    // Every key the rotations made did sign (the set really moved on), and the retired ones left the JWKS.
    expect(kidsThatSigned.size).toBe(5);
    const published = (JSON.parse(secret.published!) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    expect(published).toHaveLength(2);
    expect(published[0]).toBe(secret.current()[0]?.kid);
  });

  test('a key that signed at once after being added would be rejected by verifiers with a cached key set', async () => {
    let nowMs = Date.parse('2026-11-22T10:00:00.000Z');
    const clock = () => nowMs;
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, target, secretArn, 'request-1', new Date(nowMs));
    const client = secretsClient(secret);
    const verifier = createAccessTokenVerifier(
      createSecretsManagerPublicKeys(client, publicArn, clock),
      jwt,
      clock,
    );
    const signer = createAccessTokens(createSecretsManagerKeyStore(client, secretArn, clock), jwt, clock);
    await verifier
      .verify((await signer.issue({ userId: 'u', sessionId: 's', tokenVersion: 0, issuedAt: 1 })).token)
      .catch(() => undefined);
    await rotateFully(secret, 'rotation-1', new Date(nowMs));
    // A signer that has just started (no cache) right after the rotation still signs with the old, cached-everywhere key.
    nowMs += 60_000;
    const fresh = createAccessTokens(createSecretsManagerKeyStore(client, secretArn, clock), jwt, clock);
    const { token } = await fresh.issue({
      userId: 'u',
      sessionId: 's',
      tokenVersion: 0,
      issuedAt: Math.floor(nowMs / 1000),
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'u' });
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe(
      secret.current()[1]?.kid,
    );
  });
});

describe('an RS256 key set (e.g. Security Event Tokens) in its own secrets, rotated by the same steps', () => {
  const rsTarget: KeySetTarget = { algorithm: 'RS256', publicKeysSecretId: target.publicKeysSecretId };

  test('starts with one RS256 key and publishes only its public members', async () => {
    const secret = new FakeSecret(placeholder);

    await putInitialKeyIfMissing(secret, rsTarget, secretArn, 'request-1', now);

    const [key, ...others] = secret.current('RS256');
    expect(others).toEqual([]);
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', activatesAt: now.toISOString() });
    const published = JSON.parse(secret.published!) as { keys: Record<string, unknown>[] };
    expect(published.keys).toEqual([
      { kty: 'RSA', n: key?.kty === 'RSA' ? key.n : '', e: 'AQAB', kid: key?.kid, alg: 'RS256', use: 'sig' },
    ]);
  });

  test('keeps the publication lead and the retention of the ES256 set', async () => {
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, rsTarget, secretArn, 'request-1', now);
    const [initial] = secret.current('RS256');

    await rotateFully(secret, 'rotation-1', now, rsTarget);
    const [added, kept] = secret.current('RS256');
    expect(kept).toEqual(initial);
    expect(added?.activatesAt).toBe(new Date(now.getTime() + KEY_PUBLISH_LEAD_MS).toISOString());

    // A month later the first key is gone; the current key and its successor stay published.
    await rotateFully(secret, 'rotation-2', new Date(now.getTime() + 30 * 86_400_000), rsTarget);
    expect(secret.current('RS256').map((key) => key.kid)).toEqual([expect.any(String), added?.kid]);
    expect(JSON.parse(secret.published!)).toEqual(publicKeyDocument({ keys: secret.current('RS256') }));
  });

  test('refuses to rotate an RS256 secret that holds ES256 keys instead of replacing them', async () => {
    const secret = new FakeSecret(JSON.stringify({ keys: [await generateKey('ES256', now)] }));
    secret.startRotation('rotation-1');

    await expect(rotate(step('createSecret', 'rotation-1'), secret, rsTarget, now)).rejects.toThrow(
      SigningKeySetError,
    );
  });

  test('its runtime stores sign with the RS256 key and verify with the published half', async () => {
    const secret = new FakeSecret(placeholder);
    await putInitialKeyIfMissing(secret, rsTarget, secretArn, 'request-1', now);
    const client = {
      send: async (command: { input: { SecretId?: string } }) =>
        command.input.SecretId === target.publicKeysSecretId
          ? { SecretString: secret.published }
          : { SecretString: JSON.stringify({ keys: secret.current('RS256') }) },
    } as unknown as SecretsManagerClient;
    const clock = () => now.getTime();

    const signing = await createSecretsManagerKeyStore(client, secretArn, clock, 'RS256').load();
    const verifying = await createSecretsManagerPublicKeys(
      client,
      target.publicKeysSecretId,
      clock,
      'RS256',
    ).load();
    const [signer] = signing.signers;
    const token = await new SignJWT({ sub: 'user-1' })
      .setProtectedHeader({ alg: 'RS256', kid: signer!.kid })
      .sign(signer!.key);

    const { payload } = await jwtVerify(token, verifying.verificationKeys.get(signer!.kid)!, {
      algorithms: ['RS256'],
    });
    expect(payload.sub).toBe('user-1');
    // The ES256 stores refuse the RS256 secrets rather than reading them unchecked.
    await expect(createSecretsManagerKeyStore(client, secretArn, clock).load()).rejects.toThrow(
      SigningKeySetError,
    );
    await expect(
      createSecretsManagerPublicKeys(client, target.publicKeysSecretId, clock).load(),
    ).rejects.toThrow(SigningKeySetError);
  });
});

describe('the key rotation function reads which key set it rotates from its environment', () => {
  test('ES256 unless told otherwise, RS256 when told, and a clear error naming a missing or wrong variable', () => {
    expect(keySetTarget({ VERIFICATION_KEYS_SECRET_ARN: 'arn:public' })).toEqual({
      algorithm: 'ES256',
      publicKeysSecretId: 'arn:public',
    });
    expect(
      keySetTarget({ VERIFICATION_KEYS_SECRET_ARN: 'arn:public', SIGNING_KEY_ALGORITHM: 'RS256' }),
    ).toEqual({ algorithm: 'RS256', publicKeysSecretId: 'arn:public' });
    expect(() => keySetTarget({})).toThrow('VERIFICATION_KEYS_SECRET_ARN');
    expect(() => keySetTarget({ VERIFICATION_KEYS_SECRET_ARN: 'a', SIGNING_KEY_ALGORITHM: 'HS256' })).toThrow(
      'SIGNING_KEY_ALGORITHM',
    );
  });
});
