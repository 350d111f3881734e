/**
 * The signed-in session of the hosted pages. It lives in sessionStorage (this tab only, gone when the tab
 * closes) under one key, never in a cookie: other origins cannot read it and no request carries it unasked.
 */
export interface StoredSession {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly sessionId: string;
}

export const SESSION_KEY = 'account-shield.session';

export function readSession(): StoredSession | undefined {
  try {
    const raw = sessionStorage.getItem(SESSION_KEY);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof parsed.accessToken !== 'string' || typeof parsed.refreshToken !== 'string') return undefined;
    return {
      accessToken: parsed.accessToken,
      refreshToken: parsed.refreshToken,
      sessionId: String(parsed.sessionId ?? ''),
    };
  } catch {
    return undefined;
  }
}

export function saveSession(tokens: StoredSession): void {
  const { accessToken, refreshToken, sessionId } = tokens;
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({ accessToken, refreshToken, sessionId }));
}

export function clearSession(): void {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Only a path of this origin: an open redirect through returnTo would make our login page a phishing aid. */
export function safeReturnPath(value: string | null, fallback = '/security'): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.includes('\\')) return fallback;
  try {
    const url = new URL(value, location.origin);
    if (url.origin !== location.origin) return fallback;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return fallback;
  }
}

/** Sends the visitor to sign in, coming back to this page (query included) afterwards. */
export function redirectToLogin(): never {
  const returnTo = `${location.pathname}${location.search}`;
  location.replace(`/login?returnTo=${encodeURIComponent(returnTo)}`);
  throw new Error('Redirecting to sign in');
}

/** What the sessions list shows for this browser. */
export function deviceName(): string {
  const agent = navigator.userAgent;
  const browser = /Edg\//.test(agent)
    ? 'Edge'
    : /Firefox\//.test(agent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(agent)
        ? 'Chrome'
        : /Safari\//.test(agent)
          ? 'Safari'
          : 'Web browser';
  const system = /Android/.test(agent)
    ? 'Android'
    : /iPhone|iPad/.test(agent)
      ? 'iOS'
      : /Windows/.test(agent)
        ? 'Windows'
        : /Mac OS X/.test(agent)
          ? 'macOS'
          : /Linux/.test(agent)
            ? 'Linux'
            : '';
  return system ? `${browser} on ${system}` : browser;
}
