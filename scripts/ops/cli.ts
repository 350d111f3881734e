/**
 * `npm run ops -- <command>`: the ops CLI for a local or deployed account-shield stack. Only commander
 * wiring lives here; the commands are in *-commands.ts and take an OpsContext built from the global
 * options and the environment, so the CLI can also be driven as a child process with env vars
 * (ACCOUNT_SHIELD_API_URL, ADMIN_TOKEN).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { Command, Option } from 'commander';
import {
  AdminApiError,
  AdminClient,
  AdminUnreachableError,
  bearerTokenSigner,
  isValidIdempotencyKey,
  type RequestSigner,
  regionFromApiUrl,
  sigV4Signer,
} from './admin-client.js';
import { incidentReportCommand } from './audience-upload.js';
import { type BatchImportFlags, batchImportCommand } from './batch-import.js';
import { ExitCode, type OpsContext, sleep } from './context.js';
import {
  cancelIncidentCommand,
  createIncidentCommand,
  type IncidentCreateFlags,
  listIncidentsCommand,
  parseIntervalMs,
  showIncidentCommand,
  watchIncidentCommand,
} from './incident-commands.js';
import { describeError, formatError, UsageError, writeJson, writeLine } from './output.js';
import {
  type ForceResetFlags,
  forceResetCommand,
  type ImportFlags,
  importUsersCommand,
} from './user-commands.js';

interface GlobalOptions {
  readonly api: string;
  readonly adminToken?: string;
  readonly iam?: boolean;
  readonly region?: string;
  readonly json?: boolean;
  readonly idempotencyKey?: string;
}

/** Leaves room for the `/<line>` suffix of import rows within the API's 128 characters. */
const MAX_CLI_IDEMPOTENCY_KEY = 100;

const program = new Command('npm run ops --')
  .description('Operate an account-shield stack: breach incidents and user administration.')
  .addOption(
    new Option('--api <url>', 'base URL of the account-shield API')
      .env('ACCOUNT_SHIELD_API_URL')
      .default('http://127.0.0.1:3000'),
  )
  .addOption(
    new Option(
      '--admin-token <token>',
      'admin token of the local runner (prefer the env var: flags end up in shell history)',
    ).env('ADMIN_TOKEN'),
  )
  .option(
    '--iam',
    'sign requests with SigV4 (deployed stacks: IAM-authorised admin routes; default credential chain)',
  )
  .addOption(
    new Option(
      '--region <region>',
      'AWS region for --iam (default: AWS_DEFAULT_REGION or the execute-api URL)',
    ).env('AWS_REGION'),
  )
  .option('--json', 'machine-readable output on stdout (JSON, or JSON lines while watching)')
  .option(
    '--idempotency-key <key>',
    "reuse a previous run's Idempotency-Key (printed when a write's outcome is unknown), so re-running it cannot act twice",
  )
  .showHelpAfterError('(add --help for usage)')
  .addHelpText(
    'after',
    `
Exit codes: 0 done, 1 error, 2 some rows of an import failed, 130 interrupted.

Examples:
  ADMIN_TOKEN=... npm run ops -- incident create --title "Credential stuffing" --all --force-password-reset --revoke-sessions --watch
  npm run ops -- --iam --api https://abc123.execute-api.eu-west-1.amazonaws.com incident list
  npm run ops -- users import users.csv --concurrency 8`,
  );

const incident = program.command('incident').description('create, follow and cancel breach incidents');

incident
  .command('create')
  .description('declare an incident: force resets and/or revoke sessions, and notify the accounts in scope')
  .requiredOption('--title <title>', 'what happened, for the records')
  .option('--all', 'every account (takes effect for all of them at once)')
  .option('--emails-file <file>', 'emails: one per line, CSV with an "email" column, or JSON-lines')
  .option('--user-ids-file <file>', 'user ids: one per line, CSV with a "userId" column, or JSON-lines')
  .option(
    '--audience-file <file>',
    'a listed audience of any size: user ids, emails and ext:<externalId>, one per line; uploaded in chunks, resumable',
  )
  .option(
    '--checkpoint <path>',
    'with --audience-file: checkpoint file (default: <file>.incident-state.json)',
  )
  .option('--restart', 'with --audience-file: ignore an existing checkpoint and declare a new incident')
  .option('--email <emails...>', 'emails given inline')
  .option('--user-id <ids...>', 'user ids given inline')
  .option('--skip-invalid', 'leave out bad lines of a scope file instead of refusing the file')
  .option('--force-password-reset', 'password accounts must reset before their next login')
  .option('--revoke-sessions', 'revoke every session and token issued before the incident')
  .option('--no-notify', 'send no emails')
  .option('--send-at <iso>', 'when the notices go out (ISO-8601 with a zone; default: now)')
  .option('--remind-after-hours <hours>', 're-mail accounts that still have not reset after this many hours')
  .option('--watch', 'follow the incident until it completes')
  .option('--interval-ms <ms>', 'poll interval for --watch', '1000')
  .option('--yes', 'do not ask for confirmation of a tenant-wide (--all) incident')
  .option('--dry-run', 'print the request that would be sent and stop')
  .action((flags: IncidentCreateFlags, command: Command) =>
    run(
      command,
      { interruptible: flags.watch === true || flags.audienceFile !== undefined, writes: true },
      (ctx) => createIncidentCommand(ctx, flags),
    ),
  );

