/**
 * Everything a command needs from the outside world, passed in so commands run the same in the CLI
 * and in tests (a fake clock, a string sink, a client against a local test server).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { AdminApi } from './admin-client.js';
import { type TextSink, UsageError } from './output.js';
import type { ProgressMode } from './progress.js';

export interface OpsContext {
  readonly client: AdminApi;
  /** Results: human text, or one JSON document / JSON lines with `--json`. */
  readonly stdout: TextSink;
  /** Problems, warnings and progress. */
  readonly stderr: TextSink;
  readonly json: boolean;
  readonly progressMode: ProgressMode;
  /** Where bars are drawn in `bar` mode. */
  readonly barStream: NodeJS.WritableStream;
  readonly now: () => Date;
  /** Resolves after `ms`, or early (without throwing) once `signal` aborts. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Reads a UTF-8 text file. */
  readonly readText: (path: string) => Promise<string>;
  /** Asks a yes/no question; absent when nobody is at a terminal to answer. */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** Aborted on Ctrl-C: long-running commands stop cleanly instead of dying mid-line. */
  readonly interrupt: AbortSignal;
  /**
   * This run's Idempotency-Key: generated once per invocation (or `--idempotency-key`), sent with its write and
   * reused on every retry of it; writes of many rows send `<key>/<line>`.
   */
  readonly idempotencyKey: string;
}

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}

/** Process exit codes shared by every command. */
export const ExitCode = {
  ok: 0,
  error: 1,
  /** `users import`: some rows were not imported. */
  partial: 2,
  interrupted: 130,
} as const;

/** Reads an input file named on the command line, turning file-system errors into a one-line message. */
export async function readInputFile(ctx: OpsContext, path: string): Promise<string> {
  try {
    return await ctx.readText(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new UsageError(`cannot read ${path}: ${reason}`);
  }
}
