/**
 * The JWT signing key's life cycle, in one Lambda function:
 * - as a CloudFormation custom resource, it puts the first key into the secret at deploy time;
 * - as the secret's Secrets Manager rotation function, it prepends a fresh key on every rotation.
 *
 * Secret format (read by the token-minting functions' key store): `{"keys": [<ES256 private JWK>, ...]}`, newest
 * first. Every change is also published, public halves only, to a second secret that every verifying function
 * and the JWKS endpoint read (least privilege: they never hold a private key).
 *
 * Timing (docs/adr/0001-token-design.md, "Key rotation"): a new key is published KEY_PUBLISH_LEAD_MS before it
 * may sign (`activatesAt`), so every verifier's cached key set already holds it; a replaced key stays until
 * KEY_RETENTION_AFTER_REPLACEMENT_MS after its successor started signing, so its last tokens verify until they
 * expire. No token is ever rejected because of a rotation.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context, SecretsManagerRotationEvent } from 'aws-lambda';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { KEY_PUBLISH_LEAD_MS, KEY_RETENTION_AFTER_REPLACEMENT_MS } from '../shared/crypto/key-timing.js';

interface SigningKeyJwkBase extends JWK {
  readonly d: string;
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  readonly use: 'sig';
  /** ISO-8601 creation time. */
  readonly createdAt: string;
  /** ISO-8601 time from which the key may sign; absent on keys written before rotation timing (they sign at once). */
  readonly activatesAt?: string;
}

/** The access-token keys (ES256). */
export interface EcSigningKeyJwk extends SigningKeyJwkBase {
  readonly kty: 'EC';
  readonly crv: 'P-256';
  readonly x: string;
  readonly y: string;
  readonly alg: 'ES256';
}

/** i14a: the Security Event Token keys (RS256, 2048-bit), rotated by the same function with KEY_ALGORITHM=RS256. */
export interface RsaSigningKeyJwk extends SigningKeyJwkBase {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly alg: 'RS256';
}

export type SigningKeyJwk = EcSigningKeyJwk | RsaSigningKeyJwk;
export type KeyAlgorithm = SigningKeyJwk['alg'];

/** i14a: which key set this deployment of the function rotates (one function per key set). */
export function configuredKeyAlgorithm(env: NodeJS.ProcessEnv = process.env): KeyAlgorithm {
  return env['KEY_ALGORITHM'] === 'RS256' ? 'RS256' : 'ES256';
}

export interface SigningKeySet {
  readonly keys: readonly SigningKeyJwk[];
}

export class SigningKeySetError extends Error {
  override readonly name = 'SigningKeySetError';
}

export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
}

export async function generateSigningKey(
  now: Date,
  algorithm: KeyAlgorithm = configuredKeyAlgorithm(),
): Promise<SigningKeyJwk> {
  if (algorithm === 'RS256') {
    // i14a: RSA private JWKs carry the CRT members too; jose exports them all.
    const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    const jwk = await exportJWK(privateKey);
    if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e || !jwk.d) {
      throw new SigningKeySetError('jose exported an unexpected key type for RS256');
    }
    const kid = await calculateJwkThumbprint({ kty: jwk.kty, n: jwk.n, e: jwk.e }, 'sha256');
    return {
      ...jwk,
      kty: 'RSA',
      n: jwk.n,
      e: jwk.e,
      d: jwk.d,
      kid,
      alg: 'RS256',
      use: 'sig',
      createdAt: now.toISOString(),
    };
  }
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y || !jwk.d) {
    throw new SigningKeySetError('jose exported an unexpected key type for ES256');
  }
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'sha256');
  return {
    kty: 'EC',
    crv: 'P-256',
    x: jwk.x,
    y: jwk.y,
    d: jwk.d,
    kid,
    alg: 'ES256',
    use: 'sig',
    createdAt: now.toISOString(),
  };
}

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

function isSigningKeyJwk(value: unknown, algorithm: KeyAlgorithm): value is SigningKeyJwk {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  const common =
    key['use'] === 'sig' &&
    isNonEmptyString(key['d']) &&
    isNonEmptyString(key['kid']) &&
    isNonEmptyString(key['createdAt']);
  if (algorithm === 'RS256')
    return (
      common &&
      key['kty'] === 'RSA' &&
      key['alg'] === 'RS256' &&
      isNonEmptyString(key['n']) &&
      isNonEmptyString(key['e'])
    );
  return (
    common &&
    key['kty'] === 'EC' &&
    key['crv'] === 'P-256' &&
    key['alg'] === 'ES256' &&
    isNonEmptyString(key['x']) &&
    isNonEmptyString(key['y'])
  );
}

