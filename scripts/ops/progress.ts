/**
 * Progress displays. On a terminal: cli-progress bars on stderr, so stdout stays clean for piping.
 * Elsewhere (CI logs, `--json`, a child process): plain or JSON lines, one per change, that a script
 * or a test can read.
 */
import cliProgress from 'cli-progress';
import type { Incident, IncidentCounts } from './admin-client.js';
import { printable, type TextSink, writeJson, writeLine } from './output.js';

export type ProgressMode = 'bar' | 'lines' | 'json';

export interface IncidentProgressView {
  update(incident: Incident): void;
  stop(): void;
}

export interface IncidentProgressOptions {
  readonly mode: ProgressMode;
  /** Where change lines go (stdout). */
  readonly out: TextSink;
  /** Where bars are drawn (a TTY stderr). */
  readonly barStream: NodeJS.WritableStream;
  readonly now: () => Date;
}

/** How many recipients are finished one way or another. */
function processedCount(counts: IncidentCounts): number {
  return counts.sent + counts.skipped + counts.failed;
}

export function formatCounts(counts: IncidentCounts): string {
  return `targeted=${counts.targeted} queued=${counts.queued} sent=${counts.sent} skipped=${counts.skipped} failed=${counts.failed}`;
}

export function createIncidentProgressView(options: IncidentProgressOptions): IncidentProgressView {
  if (options.mode === 'bar') return new IncidentBars(options.barStream);
  let last: string | undefined;
  return {
    update(incident) {
      const { status, counts } = incident;
      const state = JSON.stringify([
        status,
        counts.targeted,
        counts.queued,
        counts.sent,
        counts.skipped,
        counts.failed,
      ]);
      if (state === last) return;
      last = state;
      const at = options.now().toISOString();
      if (options.mode === 'json') {
        writeJson(options.out, {
          at,
          id: incident.id,
          status,
          counts: {
            targeted: counts.targeted,
            queued: counts.queued,
            sent: counts.sent,
            skipped: counts.skipped,
            failed: counts.failed,
          },
        });
      } else {
        writeLine(options.out, `${at} ${status} ${formatCounts(counts)}`);
      }
    },
    stop() {},
  };
}

/** Two bars: recipients queued, and recipients done (sent, skipped or failed), both out of targeted. */
class IncidentBars implements IncidentProgressView {
  private readonly multibar: cliProgress.MultiBar;
  private queued: cliProgress.SingleBar | undefined;
  private done: cliProgress.SingleBar | undefined;

  constructor(stream: NodeJS.WritableStream) {
    this.multibar = new cliProgress.MultiBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        // A scheduled incident may not know its audience yet: show an empty bar, not a full one.
        emptyOnZero: true,
        autopadding: true,
        // Narrow enough that the counts still fit an 80-column terminal (cli-progress cuts, not wraps).
        barsize: 20,
        format: '{label} |{bar}| {percentage}% {value}/{total} | {info}',
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(incident: Incident): void {
    const { counts } = incident;
    const processed = processedCount(counts);
    // Counts may briefly run ahead of `targeted` while the dispatcher is still walking the scope.
    const total = Math.max(counts.targeted, counts.queued, processed);
    const queuedPayload = { label: 'queued', info: `status ${incident.status}` };
    const donePayload = {
      label: 'done  ',
      info: `sent ${counts.sent}, skipped ${counts.skipped}, failed ${counts.failed}`,
    };
    if (this.queued === undefined || this.done === undefined) {
      this.queued = this.multibar.create(total, counts.queued, queuedPayload);
      this.done = this.multibar.create(total, processed, donePayload);
      return;
    }
    this.queued.setTotal(total);
    this.queued.update(counts.queued, queuedPayload);
    this.done.setTotal(total);
    this.done.update(processed, donePayload);
  }

  stop(): void {
    this.multibar.stop();
  }
}

export interface ImportProgressView {
  advance(outcome: 'imported' | 'failed'): void;
  stop(): void;
}

export interface ImportProgressOptions {
  readonly mode: ProgressMode;
  readonly total: number;
  /** Where bars and periodic lines go (stderr: stdout is for the summary). */
  readonly err: TextSink;
  readonly barStream: NodeJS.WritableStream;
  readonly nowMs: () => number;
  /** Lines mode prints at most one line per interval. @default 2000 */
  readonly lineIntervalMs?: number;
}

export function createImportProgressView(options: ImportProgressOptions): ImportProgressView {
  let imported = 0;
  let failed = 0;
  if (options.mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream: options.barStream,
        hideCursor: true,
        barsize: 20,
        format:
          'importing |{bar}| {percentage}% {value}/{total} | imported {imported}, failed {failed} | {duration_formatted}',
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(options.total, 0, { imported, failed });
    return {
      advance(outcome) {
        if (outcome === 'imported') imported += 1;
        else failed += 1;
        bar.update(imported + failed, { imported, failed });
      },
      stop() {
        bar.stop();
      },
    };
  }
  if (options.mode === 'json') return { advance() {}, stop() {} };

  const interval = options.lineIntervalMs ?? 2000;
  let lastLineAt = options.nowMs();
  return {
    advance(outcome) {
      if (outcome === 'imported') imported += 1;
      else failed += 1;
      const now = options.nowMs();
      if (now - lastLineAt < interval) return;
      lastLineAt = now;
      writeLine(
        options.err,
        `importing: ${imported + failed}/${options.total} (imported ${imported}, failed ${failed})`,
      );
    },
    stop() {},
  };
}

/** A one-line summary of an incident for people. */
export function describeIncident(incident: Incident): string {
  return `${incident.id} ${printable(JSON.stringify(incident.title))} ${incident.status} ${formatCounts(incident.counts)}`;
}
