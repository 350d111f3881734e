import {
  type Counts,
  counterName,
  type IncidentRecord,
  type IncidentScope,
  isIncidentId,
  type NewIncident,
  newIncidentId,
  roundCounts,
  type SettlementView,
} from '../domain/incident.js';
import type { RequestOrigin } from '../domain/security-event.js';
import { TENANT_EVENTS_ID } from '../domain/security-signals.js';
import type { UserRecord } from '../domain/user.js';
import { InvalidRequestError, NotFoundError } from '../errors.js';
import type { CreateIncidentBody } from '../http/incident-schemas.js';
import type { Logger } from '../ports/logger.js';
import { recordEvent } from './audit.js';
import type { Deps } from './deps.js';
import { queueSecurityNotice } from './notices.js';
import { resolveScopedAccounts } from './scoped-audience.js';

/**
 * Breach incidents (docs/adr/0004-incidents-and-campaigns.md): declare one, and its effects apply before the
 * API answers; its notification campaign is left to the dispatcher and the notifier.
 */

/** Events an incident writes into users' audit trails: the operator's address is nobody else's business. */
const OPERATOR_ORIGIN: RequestOrigin = { ip: null, userAgent: null };
/** Per-account effects of a scoped incident run this many at a time: fast, without a burst on one partition. */
const SCOPED_EFFECT_CONCURRENCY = 10;
const LIST_LIMIT = 100;

export interface ReminderView {
  readonly round: number;
  readonly status: 'scheduled' | 'running' | 'completed' | 'cancelled';
  readonly scheduledFor: string | null;
  readonly completedAt: string | null;
  readonly counts: Counts;
}

export interface IncidentView {
  readonly id: string;
  readonly title: string;
  readonly status: IncidentRecord['status'];
  readonly createdAt: string;
  readonly sendAt: string | null;
  readonly scope: IncidentScope;
  readonly actions: IncidentRecord['actions'];
  readonly notify: IncidentRecord['notify'];
  /** The notification round: exact (targeted = sent + skipped + failed) once the status is `completed`. */
  readonly counts: Counts & { readonly effectsApplied?: number };
  /** Listed audience (`scope: list`): entries received so far, duplicates and unknown ones included. */
  readonly audience?: { readonly total: number; readonly chunks: number };
  /** Reminder rounds, counted apart so that `counts` stays about the notification. */
  readonly reminders: readonly ReminderView[];
}

type IncidentDeps = Pick<
  Deps,
  | 'config'
  | 'clock'
  | 'users'
  | 'tenantPolicy'
  | 'revocation'
  | 'events'
  | 'incidents'
  | 'audience'
  | 'dispatcherTrigger'
  | 'notifications'
>;

const EMPTY_SETTLEMENT: SettlementView = { byRound: new Map(), lastActivityAt: 0 };

function toIncidentView(item: IncidentRecord, settlement: SettlementView): IncidentView {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  const reminders: ReminderView[] = [];
  for (let round = 1; round <= item.round; round += 1) {
    const times = item.rounds?.[String(round)];
    const current = round === item.round;
    let status: ReminderView['status'];
    if (times?.completedAt !== undefined) status = 'completed';
    else if (item.remindersCancelled || item.status === 'cancelled') status = 'cancelled';
    else if (current && item.phase === 'waiting') status = 'scheduled';
    else status = 'running';
    reminders.push({
      round,
      status,
      scheduledFor: current && item.phase === 'waiting' ? iso(item.dueAt) : iso(times?.startedAt),
      completedAt: iso(times?.completedAt),
      counts: roundCounts(item, settlement, round),
    });
  }
  const listed = item.scope.type === 'list';
  return {
    id: item.id,
    title: item.title,
    status: item.status,
    createdAt: item.createdAt,
    sendAt: item.sendAt,
    scope: item.scope,
    actions: item.actions,
    notify: item.notify,
    counts: {
      ...roundCounts(item, settlement, 0),
      ...(listed ? { effectsApplied: item[counterName(0, 'effects')] ?? 0 } : {}),
    },
    ...(listed ? { audience: { total: item.audienceTotal ?? 0, chunks: item.audienceChunks ?? 0 } } : {}),
    reminders,
  };
}

export async function viewOf(deps: Pick<Deps, 'incidents'>, item: IncidentRecord): Promise<IncidentView> {
  const settlement = item.notify.enabled ? await deps.incidents.settlement(item.id) : EMPTY_SETTLEMENT;
  return toIncidentView(item, settlement);
}

