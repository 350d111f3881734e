import { isDependencyFailure } from '../aws/dynamodb-errors.js';
import { ApiError, DependencyUnavailableError, InvalidRequestError, OAuthError } from '../errors.js';
import { SsoFlowError } from '../ports/identity-providers.js';
import type { Logger } from '../ports/logger.js';
import type { HttpResult } from './responses.js';

/** The part of the one Logger interface (ports/logger.ts) the error mapping writes to. */
export type ErrorLogger = Pick<Logger, 'error' | 'warn'>;

/**
 * The one place errors become HTTP: ApiErrors as the contract says, AWS/network outages as 503, and
 * everything else as a bare 500 whose details go only to the log.
 */
export function errorToHttpResult(error: unknown, logger: ErrorLogger): HttpResult {
  let apiError: ApiError;
  if (error instanceof OAuthError) {
    return {
      status: error.status,
      body: { error: error.code, error_description: error.description },
      headers: error.headers,
    };
  }
  if (error instanceof ApiError) {
    apiError = error;
  } else if (error instanceof SsoFlowError) {
    // Only start and link routes get here (the callback redirects): the provider could not be reached.
    logger.warn('identity provider failure', { code: error.code, error: error.cause ?? error.message });
    apiError =
      error.code === 'unavailable'
        ? new DependencyUnavailableError(error)
        : new InvalidRequestError('The identity provider refused the request.');
  } else if (isDependencyFailure(error)) {
    logger.warn('dependency unavailable', { error });
    apiError = new DependencyUnavailableError(error);
  } else {
    logger.error('unhandled error', { error });
    return { status: 500, body: { error: 'internal_error', message: 'Internal server error.' } };
  }
  return {
    status: apiError.status,
    body: { error: apiError.code, message: apiError.message, ...apiError.extra },
    headers: apiError.headers,
  };
}
