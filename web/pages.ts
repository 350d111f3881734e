/**
 * The markup of the hosted account pages. Static HTML: every control the contract names is here with its exact
 * label, hidden until the page's script needs it, so the pages are fast, work by keyboard and read the same to
 * a screen reader as on screen. Scripts add text only (never markup from the API).
 */

export type PageName =
  | 'login'
  | 'forgot-password'
  | 'reset-password'
  | 'security'
  | 'security-report'
  | 'device';

export interface PageDefinition {
  readonly name: PageName;
  /** Where the page is served. */
  readonly path: string;
  readonly title: string;
  readonly body: string;
}

const status = (id: string) => `<div id="${id}" role="status" class="notice" hidden></div>`;
const alert = (id: string) => `<div id="${id}" role="alert" class="error" hidden></div>`;

const codeField = (id: string, hint: string) => `
  <div class="field">
    <label for="${id}">Code</label>
    <input id="${id}" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="32" aria-describedby="${id}-hint">
    <p id="${id}-hint" class="hint">${hint}</p>
  </div>`;

export const pageDefinitions: readonly PageDefinition[] = [
  {
    name: 'login',
    path: '/login',
    title: 'Sign in',
    body: `
  <div id="sso" class="stack" hidden>
    <div id="sso-buttons" class="stack"></div>
    <p class="divider">or</p>
  </div>
  ${alert('login-error')}
  ${status('login-status')}
  <form id="login-form" method="post" novalidate>
    <div id="credentials">
      <div class="field">
        <label for="login">Email or username</label>
        <input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required>
      </div>
      <div class="field">
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
      </div>
    </div>
    <div id="code-step" hidden>
      ${codeField('otp', 'The 6-digit code from your authenticator app, or one of your recovery codes.')}
    </div>
    <button type="submit" id="login-submit">Sign in</button>
  </form>
  <p><a href="/forgot-password">Forgot your password?</a></p>`,
  },
  {
    name: 'forgot-password',
    path: '/forgot-password',
    title: 'Reset your password',
    body: `
  <p>Enter the email address of your account. We will send it a link to choose a new password.</p>
  ${alert('forgot-error')}
  <form id="forgot-form" method="post" novalidate>
    <div class="field">
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="email" autocapitalize="none" spellcheck="false" required>
    </div>
    <button type="submit" id="forgot-submit">Send reset link</button>
  </form>
  ${status('forgot-done')}
  <p><a href="/login">Back to sign in</a></p>`,
  },
  {
    name: 'reset-password',
    path: '/reset-password',
    title: 'Choose a new password',
    body: `
  ${alert('reset-error')}
  ${status('reset-done')}
  <form id="reset-form" method="post" novalidate>
    <div class="field">
      <label for="new-password">New password</label>
      <input id="new-password" name="newPassword" type="password" autocomplete="new-password" required aria-describedby="new-password-hint">
      <p id="new-password-hint" class="hint">At least 8 characters. A long phrase is easier to remember and harder to guess.</p>
    </div>
    <div class="check">
      <input id="sign-out-all" name="signOutAllDevices" type="checkbox" checked>
      <label for="sign-out-all">Sign out connected devices after password change</label>
    </div>
    <div id="code-step" hidden>
      ${codeField('otp', 'Your account has two-factor authentication: the 6-digit code from your authenticator app, or a recovery code.')}
    </div>
    <button type="submit" id="reset-submit">Reset password</button>
  </form>`,
  },
  {
    name: 'security',
    path: '/security',
    title: 'Account security',
    body: `
  ${alert('page-error')}
  ${status('page-status')}
  <div id="account" hidden>
    <p>Signed in as <strong id="account-email"></strong></p>

    <section aria-labelledby="devices-heading">
      <h2 id="devices-heading">Connected devices</h2>
      <ul id="devices" class="devices"></ul>
      <p>Lost a phone or signed in on a shared computer? Sign out everywhere: every device, this one included, must sign in again.</p>
      <button type="button" id="revoke-all">Sign out of all devices</button>
    </section>

    <section id="password-section" aria-labelledby="password-heading" hidden>
      <h2 id="password-heading">Password</h2>
      ${alert('password-error')}
      ${status('password-status')}
      <form id="password-form" method="post" novalidate>
        <div class="field">
          <label for="current-password">Current password</label>
          <input id="current-password" type="password" autocomplete="current-password" required>
        </div>
        <div class="field">
          <label for="changed-password">New password</label>
          <input id="changed-password" type="password" autocomplete="new-password" required>
        </div>
        <div class="check">
          <input id="sign-out-others" type="checkbox" checked>
          <label for="sign-out-others">Sign out my other devices</label>
        </div>
        <button type="submit" id="password-submit">Change password</button>
      </form>
    </section>

    <section id="mfa-section" aria-labelledby="mfa-heading" hidden>
      <h2 id="mfa-heading">Two-factor authentication</h2>
      ${alert('mfa-error')}
      ${status('mfa-status')}
      <div id="mfa-off" hidden>
        <p>A code from an app on your phone, on top of your password, keeps your account safe even if your password leaks.</p>
        <form id="mfa-setup-form" method="post" novalidate>
          <div class="field">
            <label for="mfa-setup-password">Current password</label>
            <input id="mfa-setup-password" type="password" autocomplete="current-password" required>
          </div>
          <button type="submit" id="mfa-setup-submit">Set up two-factor authentication</button>
        </form>
      </div>
      <div id="mfa-enrol" hidden>
        <p>Scan this QR code with your authenticator app, or type the key into it:</p>
        <div id="mfa-qr" class="qr"></div>
        <p>Key: <code id="mfa-secret" class="secret"></code></p>
        <form id="mfa-confirm-form" method="post" novalidate>
          ${codeField('mfa-code', 'The 6-digit code your app shows now.')}
          <button type="submit" id="mfa-confirm-submit">Turn on</button>
        </form>
      </div>
      <div id="mfa-recovery" hidden>
        <p><strong>Save these recovery codes now.</strong> Each one signs you in once if you lose your phone. They are shown only this once.</p>
        <ul id="mfa-recovery-codes" class="codes"></ul>
      </div>
      <div id="mfa-on" hidden>
        <p>Two-factor authentication is on.</p>
        <form id="mfa-disable-form" method="post" novalidate>
          <div class="field">
            <label for="mfa-disable-password">Current password</label>
            <input id="mfa-disable-password" type="password" autocomplete="current-password" required>
          </div>
          ${codeField('mfa-disable-code', 'The 6-digit code from your authenticator app.')}
          <button type="submit" id="mfa-disable-submit">Turn off two-factor authentication</button>
        </form>
      </div>
      <p id="mfa-sso" hidden>You sign in through your identity provider: turn on two-factor authentication there.</p>
    </section>

    <section id="sso-section" aria-labelledby="sso-heading" hidden>
      <h2 id="sso-heading">Sign-in providers</h2>
      <ul id="sso-links"></ul>
      <div id="sso-link-buttons" class="stack"></div>
    </section>

    <section aria-labelledby="report-heading">
      <h2 id="report-heading">Something wrong?</h2>
      <p>If you see a device or activity you do not recognise: <a href="/security/report">report it and secure your account</a>.</p>
    </section>
  </div>`,
  },
  {
    name: 'security-report',
    path: '/security/report',
    title: 'Secure your account',
    body: `
  <p>Use this if you did not do something we told you about, or you think someone else can get into your account.</p>
  <ul>
    <li>Every device signed in to your account, this one included, is signed out.</li>
    <li>If you sign in with a password, you must choose a new one: we email you a link.</li>
    <li>Our security team is told, and the report is kept in your account's history.</li>
  </ul>
  ${alert('report-error')}
  ${status('report-done')}
  <button type="button" id="secure-account">Secure my account</button>
  <p><a href="/security">Back to account security</a></p>`,
  },
  {
    name: 'device',
    path: '/device',
    title: 'Sign in on a device',
    body: `
  ${alert('device-error')}
  ${status('device-status')}
  <form id="device-form" method="post" novalidate>
    <div class="field">
      <label for="user-code">Code</label>
      <input id="user-code" name="userCode" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="16" aria-describedby="user-code-hint" required>
      <p id="user-code-hint" class="hint">The code your TV or device shows, such as ABCD-EFGH.</p>
    </div>
    <button type="submit" id="device-continue">Continue</button>
  </form>
  <div id="device-confirm" hidden>
    <p><strong id="device-client"></strong> wants to sign in to your account. Only allow it if you started this on your own device just now.</p>
    <div class="actions">
      <button type="button" id="device-allow">Allow</button>
      <button type="button" id="device-deny" class="secondary">Deny</button>
    </div>
  </div>`,
  },
];

/**
 * The whole document of a page. `script` and `stylesheet` are same-origin asset paths (content-hashed file
 * names), the only things the page's content-security-policy lets it load.
 */
export function renderPage(page: PageDefinition, assets: { script: string; stylesheet: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title} · account-shield</title>
<link rel="stylesheet" href="${assets.stylesheet}">
<script type="module" src="${assets.script}"></script>
</head>
<body>
<header class="site"><a href="/security" class="brand">account-shield</a></header>
<main id="main">
  <h1>${page.title}</h1>
  <noscript><p class="error">This page needs JavaScript to talk to the account service.</p></noscript>
${page.body}
</main>
</body>
</html>
`;
}
