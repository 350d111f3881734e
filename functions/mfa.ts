import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json, noContent } from '../shared/http/responses.js';
import { totpConfirmBody, totpDisableBody, totpSetupBody } from '../shared/http/schemas.js';
import { confirmTotp, disableTotp, setupTotp } from '../shared/use-cases/mfa.js';
import { getDeps, logger } from './commons/runtime.js';

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