/**
 * Reads a secret value. The placeholder the stack creates the secret with (`{"keys": [], ...}`) is an empty
 * set; anything else that is not a list of ES256 private JWKs is refused rather than silently replaced, because
 * dropping the current key would invalidate every live access token.
 */
export function parseSigningKeySet(
  secretString: string | undefined,
  algorithm: KeyAlgorithm = configuredKeyAlgorithm(),
): SigningKeySet {
  if (secretString === undefined || secretString === '') return { keys: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new SigningKeySetError('The signing key secret is not JSON');
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new SigningKeySetError('The signing key secret has no "keys" list');
  const invalid = keys.findIndex((key) => !isSigningKeyJwk(key, algorithm));
  if (invalid !== -1)
    throw new SigningKeySetError(
      `keys[${invalid}] is not an ${algorithm} private JWK with kid and createdAt`,
    );
  return { keys: keys as SigningKeyJwk[] };
}

/** Keys written before rotation timing signed from their creation. */
const activationMs = (key: SigningKeyJwk): number => Date.parse(key.activatesAt ?? key.createdAt);

/**
 * When the key at `index` stopped signing: the earliest activation among the newer keys before it in the list
 * (the runtime signs with the newest active key, shared/crypto/key-store.ts signerAt).
 */
function replacedAtMs(keys: readonly SigningKeyJwk[], index: number): number {
  return Math.min(...keys.slice(0, index).map(activationMs));
}

/**
 * The next secret value: the new key first, signing only from `now + KEY_PUBLISH_LEAD_MS`, then every previous
 * key that may still have live tokens (replaced less than KEY_RETENTION_AFTER_REPLACEMENT_MS ago, or not replaced
 * yet because its successor is still waiting to sign).
 */
export function nextSigningKeySet(previous: SigningKeySet, newKey: SigningKeyJwk, now: Date): SigningKeySet {
  const added: SigningKeyJwk = {
    ...newKey,
    activatesAt: new Date(now.getTime() + KEY_PUBLISH_LEAD_MS).toISOString(),
  };
  const keys = [added, ...previous.keys.filter((key) => key.kid !== newKey.kid)];
  return {
    keys: keys.filter(
      (_key, index) =>
        index === 0 || replacedAtMs(keys, index) + KEY_RETENTION_AFTER_REPLACEMENT_MS > now.getTime(),
    ),
  };
}

/** The very first key signs at once: no token exists yet that a verifier could reject. */
export function firstSigningKeySet(key: SigningKeyJwk, now: Date): SigningKeySet {
  return { keys: [{ ...key, activatesAt: now.toISOString() }] };
}

/** What verifiers and the JWKS endpoint get: public members only, no timing metadata. */
export function publicKeyDocument(set: SigningKeySet): { keys: JWK[] } {
  return {
    keys: set.keys.map((key) =>
      key.kty === 'RSA'
        ? { kty: key.kty, n: key.n, e: key.e, kid: key.kid, alg: key.alg, use: key.use }
        : { kty: key.kty, crv: key.crv, x: key.x, y: key.y, kid: key.kid, alg: key.alg, use: key.use },
    ),
  };
}

// ---- Secrets Manager, behind a port so the rotation steps can be tested without AWS --------------------------

/** The few Secrets Manager operations the life cycle needs. */
export interface SigningKeySecrets {
  /** Whether rotation is on, and the staging labels of every version. */
  describe(secretId: string): Promise<{ rotationEnabled: boolean; versionStages: Record<string, string[]> }>;
  /** The value of a version, or undefined when there is no such version or stage. */
  read(secretId: string, version: { stage: string; versionId?: string }): Promise<string | undefined>;
  /** Writes a version; without stages it becomes AWSCURRENT. `token` makes a retried write idempotent. */
  write(secretId: string, version: { token: string; value: string; stages?: string[] }): Promise<void>;
  /** Moves AWSCURRENT to `to` (from `from`, which then becomes AWSPREVIOUS). */
  makeCurrent(secretId: string, move: { to: string; from: string | undefined }): Promise<void>;
  /** Replaces the public key set (the second secret) with `value`. */
  publish(publicSecretId: string, value: string): Promise<void>;
}

export function createSecretsManagerPort(client: SecretsManagerClient): SigningKeySecrets {
  return {
    async describe(secretId) {
      const result = await client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return {
        rotationEnabled: result.RotationEnabled === true,
        versionStages: result.VersionIdsToStages ?? {},
      };
    },
    async read(secretId, version) {
      try {
        const result = await client.send(
          new GetSecretValueCommand({
            SecretId: secretId,
            VersionStage: version.stage,
            VersionId: version.versionId,
          }),
        );
        return result.SecretString;
      } catch (error) {
        if (error instanceof ResourceNotFoundException) return undefined;
        throw error;
      }
    },
    async write(secretId, version) {
      await client.send(
        new PutSecretValueCommand({
          SecretId: secretId,
          ClientRequestToken: version.token,
          SecretString: version.value,
          VersionStages: version.stages,
        }),
      );
    },
    async publish(publicSecretId, value) {
      await client.send(new PutSecretValueCommand({ SecretId: publicSecretId, SecretString: value }));
    },
    async makeCurrent(secretId, move) {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: move.to,
          RemoveFromVersionId: move.from,
        }),
      );
    },
  };
}

