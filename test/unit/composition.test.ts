import { createAwsClients } from '../../shared/aws/clients.js';
import { AdapterNotInFunctionError, composeDeps } from '../../shared/composition/compose.js';
import { argon2Hasher } from '../../shared/composition/passwords.js';
import { loadConfig } from '../../shared/config.js';
import { systemClock } from '../../shared/ports/clock.js';

const config = loadConfig({
  USERS_TABLE: 'users',
  IDENTIFIERS_TABLE: 'identifiers',
  SESSIONS_TABLE: 'sessions',
  RECORDS_TABLE: 'records',
  PUBLIC_APP_URL: 'https://app.example.test',
  JWT_ISSUER: 'https://auth.example.test',
  JWT_AUDIENCE: 'account-shield',
  SIGNING_KEY_FILE: '/nonexistent/signing-key.json',
  NOTIFICATIONS_QUEUE_URL: 'http://queue.example.test/notifications',
  ARGON2_MEMORY_KIB: '19456',
});
const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('a function built with only some adapters', () => {
  const deps = composeDeps(config, { hasher: argon2Hasher }, createAwsClients(config), systemClock, silent);

  test('uses the adapters it lists', async () => {
    const hash = await deps.hasher.hash('correct horse battery staple');
    await expect(deps.hasher.verify(hash, 'correct horse battery staple')).resolves.toBe(true);
  });

  test('fails loudly, naming the port, when a route reaches one it was not built with', async () => {
    expect(() => deps.mailer.send).not.toThrow();
    await expect(async () => deps.mailer.send({} as never)).rejects.toThrow(AdapterNotInFunctionError);
    expect(() => deps.passwordBlocklist.has('password')).toThrow(
      'The password blocklist is not built for this function',
    );
    expect(() => deps.identityProviders.list()).toThrow(AdapterNotInFunctionError);
    expect(() => deps.secretBox.seal('x', 'user-1')).toThrow('The TOTP secret box');
  });

  test('a missing adapter is not mistaken for a promise', async () => {
    await expect(Promise.resolve(deps.dispatcherTrigger)).resolves.toBe(deps.dispatcherTrigger);
  });
});
