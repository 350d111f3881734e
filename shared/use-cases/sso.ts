import { randomSecret, sha256Hex } from '../crypto/secrets.js';
import type { RequestOrigin } from '../domain/security-event.js';
import {
  decideLink,
  decideSignIn,
  type FederatedIdentity,
  SSO_FLOW_LIFETIME_SECONDS,
  SSO_LOGIN_CODE_LIFETIME_SECONDS,
  safeReturnTo,
} from '../domain/sso.js';
import type { UserRecord } from '../domain/user.js';
import { AccountExistsError, InvalidSsoCodeError, NotFoundError } from '../errors.js';
import { type IdentityProviderInfo, SsoFlowError } from '../ports/identity-providers.js';
import { createAccount } from './accounts.js';
import { recordEvent } from './audit.js';
import type { Principal } from './authenticate.js';
import type { Deps } from './deps.js';
import { type CodeSignInDeps, startSession, type TokenResponse } from './session-tokens.js';

export const SSO_BINDING_COOKIE = 'account_shield_sso';
export const SSO_COOKIE_PATH = '/v1/auth/sso/';

export interface SsoProviderListing {
  readonly id: string;
  readonly displayName: string;
  readonly startUrl: string;
}

export function listSsoProviders(deps: Pick<Deps, 'identityProviders'>): SsoProviderListing[] {
  return deps.identityProviders.list().map((p) => ({
    id: p.id,
    displayName: p.displayName,
    startUrl: `/v1/auth/sso/${p.id}/start`,
  }));
}

export interface StartedFlow {
  readonly authorizationUrl: string;
  /** Goes into the HttpOnly cookie; only its hash is stored with the flow. */
  readonly browserBinding: string;
}

type StartDeps = Pick<Deps, 'identityProviders' | 'ssoFlows' | 'clock' | 'config'>;

function providerOrNotFound(deps: Pick<Deps, 'identityProviders'>, providerId: string): IdentityProviderInfo {
  const provider = deps.identityProviders.get(providerId);
  if (!provider) throw new NotFoundError('No identity provider with this id is configured.');
  return provider;
}

export const ssoCallbackUrl = (deps: Pick<Deps, 'config'>, providerId: string): string =>
  `${deps.config.sso.apiBaseUrl}/v1/auth/sso/${providerId}/callback`;

async function startFlow(
  deps: StartDeps,
  providerId: string,
  flow: { returnTo: string; deviceName: string | null; linkUserId: string | null },
): Promise<StartedFlow> {
  providerOrNotFound(deps, providerId);
  const state = randomSecret(32);
  const nonce = randomSecret(32);
  const codeVerifier = randomSecret(32);
  const browserBinding = randomSecret(32);
  // Discovery first: a provider that is down answers 503 before anything is stored.
  const url = await deps.identityProviders.authorizationUrl(providerId, {
    state,
    nonce,
    codeVerifier,
    redirectUri: ssoCallbackUrl(deps, providerId),
  });
  await deps.ssoFlows.create(sha256Hex(state), {
    providerId,
    codeVerifier,
    nonce,
    bindingHash: sha256Hex(browserBinding),
    returnTo: flow.returnTo,
    deviceName: flow.deviceName,
    linkUserId: flow.linkUserId,
    expiresAt: Math.floor(deps.clock.now().getTime() / 1000) + SSO_FLOW_LIFETIME_SECONDS,
  });
  return { authorizationUrl: url.href, browserBinding };
}

/** `GET /v1/auth/sso/{id}/start`: a sign-in at the provider, bound to this browser. */
export function startSsoSignIn(
  deps: StartDeps,
  providerId: string,
  input: { returnTo?: string; deviceName?: string },
): Promise<StartedFlow> {
  return startFlow(deps, providerId, {
    returnTo: safeReturnTo(input.returnTo),
    deviceName: input.deviceName ?? null,
    linkUserId: null,
  });
}

/** `POST /v1/auth/sso/{id}/link`: the signed-in owner adds a provider identity to their account. */
export function startSsoLink(
  deps: StartDeps,
  principal: Principal,
  providerId: string,
): Promise<StartedFlow> {
  return startFlow(deps, providerId, {
    returnTo: '/security',
    deviceName: null,
    linkUserId: principal.userId,
  });
}

type CallbackDeps = Pick<
  Deps,
  | 'identityProviders'
  | 'ssoFlows'
  | 'ssoLinks'
  | 'ssoLoginCodes'
  | 'users'
  | 'clock'
  | 'config'
  | 'events'
  | 'throttles'
  | 'hasher'
  | 'passwordBlocklist'
  | 'breachedPasswords'
