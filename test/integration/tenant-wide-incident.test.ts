/**
 * The tenant-wide incident (`scope: all`) on a stack of its own: it affects every account in its tables, so no
 * other test may share them. Accounts are written straight into the tables (hundreds in a second); the cut-off
 * reaches every older password and token at once, and the campaign mails every account exactly once.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../../shared/use-cases/deps.js';
import { type Api, logIn, sleep, uniqueName } from '../support/fixtures.js';
import {
  expectAudienceContent,
  type IncidentBody,
  type IncidentFixtures,
  isCompleted,
  PASSWORD,
  useIncidentStack,
} from '../support/incident-fixtures.js';

let client: Api;
let admin: { token: string };
let deps: Deps;
let fixtures: IncidentFixtures;
useIncidentStack((started) => {
  ({ client, admin, deps, fixtures } = started);
});

describe('a tenant-wide incident (scope: all)', () => {
  it('forces every older password to be reset and revokes every older token at once, then mails every account once', async () => {
    await fixtures.seedAccounts({ password: 200, sso: 100 });
    const [veteran] = await fixtures.seedAccounts({ password: 1, sso: 0 }, new Date(Date.now() - 86_400_000));
    const before = await logIn(client, { email: veteran!.email, password: PASSWORD });
    const existing = (
      await deps.audience.scanPage({ segment: 0, totalSegments: 1, startKey: undefined, limit: 5000 })
    ).members;
    const title = `Tenant breach ${randomUUID()}`;

    const started = Date.now();
    const created = await fixtures.createIncident({
      title,
      scope: { type: 'all' },
      actions: { forcePasswordReset: true, revokeSessions: true },
      notify: { enabled: true },
    });

    // Every check sees it within a second (cached policy), whatever the number of accounts.
    while ((await fixtures.sessionStatus(before.accessToken)) !== 401) {
      expect(Date.now() - started).toBeLessThan(1_500);
      await sleep(50);
    }
    expect((await client.post('/v1/auth/refresh', { refreshToken: before.refreshToken })).status).toBe(401);
    const refused = await client.post('/v1/auth/login', { login: veteran!.email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'password_reset_required' });
    // A password set after the incident is not affected: a new sign-up logs in and its token works.
    await sleep(1_000);
    const newcomer = {
      email: `${uniqueName('newcomer')}@example.test`,
      username: uniqueName(),
      password: PASSWORD,
    };
    expect((await client.post('/v1/accounts', newcomer)).status).toBe(201);
    const fresh = await logIn(client, newcomer);
    expect(await fixtures.sessionStatus(fresh.accessToken)).toBe(200);
    // The veteran resets through the emailed link and signs in again.
    const resetMail = await fixtures.waitForMailWhere(veteran!.email, (mail) =>
      /token=/.test(mail.body.text ?? ''),
    );
    const token = /token=([A-Za-z0-9_-]+)/.exec(resetMail.body.text ?? '')?.[1];
    expect(token).toBeDefined();
    const reset = await client.post('/v1/auth/password/reset', {
      token,
      newPassword: 'amber-meadow-quartz-77',
    });
    expect(reset.status).toBe(200);
    const after = await logIn(client, { email: veteran!.email, password: 'amber-meadow-quartz-77' });
    expect(await fixtures.sessionStatus(after.accessToken)).toBe(200);
    // The tenant-wide action shows in the audit trail of accounts it covered, not of newer ones.
    const veteranEvents = await client.get<{ events: { type: string; detail: Record<string, unknown> }[] }>(
      '/v1/me/security-events',
      { token: after.accessToken },
    );
    expect(veteranEvents.body.events.find((event) => event.type === 'incident_action')?.detail).toEqual({
      incidentId: created.id,
      forcedPasswordReset: true,
      revokedSessions: true,
    });
    const newcomerEvents = await client.get<{ events: { type: string }[] }>('/v1/me/security-events', {
      token: fresh.accessToken,
    });
    expect(newcomerEvents.body.events.map((event) => event.type)).not.toContain('incident_action');

    const done = await fixtures.dispatchUntil(created.id, isCompleted, 40_000);

    expect(done.counts).toEqual({
      targeted: existing.length,
      queued: existing.length,
      sent: existing.length,
      skipped: 0,
      failed: 0,
    });
    const mails = await fixtures.incidentMails(title);
    expect(mails.size).toBe(existing.length);
    for (const member of existing) {
      const received = mails.get(member.email) ?? [];
      expect(received).toHaveLength(1);
      expectAudienceContent(received[0]!, member.authMethod);
    }
    expect(mails.get(newcomer.email)).toBeUndefined();
    const list = await client.get<{ incidents: IncidentBody[] }>('/v1/admin/incidents', admin);
    expect(list.body.incidents[0]!.id).toBe(created.id);
    const createdAts = list.body.incidents.map((incident) => incident.createdAt);
    expect([...createdAts].sort().reverse()).toEqual(createdAts);
    expect(JSON.stringify(list.body)).not.toMatch(/lease|cursor|c0_/);
  }, 90_000);
});
