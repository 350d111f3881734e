import { z } from 'zod';

/**
 * Form-encoded bodies of the OAuth endpoints (RFC 6749, 7009, 7662, 8628). Unknown parameters are ignored as
 * the RFCs require, so these objects are not strict; the grant's own parameters are checked by its use-case.
 */
const param = z.string().max(4096);
const clientAuth = { client_id: z.string().max(128).optional(), client_secret: param.optional() };

export const tokenForm = z.object({
  ...clientAuth,
  grant_type: z.string().min(1, 'Required.').max(128),
  code: param.optional(),
  redirect_uri: param.optional(),
  code_verifier: param.optional(),
  refresh_token: param.optional(),
  device_code: param.optional(),
  scope: z.string().max(1024).optional(),
});

export const deviceAuthorizationForm = z.object({ ...clientAuth, scope: z.string().max(1024).optional() });

export const tokenStatusForm = z.object({
  ...clientAuth,
  token: z.string().min(1, 'Required.').max(4096),
  token_type_hint: z.string().max(64).optional(),
});
