/**
 * /security: the signed-in account's email, its devices (each with "Sign out"), "Sign out of all devices",
 * password change, two-factor set-up (secret as text and QR code, recovery codes shown once) and turn-off,
 * and the SSO providers linked to it.
 */
import { type ApiResult, callPublic, callSigned, type PublicUser, type TokenResponse } from './lib/api.js';
import {
  anchor,
  byId,
  forgetFragment,
  formatDate,
  fragmentParams,
  say,
  sayList,
  show,
  whileBusy,
} from './lib/dom.js';
import { genericError, otpRejectedSentence, reasonSentence } from './lib/messages.js';
import { qrSvg } from './lib/qr.js';
import { clearSession, readSession, redirectToLogin, saveSession } from './lib/session.js';

if (!readSession()) redirectToLogin();

const pageError = byId('page-error');
const pageStatus = byId('page-status');

interface SessionInfo {
  readonly id: string;
  readonly deviceName: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string;
  readonly current: boolean;
}

interface Provider {
  readonly id: string;
  readonly displayName: string;
}

let user: PublicUser | undefined;

/** The session ended (revoked here or elsewhere): nothing on this page works any more. */
function signedOut(message: string): void {
  clearSession();
  show(byId('account'), false);
  pageStatus.replaceChildren(document.createTextNode(`${message} `), anchor('/login', 'Sign in again'));
  show(pageStatus);
  pageStatus.tabIndex = -1;
  pageStatus.focus();
}

function handleSignedOut<T>(result: ApiResult<T> & { signedOut?: boolean }): boolean {
  if (!result.ok && result.signedOut) {
    signedOut('You have been signed out.');
    return true;
  }
  return false;
}

// ---- Devices ------------------------------------------------------------------------------------------------

async function loadDevices(): Promise<void> {
  const result = await callSigned<{ sessions: SessionInfo[] }>('GET', '/v1/auth/sessions');
  if (handleSignedOut(result)) return;
  if (!result.ok) {
    say(pageError, genericError(result));
    return;
  }
  const list = byId('devices');
  const items = result.body.sessions.map((session) => {
    const item = document.createElement('li');
    const description = document.createElement('span');
    description.id = `device-${session.id}`;
    const name = document.createElement('strong');
    name.textContent = session.deviceName || 'Unnamed device';
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = `${session.current ? 'This device · ' : ''}last used ${formatDate(session.lastUsedAt)}`;
    description.append(name, meta);
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = 'Sign out';
    button.setAttribute('aria-describedby', description.id);
    button.addEventListener('click', () => void signOutDevice(session, button));
    item.append(description, button);
    return item;
  });
  list.replaceChildren(...items);
}

async function signOutDevice(session: SessionInfo, button: HTMLButtonElement): Promise<void> {
  await whileBusy(button, async () => {
    const result = await callSigned('DELETE', `/v1/auth/sessions/${encodeURIComponent(session.id)}`);
    if (handleSignedOut(result)) return;
    if (!result.ok && result.error !== 'not_found') {
      say(pageError, genericError(result), { focus: true });
      return;
    }
    if (session.current) {
      signedOut('This device is signed out.');
      return;
    }
    say(pageStatus, `${session.deviceName || 'The device'} is signed out.`, { focus: true });
    await loadDevices();
  });
}

const revokeAll = byId<HTMLButtonElement>('revoke-all');
revokeAll.addEventListener('click', () => {
  void whileBusy(revokeAll, async () => {
    const result = await callSigned('POST', '/v1/auth/revoke-all');
    if (!result.ok && !result.signedOut) {
      say(pageError, genericError(result), { focus: true });
      return;
    }
    signedOut('You are signed out of all devices, this one included.');
  });
});

// ---- Password -----------------------------------------------------------------------------------------------

