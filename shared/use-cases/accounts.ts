import { randomUUID } from 'node:crypto';
import { normaliseEmail, normaliseUsername } from '../domain/identifiers.js';
import type { RequestOrigin, SecurityEvent } from '../domain/security-event.js';
import { type AuthMethod, type PublicUser, toPublicUser, type UserRecord } from '../domain/user.js';
import { AccountExistsError, NotFoundError, TooManyRequestsError } from '../errors.js';
import { recordEvent } from './audit.js';
import type { Deps } from './deps.js';
import { acceptablePassword } from './password-acceptance.js';

export interface NewAccount {
  readonly email: string;
  readonly username?: string;
  readonly authMethod: AuthMethod;
  /** Required for password accounts, absent for SSO accounts. */
  readonly password?: string;
}

/**
 * Self sign-up: a per-source limit first, taken by one conditional write, so a flood of sign-ups costs
 * neither argon2 work nor accounts.
 */
export async function signUp(
  deps: Parameters<typeof createAccount>[0] & Pick<Deps, 'throttles' | 'config'>,
  input: Omit<NewAccount, 'authMethod'> & { readonly password: string },
  origin: RequestOrigin,
): Promise<PublicUser> {
  const nowMs = deps.clock.now().getTime();
  const allowed = await deps.throttles.tryTake(
    'signup-ip',
    origin.ip ?? 'unknown',
    deps.config.signUpMaxPerIpPerHour,
    3600,
    nowMs,
  );
  if (!allowed) {
    throw new TooManyRequestsError(
      3600 - ((nowMs / 1000) % 3600),
      'Too many sign-ups from this network. Try again later.',
    );
  }
  return createAccount(deps, { ...input, authMethod: 'password' }, origin);
}

/**
 * Self sign-up and admin creation share this: the cheap checks (policy, then whether the email or username
 * is taken; sign-up answers 409 for that anyway, so looking first reveals nothing more) before any argon2
 * work, then the hash and one uniqueness transaction (which still decides races).
 */
export async function createAccount(
  deps: Pick<Deps, 'users' | 'hasher' | 'clock' | 'events' | 'passwordBlocklist' | 'breachedPasswords'>,
  input: NewAccount,
  origin: RequestOrigin,
): Promise<PublicUser> {
  const email = normaliseEmail(input.email);
  const username = input.username === undefined ? undefined : normaliseUsername(input.username);
  const now = deps.clock.now();
  let password: string | undefined;
  if (input.authMethod === 'password') {
    password = await acceptablePassword(deps, input.password ?? '', { email, username });
  }
  const taken = await Promise.all([
    deps.users.findUserId({ kind: 'email', value: email }),
    username === undefined ? undefined : deps.users.findUserId({ kind: 'username', value: username }),
  ]);
  if (taken.some((userId) => userId !== undefined)) throw new AccountExistsError();
  const passwordHash = password === undefined ? undefined : await deps.hasher.hash(password);
  const user: UserRecord = {
    userId: randomUUID(),
    email,
    ...(username ? { username } : {}),
    authMethod: input.authMethod,
    ...(passwordHash ? { passwordHash, passwordSetAt: now.getTime() } : {}),
    tokenVersion: 0,
    mustResetPassword: false,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  };
  await deps.users.create(user);
  await recordEvent(deps, user.userId, 'account_created', origin, { authMethod: input.authMethod });
  return toPublicUser(user);
}

export async function getProfile(deps: Pick<Deps, 'users'>, userId: string): Promise<PublicUser> {
  const user = await deps.users.get(userId);
  if (!user) throw new NotFoundError('The account no longer exists.');
  return toPublicUser(user);
}

const MAX_LISTED_EVENTS = 100;

/**
 * The account's own audit trail, plus the tenant-wide incidents that covered it: those wrote nothing per
 * account (that is what makes them O(1)), so they are read from the incidents and shown to every account that
 * existed when they were declared.
 */
export async function listSecurityEvents(
  deps: Pick<Deps, 'events' | 'incidents' | 'users'>,
  userId: string,
): Promise<SecurityEvent[]> {
  const [own, user, incidents] = await Promise.all([
    deps.events.listNewestFirst(userId),
    deps.users.get(userId),
    deps.incidents.listNewestFirst(MAX_LISTED_EVENTS).then((page) => page.items),
  ]);
  const createdAt = user ? Date.parse(user.createdAt) : Number.POSITIVE_INFINITY;
  const tenantWide: SecurityEvent[] = incidents
    .filter(
      (incident) =>
        incident.scope.type === 'all' &&
        (incident.actions.forcePasswordReset || incident.actions.revokeSessions) &&
        incident.createdAtMs > createdAt,
    )
    .map((incident) => ({
      type: 'incident_action',
      at: incident.createdAt,
      ip: null,
      userAgent: null,
      detail: {
        incidentId: incident.id,
        forcedPasswordReset: incident.actions.forcePasswordReset && user?.authMethod === 'password',
        revokedSessions: incident.actions.revokeSessions,
      },
    }));
  return [...own, ...tenantWide].sort((a, b) => b.at.localeCompare(a.at)).slice(0, MAX_LISTED_EVENTS);
}
