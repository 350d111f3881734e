import { argon2Hasher, passwordBlocklist } from '../shared/composition/passwords.js';
import { totpSecretBox } from '../shared/composition/totp-secret-box.js';
import { createHttpHandler, route } from '../shared/http/http-api.js';
import { json } from '../shared/http/responses.js';
import { changePasswordBody, forgotPasswordBody, resetPasswordBody } from '../shared/http/schemas.js';
import { changePassword, forgotPassword, resetPassword } from '../shared/use-cases/password.js';
import { createDepsLoader, logger } from './commons/runtime.js';

/** Only the optional adapters this function's routes use (shared/composition/compose.ts). */
const getDeps = createDepsLoader({ hasher: argon2Hasher, passwordBlocklist, secretBox: totpSecretBox });

export const FORGOT_PASSWORD_ACCEPTED = {
  message: 'If an account exists for this email, we have sent instructions to it. Check your inbox.',
} as const;

export const handler = createHttpHandler(
  'password',
  {
    'POST /v1/auth/password/forgot': route({
      body: forgotPasswordBody,
      handle: async ({ body, origin }, deps) => {
        await forgotPassword(deps, body.email, origin);
        return json(202, FORGOT_PASSWORD_ACCEPTED);
      },
    }),
    'POST /v1/auth/password/reset': route({
      body: resetPasswordBody,
      handle: async ({ body, origin }, deps) => json(200, await resetPassword(deps, body, origin)),
    }),
    'POST /v1/auth/password/change': route({
      body: changePasswordBody,
      handle: async ({ body, principal, origin }, deps) =>
        json(200, await changePassword(deps, principal, body, origin)),
    }),
  },
  getDeps,
  logger,
);
