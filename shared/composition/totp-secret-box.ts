import { dirname, join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { createKmsSecretBox } from '../aws/kms-secret-box.js';
import type { Config } from '../config.js';
import { createLocalSecretBox } from '../crypto/local-secret-box.js';
import type { SecretBox } from '../ports/secret-box.js';

/** TOTP secrets at rest: KMS on AWS, a local key file next to the signing key file otherwise. */
export function totpSecretBox(config: Config): SecretBox {
  return config.totpKmsKeyId
    ? createKmsSecretBox(new KMSClient({ region: config.region }), config.totpKmsKeyId)
    : createLocalSecretBox(
        join(dirname(config.signingKey.source === 'file' ? config.signingKey.file : '.'), 'totp-secret.key'),
      );
}
