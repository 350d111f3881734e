/**
 * Parsing of the files ops hand to the CLI: lists of emails or user ids for a scoped incident, and
 * users to import. Every problem is reported with the line it starts on so a file of thousands of
 * rows can be fixed, and nothing here ever echoes a password (or a whole users-file row) back.
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import type { AdminUserInput } from './admin-client.js';
import { UsageError } from './output.js';

export interface LineError {
  /** 1-based physical line of the file where the offending record starts. */
  readonly line: number;
  readonly message: string;
}

export interface CsvRecord {
  readonly line: number;
  readonly fields: readonly string[];
}

export interface ParsedList {
  /** Normalised, in file order, without duplicates. */
  readonly values: readonly string[];
  readonly errors: readonly LineError[];
  /** Values dropped because an earlier line had the same one. */
  readonly duplicates: number;
}

export interface UserImportRow {
  readonly line: number;
  readonly user: AdminUserInput;
}

export interface ParsedUserImport {
  readonly rows: readonly UserImportRow[];
  readonly errors: readonly LineError[];
  /** Set when the file as a whole is unusable (a CSV header problem): nothing should be imported. */
  readonly rejected?: LineError;
}

export type UserImportFormat = 'jsonl' | 'csv';

/**
 * RFC 4180 CSV with the usual tolerances: LF, CRLF or CR line breaks, a leading BOM (spreadsheet
 * exports), and blank lines and lines starting with `#` (outside quotes) skipped. Quoted fields may
 * hold commas, doubled quotes and line breaks. A bare `"` inside an unquoted field, or text after a
 * closing quote, is an error rather than being guessed at: a silently mis-split row could import a
 * wrong password.
 */
export function parseCsv(text: string): { records: CsvRecord[]; errors: LineError[] } {
  const records: CsvRecord[] = [];
  const errors: LineError[] = [];
  const input = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let index = 0;
  let line = 1;

  /** Consumes a line break at `index` if there is one; true when it did. */
  const takeLineBreak = (): boolean => {
    const char = input[index];
    if (char === '\r') {
      index += input[index + 1] === '\n' ? 2 : 1;
      line += 1;
      return true;
    }
    if (char === '\n') {
      index += 1;
      line += 1;
      return true;
    }
    return false;
  };

  /** After an error, resynchronise at the next line break (quotes can no longer be trusted). */
  const skipRestOfLine = (): void => {
    while (index < input.length && !takeLineBreak()) index += 1;
  };

  while (index < input.length) {
    const recordLine = line;
    if (takeLineBreak()) continue;
    if (input[index] === '#') {
      skipRestOfLine();
      continue;
    }

    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let field = '';
      if (input[index] === '"') {
        const openedOn = line;
        index += 1;
        let closed = false;
        while (index < input.length) {
          const char = input[index];
          if (char === '"') {
            if (input[index + 1] === '"') {
              field += '"';
              index += 2;
              continue;
            }
            index += 1;
            closed = true;
            break;
          }
          if (char === '\r' || char === '\n') {
            const breakStart = index;
            takeLineBreak();
            field += input.slice(breakStart, index);
            continue;
          }
          field += char;
          index += 1;
        }
        if (!closed) {
          error = `unterminated quoted field (opened on line ${openedOn})`;
          break;
        }
        const next = input[index];
        if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
          error = 'unexpected text after a closing quote; double any quote inside a quoted field ("")';
          break;
        }
      } else {
        while (index < input.length) {
          const char = input[index];
          if (char === ',' || char === '\r' || char === '\n') break;
          if (char === '"') {
            error = 'a quote inside an unquoted field; quote the whole field and double the quote ("")';
            break;
          }
          field += char;
          index += 1;
        }
        if (error !== undefined) break;
      }
      fields.push(field);
      if (input[index] === ',') {
        index += 1;
        continue;
      }
      takeLineBreak();
      break;
    }

    if (error === undefined) {
      records.push({ line: recordLine, fields });
    } else {
      errors.push({ line: recordLine, message: error });
      skipRestOfLine();
    }
  }
  return { records, errors };
}

