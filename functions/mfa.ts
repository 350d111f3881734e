import { argon2Hasher } from '../shared/composition/passwords.js';
import { totpSecretBox } from '../shared/composition/totp-secret-box.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json, noContent } from '../shared/http/responses.js';
import { totpConfirmBody, totpDisableBody, totpSetupBody } from '../shared/http/schemas.js';
import { confirmTotp, disableTotp, setupTotp } from '../shared/use-cases/mfa.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ hasher: argon2Hasher, secretBox: totpSecretBox });

export const handler = createHttpHandler(
  'mfa',
  {
    'POST /v1/auth/mfa/totp/setup': route({
      body: totpSetupBody,
      handle: async ({ body, principal, origin }, deps) =>
        json(200, await setupTotp(deps, principal.userId, body.password, origin)),
    }),
    'POST /v1/auth/mfa/totp/confirm': route({
      body: totpConfirmBody,
      handle: async ({ body, principal, origin }, deps) =>
        json(200, await confirmTotp(deps, principal.userId, body.otp, origin)),
    }),
    'DELETE /v1/auth/mfa/totp': route({
      body: totpDisableBody,
      handle: async ({ body, principal, origin }, deps) => {
        await disableTotp(deps, principal.userId, body, origin);
        return noContent();
      },
    }),
  },
  getDeps,
  logger,
);
