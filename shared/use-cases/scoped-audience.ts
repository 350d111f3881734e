import type { IncidentScope } from '../domain/incident.js';
import type { AudienceMember, CampaignAudience } from '../ports/campaign-audience.js';

/**
 * The audience of an incident scoped to named users or emails (at most a few hundred: the request body's cap).
 * Listed audiences of any size are in incident-audience.ts; `scope: all` is walked page by page by the dispatcher.
 */
/** The accounts a scoped list names, looked up in batches; unknown entries are simply absent. */
export async function resolveScopedAccounts(
  deps: { readonly audience: Pick<CampaignAudience, 'getUsers' | 'resolveEmails'> },
  scope: Extract<IncidentScope, { type: 'users' | 'emails' }>,
): Promise<AudienceMember[]> {
  let userIds: string[];
  if (scope.type === 'users') {
    userIds = [...scope.userIds];
  } else {
    const byEmail = await deps.audience.resolveEmails(scope.emails);
    userIds = scope.emails.flatMap((email) => {
      const userId = byEmail.get(email);
      return userId === undefined ? [] : [userId];
    });
  }
  const users = await deps.audience.getUsers(userIds);
  return userIds.flatMap((userId) => {
    const user = users.get(userId);
    return user ? [user] : [];
  });
}
