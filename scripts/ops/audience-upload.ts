/**
 * `incident create --audience-file F` and `incident report <id>`: a listed incident of any size from a file of
 * user ids, emails and `ext:<externalId>` entries, one per line, streamed through the audience API of the
 * contract ("Incidents with a listed audience"): create (`scope: list`) -> chunks -> close.
 *
 * Resumable: a checkpoint file next to the input remembers the incident and the chunks that landed. Chunk
 * boundaries depend only on the file, so a re-run cuts the same chunks, and every chunk carries an
 * Idempotency-Key made of the incident id and the chunk number: a chunk that was in flight when the run died
 * is sent again with the same key and is counted once. The create itself carries a key saved in the
 * checkpoint before it is sent, so a run killed between the create and its checkpoint finds the same incident.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import cliProgress from 'cli-progress';
import { normaliseAudienceEntry } from '../../shared/domain/audience-entry.js';
import {
  AdminApiError,
  AdminUnreachableError,
  type CreateIncidentRequest,
  type Incident,
} from './admin-client.js';
import { ExitCode, type OpsContext } from './context.js';
import { fileIdentity, type LineError, readCheckpoint } from './input-files.js';
import { formatError, reportLineErrors, UsageError, writeJson, writeLine } from './output.js';

/** The contract's limits per audience call: 10,000 entries and a 1 MiB body (room left for the envelope). */
export const MAX_CHUNK_ENTRIES = 10_000;
const MAX_CHUNK_BYTES = 1024 * 1024 - 1024;

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
const MAX_ATTEMPTS = 6;
const MAX_RETRY_WAIT_MS = 30_000;

export interface AudienceFileOptions {
  readonly file: string;
  readonly checkpoint?: string;
  readonly restart?: boolean;
  readonly skipInvalid?: boolean;
}

interface Checkpoint {
  readonly version: 1;
  readonly fileId: string;
  /** Hash of the create request: the same file declared with other flags is another incident. */
  readonly requestId: string;
  /** Idempotency-Key of the create, saved before it is sent. */
  readonly createKey: string;
  incidentId?: string;
  /** Chunks 0 .. chunksDone-1 are stored by the API. */
  chunksDone: number;
  entriesSent: number;
  closed: boolean;
}

export interface AudienceChunk {
  readonly number: number;
  readonly entries: readonly string[];
}

/** One line of the file: blank lines and `#` comments are left out; anything else must be an entry. */
async function* readEntries(path: string, onInvalid: (error: LineError) => void): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line += 1;
    const text = (line === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '' || text.startsWith('#')) continue;
    const entry = normaliseAudienceEntry(text);
    if (entry === undefined) {
      onInvalid({ line, message: 'not a user id, an email or ext:<externalId>' });
      continue;
    }
    yield entry;
  }
}

/** Cuts entries into chunks of at most 10,000 entries and 1 MiB of JSON; the same file always cuts the same. */
export async function* chunkEntries(entries: AsyncIterable<string>): AsyncGenerator<AudienceChunk> {
  let current: string[] = [];
  let bytes = 0;
  let number = 0;
  for await (const entry of entries) {
    const size = Buffer.byteLength(JSON.stringify(entry), 'utf8') + 1;
    if (current.length >= MAX_CHUNK_ENTRIES || bytes + size > MAX_CHUNK_BYTES) {
      yield { number, entries: current };
      number += 1;
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) yield { number, entries: current };
}

async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<void> {
  // Write-then-rename: a crash mid-write leaves the previous checkpoint, never half a file.
  await writeFile(`${path}.tmp`, JSON.stringify(checkpoint));
  await rename(`${path}.tmp`, path);
}

function isRetryable(error: unknown): boolean {
  return (
    error instanceof AdminUnreachableError ||
    (error instanceof AdminApiError && RETRYABLE_STATUSES.has(error.status))
  );
}

async function withRetries<T>(ctx: OpsContext, action: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      if (!isRetryable(error) || attempt >= MAX_ATTEMPTS || ctx.interrupt.aborted) throw error;
      const seconds = error instanceof AdminApiError ? error.retryAfterSeconds : undefined;
      await ctx.sleep(Math.min((seconds ?? 2 ** (attempt - 1)) * 1000, MAX_RETRY_WAIT_MS), ctx.interrupt);
    }
  }
}