interface JsonLine {
  readonly line: number;
  readonly value: Record<string, unknown>;
}

/** JSON-lines with the same blank-line and `#` comment rules as the CSV reader. */
function parseJsonLines(text: string): { objects: JsonLine[]; errors: LineError[] } {
  const objects: JsonLine[] = [];
  const errors: LineError[] = [];
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r\n|\r|\n/);
  lines.forEach((raw, offset) => {
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const line = offset + 1;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch {
      // JSON.parse's own message quotes the input, which may hold a password: say only where.
      errors.push({ line, message: 'not valid JSON' });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push({ line, message: 'expected a JSON object' });
      return;
    }
    objects.push({ line, value: value as Record<string, unknown> });
  });
  return { objects, errors };
}

function firstSignificantLine(text: string): string | undefined {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('#'));
}

/** Shown in messages about emails and ids only (never users-file rows), cut so one bad line stays one line. */
function quote(value: string): string {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return JSON.stringify(shown);
}

// Deliberately loose: the API owns the full rules; this catches the blanks, typos and stray columns
// that would otherwise be counted as "skipped" recipients of a breach notice.
const EMAIL_SHAPE = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>"]+$/;
// The admin API's rule (shared/http/incident-schemas.ts): checked here too so a bad id is reported by
// line instead of failing the whole incident with one 400.
const USER_ID_SHAPE = /^[A-Za-z0-9-]{1,64}$/;

interface ListKind {
  readonly noun: string;
  /** Header / JSON field names accepted for the value, lower-cased. */
  readonly columns: readonly string[];
  readonly jsonField: string;
  readonly normalise: (value: string) => string;
  readonly validate: (value: string) => string | undefined;
}

const EMAILS: ListKind = {
  noun: 'email',
  columns: ['email', 'e-mail', 'email_address', 'emailaddress'],
  jsonField: 'email',
  normalise: (value) => value.trim().toLowerCase(),
  validate: (value) => (EMAIL_SHAPE.test(value) ? undefined : `${quote(value)} is not an email address`),
};

const USER_IDS: ListKind = {
  noun: 'user id',
  columns: ['userid', 'user_id', 'id'],
  jsonField: 'userId',
  normalise: (value) => value.trim(),
  validate: (value) => (USER_ID_SHAPE.test(value) ? undefined : `${quote(value)} is not a user id`),
};

/** Emails for an incident scope: one per line, CSV with an `email` column, or JSON-lines with `email`. */
export function parseEmailList(text: string): ParsedList {
  return parseList(text, EMAILS);
}

/** User ids for an incident scope: one per line, CSV with a `userId` column, or JSON-lines with `userId`. */
export function parseUserIdList(text: string): ParsedList {
  return parseList(text, USER_IDS);
}

/** Emails given as command-line arguments; `line` in errors is the argument's position (1-based). */
export function checkEmailArguments(values: readonly string[]): ParsedList {
  return checkCandidates(
    values.map((raw, index) => ({ line: index + 1, raw })),
    [],
    EMAILS,
  );
}

/** User ids given as command-line arguments; `line` in errors is the argument's position (1-based). */
export function checkUserIdArguments(values: readonly string[]): ParsedList {
  return checkCandidates(
    values.map((raw, index) => ({ line: index + 1, raw })),
    [],
    USER_IDS,
  );
}

