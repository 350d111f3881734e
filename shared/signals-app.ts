/**
 * Composition root of the Shared Signals transmitter (functions/ssf.ts, signals-fanout.ts, signals-delivery.ts):
 * kept beside shared/app.ts rather than in it, so functions that never touch SETs never load or hold the SET keys.
 */
import type { AwsClients } from './aws/clients.js';
import {
  createSecretsManagerKeyStore,
  createSecretsManagerPublicKeys,
} from './aws/secrets-manager-key-store.js';
import { createSqsSignalQueue } from './aws/sqs-signal-queue.js';
import type { Config } from './config.js';
import { createFileKeyStore, type KeyStore, type PublicKeySource, publicKeysOf } from './crypto/key-store.js';
import { createSetSigner, SET_SIGNING_ALGORITHM, type SetSigner } from './crypto/security-event-tokens.js';
import type { Clock } from './ports/clock.js';
import type { SignalQueue } from './ports/signal-queue.js';
import type { SignalStreamsStore } from './ports/signal-streams-store.js';
import {
  createReceiverUrlChecker,
  createSetPusher,
  type ReceiverUrlChecker,
  type SetPusher,
} from './signals/set-push.js';
import { DynamoDbSignalStreamsStore } from './stores/signal-streams-store.js';

export interface SignalDeps {
  readonly streams: SignalStreamsStore;
  readonly setSigner: SetSigner;
  /** The SSF jwks_uri's keys (RS256 public JWKs only). */
  readonly setPublicKeys: PublicKeySource;
  readonly signalQueue: SignalQueue;
  readonly receiverUrls: ReceiverUrlChecker;
  readonly pusher: SetPusher;
}

const fails = (what: string) => () => Promise.reject(new Error(`This function has no ${what}`));

export function createSignalDeps(config: Config, clients: AwsClients, clock: Clock): SignalDeps {
  const nowMs = () => clock.now().getTime();
  const keys = config.signals.keys;
  let keyStore: KeyStore | undefined;
  let publicKeys: PublicKeySource;
  if (keys.source === 'file') {
    keyStore = createFileKeyStore(keys.file, SET_SIGNING_ALGORITHM);
    publicKeys = publicKeysOf(keyStore);
  } else {
    keyStore = keys.secretArn
      ? createSecretsManagerKeyStore(clients.secretsManager, keys.secretArn, nowMs, SET_SIGNING_ALGORITHM)
      : undefined;
    publicKeys = keys.publicKeysSecretArn
      ? createSecretsManagerPublicKeys(
          clients.secretsManager,
          keys.publicKeysSecretArn,
          nowMs,
          SET_SIGNING_ALGORITHM,
        )
      : { load: fails('SET verification keys (SET_VERIFICATION_KEYS_SECRET_ARN)') };
  }
  const policy = { allowLoopback: config.signals.allowLoopbackReceivers };
  return {
    streams: new DynamoDbSignalStreamsStore(clients.dynamodb, config.tables.records),
    setSigner: keyStore
      ? createSetSigner(keyStore, config.jwt.issuer.replace(/\/+$/, ''), nowMs)
      : { sign: fails('SET signing key (SET_SIGNING_KEY_SECRET_ARN)') },
    setPublicKeys: publicKeys,
    signalQueue: createSqsSignalQueue(clients.sqs, config.signals.queueUrl),
    receiverUrls: createReceiverUrlChecker(policy),
    pusher: createSetPusher(policy, config.signals.pushTimeoutMs),
  };
}
