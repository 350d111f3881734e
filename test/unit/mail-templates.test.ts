import {
  formatUtc,
  NEVER_ASK_LINE,
  passwordResetMail,
  securityNoticeMail,
  ssoSignInHelpMail,
} from '../../shared/notifications/templates.js';

const app = { appUrl: 'https://app.example.com' };
const at = '2026-11-22T16:04:05.000Z';

describe('mail templates', () => {
  it('puts the reset token only in a link built from the public app URL', () => {
    const mail = passwordResetMail({ token: 'tok_abc-123', requestedAt: at, reason: 'requested' }, app);
    const links = mail.text.match(/https?:\/\/\S+/g) ?? [];
    const resetLinks = links.filter((l) => l.includes('tok_abc-123'));
    expect(resetLinks).toEqual(['https://app.example.com/reset-password#token=tok_abc-123']);
    expect(links.every((l) => l.startsWith('https://app.example.com/'))).toBe(true);
    expect(mail.text).toContain('Sign out connected devices');
    expect(mail.html).toContain('href="https://app.example.com/reset-password#token=tok_abc-123"');
  });

  it('says when (in UTC), what to do if it was not you, and that we never ask for a password', () => {
    for (const mail of [
      passwordResetMail({ token: 't', requestedAt: at, reason: 'forced' }, app),
      ssoSignInHelpMail({ requestedAt: at }, app),
      securityNoticeMail(
        { notice: 'signed_out_all_devices', at, ip: '203.0.113.7', userAgent: 'curl/8' },
        app,
      ),
    ]) {
      expect(mail.text).toContain('16:04 UTC on 22 November 2026');
      expect(mail.text).toContain("If this wasn't you");
      expect(mail.text).toContain(NEVER_ASK_LINE);
      expect(mail.html).toContain('We will never ask for your password or card number by email.');
    }
  });

  it('never tells an SSO account to reset a password, and explains how to sign out everywhere', () => {
    const mail = ssoSignInHelpMail({ requestedAt: at }, app);
    expect(mail.text).not.toMatch(/reset your password/i);
    expect(mail.text).not.toContain('token=');
    expect(mail.text).toContain('Sign out of all devices');
  });

  it('escapes HTML in values that came from requests', () => {
    const mail = securityNoticeMail(
      { notice: 'password_changed', at, ip: null, userAgent: '<script>alert(1)</script>' },
      app,
    );
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
  });

  it('formats times unambiguously in UTC', () => {
    expect(formatUtc('2026-01-02T03:04:59Z')).toBe('03:04 UTC on 2 January 2026');
  });
});
