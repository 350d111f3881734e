/**
 * Reading a user-import file (JSON lines or CSV with a header) as a stream of rows with their line numbers
 * and byte offsets, cut into deterministic batches. The ops CLI and the S3 import worker share it, so a
 * batch number names the same rows in both, and a run can resume from a batch's byte offset.
 */
import { MAX_IMPORT_ROWS } from './user-import.js';

export type ImportFileFormat = 'jsonl' | 'csv';

/** Request bodies stay well under the endpoint's 1 MiB. */
export const MAX_BATCH_BYTES = 900 * 1024;
/**
 * Fast digests cost one argon2id hash each at import (~40-70 ms of CPU): 100 of them keep a batch well
 * inside API Gateway's 29 s integration timeout, where 500 would not.
 */
export const MAX_WRAPPED_ROWS_PER_BATCH = 100;

const isWrappedDigestRow = (row: unknown): boolean =>
  typeof row === 'object' &&
  row !== null &&
  typeof (row as { passwordHash?: unknown }).passwordHash === 'object' &&
  (row as { passwordHash?: unknown }).passwordHash !== null;

export interface FileLine {
  readonly text: string;
  /** 1-based. */
  readonly line: number;
  /** Byte offset just after this line's line break. */
  readonly end: number;
}

/** Splits a byte stream into lines (LF or CRLF), keeping track of line numbers and byte offsets. */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array>,
  start: { offset: number; line: number } = { offset: 0, line: 1 },
): AsyncGenerator<FileLine> {
  let pending = Buffer.alloc(0);
  let offset = start.offset;
  let line = start.line;
  for await (const chunk of chunks) {
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    let newline = pending.indexOf(10);
    while (newline !== -1) {
      const raw = pending.subarray(0, newline);
      offset += newline + 1;
      yield { text: stripCr(raw.toString('utf8')), line, end: offset };
      line += 1;
      pending = pending.subarray(newline + 1);
      newline = pending.indexOf(10);
    }
  }
  if (pending.length > 0) {
    offset += pending.length;
    yield { text: stripCr(pending.toString('utf8')), line, end: offset };
  }
}

function stripCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

export interface ResumePoint {
  readonly offset: number;
  readonly line: number;
}

/** `next` is where reading resumes after this entry (absent for a record cut off by the end of the file). */
export type FileEntry =
  | { readonly line: number; readonly next?: ResumePoint; readonly row: unknown }
  | { readonly line: number; readonly next?: ResumePoint; readonly error: string };

const CSV_COLUMNS = new Set([
  'email',
  'username',
  'externalId',
  'authMethod',
  'passwordHash',
  'hashAlgorithm',
  'salt',
  'saltPosition',
  'mustResetPassword',
]);

/**
 * Turns lines into rows. CSV: RFC 4180 fields (quotes, doubled quotes, line breaks inside quotes), a
 * header naming the columns, blank lines and `#` lines skipped; `hashAlgorithm` (md5|sha1|sha256|sha512)
 * makes `passwordHash` a hex digest with optional `salt` and `saltPosition`. Rows are not validated here:
 * the import use-case checks each one and reports it by its line.
 */
export async function* readImportEntries(
  lines: AsyncIterable<FileLine>,
  format: ImportFileFormat,
  csvHeader?: readonly string[],
): AsyncGenerator<FileEntry | { readonly header: readonly string[] }> {
  let header = csvHeader;
  let record: { text: string; line: number } | undefined;
  for await (const current of lines) {
    if (format === 'jsonl') {
      if (current.text.trim() === '') continue;
      try {
        yield { line: current.line, next: after(current), row: JSON.parse(current.text) as unknown };
      } catch {
        yield { line: current.line, next: after(current), error: 'Not valid JSON.' };
      }
      continue;
    }
    record = record ? { text: `${record.text}\n${current.text}`, line: record.line } : { ...current };
    if (countQuotes(record.text) % 2 === 1) continue; // a quoted field goes on over the next line
    const { text, line } = record;
    record = undefined;
    if (text.trim() === '' || text.startsWith('#')) continue;
    const fields = splitCsvRecord(text.replace(/^\uFEFF/, ''));
    if (fields === undefined) {
      yield { line, next: after(current), error: 'Malformed CSV (stray quote).' };
      continue;
    }
    if (header === undefined) {
      const unknown = fields.filter((name) => !CSV_COLUMNS.has(name));
      if (unknown.length > 0 || !fields.includes('email')) {
        throw new ImportFileError(
          `line ${line}: the CSV header must name the columns (${[...CSV_COLUMNS].join(', ')}); unknown: ${unknown.join(', ') || 'none'}`,
        );
      }
      header = fields;
      yield { header };
      continue;
    }
    if (fields.length !== header.length) {
      yield {
        line,
        next: after(current),
        error: `Expected ${header.length} fields, found ${fields.length}.`,
      };
      continue;
    }
    yield { line, next: after(current), row: csvRow(header, fields) };
  }
  if (record !== undefined) {
    yield { line: record.line, error: 'Unterminated quoted field.' };
  }
}

