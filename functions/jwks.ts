import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json } from '../shared/http/responses.js';
import { getDeps, logger } from './commons/runtime.js';

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
