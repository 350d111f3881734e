/**
 * What a sign-in sends to DynamoDB, counted with SDK middleware on the real stores against DynamoDB Local: the same
 * reads whether or not the account exists, and the round trips it waits on one after another.
 */
import { createDeps } from '../../shared/app.js';
import { createAwsClients } from '../../shared/aws/clients.js';
import { loadConfig } from '../../shared/config.js';
import { createAccount } from '../../shared/use-cases/accounts.js';
import { login } from '../../shared/use-cases/login.js';
import { uniqueName } from '../support/fixtures.js';
import { recordRequests } from '../support/request-recorder.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ notifier: false, env: { LOG_LEVEL: 'SILENT' } });
});
afterAll(async () => {
  await stack?.stop();
});

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);

async function world() {
  const config = loadConfig(process.env);
  const clients = createAwsClients(config);
  const recorder = recordRequests(clients.dynamodbClient);
  const deps = createDeps(config, clients);
  const password = 'quiet-orchard-lantern-58';
  const email = `${uniqueName('counted')}@example.test`;
  await createAccount(deps, { email, authMethod: 'password', password }, { ip: null, userAgent: null });
  return { deps, recorder, email, password };
}

const readsOf = (counts: Record<string, number>) =>
  Object.fromEntries(Object.entries(counts).filter(([command]) => READS.has(command)));

describe('DynamoDB work of a sign-in', () => {
  it('sends equal DynamoDB reads for an unknown login and a known one with a wrong password', async () => {
    const { deps, recorder, email } = await world();
    // Distinct sources, so each takes the same path through the limiter (a source never seen, the gate included).
    const known = { ip: '198.51.100.31', userAgent: 'counted' };
    const unknown = { ip: '198.51.100.32', userAgent: 'counted' };

    recorder.reset();
    await expect(login(deps, { login: email, password: 'not-the-password' }, known)).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    const knownCounts = recorder.countsByCommand();
    recorder.reset();
    await expect(
      login(deps, { login: `${uniqueName('nobody')}@example.test`, password: 'not-the-password' }, unknown),
    ).rejects.toMatchObject({ code: 'invalid_credentials' });
    const unknownCounts = recorder.countsByCommand();

    expect(readsOf(unknownCounts)).toEqual(readsOf(knownCounts));
    // Identifier, account (or a key no account has), tenant policy, known-source check.
    expect(readsOf(knownCounts)).toEqual({ GetItemCommand: 4 });
  });

  it('signs in within three sequential round trips from a known source, one transaction for session and event', async () => {
    const { deps, recorder, email, password } = await world();
    const origin = { ip: '198.51.100.33', userAgent: 'counted' };
    await login(deps, { login: email, password }, origin);

    recorder.reset();
    await login(deps, { login: email, password }, origin);

    expect(recorder.sequentialDepth()).toBeLessThanOrEqual(3);
    expect(recorder.countsByCommand()).toMatchObject({ TransactWriteItemsCommand: 1 });
    expect(recorder.countsByCommand()['PutItemCommand']).toBeUndefined();
  });
});