function parseList(text: string, kind: ListKind): ParsedList {
  const candidates: { line: number; raw: unknown }[] = [];
  const errors: LineError[] = [];

  if (firstSignificantLine(text)?.startsWith('{')) {
    const parsed = parseJsonLines(text);
    errors.push(...parsed.errors);
    for (const { line, value } of parsed.objects) {
      candidates.push({ line, raw: value[kind.jsonField] });
    }
  } else {
    const parsed = parseCsv(text);
    errors.push(...parsed.errors);
    const [first, ...rest] = parsed.records;
    const headerColumn = first?.fields.findIndex((field) =>
      kind.columns.includes(field.trim().toLowerCase()),
    );
    if (first !== undefined && headerColumn !== undefined && headerColumn >= 0) {
      for (const record of rest) {
        if (record.fields.length !== first.fields.length) {
          errors.push({
            line: record.line,
            message: `expected ${first.fields.length} fields like the header, found ${record.fields.length}`,
          });
          continue;
        }
        candidates.push({ line: record.line, raw: record.fields[headerColumn] });
      }
    } else {
      for (const record of parsed.records) {
        if (record.fields.length !== 1) {
          errors.push({
            line: record.line,
            message: `expected one ${kind.noun} per line (for a CSV file, add a header row naming the "${kind.jsonField}" column)`,
          });
          continue;
        }
        candidates.push({ line: record.line, raw: record.fields[0] });
      }
    }
  }

  return checkCandidates(candidates, errors, kind);
}

function checkCandidates(
  candidates: readonly { line: number; raw: unknown }[],
  errors: LineError[],
  kind: ListKind,
): ParsedList {
  const values: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const { line, raw } of candidates) {
    if (typeof raw !== 'string' || raw.trim() === '') {
      errors.push({ line, message: `missing ${kind.noun}` });
      continue;
    }
    const value = kind.normalise(raw);
    const problem = kind.validate(value);
    if (problem !== undefined) {
      errors.push({ line, message: problem });
      continue;
    }
    if (seen.has(value)) {
      duplicates += 1;
      continue;
    }
    seen.add(value);
    values.push(value);
  }
  return { values, errors: sortByLine(errors), duplicates };
}

/** `--format` wins; otherwise the extension, otherwise whether the first real line looks like JSON. */
export function detectUserImportFormat(fileName: string, text: string): UserImportFormat {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson') || lower.endsWith('.json')) return 'jsonl';
  return firstSignificantLine(text)?.startsWith('{') ? 'jsonl' : 'csv';
}

type UserField = keyof AdminUserInput;

const USER_COLUMNS: Readonly<Record<string, UserField>> = {
  email: 'email',
  username: 'username',
  authmethod: 'authMethod',
  auth_method: 'authMethod',
  password: 'password',
};

/**
 * Users to import, one per record. Structure is checked here (required fields, types, auth method,
 * duplicate emails); the content rules (email syntax, username pattern, password policy) stay with the
 * API, whose answer is reported per line.
 */
