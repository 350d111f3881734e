/**
 * /login: password sign-in with the code step, forced-reset and throttled states; one "Continue with …" button
 * per SSO provider; the SSO callback's one-time code (#sso_code) exchange; and, for OAuth clients
 * (?authorization=<id>), completing the pending authorization request once signed in.
 */
import { type ApiError, callPublic, callSigned, type TokenResponse } from './lib/api.js';
import { byId, forgetFragment, fragmentParams, say, sayWithLink, show, whileBusy } from './lib/dom.js';
import { describeWait, genericError, otpRejectedSentence, otpRequiredSentence } from './lib/messages.js';
import { deviceName, readSession, safeReturnPath, saveSession } from './lib/session.js';

const form = byId<HTMLFormElement>('login-form');
const loginInput = byId<HTMLInputElement>('login');
const passwordInput = byId<HTMLInputElement>('password');
const codeStep = byId('code-step');
const codeInput = byId<HTMLInputElement>('otp');
const submit = byId<HTMLButtonElement>('login-submit');
const errorRegion = byId('login-error');
const statusRegion = byId('login-status');

const query = new URLSearchParams(location.search);
const returnTo = safeReturnPath(query.get('returnTo'));
const authorization = query.get('authorization');

const ssoErrors: Readonly<Record<string, string>> = {
  access_denied: 'Sign-in was cancelled at the identity provider.',
  invalid_state: 'That sign-in attempt expired or was started in another browser. Please try again.',
  expired: 'That sign-in attempt took too long. Please try again.',
  not_linked:
    'No account here is linked to that identity. Sign in with your password, then link the provider on your security page.',
  unavailable: 'The identity provider could not be reached. Please try again in a moment.',
};

interface ProviderList {
  readonly providers: readonly {
    readonly id: string;
    readonly displayName: string;
    readonly startUrl: string;
  }[];
}

/** After any successful sign-in: back to the OAuth client, or to where the visitor was going. */
async function continueSignedIn(): Promise<void> {
  if (authorization) {
    say(statusRegion, 'Signed in. Returning to the application…');
    const result = await callSigned<{ redirectTo: string }>('POST', '/v1/auth/authorize/complete', {
      authorization,
    });
    if (result.ok && typeof result.body.redirectTo === 'string') {
      location.assign(result.body.redirectTo);
      return;
    }
    say(statusRegion, '');
    if (!result.ok && result.signedOut) {
      say(errorRegion, 'Please sign in to continue.', { focus: true });
      return;
    }
    say(
      errorRegion,
      'The application’s sign-in request has expired or is not valid. Go back to the application and start again.',
      { focus: true },
    );
    return;
  }
  location.assign(returnTo);
}

function showError(error: ApiError): void {
  switch (error.error) {
    case 'invalid_credentials':
      say(errorRegion, 'The email, username or password is not right.', { focus: true });
      return;
    case 'mfa_required':
      show(codeStep);
      say(errorRegion, '');
      say(statusRegion, otpRequiredSentence);
      codeInput.focus();
      return;
    case 'invalid_otp':
      show(codeStep);
      say(errorRegion, otpRejectedSentence, { focus: true });
      return;
    case 'password_reset_required':
      sayWithLink(
        errorRegion,
        'Your password must be changed before you can sign in again, to keep your account safe. We have emailed you a link to choose a new one.',
        { href: '/forgot-password', label: 'Send me a new reset link' },
      );
      return;
    case 'too_many_requests':
      say(
        errorRegion,
        `Too many sign-in attempts. Please wait ${describeWait(error.retryAfter)} before trying again, or reset your password.`,
        { focus: true },
      );
      return;
    default:
      say(errorRegion, genericError(error), { focus: true });
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  say(errorRegion, '');
  if (!loginInput.value.trim() || !passwordInput.value) {
    say(errorRegion, 'Enter your email or username and your password.', { focus: true });
    return;
  }
  void whileBusy(submit, async () => {
    const otp = codeStep.hidden ? '' : codeInput.value.replace(/\s+/g, '');
    const result = await callPublic<TokenResponse>('POST', '/v1/auth/login', {
      login: loginInput.value.trim(),
      password: passwordInput.value,
      ...(otp ? { otp } : {}),
      deviceName: deviceName(),
    });
    if (!result.ok) {
      showError(result);
      return;
    }
    saveSession(result.body);
    passwordInput.value = '';
    await continueSignedIn();
  });
});

async function showProviders(): Promise<void> {
  const result = await callPublic<ProviderList>('GET', '/v1/auth/sso/providers');
  // No SSO configured (or an API without it): the password form is all there is.
  if (!result.ok || !Array.isArray(result.body?.providers) || result.body.providers.length === 0) return;
  const container = byId('sso-buttons');
  for (const provider of result.body.providers) {
    if (!provider.startUrl.startsWith('/')) continue;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = `Continue with ${provider.displayName}`;
    button.addEventListener('click', () => {
      const start = new URL(provider.startUrl, location.origin);
      start.searchParams.set('returnTo', currentReturnTarget());
      start.searchParams.set('deviceName', deviceName());
      location.assign(start.toString());
    });
    container.append(button);
  }
  show(byId('sso'));
}

/** Where SSO comes back to: this page again when an OAuth request is pending, so it can be completed. */
function currentReturnTarget(): string {
  return authorization ? `/login?authorization=${encodeURIComponent(authorization)}` : returnTo;
}

async function exchangeSsoCode(code: string, ssoReturnTo: string | null): Promise<void> {
  say(statusRegion, 'Finishing sign-in…');
  const result = await callPublic<TokenResponse>('POST', '/v1/auth/sso/exchange', {
    code,
    deviceName: deviceName(),
  });
  say(statusRegion, '');
  if (!result.ok) {
    say(
      errorRegion,
      result.error === 'invalid_grant'
        ? 'That sign-in link has expired or was already used. Please sign in again.'
        : genericError(result),
      { focus: true },
    );
    return;
  }
  saveSession(result.body);
  if (authorization) {
    await continueSignedIn();
    return;
  }
  // The callback says where the visitor was going; /login?authorization=… there completes an OAuth request.
  location.assign(safeReturnPath(ssoReturnTo, returnTo));
}

async function start(): Promise<void> {
  const fragment = fragmentParams();
  const ssoCode = fragment.get('sso_code');
  const ssoError = fragment.get('sso_error');
  if (ssoCode || ssoError) forgetFragment();
  if (ssoError)
    say(
      errorRegion,
      ssoErrors[ssoError] ?? 'Signing in with your identity provider did not work. Please try again.',
    );
  if (ssoCode) {
    await exchangeSsoCode(ssoCode, fragment.get('returnTo'));
    return;
  }
  if (authorization && readSession()) {
    await continueSignedIn();
    if (!readSession()) await showProviders();
    return;
  }
  await showProviders();
}

void start();