incident
  .command('watch <id>')
  .description('follow an incident with a live progress display until it is completed or cancelled')
  .option('--interval-ms <ms>', 'poll interval', '1000')
  .action((id: string, flags: { intervalMs: string }, command: Command) =>
    run(command, { interruptible: true }, (ctx) =>
      watchIncidentCommand(ctx, id, parseIntervalMs(flags.intervalMs)),
    ),
  );

incident
  .command('list')
  .description('list incidents, newest first')
  .action((_flags: unknown, command: Command) => run(command, {}, (ctx) => listIncidentsCommand(ctx)));

incident
  .command('show <id>')
  .description('show one incident and its counts')
  .action((id: string, _flags: unknown, command: Command) =>
    run(command, {}, (ctx) => showIncidentCommand(ctx, id)),
  );

incident
  .command('report <id>')
  .description('the per-entry outcome of a listed incident, as JSON lines (entry, userId, outcome, at)')
  .option('--out <file>', 'write the report to this file instead of stdout')
  .action((id: string, flags: { out?: string }, command: Command) =>
    run(command, { interruptible: true }, (ctx) => incidentReportCommand(ctx, id, flags)),
  );

incident
  .command('cancel <id>')
  .description('stop sending notices for an incident')
  .action((id: string, _flags: unknown, command: Command) =>
    run(command, {}, (ctx) => cancelIncidentCommand(ctx, id)),
  );

const users = program.command('users').description('administer user accounts');

users
  .command('force-reset <userId>')
  .description("require a password reset at the user's next login")
  .option('--no-revoke-sessions', 'leave existing sessions signed in')
  .option('--no-notify', 'send no email')
  .action((userId: string, flags: ForceResetFlags, command: Command) =>
    run(command, { writes: true }, (ctx) => forceResetCommand(ctx, userId, flags)),
  );

users
  .command('import [file]')
  .description(
    'import users. With --file: stream an export of any size (JSON lines or CSV: email, authMethod, username?, externalId?, passwordHash?, hashAlgorithm?, salt?, saltPosition?, mustResetPassword?) through the batch import, resumable. With a positional file: create users one by one from plaintext passwords (email, authMethod, username?, password?)',
  )
  .addOption(
    new Option('--format <format>', 'file format (default: from the extension)').choices(['jsonl', 'csv']),
  )
  .option('--concurrency <n>', 'requests in flight (default 8, or 4 batches with --file)')
  .option(
    '--file <path>',
    'batch import with password hashes, resumable (see README "Migrating an existing user base")',
  )
  .option('--batch-size <n>', 'rows per request with --file (at most 500)', '500')
  .option('--checkpoint <path>', 'checkpoint file (default: <file>.import-state.json)')
  .option('--rejected <path>', 'where rejected rows are listed by line (default: <file>.rejected.jsonl)')
  .option('--must-reset-password', 'every imported password account must reset at next sign-in')
  .option('--restart', 'ignore and replace an existing checkpoint')
  .action(
    (
      file: string | undefined,
      flags: Omit<ImportFlags, 'concurrency'> &
        Omit<BatchImportFlags, 'file' | 'concurrency'> & { file?: string; concurrency?: string },
      command: Command,
    ) =>
      run(command, { interruptible: true, writes: true }, (ctx) => {
        if (flags.file !== undefined) {
          if (file !== undefined)
            throw new UsageError('pass the file either with --file or as an argument, not both');
          return batchImportCommand(ctx, {
            ...flags,
            file: flags.file,
            concurrency: flags.concurrency ?? '4',
          });
        }
        if (file === undefined)
          throw new UsageError('name the file to import (--file <path> for the batch import)');
        return importUsersCommand(ctx, file, { ...flags, concurrency: flags.concurrency ?? '8' });
      }),
  );

/**
 * Builds the context, runs one command and turns its outcome into an exit code. Errors print as one or
 * two lines (never a stack). Interruptible commands get Ctrl-C as an abort signal so they can stop
 * cleanly; a second Ctrl-C exits at once.
 */