// ---- Rotation steps -----------------------------------------------------------------------------------------

/** Where the public halves go: the second secret, named by the function's environment. */
export interface PublicKeyTarget {
  readonly publicKeysSecretId: string;
}

async function publish(secrets: SigningKeySecrets, target: PublicKeyTarget, set: SigningKeySet) {
  await secrets.publish(target.publicKeysSecretId, JSON.stringify(publicKeyDocument(set)));
}

async function createPendingVersion(
  secrets: SigningKeySecrets,
  target: PublicKeyTarget,
  secretId: string,
  token: string,
  now: Date,
) {
  const pending = await secrets.read(secretId, { stage: 'AWSPENDING', versionId: token });
  if (pending !== undefined) {
    // A retried createSecret: the pending key exists; make sure it was published.
    return publish(secrets, target, parseSigningKeySet(pending));
  }
  const current = parseSigningKeySet(await secrets.read(secretId, { stage: 'AWSCURRENT' }));
  const next = nextSigningKeySet(current, await generateSigningKey(now), now);
  // Published first: the lead before the new key signs counts from here, and a key that never becomes current
  // (a failed rotation) is harmless in the public set.
  await publish(secrets, target, next);
  await secrets.write(secretId, { token, value: JSON.stringify(next), stages: ['AWSPENDING'] });
}

async function checkPendingVersion(secrets: SigningKeySecrets, secretId: string, token: string) {
  const pending = parseSigningKeySet(await secrets.read(secretId, { stage: 'AWSPENDING', versionId: token }));
  if (pending.keys.length === 0) throw new KeyRotationError('The pending signing key secret holds no key');
}

async function promotePendingVersion(
  secrets: SigningKeySecrets,
  target: PublicKeyTarget,
  secretId: string,
  token: string,
) {
  const { versionStages } = await secrets.describe(secretId);
  const current = Object.entries(versionStages).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
  if (current !== token) await secrets.makeCurrent(secretId, { to: token, from: current });
  await publish(secrets, target, parseSigningKeySet(await secrets.read(secretId, { stage: 'AWSCURRENT' })));
}

/** One step of a Secrets Manager rotation (createSecret, setSecret, testSecret, finishSecret). */
export async function rotate(
  event: SecretsManagerRotationEvent,
  secrets: SigningKeySecrets,
  target: PublicKeyTarget,
  now: Date = new Date(),
): Promise<void> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  const { rotationEnabled, versionStages } = await secrets.describe(secretId);
  if (!rotationEnabled) throw new KeyRotationError('Rotation is not enabled on the signing key secret');
  const stages = versionStages[token];
  if (!stages) throw new KeyRotationError('The rotation token is not a version of the signing key secret');
  if (stages.includes('AWSCURRENT')) return; // Already finished: a retried step.
  if (!stages.includes('AWSPENDING')) throw new KeyRotationError('The rotation version is not AWSPENDING');

  switch (step) {
    case 'createSecret':
      return createPendingVersion(secrets, target, secretId, token, now);
    case 'setSecret': {
      // The downstream copy is the public key set: (re)publish the pending keys.
      const pending = await secrets.read(secretId, { stage: 'AWSPENDING', versionId: token });
      return publish(secrets, target, parseSigningKeySet(pending));
    }
    case 'testSecret':
      // There is no external system to log in to; checking that the pending value is a usable key set is
      // the meaningful test before it becomes current.
      return checkPendingVersion(secrets, secretId, token);
    case 'finishSecret':
      return promotePendingVersion(secrets, target, secretId, token);
  }
}