>;

export interface CallbackInput {
  readonly providerId: string;
  /** The query string the provider sent the browser back with. */
  readonly rawQueryString: string;
  readonly state: string | undefined;
  /** The browser-binding cookie, if the browser sent one. */
  readonly browserBinding: string | undefined;
}

const errorRedirect = (deps: Pick<Deps, 'config'>, code: string): string =>
  `${deps.config.publicAppUrl}/login#sso_error=${encodeURIComponent(code)}`;

/**
 * `GET /v1/auth/sso/{id}/callback`: always a redirect location, to `/login#sso_code=` on success or
 * `/login#sso_error=` (or `/security#sso_linked=` after linking). Failures never reach the error mapper, so
 * a browser is never left on a JSON page; only our own dependencies failing (DynamoDB) still throw.
 */
export async function completeSsoCallback(
  deps: CallbackDeps,
  input: CallbackInput,
  origin: RequestOrigin,
): Promise<string> {
  try {
    return await callback(deps, input, origin);
  } catch (error) {
    if (error instanceof SsoFlowError) return errorRedirect(deps, error.code);
    throw error;
  }
}

async function callback(deps: CallbackDeps, input: CallbackInput, origin: RequestOrigin): Promise<string> {
  const provider = providerOrNotFound(deps, input.providerId);
  const nowMs = deps.clock.now().getTime();
  const window = deps.config.attempts.windowSeconds;
  const allowed = await deps.throttles.tryTake(
    'sso-callback-ip',
    origin.ip ?? 'unknown',
    deps.config.sso.callbackMaxPerIp,
    window,
    nowMs,
  );
  if (!allowed) throw new SsoFlowError('too_many_requests', 'Too many sign-in attempts from this address.');
  if (
    !input.state ||
    !input.browserBinding ||
    input.state.length > 512 ||
    input.browserBinding.length > 512
  ) {
    throw new SsoFlowError('invalid_state', 'This sign-in was not started in this browser.');
  }
  const consumed = await deps.ssoFlows.consume(
    sha256Hex(input.state),
    sha256Hex(input.browserBinding),
    nowMs,
  );
  if (consumed.kind === 'expired') throw new SsoFlowError('expired', 'The sign-in took too long.');
  if (consumed.kind === 'invalid' || consumed.flow.providerId !== provider.id) {
    throw new SsoFlowError(
      'invalid_state',
      'This sign-in was not started in this browser, or was already used.',
    );
  }
  const flow = consumed.flow;
  const callbackUrl = new URL(ssoCallbackUrl(deps, provider.id));
  callbackUrl.search = input.rawQueryString;
  const identity = await deps.identityProviders.completeAuthorization(provider.id, {
    callbackUrl,
    expectedState: input.state,
    expectedNonce: flow.nonce,
    codeVerifier: flow.codeVerifier,
  });

  if (flow.linkUserId !== null) {
    await linkToSignedInAccount(deps, provider, identity, flow.linkUserId, origin);
    return `${deps.config.publicAppUrl}/security#sso_linked=${encodeURIComponent(provider.id)}`;
  }

  const user = await resolveAccount(deps, provider, identity, origin);
  const code = randomSecret(32);
  await deps.ssoLoginCodes.create(sha256Hex(code), {
    userId: user.userId,
    providerId: provider.id,
    deviceName: flow.deviceName,
    expiresAt: Math.floor(nowMs / 1000) + SSO_LOGIN_CODE_LIFETIME_SECONDS,
  });
  return `${deps.config.publicAppUrl}/login#sso_code=${code}&returnTo=${encodeURIComponent(flow.returnTo)}`;
}

async function linkToSignedInAccount(
  deps: CallbackDeps,
  provider: IdentityProviderInfo,
  identity: FederatedIdentity,
  userId: string,
  origin: RequestOrigin,
): Promise<void> {
  const decision = decideLink(await deps.ssoLinks.findUserId(identity), userId);
  if (decision === 'refuse') {
    throw new SsoFlowError('already_linked', 'This identity is already linked to another account.');
  }
  if (decision === 'already_done') return;
  const outcome = await deps.ssoLinks.link(userId, provider.id, identity, deps.clock.now(), {
    requireSsoAccount: false,
  });
  if (outcome !== 'linked') {
    throw new SsoFlowError('already_linked', 'This identity or provider is already linked.');
  }
  await recordEvent(deps, userId, 'sso_linked', origin, {
    provider: provider.displayName,
    description: `Linked ${provider.displayName} for sign-in`,
  });
}