export function parseUserImport(text: string, format: UserImportFormat): ParsedUserImport {
  const candidates: { line: number; fields: Partial<Record<UserField, unknown>> }[] = [];
  const errors: LineError[] = [];

  if (format === 'jsonl') {
    const parsed = parseJsonLines(text);
    errors.push(...parsed.errors);
    for (const { line, value } of parsed.objects) {
      const unknown = Object.keys(value).filter(
        (key) => !['email', 'username', 'authMethod', 'password'].includes(key),
      );
      if (unknown.length > 0) {
        errors.push({ line, message: `unknown field(s): ${unknown.map((key) => quote(key)).join(', ')}` });
        continue;
      }
      candidates.push({ line, fields: value });
    }
  } else {
    const parsed = parseCsv(text);
    errors.push(...parsed.errors);
    const [header, ...rest] = parsed.records;
    if (header === undefined) return { rows: [], errors: sortByLine(errors) };
    if (!header.fields.some((name) => USER_COLUMNS[name.trim().toLowerCase()] === 'email')) {
      // Without a recognisable header the first record is probably data, and echoing its "column
      // names" could print a password.
      const rejected = {
        line: header.line,
        message:
          'the first record is not a header row (expected email, authMethod, and optionally username and password)',
      };
      return { rows: [], errors: sortByLine([...errors, rejected]), rejected };
    }
    const columns: UserField[] = [];
    const headerProblems: string[] = [];
    for (const name of header.fields) {
      const field = USER_COLUMNS[name.trim().toLowerCase()];
      if (field === undefined) headerProblems.push(`unknown column ${quote(name)}`);
      else if (columns.includes(field)) headerProblems.push(`column ${quote(name)} appears twice`);
      else columns.push(field);
    }
    for (const required of ['email', 'authMethod'] as const) {
      if (!columns.includes(required)) headerProblems.push(`missing the "${required}" column`);
    }
    if (headerProblems.length > 0) {
      // A wrong header makes every row suspect (a misspelt "password" column would create accounts
      // without one), so nothing is imported.
      const rejected = {
        line: header.line,
        message: `header: ${headerProblems.join('; ')} (expected email, authMethod, and optionally username and password)`,
      };
      return { rows: [], errors: sortByLine([...errors, rejected]), rejected };
    }
    for (const record of rest) {
      if (record.fields.length !== columns.length) {
        errors.push({
          line: record.line,
          message: `expected ${columns.length} fields like the header, found ${record.fields.length}`,
        });
        continue;
      }
      const fields: Partial<Record<UserField, unknown>> = {};
      columns.forEach((column, position) => {
        const value = record.fields[position] ?? '';
        // An empty CSV cell means "not given"; passwords are otherwise taken byte for byte.
        if (value !== '') fields[column] = column === 'password' ? value : value.trim();
      });
      candidates.push({ line: record.line, fields });
    }
  }

  const rows: UserImportRow[] = [];
  const firstLineOfEmail = new Map<string, number>();
  for (const { line, fields } of candidates) {
    const result = toAdminUserInput(fields);
    if (typeof result === 'string') {
      errors.push({ line, message: result });
      continue;
    }
    const key = result.email.trim().toLowerCase();
    const earlier = firstLineOfEmail.get(key);
    if (earlier !== undefined) {
      errors.push({ line, message: `duplicate email (same as line ${earlier})` });
      continue;
    }
    firstLineOfEmail.set(key, line);
    rows.push({ line, user: result });
  }
  return { rows, errors: sortByLine(errors) };
}

/** The row as the API body, or a message saying what is structurally wrong (never echoing values). */
function toAdminUserInput(fields: Partial<Record<UserField, unknown>>): AdminUserInput | string {
  const { email, username, password } = fields;
  const authMethod =
    typeof fields.authMethod === 'string' ? fields.authMethod.trim().toLowerCase() : fields.authMethod;
  if (typeof email !== 'string' || email.trim() === '') return 'missing email';
  if (authMethod !== 'password' && authMethod !== 'sso') {
    return authMethod === undefined || authMethod === null || authMethod === ''
      ? 'missing authMethod (password or sso)'
      : 'authMethod must be "password" or "sso"';
  }
  if (username !== undefined && username !== null && typeof username !== 'string') {
    return 'username must be a string';
  }
  if (password !== undefined && password !== null && typeof password !== 'string') {
    return 'password must be a string';
  }
  return {
    email: email.trim(),
    authMethod,
    ...(typeof username === 'string' && username.trim() !== '' ? { username: username.trim() } : {}),
    ...(typeof password === 'string' ? { password } : {}),
  };
}

function sortByLine(errors: LineError[]): LineError[] {
  return errors.sort((a, b) => a.line - b.line);
}

/**
 * Identity of the file's content: size plus its first and last MiB (hashing 30 GB up front would take minutes).
 * What a checkpoint is tied to, so a resumed run cannot continue on another file.
 */
export async function fileIdentity(path: string): Promise<string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new UsageError(`cannot read ${path}`);
  }
  const hash = createHash('sha256').update(`${size}:`);
  const handle = await open(path, 'r');
  try {
    const window = 1024 * 1024;
    const head = Buffer.alloc(Math.min(window, size));
    await handle.read(head, 0, head.length, 0);
    hash.update(head);
    if (size > window) {
      const tail = Buffer.alloc(Math.min(window, size - window));
      await handle.read(tail, 0, tail.length, size - tail.length);
      hash.update(tail);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** A resumable command's checkpoint file, or undefined when there is none (or it cannot be read as JSON). */
export async function readCheckpoint<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