// ---- CloudFormation custom resource: the first key at deploy ----------------------------------------------

export interface InitialKeyProperties {
  readonly ServiceToken: string;
  readonly SecretArn: string;
}

/** At creation the secret holds the stack's generated placeholder, which may not parse as a key set. */
function parseSigningKeySetOrEmpty(secretString: string | undefined): SigningKeySet {
  try {
    return parseSigningKeySet(secretString);
  } catch {
    return { keys: [] };
  }
}

/**
 * Puts a first key unless the secret already holds one (a re-run must never sign everyone out), and publishes the
 * public halves of whatever the secret then holds.
 */
export async function putInitialKeyIfMissing(
  secrets: SigningKeySecrets,
  target: PublicKeyTarget,
  secretArn: string,
  requestId: string,
  now: Date = new Date(),
): Promise<void> {
  const current = parseSigningKeySetOrEmpty(await secrets.read(secretArn, { stage: 'AWSCURRENT' }));
  if (current.keys.length > 0) return publish(secrets, target, current);
  const first = firstSigningKeySet(await generateSigningKey(now), now);
  // Published first, so no function can sign with a key the verifiers cannot find.
  await publish(secrets, target, first);
  // No stages: the new version becomes AWSCURRENT. The request id makes CloudFormation's retries idempotent.
  await secrets.write(secretArn, { token: requestId, value: JSON.stringify(first) });
}

export type CloudFormationResponder = (
  event: CloudFormationCustomResourceEvent,
  body: { Status: 'SUCCESS' | 'FAILED'; Reason: string; PhysicalResourceId: string },
) => Promise<void>;

/** PUTs the outcome to the pre-signed S3 URL CloudFormation waits on. */
export const respondToCloudFormation: CloudFormationResponder = async (event, body) => {
  const payload = JSON.stringify({
    ...body,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  const response = await fetch(event.ResponseURL, {
    method: 'PUT',
    // The pre-signed S3 URL is signed without a content type.
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(payload)) },
    body: payload,
  });
  if (!response.ok)
    throw new KeyRotationError(`CloudFormation response upload failed with ${response.status}`);
};

/** Always answers CloudFormation, so a failure fails the deployment at once instead of after an hour. */
export async function handleCustomResource(
  event: CloudFormationCustomResourceEvent<InitialKeyProperties>,
  context: Pick<Context, 'logStreamName'>,
  secrets: SigningKeySecrets,
  target: PublicKeyTarget,
  respond: CloudFormationResponder = respondToCloudFormation,
): Promise<void> {
  const secretArn = event.ResourceProperties.SecretArn;
  const physicalResourceId = event.RequestType === 'Create' ? secretArn : event.PhysicalResourceId;
  try {
    // Update and Delete leave the keys alone: the secret's own removal policy decides their fate.
    if (event.RequestType !== 'Delete')
      await putInitialKeyIfMissing(secrets, target, secretArn, event.RequestId);
    await respond(event, { Status: 'SUCCESS', Reason: 'OK', PhysicalResourceId: physicalResourceId });
  } catch (error) {
    // Never echo key material: only the error's name and message, which carry no secret value.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'Unknown error';
    console.error(JSON.stringify({ message: 'Initial signing key failed', reason }));
    await respond(event, {
      Status: 'FAILED',
      Reason: `${reason} (log stream ${context.logStreamName})`,
      PhysicalResourceId: physicalResourceId,
    });
  }
}

// ---- Lambda entry point ---------------------------------------------------------------------------------------

const secretsManager = createSecretsManagerPort(new SecretsManagerClient({}));

/** Read on the first invocation (not at import, so tests can import this module without the variable). */
function publicKeyTarget(): PublicKeyTarget {
  const publicKeysSecretId = process.env['VERIFICATION_KEYS_SECRET_ARN'];
  if (!publicKeysSecretId) throw new KeyRotationError('VERIFICATION_KEYS_SECRET_ARN is not set');
  return { publicKeysSecretId };
}

export async function handler(
  event: SecretsManagerRotationEvent | CloudFormationCustomResourceEvent<InitialKeyProperties>,
  context: Context,
): Promise<void> {
  if ('RequestType' in event) return handleCustomResource(event, context, secretsManager, publicKeyTarget());
  return rotate(event, secretsManager, publicKeyTarget());
}
