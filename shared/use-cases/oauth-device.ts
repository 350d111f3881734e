import { constantTimeEqual, randomSecret, sha256Hex } from '../crypto/secrets.js';
import {
  DEVICE_CODE_GRANT,
  formatUserCode,
  generateUserCode,
  grantedScopes,
  normaliseUserCode,
  type OAuthClient,
  USER_CODE_ALPHABET,
  USER_CODE_LENGTH,
} from '../domain/oauth.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { NotFoundError, OAuthError, TooManyRequestsError } from '../errors.js';
import type { DeviceAuthorizationRecord } from '../ports/device-authorizations-store.js';
import { recordEvent } from './audit.js';
import type { Principal } from './authenticate.js';
import type { Deps } from './deps.js';
import { requireGrant } from './oauth-clients.js';
import { type OAuthTokenResponse, toOAuthTokenResponse } from './oauth-tokens.js';
import { type CodeSignInDeps, startSession } from './session-tokens.js';

/** RFC 8628 3.2. */
export interface DeviceAuthorizationResponse {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete: string;
  readonly expires_in: number;
  readonly interval: number;
}

/** POST /oauth2/device_authorization: a TV, console or media server asks for a code to show. */
export async function startDeviceAuthorization(
  deps: Pick<Deps, 'deviceAuthorizations' | 'clock' | 'config'>,
  client: OAuthClient,
  requestedScope: string | undefined,
): Promise<DeviceAuthorizationResponse> {
  requireGrant(client, DEVICE_CODE_GRANT);
  const scope = grantedScopes(client, requestedScope);
  if (scope === undefined)
    throw new OAuthError('invalid_scope', 'A requested scope is not registered for this client.');
  const { deviceCodeTtlSeconds: ttl, devicePollIntervalSeconds: interval } = deps.config.oauth;
  const now = deps.clock.now();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const secret = randomSecret(32);
  // 2.56e10 codes: a collision with a live one is rare; a few draws make failing here practically impossible.
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const userCode = generateUserCode();
    const created = await deps.deviceAuthorizations.create(
      {
        userCode,
        deviceSecretHash: sha256Hex(secret),
        clientId: client.clientId,
        clientName: client.name,
        scope,
        status: 'pending',
        intervalSeconds: interval,
        createdAt: now.toISOString(),
        expiresAt: nowSeconds + ttl,
      },
      nowSeconds,
    );
    if (!created) continue;
    const verificationUri = `${deps.config.publicAppUrl}/device`;
    const shown = formatUserCode(userCode);
    return {
      device_code: `${userCode}.${secret}`,
      user_code: shown,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${shown}`,
      expires_in: ttl,
      interval,
    };
  }
  throw new Error('Could not draw a free user code in 5 attempts');
}

type DeviceDeps = Pick<Deps, 'deviceAuthorizations' | 'throttles' | 'clock' | 'config' | 'events'>;

/**
 * Finds a live pending authorization by the code a signed-in person typed. User codes are short, so wrong
 * codes are counted per account and per source address, and the limit applies before any lookup.
 */
async function findPending(
  deps: DeviceDeps,
  principal: Principal,
  typed: string,
  origin: RequestOrigin,
): Promise<DeviceAuthorizationRecord> {
  const nowMs = deps.clock.now().getTime();
  const limits = deps.config.oauth.userCodeThrottle;
  // Reserved before the lookup (a conditional write below the limit), so parallel guesses cannot exceed it; a right
  // code gives its slots back, so only wrong codes stay counted.
  const windowEndsAt = (Math.floor(nowMs / 1000 / limits.windowSeconds) + 1) * limits.windowSeconds;
  const [accountOk, ipOk] = await Promise.all([
    deps.throttles.tryTake(
      'user-code-account',
      principal.userId,
      limits.maxFailuresPerAccount,
      limits.windowSeconds,
      nowMs,
    ),
    deps.throttles.tryTake(
      'user-code-ip',
      origin.ip ?? 'unknown',
      limits.maxFailuresPerIp,
      limits.windowSeconds,
      nowMs,
    ),
  ]);
  if (!accountOk || !ipOk) {
    throw new TooManyRequestsError(windowEndsAt - nowMs / 1000, 'Too many wrong codes. Try again later.');
  }
  const userCode = normaliseUserCode(typed);
  const record = userCode === undefined ? undefined : await deps.deviceAuthorizations.get(userCode);
  if (record?.status !== 'pending' || record.expiresAt * 1000 <= nowMs) {
    throw new NotFoundError('This code is unknown or has expired. Check the code on your device.');
  }
  await Promise.all([
    deps.throttles.giveBack('user-code-account', principal.userId, limits.windowSeconds, nowMs),
    deps.throttles.giveBack('user-code-ip', origin.ip ?? 'unknown', limits.windowSeconds, nowMs),
  ]);
  return record;
}

export async function lookupDeviceAuthorization(
  deps: DeviceDeps,
  principal: Principal,
  typed: string,
  origin: RequestOrigin,
) {
  const record = await findPending(deps, principal, typed, origin);
  return {
    request: {
      userCode: formatUserCode(record.userCode),
      clientName: record.clientName,
      expiresAt: new Date(record.expiresAt * 1000).toISOString(),
    },
  };
}

/** "Allow" / "Deny" on /device or by API: once, by a signed-in user, while the code lives. */
export async function decideDeviceAuthorization(
  deps: DeviceDeps,
  principal: Principal,
  typed: string,
  decision: 'approved' | 'denied',
  origin: RequestOrigin,
): Promise<void> {
  const record = await findPending(deps, principal, typed, origin);
  const decided = await deps.deviceAuthorizations.decide({
    userCode: record.userCode,
    userId: principal.userId,
    tokenVersion: principal.tokenVersion,
    decision,
    nowMs: deps.clock.now().getTime(),
  });
  if (!decided)
    throw new NotFoundError('This code is unknown or has expired. Check the code on your device.');
  await recordEvent(
    deps,
    principal.userId,
    decision === 'approved' ? 'device_approved' : 'device_denied',
    origin,
    {
      clientId: record.clientId,
      clientName: record.clientName,
    },
  );
}

const DEVICE_CODE = new RegExp(`^([${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}})\\.([A-Za-z0-9_-]{43})$`);

/** RFC 8628 3.4/3.5: the device polls the token endpoint with its device code. */
export async function deviceCodeGrant(
  deps: CodeSignInDeps & Pick<Deps, 'deviceAuthorizations'>,
  client: OAuthClient,
  deviceCode: string | undefined,
  origin: RequestOrigin,
): Promise<OAuthTokenResponse> {
  requireGrant(client, DEVICE_CODE_GRANT);
  if (!deviceCode) throw new OAuthError('invalid_request', 'device_code is required.');
  const invalid = () => new OAuthError('invalid_grant', 'The device code is invalid or was already used.');
  const match = DEVICE_CODE.exec(deviceCode);
  if (!match) throw invalid();
  const [, userCode, secret] = match as unknown as [string, string, string];
  const record = await deps.deviceAuthorizations.get(userCode);
  if (
    !record ||
    record.clientId !== client.clientId ||
    !constantTimeEqual(record.deviceSecretHash, sha256Hex(secret))
  ) {
    throw invalid();
  }
  const nowMs = deps.clock.now().getTime();
  if (record.expiresAt * 1000 <= nowMs) {
    throw new OAuthError('expired_token', 'The device code has expired. Start again.');
  }
  const polled = await deps.deviceAuthorizations.poll(record, nowMs);
  if (polled.kind === 'unknown') throw invalid();
  if (polled.kind === 'too_fast') {
    throw new OAuthError('slow_down', 'Polling too often: wait 5 more seconds between requests from now on.');
  }
  const current = polled.record;
  if (current.status === 'pending') {
    throw new OAuthError('authorization_pending', 'The user has not approved the request yet.');
  }
  if (current.status === 'denied') throw new OAuthError('access_denied', 'The user denied the request.');
  if (current.status !== 'approved' || !current.userId) throw invalid();
  if (!(await deps.deviceAuthorizations.consume(current.userCode, Math.floor(nowMs / 1000)))) throw invalid();
  const [user, tenant] = await Promise.all([deps.users.get(current.userId), deps.revocation.readTenant()]);
  const cutOff = tenant.revokeTokensIssuedBefore;
  // Signed out everywhere (or a scope-all incident) after approving: the approval went with the old sessions.
  if (
    !user ||
    user.tokenVersion > (current.approvedTokenVersion ?? user.tokenVersion) ||
    (cutOff !== undefined && (current.decidedAtMs ?? 0) < cutOff)
  ) {
    throw invalid();
  }
  const deviceName = `${current.clientName} (device)`;
  const tokens = await startSession(deps, user, deviceName, undefined, {
    clientId: client.clientId,
    scope: current.scope,
  });
  await recordEvent(deps, user.userId, 'login_succeeded', origin, {
    sessionId: tokens.sessionId,
    deviceName,
    clientId: client.clientId,
    grant: 'device_code',
  });
  return toOAuthTokenResponse(tokens, current.scope);
}
