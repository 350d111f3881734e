import { errorFrom } from './errors.js';
import { TokenManager, type TokenManagerOptions } from './token-manager.js';
import type { DeviceRequest, DeviceSession, LoginResponse, SessionInfo, User } from './types.js';

export interface LoginInput {
  readonly login: string;
  readonly password: string;
  readonly otp?: string;
  readonly deviceName?: string;
}

/**
 * The first-party JSON routes, typed. `login` returns a signed-in client whose calls go through a TokenManager
 * (single-flight refresh, one retry on 401, retry-after honoured).
 */
export function createAccountShieldClient(options: {
  readonly baseUrl: string;
  readonly fetch?: typeof fetch;
}) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchImpl = options.fetch ?? fetch;
  const signedIn = (tokens: TokenManager) => {
    const post = (path: string, body?: unknown) =>
      tokens.json<never>(path, {
        method: 'POST',
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    return {
      tokens,
      me: () => tokens.json<{ user: User }>('/v1/me').then((r) => r.user),
      session: () => tokens.json<SessionInfo>('/v1/auth/session'),
      sessions: () => tokens.json<{ sessions: DeviceSession[] }>('/v1/auth/sessions').then((r) => r.sessions),
      endSession: (id: string) =>
        tokens.json<void>(`/v1/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' }),
      logout: (): Promise<void> => post('/v1/auth/logout'),
      revokeAll: (): Promise<void> => post('/v1/auth/revoke-all'),
      lookupDevice: (userCode: string) =>
        tokens
          .json<{ request: DeviceRequest }>('/v1/auth/device/lookup', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ userCode }),
          })
          .then((r) => r.request),
      approveDevice: (userCode: string): Promise<void> => post('/v1/auth/device/approve', { userCode }),
      denyDevice: (userCode: string): Promise<void> => post('/v1/auth/device/deny', { userCode }),
    };
  };
  return {
    async login(input: LoginInput, tokenOptions: Omit<TokenManagerOptions, 'baseUrl' | 'tokens'> = {}) {
      const response = await fetchImpl(`${baseUrl}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      if (!response.ok) throw await errorFrom(response);
      const body = (await response.json()) as LoginResponse;
      const manager = new TokenManager({ fetch: fetchImpl, ...tokenOptions, baseUrl, tokens: body });
      return { ...signedIn(manager), login: body };
    },
    /** A client for tokens obtained elsewhere (an OAuth grant, storage). */
    withTokens: (tokenOptions: Omit<TokenManagerOptions, 'baseUrl'>) =>
      signedIn(new TokenManager({ fetch: fetchImpl, ...tokenOptions, baseUrl })),
  };
}
