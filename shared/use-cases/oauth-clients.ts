import { randomBytes } from 'node:crypto';
import { constantTimeEqual, randomSecret, sha256Hex } from '../crypto/secrets.js';
import {
  type ClientType,
  type GrantType,
  isAcceptableRedirectUri,
  type OAuthClient,
  type PublicOAuthClient,
  toPublicClient,
} from '../domain/oauth.js';
import { InvalidRequestError, NotFoundError, OAuthError } from '../errors.js';
import type { Deps } from './deps.js';

export interface CreateClientInput {
  readonly name: string;
  readonly type: ClientType;
  readonly grantTypes: readonly GrantType[];
  readonly redirectUris?: readonly string[];
  readonly scopes?: readonly string[];
}

/** The one moment a secret exists outside the client: the response to creation or rotation. */
export interface ClientWithSecret {
  readonly client: PublicOAuthClient;
  readonly clientSecret?: string;
}

const newSecret = () => `cs_${randomSecret(32)}`;

export async function createClient(
  deps: Pick<Deps, 'oauthClients' | 'clock'>,
  input: CreateClientInput,
): Promise<ClientWithSecret> {
  const redirectUris = [...new Set(input.redirectUris ?? [])];
  const grantTypes = [...new Set(input.grantTypes)];
  const problems: { path: string; message: string }[] = [];
  if (input.type === 'public' && grantTypes.includes('client_credentials')) {
    problems.push({ path: 'grantTypes', message: 'client_credentials needs a confidential client.' });
  }
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0) {
    problems.push({ path: 'redirectUris', message: 'authorization_code needs at least one redirect URI.' });
  }
  redirectUris.forEach((uri, index) => {
    if (!isAcceptableRedirectUri(uri)) {
      problems.push({
        path: `redirectUris.${index}`,
        message: 'Must be https, http on loopback, or a private-use scheme, without a fragment.',
      });
    }
  });
  if (problems.length > 0) throw new InvalidRequestError('The client registration is invalid.', problems);
  const secret = input.type === 'confidential' ? newSecret() : undefined;
  const client: OAuthClient = {
    clientId: `cl_${randomBytes(16).toString('base64url')}`,
    name: input.name,
    type: input.type,
    grantTypes,
    redirectUris,
    scopes: [...new Set(input.scopes ?? [])],
    ...(secret === undefined ? {} : { secretHash: sha256Hex(secret) }),
    credentialVersion: 1,
    createdAt: deps.clock.now().toISOString(),
  };
  await deps.oauthClients.create(client);
  return { client: toPublicClient(client), ...(secret === undefined ? {} : { clientSecret: secret }) };
}

export async function listClients(deps: Pick<Deps, 'oauthClients'>): Promise<PublicOAuthClient[]> {
  const clients = await deps.oauthClients.list();
  return clients.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(toPublicClient);
}

/** Deleting a client ends its client credentials tokens at once; user sessions it started stay until revoked. */
export async function deleteClient(deps: Pick<Deps, 'oauthClients'>, clientId: string): Promise<void> {
  if (!(await deps.oauthClients.delete(clientId))) throw new NotFoundError('No such client.');
}

export async function rotateClientSecret(
  deps: Pick<Deps, 'oauthClients'>,
  clientId: string,
): Promise<ClientWithSecret> {
  const secret = newSecret();
  const client = await deps.oauthClients.rotateSecret(clientId, sha256Hex(secret));
  if (!client) throw new NotFoundError('No such confidential client.');
  return { client: toPublicClient(client), clientSecret: secret };
}

export interface ClientCredentials {
  /** The raw `authorization` header, if any. */
  readonly authorization: string | undefined;
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
}

function parseBasic(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 2.3.1: both parts are form-urlencoded before they are joined.
  const unform = (value: string) => {
    try {
      return decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  };
  const id = unform(decoded.slice(0, colon));
  const secret = unform(decoded.slice(colon + 1));
  return id === undefined || secret === undefined ? undefined : { id, secret };
}

/**
 * Client authentication at the token, revocation and introspection endpoints: client_secret_basic,
 * client_secret_post, or a public client naming itself with client_id (RFC 6749 2.3, 3.2.1). Every failure is
 * the same 401 invalid_client, so the answer does not say whether a client id exists.
 */
export async function authenticateClient(
  deps: Pick<Deps, 'oauthClients'>,
  credentials: ClientCredentials,
): Promise<OAuthClient> {
  let id = credentials.clientId;
  let secret = credentials.clientSecret;
  const usedBasic = credentials.authorization !== undefined && /^Basic /i.test(credentials.authorization);
  if (usedBasic) {
    if (credentials.clientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'Use one client authentication method, not two.');
    }
    const basic = parseBasic(credentials.authorization!);
    if (!basic || (id !== undefined && id !== basic.id)) throw OAuthError.invalidClient();
    id = basic.id;
    secret = basic.secret;
  }
  if (id === undefined || id === '') throw OAuthError.invalidClient('Client authentication is required.');
  const client = await deps.oauthClients.get(id);
  if (!client) throw OAuthError.invalidClient();
  if (client.type === 'public') {
    if (secret !== undefined && secret !== '') throw OAuthError.invalidClient();
    return client;
  }
  if (!secret || !client.secretHash || !constantTimeEqual(sha256Hex(secret), client.secretHash)) {
    throw OAuthError.invalidClient();
  }
  return client;
}

/** RFC 6749 5.2 unauthorized_client: the client exists but was not registered for this grant. */
export function requireGrant(client: OAuthClient, grant: GrantType): void {
  if (!client.grantTypes.includes(grant)) {
    throw new OAuthError('unauthorized_client', `This client may not use the ${grant} grant.`);
  }
}
