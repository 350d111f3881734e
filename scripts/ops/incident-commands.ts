/** `incident create | watch | list | show | cancel`. */

import { MAX_SCOPE_ENTRIES } from '../../shared/http/incident-schemas.js';
import {
  AdminApiError,
  AdminUnreachableError,
  type CreateIncidentRequest,
  type Incident,
  type IncidentScope,
  RequestTooLargeError,
} from './admin-client.js';
import { createListedIncident } from './audience-upload.js';
import { ExitCode, type OpsContext, readInputFile } from './context.js';
import {
  checkEmailArguments,
  checkUserIdArguments,
  type ParsedList,
  parseEmailList,
  parseUserIdList,
} from './input-files.js';
import { formatTable, printable, reportLineErrors, UsageError, writeJson, writeLine } from './output.js';
import { createIncidentProgressView, describeIncident, formatCounts } from './progress.js';

/** The options of `incident create`, as commander hands them over. */
export interface IncidentCreateFlags {
  readonly title: string;
  readonly all?: boolean;
  readonly emailsFile?: string;
  readonly userIdsFile?: string;
  /** A listed audience of any size: ids, emails and ext:<externalId>, one per line (audience-upload.ts). */
  readonly audienceFile?: string;
  readonly checkpoint?: string;
  readonly restart?: boolean;
  readonly email?: readonly string[];
  readonly userId?: readonly string[];
  readonly forcePasswordReset?: boolean;
  readonly revokeSessions?: boolean;
  /** `--no-notify` sets this to false. */
  readonly notify: boolean;
  readonly sendAt?: string;
  readonly remindAfterHours?: string;
  readonly skipInvalid?: boolean;
  readonly watch?: boolean;
  readonly intervalMs: string;
  readonly yes?: boolean;
  readonly dryRun?: boolean;
}

// ISO-8601 with an explicit zone: a bare local time would mean different instants on different
// machines, and this decides when a breach notice goes out.
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'cancelled']);

/** Transient answers `incident watch` rides out before giving up. */
const MAX_CONSECUTIVE_POLL_FAILURES = 5;

export function parseIntervalMs(raw: string): number {
  const value = Number(raw);
  // Below 200 ms the watch would mostly measure its own polling load on the admin API.
  if (!Number.isInteger(value) || value < 200 || value > 600_000) {
    throw new UsageError('--interval-ms must be a whole number of milliseconds between 200 and 600000');
  }
  return value;
}

/** Checks the flags that do not need any file and turns them into the request (scope filled in by the caller). */
export function buildIncidentRequest(
  flags: IncidentCreateFlags,
  scope: IncidentScope,
): CreateIncidentRequest {
  const title = flags.title.trim();
  if (title === '') throw new UsageError('--title must not be empty');
  const forcePasswordReset = flags.forcePasswordReset === true;
  const revokeSessions = flags.revokeSessions === true;

  if (!flags.notify) {
    if (flags.sendAt !== undefined || flags.remindAfterHours !== undefined) {
      throw new UsageError('--send-at and --remind-after-hours need notifications; drop --no-notify');
    }
    if (!forcePasswordReset && !revokeSessions) {
      throw new UsageError(
        'this incident would do nothing: add --force-password-reset and/or --revoke-sessions, or drop --no-notify',
      );
    }
    return { title, scope, actions: { forcePasswordReset, revokeSessions }, notify: { enabled: false } };
  }

  let sendAt: string | undefined;
  if (flags.sendAt !== undefined) {
    const parsed = Date.parse(flags.sendAt);
    if (!ISO_WITH_ZONE.test(flags.sendAt.trim()) || Number.isNaN(parsed)) {
      throw new UsageError('--send-at must be an ISO-8601 time with a zone, e.g. 2030-01-31T09:00:00Z');
    }
    sendAt = new Date(parsed).toISOString();
  }

  let remindAfterHours: number | undefined;
  if (flags.remindAfterHours !== undefined) {
    remindAfterHours = Number(flags.remindAfterHours);
    if (!Number.isFinite(remindAfterHours) || remindAfterHours <= 0) {
      throw new UsageError('--remind-after-hours must be a positive number of hours');
    }
    // Reminders re-mail accounts that still have not reset; without a forced reset there is no such state.
    if (!forcePasswordReset) {
      throw new UsageError('--remind-after-hours only applies with --force-password-reset');
    }
  }

  return {
    title,
    scope,
    actions: { forcePasswordReset, revokeSessions },
    notify: {
      enabled: true,
      ...(sendAt === undefined ? {} : { sendAt }),
      ...(remindAfterHours === undefined ? {} : { remindAfterHours }),
    },
  };
}