/** Runs `task` over `items`, at most `limit` at once. */
async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next]!;
      next += 1;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * What the incident does to accounts, applied before it is recorded (so a retry after a crash re-applies
 * idempotent effects instead of leaving a recorded incident whose effects never happened).
 * - scope all: two tenant-wide cut-offs, one write each, whatever the number of accounts.
 * - scoped: per account, the forced-reset flag (password accounts only: SSO accounts have no password) and a
 *   token-version bump, with an `incident_action` event in the account's audit trail.
 */
async function applyEffects(
  deps: IncidentDeps,
  incident: Pick<NewIncident, 'id' | 'scope' | 'actions' | 'createdAtMs'>,
) {
  const { forcePasswordReset, revokeSessions } = incident.actions;
  if (!forcePasswordReset && !revokeSessions) return;
  // A listed audience's effects are applied by the dispatcher after the close (dispatch-campaigns.ts).
  if (incident.scope.type === 'list') return;
  if (incident.scope.type === 'all') {
    if (forcePasswordReset)
      await deps.tenantPolicy.raise('forceResetPasswordsSetBefore', incident.createdAtMs);
    if (revokeSessions) await deps.tenantPolicy.raise('revokeTokensIssuedBefore', incident.createdAtMs);
    // forget() also drops this process's cached tenant policy, so this Lambda enforces the new cut-offs at once.
    deps.revocation.forget('');
    // one tenant-wide security event (not one per account), which the Shared Signals fan-out turns into one
    // SET per stream with the tenant as subject (docs/adr/0011-security-signals.md).
    if (forcePasswordReset || revokeSessions) {
      await recordEvent(deps, TENANT_EVENTS_ID, 'incident_action', OPERATOR_ORIGIN, {
        incidentId: incident.id,
        scope: 'all',
        forcedPasswordReset: forcePasswordReset,
        revokedSessions: revokeSessions,
      });
    }
    return;
  }
  const accounts = await resolveScopedAccounts(deps, incident.scope);
  const now = new Date(incident.createdAtMs);
  await forEachBounded(accounts, SCOPED_EFFECT_CONCURRENCY, async (account) => {
    const resetsPassword = forcePasswordReset && account.authMethod === 'password';
    if (!resetsPassword && !revokeSessions) return;
    try {
      if (resetsPassword) await deps.users.setMustResetPassword(account.userId, { revokeSessions, now });
      else await deps.users.bumpTokenVersionReturningUser(account.userId, now);
    } catch (error) {
      // Deleted between the lookup and the write: nothing left to protect.
      if (error instanceof NotFoundError) return;
      throw error;
    }
    deps.revocation.forget(account.userId);
    await recordEvent(deps, account.userId, 'incident_action', OPERATOR_ORIGIN, {
      incidentId: incident.id,
      forcedPasswordReset: resetsPassword,
      revokedSessions: revokeSessions,
    });
  });
}

export async function createIncident(
  deps: IncidentDeps,
  body: CreateIncidentBody,
  logger: Pick<Logger, 'warn'>,
): Promise<IncidentView> {
  const now = deps.clock.now();
  const nowMs = now.getTime();
  const notify = body.notify.enabled;
  // A send time in the past means "now": the campaign starts at the dispatcher's next run.
  const sendAtMs = notify
    ? Math.max(nowMs, body.notify.sendAt === undefined ? nowMs : Date.parse(body.notify.sendAt))
    : 0;
  const reminders = notify && body.actions.forcePasswordReset && body.notify.remindAfterHours !== undefined;
  // A listed audience collects its entries first: no time, no work for the dispatcher until it is closed.
  const collecting = body.scope.type === 'list';
  const incident: NewIncident = {
    id: newIncidentId(nowMs),
    title: body.title,
    status: collecting ? 'collecting' : notify ? 'scheduled' : 'completed',
    createdAt: now.toISOString(),
    createdAtMs: nowMs,
    sendAt: notify && !collecting ? new Date(sendAtMs).toISOString() : null,
    scope: body.scope,
    actions: body.actions,
    notify: {
      enabled: notify,
      ...(body.notify.sendAt !== undefined ? { sendAt: body.notify.sendAt } : {}),
      ...(body.notify.remindAfterHours !== undefined
        ? { remindAfterHours: body.notify.remindAfterHours }
        : {}),
    },
    maxReminders: reminders ? deps.config.campaigns.maxReminders : 0,
    round: 0,
    // Without a notification there is no campaign: the incident is complete once its effects are applied.
    phase: notify ? 'waiting' : 'done',
    ...(collecting ? {} : notify ? { dueAt: sendAtMs } : { completedAt: now.toISOString() }),
    segments: body.scope.type === 'all' ? deps.config.campaigns.scanSegments : 1,
    cursors: {},
    rounds: {},
  };
  await applyEffects(deps, incident);
  await deps.incidents.create(incident);
  if (notify && !collecting && sendAtMs <= nowMs) {
    // Best effort: the scheduled run picks the incident up anyway if this fails.
    await deps.dispatcherTrigger
      .trigger()
      .catch((error: unknown) =>
        logger.warn('could not start the dispatcher', { incidentId: incident.id, error }),
      );
  }
  return toIncidentView(incident as IncidentRecord, EMPTY_SETTLEMENT);
}

