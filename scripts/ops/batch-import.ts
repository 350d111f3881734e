import { createReadStream } from 'node:fs';
import { appendFile, readFile, rename, rm, writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import {
  batchEntries,
  type ImportBatch,
  ImportFileError,
  type ImportFileFormat,
  type ResumePoint,
  readImportEntries,
  splitLines,
} from '../../shared/domain/import-file.js';
import { AdminApiError, AdminUnreachableError, type ImportRowResult } from './admin-client.js';
import { ExitCode, type OpsContext } from './context.js';
import { fileIdentity, readCheckpoint } from './input-files.js';
import { formatError, UsageError, writeJson, writeLine } from './output.js';

export interface BatchImportFlags {
  readonly file: string;
  readonly format?: string;
  readonly concurrency: string;
  readonly batchSize: string;
  readonly checkpoint?: string;
  readonly rejected?: string;
  readonly mustResetPassword?: boolean;
  readonly restart?: boolean;
}

interface Counts {
  created: number;
  exists: number;
  rejected: number;
}

interface Checkpoint {
  readonly version: 1;
  readonly fileId: string;
  readonly batchSize: number;
  readonly format: ImportFileFormat;
  csvHeader?: readonly string[];
  /** Every batch before `next.batch` is done; reading resumes at `next.offset`. */
  next: ResumePoint & { batch: number };
  /** Batches after `next.batch` that finished early (concurrency): skipped on resume. */
  doneAhead: number[];
  counts: Counts;
  complete: boolean;
}

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
const MAX_ATTEMPTS = 6;
const MAX_RETRY_WAIT_MS = 30_000;

function parseWhole(raw: string, name: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number between ${min} and ${max}`);
  }
  return value;
}

async function countLines(path: string): Promise<number> {
  let count = 0;
  for await (const chunk of createReadStream(path)) {
    for (const byte of chunk as Buffer) if (byte === 10) count += 1;
  }
  return count;
}

async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  // Write-then-rename: a crash mid-write leaves the previous checkpoint, never half a file.
  await writeFile(`${path}.tmp`, JSON.stringify(checkpoint));
  await rename(`${path}.tmp`, path);
}

export async function batchImportCommand(ctx: OpsContext, flags: BatchImportFlags): Promise<number> {
  const concurrency = parseWhole(flags.concurrency, '--concurrency', 1, 16);
  const batchSize = parseWhole(flags.batchSize, '--batch-size', 1, 500);
  const path = flags.file;
  const format: ImportFileFormat =
    flags.format === 'csv' || flags.format === 'jsonl'
      ? flags.format
      : path.toLowerCase().endsWith('.csv')
        ? 'csv'
        : 'jsonl';
  const fileId = await fileIdentity(path);
  const checkpointPath = flags.checkpoint ?? `${path}.import-state.json`;
  const rejectedPath = flags.rejected ?? `${path}.rejected.jsonl`;

  if (flags.restart) {
    await rm(checkpointPath, { force: true });
    await rm(rejectedPath, { force: true });
  }
  const checkpoint = await readCheckpoint<Checkpoint>(checkpointPath);
  if (checkpoint && (checkpoint.fileId !== fileId || checkpoint.batchSize !== batchSize)) {
    throw new UsageError(
      `${checkpointPath} belongs to another file or --batch-size; pass --restart to start over (rows already imported will answer "exists")`,
    );
  }
  const resumed = checkpoint !== undefined;
  const state: Checkpoint = checkpoint ?? {
    version: 1,
    fileId,
    batchSize,
    format,
    next: { batch: 0, offset: 0, line: 1 },
    doneAhead: [],
    counts: { created: 0, exists: 0, rejected: 0 },
    complete: false,
  };
  if (state.complete) {
    writeLine(ctx.stdout, `${path} was already imported completely (${describeCounts(state.counts)}).`);
    writeLine(ctx.stdout, `Pass --restart to import it again.`);
    return ExitCode.ok;
  }
  if (resumed) {
    writeLine(ctx.stderr, `Resuming ${path} at line ${state.next.line} (batch ${state.next.batch}).`);
  }

  const totalLines = await countLines(path);
  const progress = createProgress(ctx, totalLines, state);
  const started = ctx.now().getTime();
  const doneAhead = new Set(state.doneAhead);
  const nextOf = new Map<number, ResumePoint>();
  let saving: Promise<void> = Promise.resolve();
  const persist = (): Promise<void> => {
    state.doneAhead = [...doneAhead].sort((a, b) => a - b);
    const snapshot = JSON.parse(JSON.stringify(state)) as Checkpoint;
    saving = saving.then(() => saveCheckpoint(checkpointPath, snapshot));
    return saving;
  };
  await persist();

  const finishBatch = async (batch: ImportBatch, results: readonly ImportRowResult[]): Promise<void> => {
    const rejected: string[] = batch.unreadable.map((u) =>
      JSON.stringify({ line: u.line, error: 'unreadable', message: u.error }),
    );
    results.forEach((result, position) => {
      const line = batch.rows[position]?.line;
      if (result.status === 'created') state.counts.created += 1;
      else if (result.status === 'exists') state.counts.exists += 1;
      else {
        state.counts.rejected += 1;
        // Field paths and messages only: never the row (it holds a password hash).
        rejected.push(
          JSON.stringify({
            line,
            error: result.error,
            message: result.message,
            details: result.details ?? [],
          }),
        );
      }
    });
    state.counts.rejected += batch.unreadable.length;
    if (rejected.length > 0) await appendFile(rejectedPath, `${rejected.join('\n')}\n`);
    progress.update(state, batch.rows.length + batch.unreadable.length);
    await markDone(batch);
  };

  /** Moves the resume point over every finished batch at its head, then saves the checkpoint. */
  const markDone = async (batch: ImportBatch): Promise<void> => {
    doneAhead.add(batch.number);
    nextOf.set(batch.number, batch.next);
    while (doneAhead.has(state.next.batch)) {
      const next = nextOf.get(state.next.batch);
      if (next === undefined) break; // finished in an earlier run: its end is known once reading passes it
      doneAhead.delete(state.next.batch);
      nextOf.delete(state.next.batch);
      state.next = { batch: state.next.batch + 1, ...next };
    }
    await persist();
  };

  const send = async (batch: ImportBatch): Promise<ImportRowResult[]> => {
    if (batch.rows.length === 0) return [];
    const key = `users-import-${fileId.slice(0, 32)}-b${batchSize}-${batch.number}`;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await ctx.client.importUsers(
          {
            users: batch.rows.map((r) => r.row),
            ...(flags.mustResetPassword ? { mustResetPassword: true } : {}),
          },
          key,
        );
      } catch (error) {
        const retryable =
          error instanceof AdminUnreachableError ||
          (error instanceof AdminApiError && RETRYABLE_STATUSES.has(error.status));
        if (!retryable || attempt >= MAX_ATTEMPTS || ctx.interrupt.aborted) throw error;
        const seconds = error instanceof AdminApiError ? error.retryAfterSeconds : undefined;
        await ctx.sleep(Math.min((seconds ?? 2 ** (attempt - 1)) * 1000, MAX_RETRY_WAIT_MS), ctx.interrupt);
      }
    }
  };

  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;
  let reachedEnd = false;
  try {
    const stream = createReadStream(path, { start: state.next.offset });
    const entries = readImportEntries(splitLines(stream, state.next), format, state.csvHeader);
    const batches = batchEntries(entries, {
      maxRows: batchSize,
      firstBatch: state.next.batch,
      onHeader: (header) => {
        state.csvHeader = header;
      },
    });
    for await (const batch of batches) {
      if (fatal !== undefined || ctx.interrupt.aborted) break;
      if (doneAhead.has(batch.number)) {
        // Done in an earlier run, after a batch that was not: only its end offset is needed now.
        await markDone(batch);
        continue;
      }
      const task = send(batch)
        .then((results) => finishBatch(batch, results))
        .catch((error: unknown) => {
          fatal ??= error;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
    reachedEnd = fatal === undefined && !ctx.interrupt.aborted;
  } catch (error) {
    if (error instanceof ImportFileError) fatal ??= new UsageError(error.message);
    else fatal ??= error;
  }
  await Promise.all(inFlight);
  state.complete = reachedEnd && fatal === undefined;
  await persist();
  progress.stop();
  if (state.complete) await tidyRejectedFile(rejectedPath);

  const seconds = (ctx.now().getTime() - started) / 1000;
  if (ctx.json) {
    writeJson(ctx.stdout, {
      file: path,
      complete: state.complete,
      ...state.counts,
      resumedAtLine: resumed ? (checkpoint?.next.line ?? null) : null,
      seconds,
      rejectedFile: state.counts.rejected > 0 ? rejectedPath : null,
      checkpoint: checkpointPath,
    });
  } else {
    writeLine(
      ctx.stdout,
      `${state.complete ? 'Imported' : 'Stopped importing'} ${path}: ${describeCounts(state.counts)} in ${seconds.toFixed(1)} s.`,
    );
    if (state.counts.rejected > 0) writeLine(ctx.stdout, `Rejected rows, by line: ${rejectedPath}`);
    if (!state.complete)
      writeLine(ctx.stderr, `Run the same command again to continue from ${checkpointPath}.`);
  }
  if (fatal !== undefined) {
    const [summary, detail] = formatError(fatal);
    writeLine(ctx.stderr, `Stopped: ${summary}`);
    if (detail !== undefined) writeLine(ctx.stderr, detail);
    return ExitCode.error;
  }
  if (!state.complete) return ExitCode.interrupted;
  return state.counts.rejected === 0 ? ExitCode.ok : ExitCode.partial;
}

function describeCounts(counts: Counts): string {
  return `${counts.created} created, ${counts.exists} already there, ${counts.rejected} rejected`;
}

/** A batch redone after a crash may have appended its rejects twice: keep one per line, in file order. */
async function tidyRejectedFile(path: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const byLine = new Map<number, string>();
  for (const entry of text.split('\n')) {
    if (entry.trim() === '') continue;
    byLine.set((JSON.parse(entry) as { line: number }).line, entry);
  }
  const sorted = [...byLine.entries()].sort((a, b) => a[0] - b[0]).map(([, entry]) => entry);
  await writeFile(path, `${sorted.join('\n')}\n`);
}

function createProgress(ctx: OpsContext, totalLines: number, state: Checkpoint) {
  let done = state.counts.created + state.counts.exists + state.counts.rejected;
  const payload = () => ({ ...state.counts });
  if (ctx.progressMode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream: ctx.barStream,
        hideCursor: true,
        barsize: 20,
        format:
          'importing |{bar}| {value}/{total} rows | created {created}, exists {exists}, rejected {rejected} | {eta_formatted}',
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(totalLines, done), done, payload());
    return {
      update(_s: Checkpoint, rows: number) {
        done += rows;
        bar.update(Math.min(done, Math.max(totalLines, done)), payload());
      },
      stop: () => bar.stop(),
    };
  }
  let lastLineAt = 0;
  return {
    update(_s: Checkpoint, rows: number) {
      done += rows;
      const now = ctx.now().getTime();
      if (ctx.progressMode === 'json' || now - lastLineAt < 2000) return;
      lastLineAt = now;
      writeLine(ctx.stderr, `importing: ${done}/${totalLines} rows (${describeCounts(state.counts)})`);
    },
    stop: () => undefined,
  };
}
