import { AccountShieldError, TokenManager } from '../src/index.js';

/** A fake API: `/v1/me` accepts only the current access token; refresh rotates the pair after a short delay. */
function fakeApi(options: { meStatuses?: number[]; retryAfter?: string } = {}) {
  let generation = 0;
  const calls = { refresh: 0, me: 0 };
  const statuses = [...(options.meStatuses ?? [])];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    if (url.endsWith('/v1/auth/refresh') || url.endsWith('/oauth2/token')) {
      calls.refresh += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      generation += 1;
      const pair = { access: `at-${generation}`, refresh: `rt-${generation}` };
      const body = url.endsWith('/oauth2/token')
        ? { access_token: pair.access, refresh_token: pair.refresh, token_type: 'Bearer', expires_in: 900 }
        : { accessToken: pair.access, refreshToken: pair.refresh };
      return Response.json(body);
    }
    calls.me += 1;
    const forced = statuses.shift();
    if (forced !== undefined) {
      return Response.json(
        { error: forced === 429 ? 'too_many_requests' : 'unavailable', message: 'Wait.' },
        { status: forced, headers: { 'retry-after': options.retryAfter ?? '1' } },
      );
    }
    const auth = new Headers(init?.headers).get('authorization');
    if (auth !== `Bearer at-${generation}`) {
      return Response.json({ error: 'invalid_token', message: 'Expired.' }, { status: 401 });
    }
    return Response.json({ user: { id: 'u1' } });
  }) as typeof fetch;
  return { fetchImpl, calls };
}

describe('TokenManager', () => {
  it('makes exactly one refresh call when many requests find the token expired at once', async () => {
    const api = fakeApi();
    const saved: string[] = [];
    const manager = new TokenManager({
      baseUrl: 'https://api.example.test/',
      tokens: { accessToken: 'expired', refreshToken: 'rt-0' },
      fetch: api.fetchImpl,
      onTokens: (tokens) => {
        saved.push(tokens.refreshToken);
      },
    });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => manager.json<{ user: { id: string } }>('/v1/me')),
    );
    expect(results.every((r) => r.user.id === 'u1')).toBe(true);
    expect(api.calls.refresh).toBe(1);
    expect(saved).toEqual(['rt-1']);
    expect(manager.current).toEqual({ accessToken: 'at-1', refreshToken: 'rt-1' });
  });

  it('refreshes through the OAuth token endpoint for OAuth clients', async () => {
    const api = fakeApi();
    const manager = new TokenManager({
      baseUrl: 'https://api.example.test',
      tokens: { accessToken: 'expired', refreshToken: 'rt-0' },
      refreshWith: { clientId: 'cl_tv' },
      fetch: api.fetchImpl,
    });
    await manager.json('/v1/me');
    expect(manager.current.accessToken).toBe('at-1');
  });

  it('retries a 401 only once, then throws a typed invalid_token error', async () => {
    const api = fakeApi();
    const manager = new TokenManager({
      baseUrl: 'https://api.example.test',
      tokens: { accessToken: 'expired', refreshToken: 'rt-0' },
      fetch: (async (input: string | URL | Request, init?: RequestInit) =>
        String(input).endsWith('/v1/me')
          ? Response.json({ error: 'invalid_token', message: 'Revoked.' }, { status: 401 })
          : api.fetchImpl(input, init)) as typeof fetch,
    });
    await expect(manager.fetch('/v1/me')).rejects.toMatchObject({ status: 401, code: 'invalid_token' });
    expect(api.calls.refresh).toBe(1);
  });

  it('waits for a short retry-after and retries once', async () => {
    const api = fakeApi({ meStatuses: [429] });
    const manager = new TokenManager({
      baseUrl: 'https://api.example.test',
      tokens: { accessToken: 'at-0', refreshToken: 'rt-0' },
      fetch: api.fetchImpl,
    });
    const started = Date.now();
    await manager.json('/v1/me');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(api.calls.me).toBe(2);
  });

  it('gives up at once on a retry-after longer than allowed, with the wait in the error', async () => {
    const api = fakeApi({ meStatuses: [503], retryAfter: '60' });
    const manager = new TokenManager({
      baseUrl: 'https://api.example.test',
      tokens: { accessToken: 'at-0', refreshToken: 'rt-0' },
      fetch: api.fetchImpl,
    });
    const error = await manager.fetch('/v1/me').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AccountShieldError);
    expect(error).toMatchObject({ status: 503, code: 'unavailable', retryAfterSeconds: 60 });
    expect(api.calls.me).toBe(1);
  });
});
