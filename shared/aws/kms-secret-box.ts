import { DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { SecretBox } from '../ports/secret-box.js';

const VERSION = 'kms1';
/** Bound into every ciphertext; the stack's key grants require it (infra/workloads.ts). */
export const TOTP_ENCRYPTION_CONTEXT = { purpose: 'account-shield-totp' } as const;

/** TOTP seeds encrypted with a customer-managed KMS key; the encryption context binds them to this use. */
export function createKmsSecretBox(kms: KMSClient, keyId: string): SecretBox {
  return {
    async seal(plaintext) {
      const result = await kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from(plaintext, 'utf8'),
          EncryptionContext: TOTP_ENCRYPTION_CONTEXT,
        }),
      );
      return `${VERSION}.${Buffer.from(result.CiphertextBlob!).toString('base64')}`;
    },
    async open(ciphertext) {
      const [version, blob] = ciphertext.split('.');
      if (version !== VERSION || !blob) throw new Error('Unrecognised sealed secret');
      const result = await kms.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: Buffer.from(blob, 'base64'),
          EncryptionContext: TOTP_ENCRYPTION_CONTEXT,
        }),
      );
      return Buffer.from(result.Plaintext!).toString('utf8');
    },
  };
}
