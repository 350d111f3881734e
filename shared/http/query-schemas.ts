import { z } from 'zod';

/** Query of `GET /v1/auth/sso/{id}/start`; `returnTo` is checked further by safeReturnTo (same-origin paths only). */
// The same bounds as `deviceName` in request bodies (shared/http/schemas.ts).
const deviceName = z.string().trim().min(1).max(100);

export const ssoStartQuery = z.object({
  returnTo: z.string().max(512).optional(),
  deviceName: deviceName.optional(),
});
