import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { SecretBox } from '../ports/secret-box.js';

/** `kms2` adds the owner to the encryption context; `kms1` ciphertexts (before that) still open, unbound. */
const VERSION = 'kms2';
const LEGACY_UNBOUND = 'kms1';
/** Bound into every ciphertext; the stack's key grants require it (infra/workloads.ts). */
export const TOTP_ENCRYPTION_CONTEXT = { purpose: 'account-shield-totp' } as const;

/** KMS refuses to decrypt unless the same context is given, so a ciphertext opens only for its owner. */
const contextFor = (boundTo: string) => ({ ...TOTP_ENCRYPTION_CONTEXT, boundTo });

/** TOTP seeds encrypted with a customer-managed KMS key; the encryption context binds them to this use. */
export function createKmsSecretBox(kms: KMSClient, keyId: string): SecretBox {
  return {
    async seal(plaintext, boundTo) {
      const result = await kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from(plaintext, 'utf8'),
          EncryptionContext: contextFor(boundTo),
        }),
      );
      return `${VERSION}.${Buffer.from(result.CiphertextBlob!).toString('base64')}`;
    },
    async open(ciphertext, boundTo) {
      const [version, blob] = ciphertext.split('.');
      if ((version !== VERSION && version !== LEGACY_UNBOUND) || !blob) {
        throw new Error('Unrecognised sealed secret');
      }
      const result = await kms.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: Buffer.from(blob, 'base64'),
          EncryptionContext: version === VERSION ? contextFor(boundTo) : TOTP_ENCRYPTION_CONTEXT,
        }),
      );
      return Buffer.from(result.Plaintext!).toString('utf8');
    },
  };
}