async function run(
  command: Command,
  /** writes: the command sends admin writes, so an unknown outcome is worth the --idempotency-key hint. */
  options: { interruptible?: boolean; writes?: boolean },
  action: (ctx: OpsContext) => Promise<number>,
): Promise<void> {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const interrupt = new AbortController();
  const onSigint = (): void => {
    if (interrupt.signal.aborted) {
      // Leaving now skips the progress bar's cleanup: give the terminal its cursor back.
      if (process.stderr.isTTY) process.stderr.write('\u001b[?25h\n');
      process.exit(ExitCode.interrupted);
    }
    interrupt.abort();
  };
  if (options.interruptible) process.on('SIGINT', onSigint);
  const idempotencyKey = globals.idempotencyKey ?? randomUUID();
  try {
    if (!isValidIdempotencyKey(idempotencyKey) || idempotencyKey.length > MAX_CLI_IDEMPOTENCY_KEY) {
      throw new UsageError(
        `--idempotency-key must be 1 to ${MAX_CLI_IDEMPOTENCY_KEY} printable ASCII characters`,
      );
    }
    const ctx = createContext(command, globals, interrupt.signal, idempotencyKey);
    process.exitCode = await action(ctx);
  } catch (error) {
    const uncertain = options.writes === true && outcomeUnknown(error);
    if (globals.json) {
      writeJson(process.stderr, { error: describeError(error), ...(uncertain ? { idempotencyKey } : {}) });
    } else {
      const [summary, detail] = formatError(error);
      writeLine(process.stderr, `Error: ${summary}`);
      if (detail !== undefined) writeLine(process.stderr, detail);
      if (uncertain) {
        writeLine(
          process.stderr,
          `A write may or may not have run. Re-run the same command with --idempotency-key ${idempotencyKey} to finish it without repeating it.`,
        );
      }
    }
    process.exitCode = ExitCode.error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** No answer, or a server-side failure: the write may have happened, and only the same key can tell. */
function outcomeUnknown(error: unknown): boolean {
  return (
    error instanceof AdminUnreachableError ||
    (error instanceof AdminApiError && (error.status >= 500 || error.code === 'idempotency_key_in_use'))
  );
}

function createContext(
  command: Command,
  globals: GlobalOptions,
  interrupt: AbortSignal,
  idempotencyKey: string,
): OpsContext {
  const interactive = process.stdout.isTTY === true && process.stderr.isTTY === true;
  return {
    client: new AdminClient({
      baseUrl: globals.api,
      fetch: globalThis.fetch,
      signer: createSigner(command, globals),
    }),
    stdout: process.stdout,
    stderr: process.stderr,
    json: globals.json === true,
    progressMode: globals.json ? 'json' : interactive ? 'bar' : 'lines',
    barStream: process.stderr,
    now: () => new Date(),
    sleep,
    readText: (path) => readFile(path, 'utf8'),
    ...(interactive && process.stdin.isTTY && !globals.json ? { confirm } : {}),
    interrupt,
    idempotencyKey,
  };
}

function createSigner(command: Command, globals: GlobalOptions): RequestSigner {
  if (globals.iam) {
    // A token typed on the command line next to --iam is a mistake worth pointing out; one inherited
    // from the environment (a shell that also talks to the local runner) is simply not used.
    if (globals.adminToken !== undefined && tokenSource(command) === 'cli') {
      throw new UsageError('use either --iam or --admin-token, not both');
    }
    const region = globals.region ?? process.env['AWS_DEFAULT_REGION'] ?? regionFromApiUrl(globals.api);
    if (region === undefined || region === '') {
      throw new UsageError('--iam needs a region: pass --region or set AWS_REGION');
    }
    return sigV4Signer({ region, credentials: loadAwsCredentials });
  }
  if (globals.adminToken === undefined || globals.adminToken === '') {
    throw new UsageError(
      'no admin credentials: set ADMIN_TOKEN (or --admin-token) for the local runner, or pass --iam for a deployed stack',
    );
  }
  return bearerTokenSigner(globals.adminToken);
}

/** Where the effective --admin-token came from, looked up on the command that declares it. */
function tokenSource(command: Command): string | undefined {
  for (let current: Command | null = command; current !== null; current = current.parent) {
    const source = current.getOptionValueSource('adminToken');
    if (source !== undefined) return source;
  }
  return undefined;
}

/**
 * The default AWS credential chain, imported only for --iam so local use starts fast. The provider is
 * kept (not its result): it caches credentials and refreshes temporary ones during a long watch or import.
 */
let awsCredentialProvider: Promise<AwsCredentialIdentityProvider> | undefined;
async function loadAwsCredentials(): Promise<AwsCredentialIdentity> {
  awsCredentialProvider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) =>
    defaultProvider(),
  );
  const provider = await awsCredentialProvider;
  try {
    return await provider();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`no AWS credentials for --iam (${reason})`);
  }
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

// Imported by nothing: this module is the entry point of `npm run ops` and of child processes in tests.
await program.parseAsync(process.argv);
