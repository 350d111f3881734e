import { argon2Hasher } from '../shared/composition/passwords.js';
import { totpSecretBox } from '../shared/composition/totp-secret-box.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json } from '../shared/http/responses.js';
import { loginBody, refreshBody } from '../shared/http/schemas.js';
import { login } from '../shared/use-cases/login.js';
import { refreshSession } from '../shared/use-cases/sessions.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ hasher: argon2Hasher, secretBox: totpSecretBox });

export const handler = createHttpHandler(
  'login',
  {
    'POST /v1/auth/login': route({
      body: loginBody,
      handle: async ({ body, origin }, deps) => json(200, await login(deps, body, origin)),
    }),
    'POST /v1/auth/refresh': route({
      body: refreshBody,
      handle: async ({ body, origin }, deps) =>
        json(200, await refreshSession(deps, body.refreshToken, origin)),
    }),
  },
  getDeps,
  logger,
);
