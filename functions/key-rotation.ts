/**
 * A signing key set's life cycle, in one Lambda function:
 * - as a CloudFormation custom resource, it puts the first key into the secret at deploy time;
 * - as the secret's Secrets Manager rotation function, it prepends a fresh key on every rotation.
 *
 * The key format, validation and rotation rule live in shared/crypto/signing-key-set.ts; this file keeps only the
 * steps. Every change is also published, public halves only, to a second secret that every verifying function and
 * the JWKS endpoint read (least privilege: they never hold a private key). The same function rotates any key set:
 * its environment names the algorithm (SIGNING_KEY_ALGORITHM, ES256 for access tokens) and the public key secret.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context, SecretsManagerRotationEvent } from 'aws-lambda';
import { z } from 'zod';
import {
  type CloudFormationResponder,
  respondToCloudFormation,
} from '../shared/aws/cloudformation-response.js';
import {
  createSecretsManagerKeySecrets,
  type SigningKeySecrets,
} from '../shared/aws/secrets-manager-key-secrets.js';
import {
  firstSigningKeySet,
  generateSigningKey,
  nextSigningKeySet,
  parseSigningKeySet,
  publicKeyDocument,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
  type SigningKeySet,
} from '../shared/crypto/signing-key-set.js';
import { createLogger } from '../shared/logging.js';
import type { Logger } from '../shared/ports/logger.js';

export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
}

/** Which key set a deployment of this function looks after: its algorithm and where its public halves go. */
export interface KeySetTarget {
  readonly algorithm: SigningAlgorithm;
  readonly publicKeysSecretId: string;
}

async function publish(secrets: SigningKeySecrets, target: KeySetTarget, set: SigningKeySet) {
  await secrets.publish(target.publicKeysSecretId, JSON.stringify(publicKeyDocument(set)));
}

// ---- Rotation steps -----------------------------------------------------------------------------------------

async function createPendingVersion(
  secrets: SigningKeySecrets,
  target: KeySetTarget,
  secretId: string,
  token: string,
  now: Date,
) {
  const pending = await secrets.read(secretId, { stage: 'AWSPENDING', versionId: token });
  if (pending !== undefined) {
    // A retried createSecret: the pending key exists; make sure it was published.
    return publish(secrets, target, parseSigningKeySet(target.algorithm, pending));
  }
  const current = parseSigningKeySet(target.algorithm, await secrets.read(secretId, { stage: 'AWSCURRENT' }));
  const next = nextSigningKeySet(current, await generateSigningKey(target.algorithm, now), now);
  // Published first: the lead before the new key signs counts from here, and a key that never becomes current
  // (a failed rotation) is harmless in the public set.
  await publish(secrets, target, next);
  await secrets.write(secretId, { token, value: JSON.stringify(next), stages: ['AWSPENDING'] });
}

async function checkPendingVersion(
  secrets: SigningKeySecrets,
  target: KeySetTarget,
  secretId: string,
  token: string,
) {
  const pending = parseSigningKeySet(
    target.algorithm,
    await secrets.read(secretId, { stage: 'AWSPENDING', versionId: token }),
  );
  if (pending.keys.length === 0) throw new KeyRotationError('The pending signing key secret holds no key');
}

async function promotePendingVersion(
  secrets: SigningKeySecrets,
  target: KeySetTarget,
  secretId: string,
  token: string,
) {
  const { versionStages } = await secrets.describe(secretId);
  const current = Object.entries(versionStages).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
  if (current !== token) await secrets.makeCurrent(secretId, { to: token, from: current });
  const promoted = await secrets.read(secretId, { stage: 'AWSCURRENT' });
  await publish(secrets, target, parseSigningKeySet(target.algorithm, promoted));
}

/** One step of a Secrets Manager rotation (createSecret, setSecret, testSecret, finishSecret). */
export async function rotate(
  event: SecretsManagerRotationEvent,
  secrets: SigningKeySecrets,
  target: KeySetTarget,
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
      return publish(secrets, target, parseSigningKeySet(target.algorithm, pending));
    }
    case 'testSecret':
      // There is no external system to log in to; checking that the pending value is a usable key set is
      // the meaningful test before it becomes current.
      return checkPendingVersion(secrets, target, secretId, token);
    case 'finishSecret':
      return promotePendingVersion(secrets, target, secretId, token);
  }
}

// ---- CloudFormation custom resource: the first key at deploy ----------------------------------------------

export interface InitialKeyProperties {
  readonly ServiceToken: string;
  readonly SecretArn: string;
}

/**
 * Puts a first key unless the secret already holds one (a re-run must never sign everyone out), and publishes the
 * public halves of whatever the secret then holds.
 */
export async function putInitialKeyIfMissing(
  secrets: SigningKeySecrets,
  target: KeySetTarget,
  secretArn: string,
  requestId: string,
  now: Date = new Date(),
): Promise<void> {
  const value = await secrets.read(secretArn, { stage: 'AWSCURRENT' });
  let current: SigningKeySet;
  try {
    current = parseSigningKeySet(target.algorithm, value);
  } catch {
    // At creation the secret holds the stack's generated placeholder, which may not parse as a key set.
    current = { keys: [] };
  }
  if (current.keys.length > 0) return publish(secrets, target, current);
  const first = firstSigningKeySet(await generateSigningKey(target.algorithm, now), now);
  // Published first, so no function can sign with a key the verifiers cannot find.
  await publish(secrets, target, first);
  // No stages: the new version becomes AWSCURRENT. The request id makes CloudFormation's retries idempotent.
  await secrets.write(secretArn, { token: requestId, value: JSON.stringify(first) });
}

/** Always answers CloudFormation, so a failure fails the deployment at once instead of after an hour. */
export async function handleCustomResource(
  event: CloudFormationCustomResourceEvent<InitialKeyProperties>,
  context: Pick<Context, 'logStreamName'>,
  secrets: SigningKeySecrets,
  target: KeySetTarget,
  respond: CloudFormationResponder = respondToCloudFormation,
  log: Pick<Logger, 'error'> = logger,
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
    log.error('Initial signing key failed', { reason });
    await respond(event, {
      Status: 'FAILED',
      Reason: `${reason} (log stream ${context.logStreamName})`,
      PhysicalResourceId: physicalResourceId,
    });
  }
}

// ---- Lambda entry point ---------------------------------------------------------------------------------------

const logger = createLogger(process.env['LOG_LEVEL']);
const secretsManager = createSecretsManagerKeySecrets(new SecretsManagerClient({}));

const environment = z.object({
  VERIFICATION_KEYS_SECRET_ARN: z.string().min(1),
  SIGNING_KEY_ALGORITHM: z.enum(SIGNING_ALGORITHMS).default('ES256'),
});

/** Read on the first invocation (not at import, so tests can import this module without the variables). */
export function keySetTarget(env: NodeJS.ProcessEnv): KeySetTarget {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const names = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.')))].join(', ');
    throw new KeyRotationError(`Invalid configuration of the key rotation: ${names}`);
  }
  return {
    algorithm: parsed.data.SIGNING_KEY_ALGORITHM,
    publicKeysSecretId: parsed.data.VERIFICATION_KEYS_SECRET_ARN,
  };
}

export async function handler(
  event: SecretsManagerRotationEvent | CloudFormationCustomResourceEvent<InitialKeyProperties>,
  context: Context,
): Promise<void> {
  const target = keySetTarget(process.env);
  if ('RequestType' in event) return handleCustomResource(event, context, secretsManager, target);
  return rotate(event, secretsManager, target);
}
