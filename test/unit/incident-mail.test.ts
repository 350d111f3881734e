import { incidentMail, renderIncidentMail } from '../../shared/notifications/incident-mail.js';
import { NEVER_ASK_LINE } from '../../shared/notifications/templates.js';

const app = { appUrl: 'https://app.example.test' };
const base = {
  title: 'Credential stuffing on the media portal',
  declaredAt: '2026-11-22T16:04:00.000Z',
  actions: { forcePasswordReset: true, revokeSessions: true },
  reminder: false,
};

describe('incident mail', () => {
  it('tells password accounts what happened and how to reset, without any reset token', () => {
    const mail = renderIncidentMail(incidentMail({ ...base, audience: 'password' }, app));

    expect(mail.subject).toBe('Security incident: reset your password');
    expect(mail.text).toContain(
      '"Credential stuffing on the media portal", declared at 16:04 UTC on 22 November 2026',
    );
    expect(mail.text).toContain('https://app.example.test/forgot-password');
    expect(mail.text).toContain('"Sign out connected devices"');
    expect(mail.text).toContain('two-factor authentication at https://app.example.test/security');
    expect(mail.text).toContain(NEVER_ASK_LINE);
    expect(`${mail.text}${mail.html}`).not.toMatch(/token=|reset-password/);
  });

  it('never tells SSO accounts to reset a password; it sends them to sign out of all devices', () => {
    for (const actions of [base.actions, { forcePasswordReset: true, revokeSessions: false }]) {
      const mail = renderIncidentMail(incidentMail({ ...base, actions, audience: 'sso' }, app));

      expect(`${mail.subject}\n${mail.text}\n${mail.html}`).not.toMatch(
        /reset|forgot-password|new password/i,
      );
      expect(mail.text).toContain('"Sign out of all devices" at https://app.example.test/security');
      expect(mail.text).toContain('two-factor authentication at your identity provider');
      expect(mail.text).toContain(NEVER_ASK_LINE);
    }
  });

  it('keeps the operator-written title out of the template: no injected placeholders or HTML', () => {
    const title = '<script>x</script> {{incidentTitleHtml}} & "quotes"';

    const template = incidentMail({ ...base, title, audience: 'password' }, app);
    const mail = renderIncidentMail(template);

    expect(template.template.text).not.toContain('<script>');
    expect(mail.text).toContain(title);
    expect(mail.html).toContain(
      '&lt;script&gt;x&lt;/script&gt; {{incidentTitleHtml}} &amp; &quot;quotes&quot;',
    );
    expect(mail.html).not.toContain('<script>');
  });

  it('words reminders as reminders, for accounts that still have to reset', () => {
    const mail = renderIncidentMail(incidentMail({ ...base, reminder: true, audience: 'password' }, app));

    expect(mail.subject).toBe('Reminder: reset your password');
    expect(mail.text).toContain('still needs a new password');
  });
});