const passwordForm = byId<HTMLFormElement>('password-form');
const passwordError = byId('password-error');
const passwordStatus = byId('password-status');
passwordForm.addEventListener('submit', (event) => {
  event.preventDefault();
  say(passwordError, '');
  say(passwordStatus, '');
  const current = byId<HTMLInputElement>('current-password');
  const next = byId<HTMLInputElement>('changed-password');
  const signOutOthers = byId<HTMLInputElement>('sign-out-others');
  if (!current.value || !next.value) {
    say(passwordError, 'Enter your current password and a new one.', { focus: true });
    return;
  }
  void whileBusy(byId<HTMLButtonElement>('password-submit'), async () => {
    const result = await callSigned<TokenResponse>('POST', '/v1/auth/password/change', {
      currentPassword: current.value,
      newPassword: next.value,
      signOutOtherDevices: signOutOthers.checked,
    });
    if (handleSignedOut(result)) return;
    if (!result.ok) {
      if (result.error === 'weak_password') {
        sayList(
          passwordError,
          'Please choose a different password:',
          (result.reasons ?? []).map(reasonSentence),
        );
      } else if (result.error === 'invalid_credentials') {
        say(passwordError, 'Your current password is not right.', { focus: true });
      } else {
        say(passwordError, genericError(result), { focus: true });
      }
      return;
    }
    saveSession(result.body);
    current.value = '';
    next.value = '';
    say(
      passwordStatus,
      signOutOthers.checked
        ? 'Your password is changed, and your other devices are signed out.'
        : 'Your password is changed.',
      { focus: true },
    );
    await loadDevices();
  });
});

// ---- Two-factor ---------------------------------------------------------------------------------------------

const mfaError = byId('mfa-error');
const mfaStatus = byId('mfa-status');

function showMfaState(enabled: boolean): void {
  show(byId('mfa-off'), !enabled);
  show(byId('mfa-on'), enabled);
  show(byId('mfa-enrol'), false);
}

function mfaFailure(result: { error: string } & Parameters<typeof genericError>[0]): void {
  const text =
    result.error === 'invalid_credentials'
      ? 'Your current password is not right.'
      : result.error === 'invalid_otp'
        ? otpRejectedSentence
        : result.error === 'forbidden'
          ? result.message || 'This is not possible for your account.'
          : genericError(result);
  say(mfaError, text, { focus: true });
}

byId<HTMLFormElement>('mfa-setup-form').addEventListener('submit', (event) => {
  event.preventDefault();
  say(mfaError, '');
  const password = byId<HTMLInputElement>('mfa-setup-password');
  if (!password.value) {
    say(mfaError, 'Enter your current password first.', { focus: true });
    return;
  }
  void whileBusy(byId<HTMLButtonElement>('mfa-setup-submit'), async () => {
    const result = await callSigned<{ secret: string; otpauthUri: string }>(
      'POST',
      '/v1/auth/mfa/totp/setup',
      {
        password: password.value,
      },
    );
    if (handleSignedOut(result)) return;
    if (!result.ok) {
      mfaFailure(result);
      return;
    }
    password.value = '';
    byId('mfa-secret').textContent = result.body.secret;
    byId('mfa-qr').replaceChildren(qrSvg(result.body.otpauthUri, 'QR code of your two-factor key'));
    show(byId('mfa-off'), false);
    show(byId('mfa-enrol'));
    byId<HTMLInputElement>('mfa-code').focus();
  });
});

byId<HTMLFormElement>('mfa-confirm-form').addEventListener('submit', (event) => {
  event.preventDefault();
  say(mfaError, '');
  const code = byId<HTMLInputElement>('mfa-code');
  const otp = code.value.replace(/\s+/g, '');
  if (!otp) {
    say(mfaError, 'Enter the code your app shows.', { focus: true });
    return;
  }
  void whileBusy(byId<HTMLButtonElement>('mfa-confirm-submit'), async () => {
    const result = await callSigned<{ recoveryCodes: string[] }>('POST', '/v1/auth/mfa/totp/confirm', {
      otp,
    });
    if (handleSignedOut(result)) return;
    if (!result.ok) {
      mfaFailure(result);
      return;
    }
    code.value = '';
    // The secret is not needed on screen any more.
    byId('mfa-secret').textContent = '';
    byId('mfa-qr').replaceChildren();
    const codes = result.body.recoveryCodes.map((recoveryCode) => {
      const item = document.createElement('li');
      item.textContent = recoveryCode;
      return item;
    });
    byId('mfa-recovery-codes').replaceChildren(...codes);
    showMfaState(true);
    show(byId('mfa-recovery'));
    say(mfaStatus, 'Two-factor authentication is on.', { focus: true });
  });
});

