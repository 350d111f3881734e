/** Refresh-token rotation rules on the in-memory adapters (the emulator suites cover DynamoDB's conditions). */
import { InvalidGrantError } from '../../shared/errors.js';
import { authenticate } from '../../shared/use-cases/authenticate.js';
import { login } from '../../shared/use-cases/login.js';
import { refreshSession, revokeAllSessions } from '../../shared/use-cases/sessions.js';
import { origin, seedPasswordAccount } from '../support/in-memory/accounts.js';
import { type AuthWorldOptions, createAuthWorld } from '../support/in-memory/world.js';

async function signedIn(options: AuthWorldOptions = {}) {
  const world = await createAuthWorld(options);
  const { user, password } = await seedPasswordAccount(world);
  const tokens = await login(world.deps, { login: user.email, password }, origin);
  const session = () => world.sessions.sessions.get(`${user.userId}|${tokens.sessionId}`);
  return { world, user, tokens, session };
}

describe('refreshSession', () => {
  it('rotates the refresh token and issues a working access token for the same session', async () => {
    const { world, tokens, session } = await signedIn();
    world.advance(60_000);

    const next = await refreshSession(world.deps, tokens.refreshToken, origin);

    expect(next.sessionId).toBe(tokens.sessionId);
    expect(next.refreshToken).not.toBe(tokens.refreshToken);
    expect(session()).toMatchObject({ refreshGeneration: 1, rotatedAtMs: world.now() });
    await expect(authenticate(world.deps, next.accessToken)).resolves.toMatchObject({
      sessionId: tokens.sessionId,
    });
    const again = await refreshSession(world.deps, next.refreshToken, origin);
    expect(session()?.refreshGeneration).toBe(2);
    expect(again.refreshToken).not.toBe(next.refreshToken);
  });

  it('gives two concurrent refreshes within the grace window the same current token', async () => {
    const { world, tokens } = await signedIn();
    const first = await refreshSession(world.deps, tokens.refreshToken, origin);
    world.advance(world.deps.config.refreshGraceMs);

    const second = await refreshSession(world.deps, tokens.refreshToken, origin);

    expect(second.refreshToken).toBe(first.refreshToken);
    await expect(refreshSession(world.deps, second.refreshToken, origin)).resolves.toBeDefined();
  });

  it('ends the session when the previous token comes back after the grace window (reuse detection)', async () => {
    const { world, user, tokens, session } = await signedIn();
    const next = await refreshSession(world.deps, tokens.refreshToken, origin);
    world.advance(world.deps.config.refreshGraceMs + 1);

    await expect(refreshSession(world.deps, tokens.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );

    expect(session()).toBeUndefined();
    expect(world.events.types(user.userId)).toContain('refresh_token_reused');
    expect(world.forgotten).toContain(user.userId);
    // The thief's or the owner's current token: neither works any more.
    await expect(refreshSession(world.deps, next.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
  });

  it('ends the session when any older generation comes back, even inside the grace window', async () => {
    const { world, tokens, session } = await signedIn();
    const second = await refreshSession(world.deps, tokens.refreshToken, origin);
    world.advance(world.deps.config.refreshGraceMs + 1);
    await refreshSession(world.deps, second.refreshToken, origin);

    await expect(refreshSession(world.deps, tokens.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
    expect(session()).toBeUndefined();
  });

  it('treats the previous token as reuse at once when the grace window is off', async () => {
    const { world, tokens, session } = await signedIn({ env: { REFRESH_GRACE_SECONDS: '0' } });
    await refreshSession(world.deps, tokens.refreshToken, origin);
    await expect(refreshSession(world.deps, tokens.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
    expect(session()).toBeUndefined();
  });

  it('refuses a made-up secret for a real session without ending it', async () => {
    const { world, user, tokens, session } = await signedIn();
    const forged = `rt1.${user.userId}.${tokens.sessionId}.${'x'.repeat(43)}`;
    await expect(refreshSession(world.deps, forged, origin)).rejects.toBeInstanceOf(InvalidGrantError);
    await expect(refreshSession(world.deps, 'not-a-token', origin)).rejects.toBeInstanceOf(InvalidGrantError);
    expect(session()).toBeDefined();
  });

  it('refuses and removes a session that revoke-all, a tenant cut-off or idling ended', async () => {
    const revoked = await signedIn();
    const principal = await authenticate(revoked.world.deps, revoked.tokens.accessToken);
    await revokeAllSessions(revoked.world.deps, principal, origin);
    await expect(
      refreshSession(revoked.world.deps, revoked.tokens.refreshToken, origin),
    ).rejects.toBeInstanceOf(InvalidGrantError);
    expect(revoked.session()).toBeUndefined();

    const cutOff = await signedIn();
    cutOff.world.advance(1000);
    cutOff.world.tenantPolicy.policy = { revokeTokensIssuedBefore: cutOff.world.now() };
    await expect(
      refreshSession(cutOff.world.deps, cutOff.tokens.refreshToken, origin),
    ).rejects.toBeInstanceOf(InvalidGrantError);
    expect(cutOff.session()).toBeUndefined();

    const idle = await signedIn();
    idle.world.advance(31 * 86_400_000);
    await expect(refreshSession(idle.world.deps, idle.tokens.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
  });

  it('keeps a session started after the tenant cut-off, and refuses its pre-incident siblings', async () => {
    const before = await signedIn();
    const { world, user } = before;
    world.advance(1000);
    world.tenantPolicy.policy = { revokeTokensIssuedBefore: world.now() };
    world.advance(1000);
    const after = await login(world.deps, { login: user.email, password: 'violet-river-canyon-42' }, origin);

    await expect(refreshSession(world.deps, after.refreshToken, origin)).resolves.toBeDefined();
    await expect(refreshSession(world.deps, before.tokens.refreshToken, origin)).rejects.toBeInstanceOf(
      InvalidGrantError,
    );
  });

  it('binds an OAuth client session to its client', async () => {
    const { world, tokens } = await signedIn();
    await expect(
      refreshSession(world.deps, tokens.refreshToken, origin, 'some-client'),
    ).rejects.toBeInstanceOf(InvalidGrantError);
  });
});
