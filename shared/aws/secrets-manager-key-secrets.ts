import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

/**
 * Port: the few Secrets Manager operations a key set's life cycle needs (functions/key-rotation.ts), so the rotation
 * steps can be tested without AWS.
 */
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

export function createSecretsManagerKeySecrets(client: SecretsManagerClient): SigningKeySecrets {
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
