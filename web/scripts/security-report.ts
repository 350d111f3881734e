/** /security/report ("this wasn't me"): one button that locks the account down and tells the operators. */
import { callSigned } from './lib/api.js';
import { anchor, byId, say, show, whileBusy } from './lib/dom.js';
import { genericError } from './lib/messages.js';
import { clearSession, readSession, redirectToLogin } from './lib/session.js';

if (!readSession()) redirectToLogin();

const button = byId<HTMLButtonElement>('secure-account');
const errorRegion = byId('report-error');
const done = byId('report-done');

interface SecureAccountResult {
  readonly signedOutAllDevices: boolean;
  readonly passwordResetRequired: boolean;
}

button.addEventListener('click', () => {
  say(errorRegion, '');
  void whileBusy(button, async () => {
    const result = await callSigned<SecureAccountResult>('POST', '/v1/me/secure-account');
    if (!result.ok) {
      if (result.signedOut) redirectToLogin();
      say(errorRegion, genericError(result), { focus: true });
      return;
    }
    // This device was signed out with the others.
    clearSession();
    show(button, false);
    const parts = ['Your account is secured. Every device has been signed out, this one included.'];
    parts.push(
      result.body.passwordResetRequired
        ? 'We have emailed you a link to choose a new password; you need it before you can sign in again.'
        : 'Sign in again through your identity provider, and check your account there too.',
    );
    parts.push('Our security team has been alerted.');
    const next = result.body.passwordResetRequired
      ? anchor('/forgot-password', 'Send me another reset link')
      : anchor('/login', 'Sign in');
    done.replaceChildren(document.createTextNode(`${parts.join(' ')} `), next);
    show(done);
    done.tabIndex = -1;
    done.focus();
  });
});
