/**
 * /reset-password#token=…: the token is read from the fragment (never sent to a server in a URL or Referer),
 * dropped from the address bar at once, kept in memory only, and sent in the POST body alone.
 */
import { callPublic } from './lib/api.js';
import {
  anchor,
  byId,
  forgetFragment,
  fragmentParams,
  say,
  sayList,
  sayWithLink,
  show,
  whileBusy,
} from './lib/dom.js';
import { genericError, otpRejectedSentence, otpRequiredSentence, reasonSentence } from './lib/messages.js';

const form = byId<HTMLFormElement>('reset-form');
const password = byId<HTMLInputElement>('new-password');
const signOutAll = byId<HTMLInputElement>('sign-out-all');
const codeStep = byId('code-step');
const code = byId<HTMLInputElement>('otp');
const submit = byId<HTMLButtonElement>('reset-submit');
const errorRegion = byId('reset-error');
const done = byId('reset-done');

const token = fragmentParams().get('token') ?? new URLSearchParams(location.search).get('token');
forgetFragment();
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);

function linkUnusable(): void {
  show(form, false);
  sayWithLink(errorRegion, 'This reset link has already been used or has expired.', {
    href: '/forgot-password',
    label: 'Request a new link',
  });
}

if (!token) {
  show(form, false);
  sayWithLink(errorRegion, 'This page needs the link from your reset email, and the link is incomplete.', {
    href: '/forgot-password',
    label: 'Request a new link',
  });
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  say(errorRegion, '');
  if (!token) return;
  if (!password.value) {
    say(errorRegion, 'Enter a new password.', { focus: true });
    return;
  }
  void whileBusy(submit, async () => {
    const otp = codeStep.hidden ? '' : code.value.replace(/\s+/g, '');
    const result = await callPublic<{ signedOutAllDevices: boolean }>('POST', '/v1/auth/password/reset', {
      token,
      newPassword: password.value,
      signOutAllDevices: signOutAll.checked,
      ...(otp ? { otp } : {}),
    });
    if (result.ok) {
      password.value = '';
      show(form, false);
      const devices = result.body.signedOutAllDevices
        ? 'All your devices have been signed out: sign in again with your new password wherever you use your account.'
        : 'Devices that were already signed in stay signed in.';
      done.replaceChildren(
        document.createTextNode(`Your password has been changed. ${devices} `),
        anchor('/login', 'Sign in'),
      );
      show(done);
      done.tabIndex = -1;
      done.focus();
      return;
    }
    switch (result.error) {
      case 'invalid_token':
        linkUnusable();
        return;
      case 'weak_password':
        sayList(
          errorRegion,
          'Please choose a different password:',
          (result.reasons ?? []).map(reasonSentence),
        );
        password.setAttribute('aria-invalid', 'true');
        return;
      case 'mfa_required':
        show(codeStep);
        say(errorRegion, otpRequiredSentence);
        code.focus();
        return;
      case 'invalid_otp':
        show(codeStep);
        say(errorRegion, otpRejectedSentence, { focus: true });
        return;
      default:
        say(errorRegion, genericError(result), { focus: true });
    }
  });
});