export async function createIncidentCommand(ctx: OpsContext, flags: IncidentCreateFlags): Promise<number> {
  const intervalMs = flags.watch ? parseIntervalMs(flags.intervalMs) : 0;
  const scope = await resolveScope(ctx, flags);
  const request = buildIncidentRequest(flags, scope);

  if (flags.dryRun) {
    ctx.stdout.write(`${JSON.stringify(request, null, 2)}\n`);
    return ExitCode.ok;
  }

  if (scope.type === 'all' && !flags.yes && ctx.confirm !== undefined) {
    const proceed = await ctx.confirm(`${describeRequest(request)}\nThis applies to EVERY account. Proceed?`);
    if (!proceed) {
      writeLine(ctx.stderr, 'Nothing was created.');
      return ExitCode.error;
    }
  }

  let incident: Incident;
  if (scope.type === 'list') {
    const listed = await createListedIncident(ctx, request, {
      file: flags.audienceFile ?? '',
      ...(flags.checkpoint === undefined ? {} : { checkpoint: flags.checkpoint }),
      restart: flags.restart === true,
      skipInvalid: flags.skipInvalid === true,
    });
    if (listed.incident === undefined) return listed.code;
    incident = listed.incident;
  } else
    try {
      incident = await ctx.client.createIncident(request, { idempotencyKey: ctx.idempotencyKey });
    } catch (error) {
      if (error instanceof RequestTooLargeError && scope.type !== 'all') {
        throw new UsageError(
          `${error.message}: ${scopeSize(scope)} are too many for one incident; split the list over several incidents`,
        );
      }
      throw error;
    }

  if (ctx.json) {
    writeJson(ctx.stdout, { incident });
  } else {
    writeLine(ctx.stdout, `Created incident ${incident.id}: ${describeRequest(request)}`);
    writeLine(
      ctx.stdout,
      `Status ${incident.status}${incident.sendAt ? `, notices from ${incident.sendAt}` : ''}.${
        flags.watch ? '' : ` Follow it with: npm run ops -- incident watch ${incident.id}`
      }`,
    );
  }
  return flags.watch ? watchIncidentCommand(ctx, incident.id, intervalMs) : ExitCode.ok;
}

async function resolveScope(ctx: OpsContext, flags: IncidentCreateFlags): Promise<IncidentScope> {
  const wantsEmails = flags.emailsFile !== undefined || (flags.email?.length ?? 0) > 0;
  const wantsUserIds = flags.userIdsFile !== undefined || (flags.userId?.length ?? 0) > 0;
  const wantsList = flags.audienceFile !== undefined;
  const chosen = [flags.all === true, wantsEmails, wantsUserIds, wantsList].filter(Boolean).length;
  // No default scope on purpose: forgetting a flag must never turn into a tenant-wide incident.
  if (chosen === 0) {
    throw new UsageError(
      'choose a scope: --all, --audience-file, --emails-file, --user-ids-file, --email or --user-id',
    );
  }
  if (chosen > 1) {
    throw new UsageError(
      'choose one kind of scope: --all, --audience-file, emails (--emails-file/--email) or user ids (--user-ids-file/--user-id)',
    );
  }
  if (flags.all) return { type: 'all' };
  // The entries are checked and uploaded by createListedIncident, streaming: the file may hold millions.
  if (wantsList) return { type: 'list' };

  const lists: ParsedList[] = [];
  if (wantsEmails) {
    if (flags.emailsFile !== undefined) {
      lists.push(await loadList(ctx, flags.emailsFile, parseEmailList, flags.skipInvalid === true));
    }
    if (flags.email !== undefined) lists.push(checkArguments('--email', flags.email, checkEmailArguments));
  } else {
    if (flags.userIdsFile !== undefined) {
      lists.push(await loadList(ctx, flags.userIdsFile, parseUserIdList, flags.skipInvalid === true));
    }
    if (flags.userId !== undefined)
      lists.push(checkArguments('--user-id', flags.userId, checkUserIdArguments));
  }
  const values = [...new Set(lists.flatMap((list) => list.values))];
  const noun = wantsEmails ? 'emails' : 'user ids';
  if (values.length === 0) throw new UsageError(`no ${noun} to target`);
  if (values.length > MAX_SCOPE_ENTRIES) {
    throw new UsageError(
      `${values.length} ${noun} are more than one incident can target (${MAX_SCOPE_ENTRIES}); split the list over several incidents, or use --all`,
    );
  }
  return wantsEmails ? { type: 'emails', emails: values } : { type: 'users', userIds: values };
}

