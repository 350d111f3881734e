/**
 * /device: approves a TV or console's sign-in (OAuth device grant). `?user_code=` pre-fills the code
 * (verification_uri_complete); the visitor still confirms the client's name before anything is allowed.
 */
import { callSigned } from './lib/api.js';
import { byId, say, show, whileBusy } from './lib/dom.js';
import { genericError } from './lib/messages.js';
import { readSession, redirectToLogin } from './lib/session.js';

if (!readSession()) redirectToLogin();

const form = byId<HTMLFormElement>('device-form');
const codeInput = byId<HTMLInputElement>('user-code');
const continueButton = byId<HTMLButtonElement>('device-continue');
const confirm = byId('device-confirm');
const clientName = byId('device-client');
const allow = byId<HTMLButtonElement>('device-allow');
const deny = byId<HTMLButtonElement>('device-deny');
const errorRegion = byId('device-error');
const statusRegion = byId('device-status');

const prefilled = new URLSearchParams(location.search).get('user_code');
if (prefilled) codeInput.value = prefilled.toUpperCase().slice(0, 16);

let pendingCode = '';

/** Codes are typed from a TV screen: accept lower case, spaces and a missing dash. */
function normaliseCode(raw: string): string {
  const compact = raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return compact.length === 8 ? `${compact.slice(0, 4)}-${compact.slice(4)}` : compact;
}

interface DeviceRequest {
  readonly request: { readonly userCode: string; readonly clientName: string; readonly expiresAt: string };
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  say(errorRegion, '');
  say(statusRegion, '');
  const userCode = normaliseCode(codeInput.value);
  if (!userCode) {
    say(errorRegion, 'Enter the code your device shows.', { focus: true });
    return;
  }
  void whileBusy(continueButton, async () => {
    const result = await callSigned<DeviceRequest>('POST', '/v1/auth/device/lookup', { userCode });
    if (!result.ok) {
      if (result.signedOut) redirectToLogin();
      say(
        errorRegion,
        result.error === 'not_found' || result.error === 'invalid_request'
          ? 'That code is not right or has expired. Check the code on your device, or start again there.'
          : genericError(result),
        { focus: true },
      );
      return;
    }
    pendingCode = result.body.request.userCode;
    clientName.textContent = result.body.request.clientName;
    show(form, false);
    show(confirm);
    allow.focus();
  });
});

function decide(decision: 'approve' | 'deny', button: HTMLButtonElement): void {
  void whileBusy(button, async () => {
    const result = await callSigned('POST', `/v1/auth/device/${decision}`, { userCode: pendingCode });
    if (!result.ok) {
      if (result.signedOut) redirectToLogin();
      say(
        errorRegion,
        result.error === 'not_found'
          ? 'This request has expired. Start again on your device.'
          : genericError(result),
        { focus: true },
      );
      return;
    }
    show(confirm, false);
    say(
      statusRegion,
      decision === 'approve'
        ? 'Done: your device is signing in. You can close this page.'
        : 'Denied: the device was not signed in.',
      { focus: true },
    );
  });
}

allow.addEventListener('click', () => decide('approve', allow));
deny.addEventListener('click', () => decide('deny', deny));