/**
 * Declares the incident from the file and uploads its audience; returns the incident as closed (scheduled),
 * or undefined when the run was interrupted (the checkpoint lets the next run continue).
 */
export async function createListedIncident(
  ctx: OpsContext,
  request: CreateIncidentRequest,
  options: AudienceFileOptions,
): Promise<{ incident: Incident | undefined; code: number }> {
  const path = options.file;
  const fileId = await fileIdentity(path);
  const requestId = createHash('sha256').update(JSON.stringify(request)).digest('hex');
  const checkpointPath = options.checkpoint ?? `${path}.incident-state.json`;
  if (options.restart) await rm(checkpointPath, { force: true });

  const previous = await readCheckpoint<Checkpoint>(checkpointPath);
  if (previous && (previous.fileId !== fileId || previous.requestId !== requestId)) {
    throw new UsageError(
      `${checkpointPath} belongs to another file or other incident flags; pass --restart to declare a new incident`,
    );
  }

  // Check the whole file before anything is declared: a bad line found after the close would be too late.
  const invalid: LineError[] = [];
  let entryCount = 0;
  for await (const _entry of readEntries(path, (error) => invalid.push(error))) entryCount += 1;
  if (invalid.length > 0) {
    reportLineErrors(ctx.stderr, path, invalid, 50);
    if (!options.skipInvalid) {
      throw new UsageError(
        `${path} has ${invalid.length} bad line(s); fix them, or pass --skip-invalid to leave them out`,
      );
    }
    writeLine(ctx.stderr, `Leaving out ${invalid.length} bad line(s) of ${path} (--skip-invalid).`);
  }
  if (entryCount === 0) throw new UsageError(`${path} has no entries`);

  const state: Checkpoint = previous ?? {
    version: 1,
    fileId,
    requestId,
    createKey: `incident-list-${randomUUID()}`,
    chunksDone: 0,
    entriesSent: 0,
    closed: false,
  };
  await saveCheckpoint(checkpointPath, state);
  if (previous?.incidentId !== undefined) {
    writeLine(
      ctx.stderr,
      `Resuming incident ${previous.incidentId} from ${checkpointPath} (${previous.entriesSent} of ${entryCount} entries sent).`,
    );
  }

  const created = await withRetries(ctx, () =>
    ctx.client.createIncident(request, { idempotencyKey: state.createKey }),
  );
  state.incidentId = created.id;
  await saveCheckpoint(checkpointPath, state);
  // A replayed create answers the first response; the incident may have moved on since.
  let incident = state.closed ? created : await ctx.client.getIncident(created.id);
  if (incident.status !== 'collecting') state.closed = true;

  const progress = createUploadProgress(ctx, entryCount, state.entriesSent);
  let fatal: unknown;
  try {
    if (!state.closed) {
      for await (const chunk of chunkEntries(readEntries(path, () => undefined))) {
        if (ctx.interrupt.aborted) break;
        if (chunk.number < state.chunksDone) continue;
        const key = `audience-${created.id}-${chunk.number}`;
        await withRetries(ctx, () => ctx.client.addAudience(created.id, chunk.entries, key));
        state.chunksDone = chunk.number + 1;
        state.entriesSent += chunk.entries.length;
        await saveCheckpoint(checkpointPath, state);
        progress.update(state.entriesSent);
      }
      if (!ctx.interrupt.aborted) {
        incident = await withRetries(ctx, () => ctx.client.closeAudience(created.id));
        state.closed = true;
        await saveCheckpoint(checkpointPath, state);
      }
    }
  } catch (error) {
    fatal = error;
  } finally {
    progress.stop();
  }
  if (fatal !== undefined) {
    const [summary, detail] = formatError(fatal);
    writeLine(ctx.stderr, `Stopped: ${summary}`);
    if (detail !== undefined) writeLine(ctx.stderr, detail);
    writeLine(ctx.stderr, `Run the same command again to continue from ${checkpointPath}.`);
    return { incident: undefined, code: ExitCode.error };
  }
  if (!state.closed) {
    writeLine(ctx.stderr, `Interrupted; run the same command again to continue from ${checkpointPath}.`);
    return { incident: undefined, code: ExitCode.interrupted };
  }
  if (!ctx.json) {
    writeLine(
      ctx.stdout,
      `Uploaded ${state.entriesSent} entries of ${path} in ${state.chunksDone} chunk(s) to incident ${created.id}.`,
    );
  }
  return { incident, code: ExitCode.ok };
}

