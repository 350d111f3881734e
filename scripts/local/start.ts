/**
 * `npm start`: the whole stack on this machine, no Docker and no AWS account. Configured by PORT,
 * ADMIN_TOKEN, PUBLIC_APP_URL, LOCAL_DYNAMODB_PORT, LOCAL_SQS_PORT, LOCAL_SES_PORT and LOCAL_IDP_PORT.
 */
import { join } from 'node:path';
import { pageRoutes, routes } from '../../shared/http/routes.js';
import { assertPortFree, PortInUseError } from './emulators.js';
import { type LocalStack, repoRoot, startLocalStack } from './local-stack.js';

class StartupError extends Error {
  override readonly name = 'StartupError';
}

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new StartupError(`${name}=${raw} is not a port number (0-65535)`);
  }
  return port;
}

function adminTokenFromEnv(): string | undefined {
  const token = process.env.ADMIN_TOKEN;
  if (token === undefined || token === '') return undefined;
  // The functions refuse shorter tokens at cold start; failing here names the cause before anything starts.
  if (token.length < 16) throw new StartupError('ADMIN_TOKEN must be at least 16 characters');
  return token;
}

function printReady(stack: LocalStack, sesPort: string, elapsedMs: number): void {
  const lines = [
    '',
    `account-shield local stack ready in ${(elapsedMs / 1000).toFixed(1)} s`,
    '',
    `API          ${stack.apiUrl}`,
    ...routes.map((route) => `  ${route.method.padEnd(7)}${stack.apiUrl}${route.path}`),
    '',
    'Account pages (the links in every mail lead here)',
    ...pageRoutes
      .filter((route) => !route.path.includes('{'))
      .map((route) => `  ${stack.apiUrl}${route.path}`),
    '',
    `Admin token  ${stack.adminToken}`,
    `             (admin routes: authorization: Bearer ${stack.adminToken})`,
    `Mail (JSON)  http://127.0.0.1:${sesPort}/store`,
    `Mailbox      http://127.0.0.1:${sesPort}/`,
    `DynamoDB     ${stack.endpoints.dynamodb}`,
    `SQS          ${stack.endpoints.sqs}`,
    `Local IdP    ${stack.localIdpUrl ?? 'not running'}`,
    `             (SSO provider "local": ${stack.apiUrl}/v1/auth/sso/local/start, any email signs in)`,
    `Notifier     ${stack.notifierRunning ? 'polling the notifications queue' : 'not running'}`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const apiPort = portFromEnv('PORT', 3000);
  const sesPort = portFromEnv('LOCAL_SES_PORT', 8005);
  const idpPort = portFromEnv('LOCAL_IDP_PORT', 8006);
  // Checked before the emulators boot, so a second `npm start` fails at once rather than after seconds.
  await assertPortFree(apiPort, 'PORT', '127.0.0.1');
  await assertPortFree(idpPort, 'LOCAL_IDP_PORT', '127.0.0.1');
  const starting = startLocalStack({
    prefix: 'account-shield-local',
    apiPort,
    adminToken: adminTokenFromEnv(),
    publicAppUrl: process.env.PUBLIC_APP_URL || undefined,
    signingKeyFile: join(repoRoot, '.local', 'signing-key.json'),
    emulatorPorts: {
      dynamodbPort: portFromEnv('LOCAL_DYNAMODB_PORT', 8000),
      sqsPort: portFromEnv('LOCAL_SQS_PORT', 9324),
      sesPort,
    },
    // Just-in-time accounts locally: any email at the Local IdP gets an SSO account on first sign-in.
    localIdp: { port: idpPort, jitCreate: true },
    preloadFunctions: true,
    log: (line) => console.log(line),
    accessLog: (line) => console.log(line),
  });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    // Under `npm start` one Ctrl-C can arrive twice (from the terminal and relayed by tsx), so a repeat is
    // not taken as "force quit"; the timer below bounds a stop that hangs instead.
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the local stack...`);
    setTimeout(() => {
      console.error('The local stack did not stop within 10 s; exiting anyway');
      // The exit handler still kills DynamoDB Local.
      process.exit(1);
    }, 10_000).unref();
    starting
      .then((stack) => stack.stop())
      .then(
        () => process.exit(0),
        () => process.exit(0),
      );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, shutdown);

  const stack = await starting;
  const sesUrl = new URL(stack.endpoints.ses);
  printReady(stack, sesUrl.port, performance.now() - startedAt);
}

main().catch((error: unknown) => {
  // One line the user can act on (which port, which variable); the stack trace would only bury it.
  if (error instanceof PortInUseError || error instanceof StartupError) console.error(error.message);
  else console.error('The local stack failed to start:', error);
  process.exit(1);
});