/** Applies the linking rules (shared/domain/sso.ts); at most one retry when a concurrent sign-in won a race. */
async function resolveAccount(
  deps: CallbackDeps,
  provider: IdentityProviderInfo,
  identity: FederatedIdentity,
  origin: RequestOrigin,
  attempt = 0,
): Promise<UserRecord> {
  const linkedUserId = await deps.ssoLinks.findUserId(identity);
  const accountWithEmail =
    linkedUserId === undefined && identity.email !== undefined && identity.emailVerified
      ? await deps.users.findByIdentifier({ kind: 'email', value: identity.email })
      : undefined;
  const decision = decideSignIn(identity, { linkedUserId, accountWithEmail, jitCreate: provider.jitCreate });
  const retry = () => {
    if (attempt > 0) throw new SsoFlowError('not_linked', 'The identity could not be linked to an account.');
    return resolveAccount(deps, provider, identity, origin, attempt + 1);
  };

  let userId: string;
  switch (decision.kind) {
    case 'refuse':
      if (accountWithEmail) {
        // The owner of a password account sees that someone presented its email at a provider.
        await recordEvent(deps, accountWithEmail.userId, 'login_failed', origin, {
          reason: 'sso_not_linked',
          provider: provider.displayName,
        });
      }
      throw new SsoFlowError(decision.reason, 'No account is linked to this identity.');
    case 'sign_in':
      userId = decision.userId;
      break;
    case 'link_and_sign_in': {
      const outcome = await deps.ssoLinks.link(decision.userId, provider.id, identity, deps.clock.now(), {
        requireSsoAccount: true,
      });
      if (outcome === 'identity_taken' || outcome === 'account_mismatch') return retry();
      if (outcome === 'provider_taken') {
        throw new SsoFlowError('not_linked', 'Another identity of this provider is linked to the account.');
      }
      await recordEvent(deps, decision.userId, 'sso_linked', origin, {
        provider: provider.displayName,
        description: `Linked ${provider.displayName} on first sign-in`,
      });
      userId = decision.userId;
      break;
    }
    case 'create': {
      try {
        const created = await createAccount(deps, { email: decision.email, authMethod: 'sso' }, origin);
        userId = created.id;
      } catch (error) {
        if (error instanceof AccountExistsError) return retry();
        throw error;
      }
      const outcome = await deps.ssoLinks.link(userId, provider.id, identity, deps.clock.now(), {
        requireSsoAccount: true,
      });
      if (outcome !== 'linked') return retry();
      break;
    }
  }
  const user = await deps.users.get(userId);
  if (!user) throw new SsoFlowError('not_linked', 'The linked account no longer exists.');
  return user;
}

/** `POST /v1/auth/sso/exchange`: the one-time code from the callback, for a normal session. */
export async function exchangeSsoCode(
  deps: CodeSignInDeps & Pick<Deps, 'ssoLoginCodes' | 'identityProviders'>,
  input: { code: string; deviceName?: string },
  origin: RequestOrigin,
): Promise<TokenResponse> {
  const record = await deps.ssoLoginCodes.consume(sha256Hex(input.code), deps.clock.now().getTime());
  if (!record) throw new InvalidSsoCodeError();
  const user = await deps.users.get(record.userId);
  if (!user) throw new InvalidSsoCodeError();
  const deviceName = input.deviceName ?? record.deviceName ?? undefined;
  const tokens = await startSession(deps, user, deviceName);
  const displayName = deps.identityProviders.get(record.providerId)?.displayName ?? record.providerId;
  await recordEvent(deps, user.userId, 'login_succeeded', origin, {
    method: 'sso',
    provider: displayName,
    description: `Signed in with ${displayName}`,
    sessionId: tokens.sessionId,
    deviceName: deviceName ?? null,
  });
  return tokens;
}

export interface SsoLinkListing {
  readonly providerId: string;
  readonly displayName: string;
  readonly linkedAt: string;
}

export async function listSsoLinks(
  deps: Pick<Deps, 'ssoLinks' | 'identityProviders'>,
  principal: Principal,
): Promise<SsoLinkListing[]> {
  const links = await deps.ssoLinks.listForUser(principal.userId);
  return links.map((link) => ({
    providerId: link.providerId,
    // A provider removed from the configuration still shows, by id, so the owner knows it exists.
    displayName: deps.identityProviders.get(link.providerId)?.displayName ?? link.providerId,
    linkedAt: link.linkedAt,
  }));
}
