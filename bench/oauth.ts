/**
 * Issue 13 benchmarks (never timed tests):
 * - warm RFC 7662 introspection of a user access token per core (use-case level, no HTTP);
 * - how long after a revoke-all made by another instance introspection answers `active: false` (bound: the
 *   revocation cache, REVOCATION_CACHE_MS <= 1000).
 */
import { createDeps } from '../shared/app.js';
import { createAccount } from '../shared/use-cases/accounts.js';
import type { Principal } from '../shared/use-cases/authenticate.js';
import { authenticateClient, createClient } from '../shared/use-cases/oauth-clients.js';
import { introspectToken } from '../shared/use-cases/oauth-token-status.js';
import { startSession } from '../shared/use-cases/session-tokens.js';
import { revokeAllSessions } from '../shared/use-cases/sessions.js';
import { type BenchStack, median, round } from './support/bench-stack.js';

const origin = { ip: '127.0.0.1', userAgent: 'bench' };

export async function runOAuthBenchmarks(stack: BenchStack) {
  const { deps } = stack;
  // The revoke-all runs on another instance, so this one's cache is not dropped by forget().
  const otherInstance = createDeps(stack.config, stack.clients);
  const registered = await createClient(deps, {
    name: 'Bench resource server',
    type: 'confidential',
    grantTypes: ['client_credentials'],
  });
  const resourceServer = await authenticateClient(deps, {
    authorization: undefined,
    clientId: registered.client.clientId,
    clientSecret: registered.clientSecret,
  });
  const user = await createAccount(
    deps,
    { email: 'bench-oauth@example.test', username: 'bench_oauth', authMethod: 'sso' },
    origin,
  );

  let record = (await deps.users.get(user.id))!;
  const session = await startSession(deps, record, 'bench', undefined, {
    clientId: 'cl_bench',
    scope: 'media.read',
  });
  await introspectToken(deps, resourceServer, session.accessToken);
  let checks = 0;
  const started = performance.now();
  while (performance.now() - started < 2000) {
    await introspectToken(deps, resourceServer, session.accessToken);
    checks += 1;
  }
  const warmPerSecond = checks / ((performance.now() - started) / 1000);

  const visibleAfterMs: number[] = [];
  for (let round = 0; round < 10; round += 1) {
    record = (await deps.users.get(user.id))!;
    const tokens = await startSession(deps, record, 'bench', undefined, {
      clientId: 'cl_bench',
      scope: 'media.read',
    });
    // Warm this instance's cache with the active verdict, as a busy resource server would have it.
    await introspectToken(deps, resourceServer, tokens.accessToken);
    const principal: Principal = {
      userId: user.id,
      sessionId: tokens.sessionId,
      tokenVersion: record.tokenVersion,
      issuedAt: 0,
      expiresAt: 0,
    };
    await revokeAllSessions(otherInstance, principal, origin);
    const t0 = performance.now();
    while ((await introspectToken(deps, resourceServer, tokens.accessToken)).active) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    visibleAfterMs.push(performance.now() - t0);
  }
  return {
    warmIntrospectionsPerSecondPerCore: Math.round(warmPerSecond),
    revocationVisibleAfterMs: {
      median: round(median(visibleAfterMs), 0),
      max: round(Math.max(...visibleAfterMs), 0),
    },
    bound: `REVOCATION_CACHE_MS = ${stack.config.revocationCacheMs} (<= 1000)`,
  };
}