async function loadList(
  ctx: OpsContext,
  path: string,
  parse: (text: string) => ParsedList,
  skipInvalid: boolean,
): Promise<ParsedList> {
  const list = parse(await readInputFile(ctx, path));
  if (list.errors.length > 0) {
    // The file gets fixed and the command re-run, so the first screenful is what helps.
    reportLineErrors(ctx.stderr, path, list.errors, 50);
    if (!skipInvalid) {
      throw new UsageError(
        `${path} has ${list.errors.length} bad line(s); fix them, or pass --skip-invalid to leave them out`,
      );
    }
    writeLine(ctx.stderr, `Leaving out ${list.errors.length} bad line(s) of ${path} (--skip-invalid).`);
  }
  if (list.duplicates > 0) writeLine(ctx.stderr, `Ignoring ${list.duplicates} duplicate line(s) in ${path}.`);
  return list;
}

function checkArguments(
  flag: string,
  values: readonly string[],
  check: (values: readonly string[]) => ParsedList,
): ParsedList {
  const list = check(values);
  const [first] = list.errors;
  // Arguments are few and typed by hand: refuse outright rather than offering --skip-invalid.
  if (first !== undefined) throw new UsageError(`${flag}: ${first.message}`);
  return list;
}

function scopeSize(scope: IncidentScope): string {
  if (scope.type === 'emails') return `${scope.emails.length} emails`;
  if (scope.type === 'users') return `${scope.userIds.length} user ids`;
  if (scope.type === 'list') return 'a listed audience';
  return 'every account';
}

function describeRequest(request: CreateIncidentRequest): string {
  const actions = [
    request.actions.forcePasswordReset ? 'force password reset' : undefined,
    request.actions.revokeSessions ? 'revoke sessions' : undefined,
  ].filter((action) => action !== undefined);
  const notify = request.notify.enabled
    ? `notify ${request.notify.sendAt === undefined ? 'now' : `at ${request.notify.sendAt}`}${
        request.notify.remindAfterHours === undefined
          ? ''
          : `, remind after ${request.notify.remindAfterHours} h`
      }`
    : 'no notification';
  return printable(
    `${JSON.stringify(request.title)}, scope ${scopeSize(request.scope)}, ${
      actions.length > 0 ? actions.join(' + ') : 'no account action'
    }, ${notify}`,
  );
}

function isTransient(error: unknown): boolean {
  if (error instanceof AdminUnreachableError) return true;
  return error instanceof AdminApiError && [429, 502, 503, 504].includes(error.status);
}

/**
 * Polls the incident until it is completed or cancelled. A few transient failures (throttling, a
 * dependency blip) are ridden out; anything else, or too many in a row, ends the watch with an error.
 */
