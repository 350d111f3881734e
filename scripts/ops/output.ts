/**
 * How the CLI talks to people and scripts: error descriptions that fit in one or two lines (never a
 * stack), and text from the API made safe to print on a terminal.
 */
import {
  AdminApiError,
  AdminUnreachableError,
  InsecureTransportError,
  RequestTooLargeError,
  UnexpectedResponseError,
} from './admin-client.js';
import type { LineError } from './input-files.js';

/** Where text goes; `process.stdout` / `process.stderr` in the CLI, a string buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** A problem the user can fix (bad flags, unreadable or invalid file); printed as its message alone. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ErrorDescription {
  readonly error: string;
  readonly message: string;
  readonly status?: number;
  readonly details?: readonly { path: string; message: string }[];
  readonly reasons?: readonly string[];
  readonly retryAfterSeconds?: number;
  readonly hint?: string;
}

/**
 * Text from the server or from files is printed on an operator's terminal; control characters are
 * replaced so a hostile value (an incident title, an error message) cannot rewrite the screen.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ');
}

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof AdminApiError) {
    const hint =
      error.status === 401 || error.status === 403
        ? 'Check ADMIN_TOKEN / --admin-token (local runner), or use --iam with credentials allowed to call the admin API (deployed stack).'
        : undefined;
    return {
      error: error.code,
      status: error.status,
      message: error.message,
      ...(error.details.length > 0 ? { details: error.details } : {}),
      ...(error.reasons.length > 0 ? { reasons: error.reasons } : {}),
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
      ...(hint === undefined ? {} : { hint }),
    };
  }
  if (error instanceof AdminUnreachableError) {
    return { error: 'unreachable', message: error.message };
  }
  if (error instanceof UnexpectedResponseError) {
    return { error: 'unexpected_response', status: error.status, message: error.message };
  }
  if (error instanceof RequestTooLargeError) {
    return { error: 'request_too_large', message: error.message };
  }
  if (error instanceof InsecureTransportError || error instanceof UsageError) {
    return { error: 'usage', message: error.message };
  }
  // Anything else is a bug in the CLI or its environment; the message is enough to report it.
  return { error: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/** One or two lines: what went wrong, then the API's field details, reasons or a hint. */
export function formatError(error: unknown): string[] {
  const description = describeError(error);
  const status = description.status === undefined ? '' : ` (HTTP ${description.status} ${description.error})`;
  const lines = [printable(`${description.message}${status}`)];
  const extra: string[] = [];
  if (description.details !== undefined) {
    extra.push(
      description.details.map((d) => (d.path === '' ? d.message : `${d.path}: ${d.message}`)).join('; '),
    );
  }
  if (description.reasons !== undefined) extra.push(`reasons: ${description.reasons.join(', ')}`);
  if (description.retryAfterSeconds !== undefined)
    extra.push(`retry after ${description.retryAfterSeconds} s`);
  if (description.hint !== undefined) extra.push(description.hint);
  if (extra.length > 0) lines.push(printable(extra.join(' | ')));
  return lines;
}

export function writeLine(sink: TextSink, line: string): void {
  sink.write(`${line}\n`);
}

export function writeJson(sink: TextSink, value: unknown): void {
  sink.write(`${JSON.stringify(value)}\n`);
}

/** Left-aligned columns for `incident list`. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const render = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  return [render(header), ...rows.map(render)];
}

/** `file:line: message`, the form editors and CI annotate; at most `limit` lines, then how many more. */
export function reportLineErrors(
  sink: TextSink,
  path: string,
  problems: readonly LineError[],
  limit = Number.POSITIVE_INFINITY,
): void {
  for (const problem of problems.slice(0, limit)) {
    writeLine(sink, printable(`${path}:${problem.line}: ${problem.message}`));
  }
  if (problems.length > limit) writeLine(sink, `... and ${problems.length - limit} more bad line(s)`);
}
