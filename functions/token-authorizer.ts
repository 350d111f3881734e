import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { ApiError } from '../shared/errors.js';
import { authenticate } from '../shared/use-cases/authenticate.js';
import { getDeps, logger } from './commons/runtime.js';

export interface TokenAuthorizerContext {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenVersion: number;
}

type Result = APIGatewaySimpleAuthorizerWithContextResult<TokenAuthorizerContext | Record<string, never>>;

const deny: Result = { isAuthorized: false, context: {} };

/**
 * Lambda authorizer (HTTP API, simple responses) for resource servers behind API Gateway: the same
 * check as GET /v1/auth/session — signature, iss/aud, token version, session, tenant-wide cut-off —
 * with the same revocation cache of at most one second.
 */
export const handler = async (event: APIGatewayRequestAuthorizerEventV2): Promise<Result> => {
  const header = event.headers?.['authorization'] ?? event.identitySource?.[0] ?? '';
  const token = /^Bearer +(\S+) *$/i.exec(header)?.[1];
  if (!token) return deny;
  try {
    const principal = await authenticate(await getDeps(), token);
    return {
      isAuthorized: true,
      context: { userId: principal.userId, sessionId: principal.sessionId, tokenVersion: principal.tokenVersion },
    };
  } catch (error) {
    if (error instanceof ApiError) return deny;
    // An outage must not let tokens through: fail closed, and say why in the log.
    logger.error('token check failed', { error });
    throw error;
  }
};