byId<HTMLFormElement>('mfa-disable-form').addEventListener('submit', (event) => {
  event.preventDefault();
  say(mfaError, '');
  const password = byId<HTMLInputElement>('mfa-disable-password');
  const code = byId<HTMLInputElement>('mfa-disable-code');
  if (!password.value || !code.value.trim()) {
    say(mfaError, 'Enter your current password and a code from your app.', { focus: true });
    return;
  }
  void whileBusy(byId<HTMLButtonElement>('mfa-disable-submit'), async () => {
    const result = await callSigned('DELETE', '/v1/auth/mfa/totp', {
      password: password.value,
      otp: code.value.replace(/\s+/g, ''),
    });
    if (handleSignedOut(result)) return;
    if (!result.ok) {
      mfaFailure(result);
      return;
    }
    password.value = '';
    code.value = '';
    show(byId('mfa-recovery'), false);
    showMfaState(false);
    say(mfaStatus, 'Two-factor authentication is off.', { focus: true });
  });
});

// ---- Linked SSO providers -------------------------------------------------------------------------------------

async function loadSsoLinks(): Promise<void> {
  const [links, providers] = await Promise.all([
    callSigned<{ links: { providerId: string; displayName: string; linkedAt: string }[] }>(
      'GET',
      '/v1/me/sso-links',
    ),
    callPublic<{ providers: Provider[] }>('GET', '/v1/auth/sso/providers'),
  ]);
  // An API without SSO answers 404: the section stays hidden.
  if (!links.ok || !Array.isArray(links.body?.links)) return;
  const linked = new Set(links.body.links.map((link) => link.providerId));
  byId('sso-links').replaceChildren(
    ...links.body.links.map((link) => {
      const item = document.createElement('li');
      item.textContent = `${link.displayName}, linked ${formatDate(link.linkedAt)}`;
      return item;
    }),
  );
  const available = providers.ok && Array.isArray(providers.body?.providers) ? providers.body.providers : [];
  const buttons = available
    .filter((provider) => !linked.has(provider.id))
    .map((provider) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = `Link ${provider.displayName}`;
      button.addEventListener('click', () => {
        void whileBusy(button, async () => {
          const result = await callSigned<{ authorizationUrl: string }>(
            'POST',
            `/v1/auth/sso/${encodeURIComponent(provider.id)}/link`,
          );
          if (handleSignedOut(result)) return;
          if (!result.ok) {
            say(pageError, genericError(result), { focus: true });
            return;
          }
          location.assign(result.body.authorizationUrl);
        });
      });
      return button;
    });
  byId('sso-link-buttons').replaceChildren(...buttons);
  if (links.body.links.length === 0 && buttons.length === 0) return;
  if (links.body.links.length === 0) byId('sso-links').hidden = true;
  show(byId('sso-section'));
}

// ---- Start ----------------------------------------------------------------------------------------------------

async function start(): Promise<void> {
  const linkedProvider = fragmentParams().get('sso_linked');
  if (linkedProvider) forgetFragment();
  const me = await callSigned<{ user: PublicUser }>('GET', '/v1/me');
  if (!me.ok) {
    if (me.signedOut) redirectToLogin();
    say(pageError, genericError(me), { focus: true });
    return;
  }
  user = me.body.user;
  byId('account-email').textContent = user.email;
  show(byId('account'));
  const passwordAccount = user.authMethod === 'password';
  show(byId('password-section'), passwordAccount);
  show(byId('mfa-section'));
  if (passwordAccount) showMfaState(user.mfaEnabled);
  else show(byId('mfa-sso'));
  if (linkedProvider) say(pageStatus, 'The sign-in provider is now linked to your account.');
  await Promise.all([loadDevices(), loadSsoLinks()]);
}

void start();
