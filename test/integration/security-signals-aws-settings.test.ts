/**
 * The receiver-address guard with the settings of an AWS deployment (no loopback receivers): a receiver may not
 * point a push stream at the instance metadata service, a private range or a name resolving to one.
 */
import { api } from '../support/http.js';
import { startTestStack, type TestStack } from '../support/test-stack.js';

let stack: TestStack;
let token: string;
let configurationEndpoint: string;

beforeAll(async () => {
  stack = await startTestStack({ signals: true, env: { SSF_ALLOW_LOOPBACK_RECEIVERS: 'false' } });
  const client = api(stack.apiUrl);
  configurationEndpoint = (
    await client.get<{ configuration_endpoint: string }>('/.well-known/ssf-configuration')
  ).body.configuration_endpoint;
  const registered = await client.post<{ client: { clientId: string }; clientSecret: string }>(
    '/v1/admin/clients',
    { name: 'Receiver', type: 'confidential', grantTypes: ['client_credentials'], scopes: ['ssf.manage'] },
    { token: stack.adminToken },
  );
  const response = await fetch(`${stack.apiUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: registered.body.client.clientId,
      client_secret: registered.body.clientSecret,
    }).toString(),
  });
  token = ((await response.json()) as { access_token: string }).access_token;
});
afterAll(async () => {
  await stack?.stop();
});

const createPushStream = async (endpointUrl: string) => {
  const response = await fetch(configurationEndpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: endpointUrl } }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error: string; details?: { path: string }[] },
  };
};

it.each([
  'http://169.254.169.254/latest/meta-data/',
  'https://169.254.169.254/latest/meta-data/',
  'https://10.0.0.8/events',
  'https://192.168.1.20/events',
  'https://[fd00:ec2::254]/',
  'https://localhost/events',
  'http://127.0.0.1:4299/events',
])('refuses a push stream to %s', async (endpointUrl) => {
  const answer = await createPushStream(endpointUrl);
  expect(answer.status).toBe(400);
  expect(answer.body.error).toBe('invalid_request');
  expect(answer.body.details?.[0]?.path).toBe('delivery.endpoint_url');
});

it('still lists no stream afterwards', async () => {
  const response = await fetch(configurationEndpoint, { headers: { authorization: `Bearer ${token}` } });
  expect(await response.json()).toEqual([]);
});
