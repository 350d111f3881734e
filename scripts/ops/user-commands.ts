/** `users force-reset` and `users import`. */
import { AdminApiError, type AdminUser } from './admin-client.js';
import { ExitCode, type OpsContext, readInputFile } from './context.js';
import {
  detectUserImportFormat,
  parseUserImport,
  type UserImportFormat,
  type UserImportRow,
} from './input-files.js';
import {
  describeError,
  type ErrorDescription,
  formatError,
  printable,
  reportLineErrors,
  UsageError,
  writeJson,
  writeLine,
} from './output.js';
import { createImportProgressView } from './progress.js';

export interface ForceResetFlags {
  /** `--no-revoke-sessions` sets this to false. */
  readonly revokeSessions: boolean;
  /** `--no-notify` sets this to false. */
  readonly notify: boolean;
}

export async function forceResetCommand(
  ctx: OpsContext,
  userId: string,
  flags: ForceResetFlags,
): Promise<number> {
  if (userId.trim() === '') throw new UsageError('the user id must not be empty');
  await ctx.client.forceReset(
    userId,
    { revokeSessions: flags.revokeSessions, notify: flags.notify },
    { idempotencyKey: ctx.idempotencyKey },
  );
  if (ctx.json) {
    writeJson(ctx.stdout, { userId, forcePasswordReset: true, ...flags });
  } else {
    writeLine(
      ctx.stdout,
      printable(
        `User ${userId} must reset their password at next login` +
          `${flags.revokeSessions ? '; all sessions revoked' : '; sessions left signed in'}` +
          `${flags.notify ? '; notice email queued.' : '; no email sent.'}`,
      ),
    );
  }
  return ExitCode.ok;
}

export interface ImportFlags {
  readonly format?: string;
  readonly concurrency: string;
}

/** Row failures the API reports about the row itself; everything else is about the run and stops it. */
const ROW_LEVEL_STATUSES: ReadonlySet<number> = new Set([400, 409, 413, 422]);
/** Answers that mean "not done, try later": safe to repeat a create for. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 503]);
const MAX_ATTEMPTS = 5;
const MAX_RETRY_WAIT_MS = 30_000;

interface RowFailure {
  readonly line: number;
  readonly problem: ErrorDescription;
}

function parseConcurrency(raw: string): number {
  const value = Number(raw);
  // The admin API sits behind the same throttles as everything else; more than this only earns 429s.
  if (!Number.isInteger(value) || value < 1 || value > 64) {
    throw new UsageError('--concurrency must be a whole number between 1 and 64');
  }
  return value;
}

function parseFormat(raw: string | undefined): UserImportFormat | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'jsonl' || raw === 'csv') return raw;
  throw new UsageError('--format must be jsonl or csv');
}

/**
 * Creates every valid row through `POST /v1/admin/users`, `--concurrency` at a time. Rows the file or the
 * API rejects are reported by line at the end and do not stop the others; an error about the run itself
 * (authentication, an unreachable API) stops starting new rows and says how far it got.
 */