const after = (line: FileLine): ResumePoint => ({ offset: line.end, line: line.line + 1 });

export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
}

function countQuotes(text: string): number {
  let count = 0;
  for (const char of text) if (char === '"') count += 1;
  return count;
}

function splitCsvRecord(text: string): string[] | undefined {
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    let value = '';
    if (text[index] === '"') {
      index += 1;
      for (;;) {
        const quote = text.indexOf('"', index);
        if (quote === -1) return undefined;
        value += text.slice(index, quote);
        if (text[quote + 1] === '"') {
          value += '"';
          index = quote + 2;
          continue;
        }
        index = quote + 1;
        break;
      }
      if (index < text.length && text[index] !== ',') return undefined;
    } else {
      const comma = text.indexOf(',', index);
      value = comma === -1 ? text.slice(index) : text.slice(index, comma);
      if (value.includes('"')) return undefined;
      index = comma === -1 ? text.length : comma;
    }
    fields.push(value);
    if (index >= text.length) return fields;
    index += 1; // the comma
  }
}

function csvRow(header: readonly string[], fields: readonly string[]): Record<string, unknown> {
  const value: Record<string, string> = {};
  header.forEach((name, i) => {
    const field = fields[i] ?? '';
    if (field !== '') value[name] = field;
  });
  const { hashAlgorithm, passwordHash, salt, saltPosition, mustResetPassword, ...rest } = value;
  const row: Record<string, unknown> = { ...rest };
  if (hashAlgorithm !== undefined) {
    row['passwordHash'] = {
      algorithm: hashAlgorithm,
      hash: passwordHash ?? '',
      ...(salt !== undefined ? { salt } : {}),
      ...(saltPosition !== undefined ? { saltPosition } : {}),
    };
  } else if (passwordHash !== undefined) {
    row['passwordHash'] = passwordHash;
  }
  if (mustResetPassword !== undefined) row['mustResetPassword'] = mustResetPassword === 'true';
  return row;
}

export interface ImportBatch {
  /** 0-based, counted from the start of the file: the same rows get the same number on every run. */
  readonly number: number;
  readonly rows: readonly { readonly line: number; readonly row: unknown }[];
  /** Lines that could not be read as a row; reported with the batch they fall in. */
  readonly unreadable: readonly { readonly line: number; readonly error: string }[];
  /** Where the next batch starts: resuming from here reads exactly the batches after this one. */
  readonly next: ResumePoint;
}

/**
 * Cuts entries into batches of at most `maxRows` rows and MAX_BATCH_BYTES of JSON. Cut points depend only
 * on the file's content and `maxRows`, so a rerun of the same file cuts the same batches.
 */
export async function* batchEntries(
  entries: AsyncIterable<FileEntry | { readonly header: readonly string[] }>,
  options: { maxRows?: number; firstBatch?: number; onHeader?: (header: readonly string[]) => void } = {},
): AsyncGenerator<ImportBatch> {
  const maxRows = Math.min(options.maxRows ?? MAX_IMPORT_ROWS, MAX_IMPORT_ROWS);
  let number = options.firstBatch ?? 0;
  let rows: { line: number; row: unknown }[] = [];
  let unreadable: { line: number; error: string }[] = [];
  let bytes = 0;
  let wrapped = 0;
  let last: ResumePoint | undefined;
  /** The batch so far, ending at `last`; the next one starts empty. */
  const cut = (): ImportBatch => {
    const batch = { number, rows, unreadable, next: last! };
    number += 1;
    rows = [];
    unreadable = [];
    bytes = 0;
    wrapped = 0;
    return batch;
  };
  for await (const entry of entries) {
    if ('header' in entry) {
      options.onHeader?.(entry.header);
      continue;
    }
    if ('error' in entry) {
      unreadable.push({ line: entry.line, error: entry.error });
    } else {
      const size = Buffer.byteLength(JSON.stringify(entry.row), 'utf8') + 1;
      const isWrapped = isWrappedDigestRow(entry.row);
      if (
        rows.length > 0 &&
        (bytes + size > MAX_BATCH_BYTES || (isWrapped && wrapped >= MAX_WRAPPED_ROWS_PER_BATCH))
      ) {
        yield cut();
      }
      rows.push({ line: entry.line, row: entry.row });
      bytes += size;
      if (isWrapped) wrapped += 1;
    }
    if (entry.next) last = entry.next;
    if (rows.length >= maxRows) {
      yield cut();
    }
  }
  if (rows.length > 0 || unreadable.length > 0) {
    yield { number, rows, unreadable, next: last ?? { offset: 0, line: 1 } };
  }
}
