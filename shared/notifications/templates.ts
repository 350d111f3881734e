import type { SecurityNoticeKind } from './messages.js';

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Where mails point. Built only from the configured public app URL, never from a request's headers. */
export interface AppLinks {
  readonly appUrl: string;
}

export const NEVER_ASK_LINE = 'We will never ask for your password or card number by email.';

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );

export const links = (app: AppLinks) => ({
  security: `${app.appUrl}/security`,
  signIn: `${app.appUrl}/sign-in`,
  forgot: `${app.appUrl}/forgot-password`,
  report: `${app.appUrl}/security/report`,
  /** The token rides in the fragment, which browsers never send to servers or in Referer headers. */
  reset: (token: string) => `${app.appUrl}/reset-password#token=${encodeURIComponent(token)}`,
});

/** "16:04 UTC on 22 November 2026": unambiguous for every reader. */
export function formatUtc(iso: string): string {
  const date = new Date(iso);
  const time = date.toISOString().slice(11, 16);
  const day = date.toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
  return `${time} UTC on ${day}`;
}

interface Section {
  readonly heading?: string;
  readonly paragraphs: readonly string[];
  readonly link?: { readonly label: string; readonly url: string };
  readonly steps?: readonly string[];
}

/** One layout for every mail, so the safety line and the "wasn't me" path can never be forgotten. */
export function composeMail(subject: string, sections: readonly Section[], app: AppLinks): RenderedMail {
  const l = links(app);
  const all: Section[] = [
    ...sections,
    {
      heading: "If this wasn't you",
      paragraphs: [
        `Sign out of all devices and secure your account at ${l.security}, then report it at ${l.report}.`,
        NEVER_ASK_LINE,
      ],
    },
  ];
  const text = [
    ...all.map((section) =>
      [
        section.heading ? `${section.heading}\n` : '',
        section.paragraphs.join('\n\n'),
        section.steps ? `\n\n${section.steps.map((step, i) => `${i + 1}. ${step}`).join('\n')}` : '',
        section.link ? `\n\n${section.link.label}: ${section.link.url}` : '',
      ].join(''),
    ),
    '— account-shield security',
  ].join('\n\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif;max-width:560px">',
    `<h1 style="font-size:20px">${escapeHtml(subject)}</h1>`,
    ...all.map((section) =>
      [
        section.heading ? `<h2 style="font-size:16px">${escapeHtml(section.heading)}</h2>` : '',
        ...section.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
        section.steps ? `<ol>${section.steps.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ol>` : '',
        section.link
          ? `<p><a href="${escapeHtml(section.link.url)}">${escapeHtml(section.link.label)}</a></p>`
          : '',
      ].join(''),
    ),
    '<p style="color:#666">— account-shield security</p></body></html>',
  ].join('');
  return { subject, text, html };
}

export function passwordResetMail(
  input: { token: string; requestedAt: string; reason: 'requested' | 'forced' },
  app: AppLinks,
) {
  const l = links(app);
  const why =
    input.reason === 'forced'
      ? `Your account needs a new password before you can sign in again (sign-in attempt at ${formatUtc(input.requestedAt)}).`
      : `Someone asked to reset the password of this account at ${formatUtc(input.requestedAt)}.`;
  return composeMail(
    'Reset your password',
    [
      {
        paragraphs: [
          why,
          'Use the link below within 30 minutes; it works once. Keep "Sign out connected devices" ticked so that every device and media server signed in to your account has to sign in again.',
        ],
        link: { label: 'Reset your password', url: l.reset(input.token) },
      },
      {
        paragraphs: [
          `If you did not ask for this, you can ignore this email: your password stays the same. We recommend turning on two-factor authentication at ${l.security}.`,
        ],
      },
    ],
    app,
  );
}

export function ssoSignInHelpMail(input: { requestedAt: string }, app: AppLinks) {
  const l = links(app);
  return composeMail(
    'How you sign in to your account',
    [
      {
        paragraphs: [
          `Someone asked to reset the password of this account at ${formatUtc(input.requestedAt)}. Your account has no password with us: you sign in with single sign-on (SSO) through your organisation or identity provider.`,
        ],
        steps: [
          `Sign in with SSO at ${l.signIn}.`,
          `To sign out everywhere, choose "Sign out of all devices" at ${l.security}.`,
          'Turn on two-factor authentication at your identity provider.',
        ],
      },
    ],
    app,
  );
}

const noticeText: Record<SecurityNoticeKind, { subject: string; what: string; ifYou: string }> = {
  signed_out_all_devices: {
    subject: 'You signed out of all devices',
    what: 'Every device and media server signed in to your account was signed out',
    ifYou: 'Sign in again on the devices you use.',
  },
  password_changed: {
    subject: 'Your password was changed',
    what: 'The password of your account was changed',
    ifYou: 'No action is needed.',
  },
  mfa_enabled: {
    subject: 'Two-factor authentication is on',
    what: 'Two-factor authentication was turned on for your account',
    ifYou: 'Keep your recovery codes somewhere safe.',
  },
  mfa_disabled: {
    subject: 'Two-factor authentication was turned off',
    what: 'Two-factor authentication was turned off for your account',
    ifYou: 'We recommend turning it back on.',
  },
  password_reset_forced: {
    subject: 'You need to reset your password',
    what: 'Our security team requires a new password for your account',
    ifYou: 'Reset your password the next time you sign in; we will email you a reset link.',
  },
  second_factor_failed: {
    subject: 'Someone entered your password with a wrong code',
    what: 'Someone entered your password correctly but a wrong two-factor code',
    ifYou:
      'no action is needed. If it was not you, someone else knows your password: reset it now and keep two-factor authentication on.',
  },
};

export function securityNoticeMail(
  input: { notice: SecurityNoticeKind; at: string; ip: string | null; userAgent: string | null },
  app: AppLinks,
) {
  const copy = noticeText[input.notice];
  const where = [
    input.ip ? `from IP address ${input.ip}` : '',
    input.userAgent ? `using ${input.userAgent}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return composeMail(
    copy.subject,
    [
      {
        paragraphs: [
          `${copy.what} at ${formatUtc(input.at)}${where ? ` (${where})` : ''}.`,
          `If this was you: ${copy.ifYou}`,
        ],
      },
    ],
    app,
  );
}
