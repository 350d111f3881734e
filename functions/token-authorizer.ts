import { Logger } from '@aws-lambda-powertools/logger';
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
  Context,
} from 'aws-lambda';
import { z } from 'zod';
import { createAwsClients } from '../shared/aws/clients.js';
import { awsRequestTimeoutSetting } from '../shared/config.js';
import { createAccessTokenVerifier } from '../shared/crypto/access-tokens.js';
import { createRemoteJwksSource } from '../shared/crypto/remote-jwks.js';
import { ApiError } from '../shared/errors.js';
import { type Clock, systemClock } from '../shared/ports/clock.js';
import { createRevocationStateReader } from '../shared/stores/revocation-state.js';
import { DynamoDbTenantPolicyStore } from '../shared/stores/tenant-policy-store.js';
import { authenticate } from '../shared/use-cases/authenticate.js';

/**
 * The authorizer runs next to resource servers, so it gets only what a token check needs: the public
 * JWKS (never the signing secret), read access to three tables, and no argon2, mail or queue.
 */
const authorizerConfig = z.object({
  USERS_TABLE: z.string().min(1),
  SESSIONS_TABLE: z.string().min(1),
  RECORDS_TABLE: z.string().min(1),
  JWKS_URL: z.string().url(),
  JWT_ISSUER: z.string().min(1),
  JWT_AUDIENCE: z.string().min(1),
  REVOCATION_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(500),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  AWS_REQUEST_TIMEOUT_MS: awsRequestTimeoutSetting,
});

export interface TokenAuthorizerContext {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenVersion: number;
}

type Result = APIGatewaySimpleAuthorizerWithContextResult<TokenAuthorizerContext | Record<string, never>>;

const logger = new Logger({ serviceName: 'account-shield-authorizer' });

function createChecker(env: NodeJS.ProcessEnv, clock: Clock) {
  const parsed = authorizerConfig.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `Invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const config = parsed.data;
  const { dynamodb } = createAwsClients({
    region: config.AWS_REGION,
    endpoints: { dynamodb: config.DYNAMODB_ENDPOINT },
    awsRequestTimeoutMs: config.AWS_REQUEST_TIMEOUT_MS,
  });
  const tenantPolicy = new DynamoDbTenantPolicyStore(dynamodb, config.RECORDS_TABLE);
  return {
    clock,
    accessTokens: createAccessTokenVerifier(createRemoteJwksSource(config.JWKS_URL), {
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    }),
    revocation: createRevocationStateReader({
      db: dynamodb,
      tables: { users: config.USERS_TABLE, sessions: config.SESSIONS_TABLE },
      tenantPolicy,
      clock,
      maxAgeMs: config.REVOCATION_CACHE_MS,
    }),
  };
}

const deny: Result = { isAuthorized: false, context: {} };

/**
 * Lambda authorizer (HTTP API, simple responses) for resource servers behind API Gateway: the same
 * check as GET /v1/auth/session — signature, iss/aud, token version, session, tenant-wide cut-off —
 * with a revocation cache of at most one second. `clock` is a seam for tests of the cache's lifetime.
 */
export function createTokenAuthorizer(options: { readonly clock?: Clock } = {}) {
  let checker: ReturnType<typeof createChecker> | undefined;
  return async (event: APIGatewayRequestAuthorizerEventV2, context?: Context): Promise<Result> => {
    // One invocation at a time per instance: the context (request id) on the logger is this invocation's.
    if (context) logger.addContext(context);
    checker ??= createChecker(process.env, options.clock ?? systemClock);
    const header = event.headers?.['authorization'] ?? event.identitySource?.[0] ?? '';
    const token = /^Bearer +(\S+) *$/i.exec(header)?.[1];
    if (!token) return deny;
    try {
      const principal = await authenticate(checker, token);
      return {
        isAuthorized: true,
        context: {
          userId: principal.userId,
          sessionId: principal.sessionId,
          tokenVersion: principal.tokenVersion,
        },
      };
    } catch (error) {
      if (error instanceof ApiError) return deny;
      // An outage must not let tokens through: fail closed, and say why in the log.
      logger.error('token check failed', { error });
      throw error;
    }
  };
}

export const handler = createTokenAuthorizer();
