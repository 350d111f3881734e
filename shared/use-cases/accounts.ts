import { randomUUID } from 'node:crypto';
import { normaliseEmail, normaliseUsername } from '../domain/identifiers.js';
import { type AuthMethod, type PublicUser, toPublicUser, type UserRecord } from '../domain/user.js';
import { NotFoundError } from '../errors.js';
import type { RequestOrigin, SecurityEvent } from '../stores/security-events-store.js';
import type { Deps } from './deps.js';
import { acceptablePassword } from './password-acceptance.js';

export interface NewAccount {
  readonly email: string;
  readonly username?: string;
  readonly authMethod: AuthMethod;
  /** Required for password accounts, absent for SSO accounts. */
  readonly password?: string;
}

/** Self sign-up and admin creation share this: policy check, hash, then one uniqueness transaction. */
export async function createAccount(
  deps: Pick<Deps, 'users' | 'hasher' | 'clock' | 'events' | 'passwordBlocklist' | 'breachedPasswords'>,
  input: NewAccount,
  origin: RequestOrigin,
): Promise<PublicUser> {
  const email = normaliseEmail(input.email);
  const username = input.username === undefined ? undefined : normaliseUsername(input.username);
  const now = deps.clock.now();
  let passwordHash: string | undefined;
  if (input.authMethod === 'password') {
    const password = await acceptablePassword(deps, input.password ?? '', { email, username });
    passwordHash = await deps.hasher.hash(password);
  }
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

/** Security events are an audit aid: failing to write one must not fail the user's action. */
export async function recordEvent(
  deps: Pick<Deps, 'events' | 'clock'>,
  userId: string,
  type: SecurityEvent['type'],
  origin: RequestOrigin,
  detail: SecurityEvent['detail'] = {},
): Promise<void> {
  await deps.events
    .record(userId, {
      type,
      at: deps.clock.now().toISOString(),
      ip: origin.ip,
      userAgent: origin.userAgent,
      detail,
    })
    .catch(() => undefined);
}
