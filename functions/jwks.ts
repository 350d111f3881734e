import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json } from '../shared/http/responses.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** No optional adapter: none of this function's routes hashes, mails, or uses KMS, Lambda or SSO providers. */
const getDeps = createDepsLoader({});

export const handler = createHttpHandler(
  'jwks',
  {
    'GET /.well-known/jwks.json': route({
      handle: async (_request, deps) => json(200, { keys: (await deps.publicKeys.load()).publicJwks }),
    }),
  },
  getDeps,
  logger,
);
