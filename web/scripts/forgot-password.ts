/** /forgot-password: asks for a reset link; the answer is the same for every address (no account probing). */
import { callPublic } from './lib/api.js';
import { byId, say, show, whileBusy } from './lib/dom.js';
import { genericError } from './lib/messages.js';

const form = byId<HTMLFormElement>('forgot-form');
const email = byId<HTMLInputElement>('email');
const submit = byId<HTMLButtonElement>('forgot-submit');
const errorRegion = byId('forgot-error');
const done = byId('forgot-done');

form.addEventListener('submit', (event) => {
  event.preventDefault();
  say(errorRegion, '');
  const address = email.value.trim();
  if (!address || !email.checkValidity()) {
    say(errorRegion, 'Enter the email address of your account, such as name@example.com.', { focus: true });
    email.setAttribute('aria-invalid', 'true');
    return;
  }
  email.removeAttribute('aria-invalid');
  void whileBusy(submit, async () => {
    const result = await callPublic('POST', '/v1/auth/password/forgot', { email: address });
    if (!result.ok) {
      say(errorRegion, genericError(result), { focus: true });
      return;
    }
    show(form, false);
    say(
      done,
      `If ${address} belongs to an account, we have sent it an email with a link to choose a new password. The link works for 30 minutes. If nothing arrives, check your spam folder.`,
      { focus: true },
    );
  });
});
