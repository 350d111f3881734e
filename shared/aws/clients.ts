import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.js';

export interface AwsClients {
  readonly dynamodb: DynamoDBDocumentClient;
  /** The low-level client under `dynamodb`, for libraries that marshal items themselves (Powertools idempotency). */
  readonly dynamodbClient: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
}

/**
 * Built once per cold start; the clients only some functions use (SES, KMS, Lambda) are built by their own
 * adapters (shared/composition/). Every client has a request timeout so a hung dependency turns into a
 * 503 within the Lambda's time budget instead of a timeout with no answer.
 */
export function createAwsClients(
  config: Pick<Config, 'region' | 'endpoints' | 'awsRequestTimeoutMs'>,
): AwsClients {
  const common = {
    region: config.region,
    maxAttempts: 3,
    // throwOnRequestTimeout: without it the SDK (smithy node-http-handler 4.x) only logs a warning and waits on.
    requestHandler: {
      requestTimeout: config.awsRequestTimeoutMs,
      connectionTimeout: 1_000,
      throwOnRequestTimeout: true,
    },
  };
  const dynamodbClient = new DynamoDBClient({ ...common, endpoint: config.endpoints.dynamodb });
  return {
    dynamodb: DynamoDBDocumentClient.from(dynamodbClient, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    dynamodbClient,
    sqs: new SQSClient({ ...common, endpoint: config.endpoints.sqs }),
    secretsManager: new SecretsManagerClient(common),
  };
}
