import { argon2Hasher, passwordBlocklist } from '../shared/composition/passwords.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json } from '../shared/http/responses.js';
import { createAccountBody } from '../shared/http/schemas.js';
import { getProfile, listSecurityEvents, signUp } from '../shared/use-cases/accounts.js';
import { secureAccount } from '../shared/use-cases/secure-account.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ hasher: argon2Hasher, passwordBlocklist });

export const handler = createHttpHandler(
  'accounts',
  {
    'POST /v1/accounts': route({
      body: createAccountBody,
      handle: async ({ body, origin }, deps) => json(201, { user: await signUp(deps, body, origin) }),
    }),
    'GET /v1/me': route({
      handle: async ({ principal }, deps) => json(200, { user: await getProfile(deps, principal.userId) }),
    }),
    'GET /v1/me/security-events': route({
      handle: async ({ principal }, deps) =>
        json(200, { events: await listSecurityEvents(deps, principal.userId) }),
    }),
    'POST /v1/me/secure-account': route({
      handle: async ({ principal, origin }, deps) => json(200, await secureAccount(deps, principal, origin)),
    }),
  },
  getDeps,
  logger,
);
