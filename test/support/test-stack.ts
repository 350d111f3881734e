/**
 * The local stack for integration tests: the handlers behind a real HTTP server, on the emulators that
 * global-setup.ts started, with tables and queues of their own so that test files running in parallel
 * never see each other's data.
 *
 * The functions read their configuration once per module registry, and jest gives each test file its own
 * registry: start one stack per test file (in beforeAll), not one per test.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmulatorEndpoints } from '../../scripts/local/emulators.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../scripts/local/local-stack.js';
import type { Api } from './fixtures.js';
import { api } from './http.js';

export interface TestStackOptions {
  /** Feed the notifications queue to functions/notifier.ts (skipped while that file does not exist). @default true */
  readonly notifier?: boolean;
  /** Run functions/dispatcher.ts on a timer; off by default, call `runDispatcher()` for deterministic tests. */
  readonly dispatcherIntervalMs?: number;
  /** Shorter than the default 30 s lets a test watch a failed notification come back. */
  readonly queueVisibilityTimeoutSeconds?: number;
  /** Extra or overriding variables for the functions (LOG_LEVEL, throttle limits, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Base of the links in mails; `'api'` makes it the stack's own origin, as `npm start` does (page tests). */
  readonly publicAppUrl?: string | 'api';
  /** Run the local IdP as SSO provider `local` (scripts/local/local-idp.ts) on a free port. @default off */
  readonly localIdp?: { readonly jitCreate?: boolean };
  /** More SSO providers (SSO_PROVIDERS entries with inline clientSecret). */
  readonly ssoProviders?: readonly Readonly<Record<string, unknown>>[];
  /**
   * Run the Shared Signals pollers (records-table stream -> fan-out, signals queue -> push). Off by default: every
   * stack shares one DynamoDB Local, and a stream poller per stack is load the other suites do not need.
   */
  readonly signals?: boolean;
}

export interface SentMail {
  readonly messageId: string;
  readonly from: string;
  readonly destination: {
    readonly to: readonly string[];
    readonly cc?: readonly string[];
    readonly bcc?: readonly string[];
  };
  readonly subject: string;
  readonly body: { readonly text?: string; readonly html?: string };
  /** Epoch seconds. */
  readonly at: number;
}

export interface MailReader {
  /** Mail sent since the stack started (the store is shared by the whole run), or only that addressed to `to`. */
  listMail(to?: string): Promise<SentMail[]>;
  /** Resolves once `count` mails (default 1) are addressed to `to`; rejects after `timeoutMs` (default 5000). */
  waitForMail(to: string, options?: { count?: number; timeoutMs?: number }): Promise<SentMail[]>;
}

export interface TestStack {
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly endpoints: EmulatorEndpoints;
  readonly tables: LocalStack['tables'];
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly ses: MailReader;
  /** Issuer of the local IdP, when started with `localIdp`. */
  readonly localIdpUrl: string | undefined;
  runDispatcher(): Promise<unknown>;
  stop(): Promise<void>;
}

/** Public app URL of the test stacks: the reset links in mails start with it. */
export const TEST_APP_URL = 'https://app.account-shield.test';

/** A test file's stack and an API client on it. */
export interface StackWithClient {
  readonly stack: TestStack;
  readonly client: Api;
}

/**
 * One stack for the test file (with `options`) and an API client on it: started before the file's tests and
 * handed to `use` (which keeps them in the file's variables), stopped after them. Call it at the top level of the
 * test file.
 */
