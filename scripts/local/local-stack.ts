/**
 * The whole local stack behind `npm start` and the integration tests: emulators, tables and queues, the
 * environment the functions read, the HTTP gateway, the notifier's queue poller and the dispatcher's schedule.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { allRoutes, type FunctionName } from '../../shared/http/routes.js';
import type { TableName } from '../../shared/tables.js';
import { buildPages } from '../../web/build.js';
import { createLambdaContext, type HttpHandler, startApiServer } from './api-server.js';
import { type DynamoStreamPoller, startDynamoStreamPoller } from './dynamodb-stream-poller.js';
import { type EmulatorEndpoints, type EmulatorPorts, type Emulators, startEmulators } from './emulators.js';
import { startLambdaService } from './lambda-service.js';
import { LOCAL_IDP_DISPLAY_NAME, type LocalIdp, startLocalIdp } from './local-idp.js';
import { createQueues, createSignalQueues, createTables, type QueueOptions } from './provision.js';
import { type ScheduledInvoke, type Scheduler, scheduledEvent, startScheduler } from './scheduler.js';
import { type SqsPoller, startSqsPoller } from './sqs-poller.js';

export interface LocalStackOptions {
  /** Emulators already running (the tests' global setup); when absent they are started and owned by the stack. */
  readonly emulators?: EmulatorEndpoints;
  /** Ports for emulators the stack starts itself. */
  readonly emulatorPorts?: EmulatorPorts;
  /** Prefix of every table and queue name, so stacks sharing emulators do not see each other's data. */
  readonly prefix: string;
  /** 0 picks a free port. @default 0 */
  readonly apiPort?: number;
  /** @default '127.0.0.1' */
  readonly apiHost?: string;
  /** Bearer token standing in for IAM on admin routes. @default a random one */
  readonly adminToken?: string;
  /** Base of the links in emails. @default the API's own URL */
  readonly publicAppUrl?: string;
  /** Where the functions keep their signing key (they create it when missing). */
  readonly signingKeyFile: string;
  /** Poll the notifications queue into functions/notifier.ts. @default true */
  readonly notifier?:
    | boolean
    | { readonly batchSize?: number; readonly waitTimeSeconds?: number; readonly concurrency?: number };
  /** Invoke functions/dispatcher.ts on a timer. @default true, every 5 s */
  readonly dispatcher?: boolean | { readonly intervalMs?: number };
  readonly queue?: QueueOptions;
  /** Extra or overriding variables for the functions (LOG_LEVEL, throttle limits, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Progress and notes (e.g. a function not written yet). @default silent */
  readonly log?: (line: string) => void;
  /**
   * Import every function right after start-up instead of on first use, so the first requests are fast and
   * a function that fails to load is reported at once (the others keep working). @default false
   */
  readonly preloadFunctions?: boolean;
  /** One line per HTTP request. @default off */
  readonly accessLog?: (line: string) => void;
  /** Handler failures. @default console.error */
  readonly logError?: (message: string, error: unknown) => void;
  /**
   * Run the development OpenID provider (scripts/local/local-idp.ts) and register it as SSO provider `local`
   * ("Local IdP"). `port` 0 picks a free one. @default off
   */
  readonly localIdp?: { readonly port?: number; readonly jitCreate?: boolean };
  /** More SSO providers, as in the SSO_PROVIDERS variable (clientSecret inline). @default none */
  readonly ssoProviders?: readonly Readonly<Record<string, unknown>>[];
  /**
   * Security events out: read the records table's stream into functions/signals-fanout.ts and the signals queue
   * into functions/signals-delivery.ts. @default true
   */
  readonly signals?: boolean | { readonly maxReceiveCount?: number };
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly endpoints: EmulatorEndpoints;
  /** Physical table names by logical name. */
  readonly tables: Readonly<Record<TableName, string>>;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  /** The SET push deliveries' queue and its dead-letter queue. */
  readonly signalsQueueUrl: string;
  readonly signalsDlqUrl: string;
  /** Process id of DynamoDB Local when this stack started it. */
  readonly dynamodbPid: number | undefined;
  /** Whether functions/notifier.ts is being fed from the queue. */
  readonly notifierRunning: boolean;
  /** Issuer URL of the local IdP, when it runs. */
  readonly localIdpUrl: string | undefined;
  /** Runs the dispatcher once now (after any scheduled run in progress) and resolves with its result. */
  runDispatcher(): Promise<unknown>;
  stop(): Promise<void>;
}