export async function getIncident(deps: Pick<Deps, 'incidents'>, id: string): Promise<IncidentView> {
  const item = await deps.incidents.get(id);
  if (!item) throw new NotFoundError('No such incident.');
  return viewOf(deps, item);
}

/** The list cursor: the last incident id of the page, opaque to clients (base64url JSON) and validated. */
function decodeListCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v?: unknown;
      id?: unknown;
    };
    if (parsed?.v === 1 && typeof parsed.id === 'string' && isIncidentId(parsed.id)) return parsed.id;
  } catch {
    // Falls through to the 400 below.
  }
  throw new InvalidRequestError('The cursor is invalid.', [
    { path: 'cursor', message: 'Use the nextCursor of a previous response.' },
  ]);
}

const encodeListCursor = (id: string) =>
  Buffer.from(JSON.stringify({ v: 1, id }), 'utf8').toString('base64url');

/** One page of incidents, newest first; `nextCursor` is absent on the last page. */
export async function listIncidents(
  deps: Pick<Deps, 'incidents'>,
  page: { cursor?: string | undefined; limit?: string | undefined } = {},
): Promise<{ incidents: IncidentView[]; nextCursor?: string }> {
  const afterId = page.cursor === undefined ? undefined : decodeListCursor(page.cursor);
  const limit = page.limit === undefined ? LIST_LIMIT : Number(page.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT) {
    throw new InvalidRequestError('The limit is invalid.', [
      { path: 'limit', message: `Must be a whole number from 1 to ${LIST_LIMIT}.` },
    ]);
  }
  const { items, lastId } = await deps.incidents.listNewestFirst(limit, afterId);
  const views: IncidentView[] = new Array(items.length);
  await forEachBounded(
    items.map((item, index) => ({ item, index })),
    10,
    async ({ item, index }) => {
      views[index] = await viewOf(deps, item);
    },
  );
  return { incidents: views, ...(lastId !== undefined ? { nextCursor: encodeListCursor(lastId) } : {}) };
}

/**
 * Stops an incident's mail: a scheduled or running incident becomes `cancelled`; a completed one keeps its
 * status and loses its pending reminders; a cancelled one is returned as is. Effects already applied (forced
 * resets, revocations) stay: undoing them is a separate, deliberate decision.
 */
export async function cancelIncident(
  deps: Pick<Deps, 'incidents' | 'clock'>,
  id: string,
): Promise<IncidentView> {
  const item = await deps.incidents.cancel(id, deps.clock.now());
  if (!item) throw new NotFoundError('No such incident.');
  return viewOf(deps, item);
}

export interface ForcedReset {
  readonly userId: string;
  readonly sessionsRevoked: boolean;
  readonly notified: boolean;
}

/**
 * One account must set a new password before its next sign-in. SSO accounts have no password with us, so
 * the request is refused (400) rather than silently doing something else; revoke their sessions instead.
 */
export async function forcePasswordReset(
  deps: Pick<Deps, 'users' | 'clock' | 'events' | 'revocation' | 'notifications'>,
  userId: string,
  options: { revokeSessions: boolean; notify: boolean },
): Promise<ForcedReset> {
  const user = await deps.users.get(userId);
  if (!user) throw new NotFoundError('No such user.');
  if (user.authMethod !== 'password') {
    throw new InvalidRequestError('This account signs in with SSO and has no password to reset.', [
      { path: 'id', message: 'SSO account: it has no password with us.' },
    ]);
  }
  const updated: UserRecord = await deps.users.setMustResetPassword(userId, {
    revokeSessions: options.revokeSessions,
    now: deps.clock.now(),
  });
  deps.revocation.forget(userId);
  await recordEvent(deps, userId, 'password_reset_forced', OPERATOR_ORIGIN, {
    revokedSessions: options.revokeSessions,
  });
  if (options.notify) await queueSecurityNotice(deps, updated, 'password_reset_forced', OPERATOR_ORIGIN);
  return { userId, sessionsRevoked: options.revokeSessions, notified: options.notify };
}