export async function watchIncidentCommand(ctx: OpsContext, id: string, intervalMs: number): Promise<number> {
  const view = createIncidentProgressView({
    mode: ctx.progressMode,
    out: ctx.stdout,
    barStream: ctx.barStream,
    now: ctx.now,
  });
  let incident: Incident | undefined;
  let failures = 0;
  try {
    while (!ctx.interrupt.aborted) {
      let waitMs = intervalMs;
      try {
        incident = await ctx.client.getIncident(id, ctx.interrupt);
        failures = 0;
        view.update(incident);
        if (TERMINAL_STATUSES.has(incident.status)) break;
      } catch (error) {
        if (ctx.interrupt.aborted) break;
        failures += 1;
        if (!isTransient(error) || failures >= MAX_CONSECUTIVE_POLL_FAILURES) throw error;
        const retryAfter = error instanceof AdminApiError ? (error.retryAfterSeconds ?? 0) * 1000 : 0;
        waitMs = Math.min(Math.max(intervalMs * 2 ** failures, retryAfter), 60_000);
      }
      await ctx.sleep(waitMs, ctx.interrupt);
    }
  } finally {
    view.stop();
  }

  if (incident === undefined || !TERMINAL_STATUSES.has(incident.status)) {
    writeLine(
      ctx.stderr,
      `Stopped watching; the incident carries on. Cancel it with: npm run ops -- incident cancel ${id}`,
    );
    return ExitCode.interrupted;
  }
  if (ctx.progressMode === 'bar') {
    writeLine(ctx.stdout, `Incident ${incident.id} ${incident.status}: ${formatCounts(incident.counts)}`);
  }
  return ExitCode.ok;
}

export async function listIncidentsCommand(ctx: OpsContext): Promise<number> {
  const incidents = await ctx.client.listIncidents();
  if (ctx.json) {
    writeJson(ctx.stdout, { incidents });
    return ExitCode.ok;
  }
  if (incidents.length === 0) {
    writeLine(ctx.stdout, 'No incidents.');
    return ExitCode.ok;
  }
  const rows = incidents.map((incident) => [
    incident.id,
    incident.status,
    incident.createdAt,
    String(incident.counts.targeted),
    String(incident.counts.sent),
    String(incident.counts.skipped),
    String(incident.counts.failed),
    incident.title,
  ]);
  const header = ['ID', 'STATUS', 'CREATED', 'TARGETED', 'SENT', 'SKIPPED', 'FAILED', 'TITLE'];
  for (const line of formatTable(header, rows)) writeLine(ctx.stdout, printable(line));
  return ExitCode.ok;
}

export async function showIncidentCommand(ctx: OpsContext, id: string): Promise<number> {
  const incident = await ctx.client.getIncident(id);
  if (ctx.json) {
    writeJson(ctx.stdout, { incident });
    return ExitCode.ok;
  }
  const scope = incident.scope;
  const scopeText =
    scope === undefined
      ? 'unknown'
      : scope.type === 'all'
        ? 'all accounts'
        : `${scope.type}${Array.isArray(scope['emails']) ? ` (${scope['emails'].length} emails)` : ''}${
            Array.isArray(scope['userIds']) ? ` (${scope['userIds'].length} user ids)` : ''
          }`;
  const actions = incident.actions;
  const actionsText =
    actions === undefined
      ? 'unknown'
      : [
          actions.forcePasswordReset ? 'force password reset' : undefined,
          actions.revokeSessions ? 'revoke sessions' : undefined,
        ]
          .filter((action) => action !== undefined)
          .join(', ') || 'none';
  const fields: [string, string][] = [
    ['id', incident.id],
    ['title', incident.title],
    ['status', incident.status],
    ['created', incident.createdAt],
    ['sends at', incident.sendAt ?? '-'],
    ['scope', scopeText],
    ['actions', actionsText],
    ['counts', formatCounts(incident.counts)],
  ];
  for (const [name, value] of fields) writeLine(ctx.stdout, printable(`${name.padEnd(9)}${value}`));
  return ExitCode.ok;
}

export async function cancelIncidentCommand(ctx: OpsContext, id: string): Promise<number> {
  const incident = await ctx.client.cancelIncident(id);
  if (ctx.json) {
    writeJson(ctx.stdout, incident === undefined ? { id, cancelled: true } : { incident });
  } else {
    writeLine(
      ctx.stdout,
      incident === undefined ? `Cancelled incident ${id}.` : `Cancelled: ${describeIncident(incident)}`,
    );
  }
  return ExitCode.ok;
}
