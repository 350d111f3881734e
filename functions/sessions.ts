import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json, noContent } from '../shared/http/responses.js';
import {
  describeSession,
  endSession,
  listSessions,
  logout,
  revokeAllSessions,
} from '../shared/use-cases/sessions.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** No optional adapter: none of this function's routes hashes, mails, or uses KMS, Lambda or SSO providers. */
const getDeps = createDepsLoader({});

export const handler = createHttpHandler(
  'sessions',
  {
    'POST /v1/auth/logout': route({
      handle: async ({ principal, origin }, deps) => {
        await logout(deps, principal, origin);
        return noContent();
      },
    }),
    'GET /v1/auth/session': route({
      handle: async ({ principal }) => json(200, describeSession(principal)),
    }),
    'GET /v1/auth/sessions': route({
      handle: async ({ principal }, deps) => json(200, { sessions: await listSessions(deps, principal) }),
    }),
    'DELETE /v1/auth/sessions/{id}': route({
      handle: async ({ principal, pathParameters, origin }, deps) => {
        await endSession(deps, principal, pathParameters['id'] ?? '', origin);
        return noContent();
      },
    }),
    'POST /v1/auth/revoke-all': route({
      handle: async ({ principal, origin }, deps) => {
        await revokeAllSessions(deps, principal, origin);
        return noContent();
      },
    }),
  },
  getDeps,
  logger,
);