export function useTestStack(
  options: TestStackOptions,
  use: (started: StackWithClient) => void | Promise<void>,
): void {
  let stack: TestStack | undefined;
  beforeAll(async () => {
    stack = await startTestStack(options);
    await use({ stack, client: api(stack.apiUrl) });
  });
  afterAll(async () => {
    await stack?.stop();
  });
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  // The SES store is shared by the whole run; this stack only ever needs the mail sent after it started.
  const startedAt = Math.floor(Date.now() / 1000);
  const shared = sharedEmulators();
  // Unique per call, so parallel workers and successive files sharing the emulators stay apart.
  const prefix = `t${process.pid}-${randomBytes(4).toString('hex')}`;
  const keyDir = mkdtempSync(join(tmpdir(), 'account-shield-test-'));
  const stackOptions: LocalStackOptions = {
    prefix,
    emulators: shared,
    // A file run on its own, outside jest's global setup, still works: it starts (and stops) its own emulators.
    emulatorPorts: shared ? undefined : { dynamodbPort: 0, sqsPort: 0, sesPort: 0 },
    apiPort: 0,
    publicAppUrl: options.publicAppUrl === 'api' ? undefined : (options.publicAppUrl ?? TEST_APP_URL),
    signingKeyFile: join(keyDir, 'signing-key.json'),
    // An aborted long poll can still swallow a message on fauxqs, so keep polls short; each stack has its own queue.
    notifier: options.notifier === false ? false : { waitTimeSeconds: 2 },
    dispatcher:
      options.dispatcherIntervalMs === undefined ? false : { intervalMs: options.dispatcherIntervalMs },
    queue:
      options.queueVisibilityTimeoutSeconds === undefined
        ? undefined
        : { visibilityTimeoutSeconds: options.queueVisibilityTimeoutSeconds },
    env: { LOG_LEVEL: 'WARN', ...options.env },
    localIdp: options.localIdp ? { port: 0, jitCreate: options.localIdp.jitCreate } : undefined,
    ssoProviders: options.ssoProviders,
    signals: options.signals === true,
  };
  let stack: LocalStack;
  try {
    stack = await startLocalStack(stackOptions);
  } catch (error) {
    rmSync(keyDir, { recursive: true, force: true });
    throw error;
  }
  return {
    apiUrl: stack.apiUrl,
    adminToken: stack.adminToken,
    endpoints: stack.endpoints,
    tables: stack.tables,
    queueUrl: stack.queueUrl,
    dlqUrl: stack.dlqUrl,
    ses: mailReader(stack.endpoints.ses, startedAt),
    localIdpUrl: stack.localIdpUrl,
    runDispatcher: () => stack.runDispatcher(),
    async stop() {
      await stack.stop();
      rmSync(keyDir, { recursive: true, force: true });
    },
  };
}

function sharedEmulators(): EmulatorEndpoints | undefined {
  // Set by global-setup.ts before the workers start.
  const dynamodb = process.env.ACCOUNT_SHIELD_TEST_DYNAMODB_ENDPOINT;
  const sqs = process.env.ACCOUNT_SHIELD_TEST_SQS_ENDPOINT;
  const ses = process.env.ACCOUNT_SHIELD_TEST_SES_ENDPOINT;
  return dynamodb && sqs && ses ? { dynamodb, sqs, ses } : undefined;
}

function mailReader(sesEndpoint: string, sinceEpochSeconds: number): MailReader {
  const listMail = async (to?: string): Promise<SentMail[]> => {
    const response = await fetch(`${sesEndpoint}/store?since=${sinceEpochSeconds}`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`SES emulator store answered ${response.status}`);
    const { emails } = (await response.json()) as { emails: SentMail[] };
    if (to === undefined) return emails;
    const recipient = bareAddress(to);
    return emails.filter((mail) =>
      [...mail.destination.to, ...(mail.destination.cc ?? []), ...(mail.destination.bcc ?? [])].some(
        (address) => bareAddress(address) === recipient,
      ),
    );
  };
  return {
    listMail,
    async waitForMail(to, { count = 1, timeoutMs = 5_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mails = await listMail(to);
        if (mails.length >= count) return mails;
        if (Date.now() > deadline) {
          throw new Error(`Expected ${count} mail(s) to ${to} within ${timeoutMs} ms, found ${mails.length}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** `Jane <jane@example.test>` and `jane@example.test` are the same recipient. */
function bareAddress(address: string): string {
  return (/<([^>]+)>/.exec(address)?.[1] ?? address).trim().toLowerCase();
}
