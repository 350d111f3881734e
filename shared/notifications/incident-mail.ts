import type { IncidentRecipient } from './messages.js';
import { type AppLinks, composeMail, formatUtc, links, type RenderedMail } from './templates.js';

export type IncidentAudience = IncidentRecipient['audience'];

export interface IncidentMailInput {
  readonly title: string;
  /** ISO time the incident was declared. */
  readonly declaredAt: string;
  readonly actions: { readonly forcePasswordReset: boolean; readonly revokeSessions: boolean };
  readonly audience: IncidentAudience;
  /** A reminder round: the account still has not reset its password. */
  readonly reminder: boolean;
}

/** A bulk-mail template and the data SES substitutes into it. */
export interface IncidentMailTemplate {
  readonly template: RenderedMail;
  readonly data: Readonly<Record<string, string>>;
}

const TITLE = '{{incidentTitle}}';
const TITLE_HTML = '{{incidentTitleHtml}}';

const escapeHtml = (value: string) =>
  value.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!,
  );

/**
 * The campaign mail of one audience, as a template for SES bulk sending. The incident title is the only
 * operator-written text: it travels as template data, never inside the template, so a title containing
 * `{{...}}` or HTML cannot change the mail (SES substitutes values verbatim, hence the pre-escaped HTML
 * variant). Links come only from the configured app URL; a campaign mail never carries a reset token, only
 * the way to the forgot-password page, so a leaked or forwarded mail gives nobody access.
 */
export function incidentMail(input: IncidentMailInput, app: AppLinks): IncidentMailTemplate {
  const l = links(app);
  const what = `We are writing to you about a security incident: "${TITLE}", declared at ${formatUtc(input.declaredAt)}.`;
  const signedOut = input.actions.revokeSessions
    ? 'As a precaution we have signed your account out of every device and app, so you will need to sign in again.'
    : undefined;
  let mail: RenderedMail;
  if (input.audience === 'sso') {
    // SSO accounts have no password with us: telling them to reset one would send them to the wrong place.
    mail = composeMail(
      'Security notice: sign out of all devices',
      [
        {
          paragraphs: [
            what,
            'You sign in to your account with single sign-on (SSO) through your organisation or identity provider. No password of yours is used or stored by us, so there is no password to change here.',
            ...(signedOut ? [signedOut] : []),
          ],
          steps: [
            `Choose "Sign out of all devices" at ${l.security} if you see any session you do not recognise.`,
            'Turn on two-factor authentication at your identity provider.',
          ],
          link: { label: 'Review your devices', url: l.security },
        },
      ],
      app,
    );
  } else {
    const forced = input.actions.forcePasswordReset;
    const subject = input.reminder
      ? 'Reminder: reset your password'
      : forced
        ? 'Security incident: reset your password'
        : 'Security incident: we recommend a new password';
    const ask = forced
      ? input.reminder
        ? 'Your account still needs a new password: you cannot sign in with your old one.'
        : 'To protect your account, you must choose a new password before you can sign in again.'
      : 'We recommend that you choose a new password.';
    mail = composeMail(
      subject,
      [
        {
          paragraphs: [what, ask, ...(signedOut ? [signedOut] : [])],
          steps: [
            `Go to ${l.forgot} and ask for a password reset link for your email address.`,
            'Choose a new password and keep "Sign out connected devices" ticked, so that every device and media server signed in to your account has to sign in again.',
            `Turn on two-factor authentication at ${l.security}.`,
          ],
          link: { label: 'Reset your password', url: l.forgot },
        },
        {
          paragraphs: [
            'For your safety this email never contains a personal reset link: you receive one only after asking for it on our website.',
          ],
        },
      ],
      app,
    );
  }
  return {
    template: { ...mail, html: mail.html.replaceAll(TITLE, TITLE_HTML) },
    data: { incidentTitle: input.title, incidentTitleHtml: escapeHtml(input.title) },
  };
}

/** Renders a template the way SES does for our placeholders, for tests and previews. */
export function renderIncidentMail(mail: IncidentMailTemplate): RenderedMail {
  const fill = (text: string) => text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => mail.data[name] ?? '');
  return {
    subject: fill(mail.template.subject),
    text: fill(mail.template.text),
    html: fill(mail.template.html),
  };
}
