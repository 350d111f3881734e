import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json } from '../shared/http/responses.js';
import { adminCreateUserBody } from '../shared/http/schemas.js';
import { createAccount } from '../shared/use-cases/accounts.js';
import { getDeps, logger } from './commons/runtime.js';

export const handler = createHttpHandler(
  {
    'POST /v1/admin/users': route({
      body: adminCreateUserBody,
      handle: async ({ body, origin }, deps) => json(201, { user: await createAccount(deps, body, origin) }),
    }),
  },
  getDeps,
  logger,
);