type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;
type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<unknown>;
type ScheduledHandler = (event: Parameters<ScheduledInvoke>[0], context: Context) => Promise<unknown>;

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const REGION = 'us-east-1';
/** Keeps a call the emulators do not support from hanging a test or the runner (LOCAL.md). */
const SDK_REQUEST_HANDLER = { requestTimeout: 5_000, connectionTimeout: 2_000 };
const NOTIFIER_TIMEOUT_MS = 30_000;
const DISPATCHER_TIMEOUT_MS = 60_000;
const SIGNALS_TIMEOUT_MS = 30_000;

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const logError = options.logError ?? ((message: string, error: unknown) => console.error(message, error));
  const cleanup: (() => Promise<void>)[] = [];
  const runCleanup = async (): Promise<void> => {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        logError('Stopping part of the local stack failed', error);
      }
    }
  };

  // Before the first SDK client exists: the Node 20 support notice is printed when one is created.
  cleanup.push(setEnv({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }));
  try {
    let emulators: Emulators | undefined;
    let endpoints = options.emulators;
    if (!endpoints) {
      const started = performance.now();
      emulators = await startEmulators(options.emulatorPorts);
      cleanup.push(() => emulators?.stop() ?? Promise.resolve());
      endpoints = emulators.endpoints;
      log(`Emulators ready in ${Math.round(performance.now() - started)} ms`);
    }

    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const dynamodb = new DynamoDBClient({
      endpoint: endpoints.dynamodb,
      region: REGION,
      credentials,
      requestHandler: SDK_REQUEST_HANDLER,
    });
    const sqs = new SQSClient({
      endpoint: endpoints.sqs,
      region: REGION,
      credentials,
      requestHandler: SDK_REQUEST_HANDLER,
    });
    cleanup.push(async () => {
      dynamodb.destroy();
      sqs.destroy();
    });
    const provisioningStarted = performance.now();
    const signalSettings = typeof options.signals === 'object' ? options.signals : {};
    const [tables, queues, signalQueues] = await Promise.all([
      createTables(dynamodb, options.prefix),
      createQueues(sqs, options.prefix, options.queue),
      createSignalQueues(sqs, options.prefix, signalSettings),
    ]);

    log(`Tables and queues ready in ${Math.round(performance.now() - provisioningStarted)} ms`);

    const adminToken = options.adminToken ?? randomBytes(24).toString('base64url');
    mkdirSync(dirname(options.signingKeyFile), { recursive: true });

    // The admin function starts a dispatcher run for an immediate send with Lambda's asynchronous Invoke, as on
    // AWS; here that call reaches a local stand-in, which runs the dispatcher after any run in progress.
    const dispatcherExists = functionExists('dispatcher');
    let scheduler: Scheduler | undefined;
    const dispatcherFunctionName = `${options.prefix}-dispatcher`;
    let lambdaEnv: Record<string, string> = {};
    if (options.dispatcher !== false && dispatcherExists) {
      const lambda = await startLambdaService({
        functions: { [dispatcherFunctionName]: () => scheduler?.runNow() ?? Promise.resolve() },
        logError,
      });
      cleanup.push(() => lambda.close());
      lambdaEnv = { LAMBDA_ENDPOINT: lambda.url, DISPATCHER_FUNCTION_NAME: dispatcherFunctionName };
    }

    const restoreEnv = setEnv({
      ...tables.env,
      NOTIFICATIONS_QUEUE_URL: queues.queueUrl,
      SIGNALS_QUEUE_URL: signalQueues.queueUrl,
      // Receivers on this machine over http: local development only (never set on AWS).
      SSF_ALLOW_LOOPBACK_RECEIVERS: 'true',
      AWS_REGION: REGION,
      // Dummy credentials always win over a developer's real ones: nothing local may ever reach AWS.
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      DYNAMODB_ENDPOINT: endpoints.dynamodb,
      SQS_ENDPOINT: endpoints.sqs,
      SES_ENDPOINT: endpoints.ses,
      MAIL_FROM: 'security@account-shield.local',
      JWT_AUDIENCE: 'account-shield',
      SIGNING_KEY_SOURCE: 'file',
      SIGNING_KEY_FILE: options.signingKeyFile,
      // The emulators answer in milliseconds, but on a loaded 2-core machine (the test suite, a drill) DynamoDB
      // Local can stall for seconds, and the AWS default (3 s per attempt) turned that into failed dispatcher
      // runs. 3 attempts of 8 s still end inside the local gateway's 30 s.
      AWS_REQUEST_TIMEOUT_MS: '8000',
      ...lambdaEnv,
      ...options.env,
    });
    cleanup.push(restoreEnv);

    // The hosted pages are bundled once per process (the tests' global setup does it once per run).
    if (!process.env.PAGES_DIR) cleanup.push(setEnv({ PAGES_DIR: await buildPagesOnce() }));

    const loadHttpHandler = (functionName: FunctionName): Promise<HttpHandler> =>
      importHandler<HttpHandler>(functionName);
    const api = await startApiServer({
      port: options.apiPort ?? 0,
      host: options.apiHost,
      routes: allRoutes,
      loadHandler: loadHttpHandler,
      adminToken,
      accessLog: options.accessLog,
      logError,
    });
    cleanup.push(() => api.close());
    // Set before this function yields again, so even the first request sees them; they depend on the port.
    const restoreUrls = setEnv({
      PUBLIC_APP_URL: options.publicAppUrl ?? options.env?.PUBLIC_APP_URL ?? api.url,
      JWT_ISSUER: options.env?.JWT_ISSUER ?? api.url,
    });
    cleanup.push(restoreUrls);

    let localIdp: LocalIdp | undefined;
    const ssoProviders: Readonly<Record<string, unknown>>[] = [...(options.ssoProviders ?? [])];
    if (options.localIdp) {
      const clientSecret = randomBytes(24).toString('base64url');
      localIdp = await startLocalIdp({
        port: options.localIdp.port ?? 0,
        clients: [
          {
            clientId: 'account-shield-local',
            clientSecret,
            redirectUris: [`${api.url}/v1/auth/sso/local/callback`],
          },
        ],
      });
      const started = localIdp;
      cleanup.push(() => started.close());
      ssoProviders.unshift({
        id: 'local',
        displayName: LOCAL_IDP_DISPLAY_NAME,
        issuer: localIdp.issuer,
        clientId: 'account-shield-local',
        clientSecret,
        jitCreate: options.localIdp.jitCreate ?? false,
      });
    }
    // The callback URLs registered at the providers are built from the API's own origin.
    cleanup.push(
      setEnv({
        API_BASE_URL: options.env?.API_BASE_URL ?? api.url,
        SSO_PROVIDERS: options.env?.SSO_PROVIDERS ?? JSON.stringify(ssoProviders),
      }),
    );

    if (options.preloadFunctions) {
      const names = new Set<string>(allRoutes.map((route) => route.functionName));
      for (const name of ['notifier', 'dispatcher']) if (functionExists(name)) names.add(name);
      await Promise.all(
        [...names].map((name) =>
          importHandler(name).catch((error: unknown) =>
            logError(`functions/${name}.ts failed to load`, error),
          ),
        ),
      );
    }

    let poller: SqsPoller | undefined;
    if (options.notifier !== false) {
      const settings = typeof options.notifier === 'object' ? options.notifier : {};
      poller = await startSqsPoller({
        sqs,
        queueUrl: queues.queueUrl,
        batchSize: settings.batchSize,
        waitTimeSeconds: settings.waitTimeSeconds,
        concurrency: settings.concurrency,
        logError,
        handler: async (event) =>
          (await importHandler<SqsHandler>('notifier'))(
            event,
            createLambdaContext('notifier', NOTIFIER_TIMEOUT_MS),
          ),
      });
      const started = poller;
      cleanup.push(() => started.stop());
    }

    if (options.signals !== false) {
      const fanOut = await startDynamoStreamPoller({
        dynamodb,
        endpoint: endpoints.dynamodb,
        tableName: tables.names.records,
        pkPrefix: 'events#',
        logError,
        handler: async (event) =>
          (await importHandler<StreamHandler>('signals-fanout'))(
            event,
            createLambdaContext('signals-fanout', SIGNALS_TIMEOUT_MS),
          ),
      });
      const signalPoller = await startSqsPoller({
        sqs,
        queueUrl: signalQueues.queueUrl,
        waitTimeSeconds: 1,
        logError,
        handler: async (event) =>
          (await importHandler<SqsHandler>('signals-delivery'))(
            event,
            createLambdaContext('signals-delivery', SIGNALS_TIMEOUT_MS),
          ),
      });
      const started: [DynamoStreamPoller, SqsPoller] = [fanOut, signalPoller];
      cleanup.push(async () => {
        await Promise.all(started.map((poller) => poller.stop()));
      });
    }

    const invokeDispatcher: ScheduledInvoke = async (event) =>
      (await importHandler<ScheduledHandler>('dispatcher'))(
        event,
        createLambdaContext('dispatcher', DISPATCHER_TIMEOUT_MS),
      );
    if (options.dispatcher !== false) {
      if (dispatcherExists) {
        const settings = typeof options.dispatcher === 'object' ? options.dispatcher : {};
        scheduler = startScheduler({
          intervalMs: settings.intervalMs ?? 5_000,
          invoke: invokeDispatcher,
          logError,
        });
        const started = scheduler;
        cleanup.push(() => started.stop());
      } else {
        log('functions/dispatcher.ts not found: incident notifications are not dispatched');
      }
    }

    let stopping: Promise<void> | undefined;
    return {
      apiUrl: api.url,
      adminToken,
      endpoints,
      tables: tables.names,
      queueUrl: queues.queueUrl,
      dlqUrl: queues.dlqUrl,
      signalsQueueUrl: signalQueues.queueUrl,
      signalsDlqUrl: signalQueues.dlqUrl,
      dynamodbPid: emulators?.dynamodbPid,
      notifierRunning: poller !== undefined,
      localIdpUrl: localIdp?.issuer,
      runDispatcher() {
        if (scheduler) return scheduler.runNow();
        if (!dispatcherExists) return Promise.reject(new Error('functions/dispatcher.ts does not exist yet'));
        return invokeDispatcher(scheduledEvent());
      },
      stop() {
        stopping ??= runCleanup();
        return stopping;
      },
    };
  } catch (error) {
    await runCleanup();
    throw error;
  }
}

let pagesBuild: Promise<string> | undefined;

function buildPagesOnce(): Promise<string> {
  pagesBuild ??= buildPages(join(tmpdir(), `account-shield-pages-${process.pid}`)).then(
    (built) => built.outDir,
  );
  return pagesBuild;
}

function functionExists(name: string): boolean {
  return existsSync(join(repoRoot, 'functions', `${name}.ts`));
}

/**
 * Imported on first use rather than up front: the functions read their configuration once, at their first
 * invocation, so the environment must be in place first, and routes whose function is not written yet must
 * not stop the others from working.
 */
async function importHandler<T>(name: string): Promise<T> {
  const file = join(repoRoot, 'functions', `${name}.ts`);
  const module: { handler?: unknown } = await import(file);
  if (typeof module.handler !== 'function')
    throw new TypeError(`functions/${name}.ts does not export a handler`);
  return module.handler as T;
}

/** Sets variables and returns a function restoring their previous values. */
function setEnv(values: Readonly<Record<string, string>>): () => Promise<void> {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(values)) {
    if (!previous.has(name)) previous.set(name, process.env[name]);
    process.env[name] = value;
  }
  return async () => {
    for (const [name, value] of previous) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