export async function importUsersCommand(ctx: OpsContext, path: string, flags: ImportFlags): Promise<number> {
  const concurrency = parseConcurrency(flags.concurrency);
  const explicitFormat = parseFormat(flags.format);
  const text = await readInputFile(ctx, path);
  const format = explicitFormat ?? detectUserImportFormat(path, text);
  const { rows, errors, rejected } = parseUserImport(text, format);
  if (rejected !== undefined) {
    reportLineErrors(ctx.stderr, path, [rejected]);
    throw new UsageError(`nothing imported: fix the header of ${path}`);
  }
  const total = rows.length + errors.length;
  if (total === 0) throw new UsageError(`${path} holds no users`);

  const failures: RowFailure[] = errors.map((error) => ({
    line: error.line,
    problem: { error: 'invalid_row', message: error.message },
  }));
  const imported: { line: number; id: string; email: string }[] = [];
  const progress = createImportProgressView({
    mode: ctx.progressMode,
    total: rows.length,
    err: ctx.stderr,
    barStream: ctx.barStream,
    nowMs: () => ctx.now().getTime(),
  });

  let next = 0;
  let fatal: unknown;
  /** Rows whose create was still waiting out a 429/503 when Ctrl-C came: known not to exist. */
  const abandoned: UserImportRow[] = [];
  const worker = async (): Promise<void> => {
    while (fatal === undefined && !ctx.interrupt.aborted) {
      const row = rows[next];
      if (row === undefined) return;
      next += 1;
      try {
        const user = await createWithRetry(ctx, row);
        imported.push({ line: row.line, id: user.id, email: user.email });
        progress.advance('imported');
      } catch (error) {
        if (ctx.interrupt.aborted && error instanceof AdminApiError && RETRYABLE_STATUSES.has(error.status)) {
          abandoned.push(row);
        } else if (error instanceof AdminApiError && ROW_LEVEL_STATUSES.has(error.status)) {
          failures.push({ line: row.line, problem: describeError(error) });
          progress.advance('failed');
        } else {
          fatal ??= error;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker));
  } finally {
    progress.stop();
  }

  failures.sort((a, b) => a.line - b.line);
  imported.sort((a, b) => a.line - b.line);
  // Rows handed to a worker have an outcome; the rest were never sent.
  const notAttempted = [...abandoned, ...rows.slice(next)].sort((a, b) => a.line - b.line);
  const interrupted = fatal === undefined && notAttempted.length > 0;

  if (ctx.json) {
    writeJson(ctx.stdout, {
      total,
      imported: imported.length,
      failed: failures.length,
      notAttempted: notAttempted.length,
      users: imported,
      failures: failures.map(({ line, problem }) => ({ line, ...problem })),
      ...(fatal === undefined ? {} : { stoppedBy: describeError(fatal) }),
    });
  } else {
    // File problems and API rejections in one list, by line, so the file can be fixed top to bottom.
    reportLineErrors(
      ctx.stderr,
      path,
      failures.map(({ line, problem }) => ({ line, message: formatRowProblem(problem) })),
    );
    const notDone = notAttempted.length > 0 ? `, ${notAttempted.length} not attempted` : '';
    writeLine(
      ctx.stdout,
      `Imported ${imported.length} of ${total} users (${failures.length} failed${notDone}) from ${path}.`,
    );
    if (notAttempted.length > 0) {
      writeLine(
        ctx.stderr,
        `Not attempted (nothing created for them): ${formatLineRanges(notAttempted.map((row) => row.line))}`,
      );
    }
  }

  if (fatal !== undefined) {
    const [summary, detail] = formatError(fatal);
    writeLine(ctx.stderr, `Stopped: ${summary}`);
    if (detail !== undefined) writeLine(ctx.stderr, detail);
    return ExitCode.error;
  }
  if (interrupted) return ExitCode.interrupted;
  return failures.length === 0 ? ExitCode.ok : ExitCode.partial;
}

/** One line per row: the API's message, code and field details, never the row's values. */
function formatRowProblem(problem: ErrorDescription): string {
  const status = problem.status === undefined ? '' : ` (HTTP ${problem.status} ${problem.error})`;
  const details = problem.details?.map((d) => (d.path === '' ? d.message : `${d.path}: ${d.message}`)) ?? [];
  const reasons = problem.reasons === undefined ? [] : [`reasons: ${problem.reasons.join(', ')}`];
  const extra = [...details, ...reasons];
  return `${problem.message}${status}${extra.length > 0 ? ` - ${extra.join('; ')}` : ''}`;
}

async function createWithRetry(ctx: OpsContext, row: UserImportRow): Promise<AdminUser> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      // One key per row of this run, the same on every attempt: a retried create never makes a second account.
      return await ctx.client.createUser(row.user, undefined, {
        idempotencyKey: `${ctx.idempotencyKey}/${row.line}`,
      });
    } catch (error) {
      if (
        !(error instanceof AdminApiError) ||
        !RETRYABLE_STATUSES.has(error.status) ||
        attempt >= MAX_ATTEMPTS
      ) {
        throw error;
      }
      const waitMs = Math.min((error.retryAfterSeconds ?? 2 ** (attempt - 1)) * 1000, MAX_RETRY_WAIT_MS);
      await ctx.sleep(waitMs, ctx.interrupt);
      if (ctx.interrupt.aborted) throw error;
    }
  }
}

/** `3, 7-9, 12` for lines [3, 7, 8, 9, 12]; rows are one line each unless quoted fields span lines. */
function formatLineRanges(lines: readonly number[]): string {
  const ranges: string[] = [];
  let start: number | undefined;
  let end = 0;
  for (const line of [...lines].sort((a, b) => a - b)) {
    if (start !== undefined && line === end + 1) {
      end = line;
      continue;
    }
    if (start !== undefined) ranges.push(start === end ? `line ${start}` : `lines ${start}-${end}`);
    start = line;
    end = line;
  }
  if (start !== undefined) ranges.push(start === end ? `line ${start}` : `lines ${start}-${end}`);
  return ranges.join(', ');
}