function createUploadProgress(ctx: OpsContext, total: number, start: number) {
  if (ctx.progressMode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream: ctx.barStream,
        hideCursor: true,
        barsize: 20,
        format: 'audience |{bar}| {value}/{total} entries | {eta_formatted}',
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start);
    return { update: (sent: number) => bar.update(sent), stop: () => bar.stop() };
  }
  let lastLineAt = 0;
  return {
    update(sent: number) {
      const now = ctx.now().getTime();
      if (ctx.progressMode === 'json' || (now - lastLineAt < 2000 && sent < total)) return;
      lastLineAt = now;
      writeLine(ctx.stderr, `audience: ${sent}/${total} entries`);
    },
    stop: () => undefined,
  };
}

/**
 * `incident report <id> [--out F]`: every page of the per-entry report as JSON lines, to stdout or a file
 * (written to `F.partial` and renamed when complete, so a file named F is always a whole report).
 */
export async function incidentReportCommand(
  ctx: OpsContext,
  id: string,
  options: { readonly out?: string },
): Promise<number> {
  const outcomes = new Map<string, number>();
  const partial = options.out === undefined ? undefined : `${options.out}.partial`;
  const file = partial === undefined ? undefined : createWriteStream(partial);
  const write = (text: string) =>
    file === undefined
      ? Promise.resolve(ctx.stdout.write(text))
      : new Promise<void>((resolve, reject) =>
          file.write(text, (error) => (error ? reject(error) : resolve())),
        );
  let cursor: string | undefined;
  let lines = 0;
  try {
    do {
      if (ctx.interrupt.aborted) break;
      const page = await withRetries(ctx, () => ctx.client.reportPage(id, cursor));
      const text = page.text.endsWith('\n') || page.text === '' ? page.text : `${page.text}\n`;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        lines += 1;
        const outcome = (JSON.parse(line) as { outcome?: string }).outcome ?? 'unknown';
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      await write(text);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } finally {
    if (file !== undefined) await new Promise<void>((resolve) => file.end(resolve));
  }
  if (ctx.interrupt.aborted) {
    writeLine(ctx.stderr, 'Interrupted; the report is incomplete.');
    return ExitCode.interrupted;
  }
  if (partial !== undefined && options.out !== undefined) await rename(partial, options.out);
  const summary = [...outcomes.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([outcome, count]) => `${outcome}=${count}`)
    .join(' ');
  if (options.out !== undefined) {
    if (ctx.json)
      writeJson(ctx.stdout, {
        id,
        file: options.out,
        entries: lines,
        outcomes: Object.fromEntries(outcomes),
      });
    else
      writeLine(
        ctx.stdout,
        `Wrote ${lines} entries of incident ${id} to ${options.out}: ${summary || 'none'}`,
      );
  } else {
    writeLine(ctx.stderr, `${lines} entries: ${summary || 'none'}`);
  }
  return ExitCode.ok;
}
