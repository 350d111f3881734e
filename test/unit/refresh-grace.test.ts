import { ConfigError, loadConfig } from '../../shared/config.js';
import { openForGrace, sealForGrace } from '../../shared/crypto/refresh-grace.js';
import { sha256Hex } from '../../shared/crypto/secrets.js';
import { unitTestEnv } from '../support/unit-config.js';

describe('the sealed current refresh token of the grace window', () => {
  const previousSecret = 'p'.repeat(43);
  const next = `rt1.user-1.session-1.${'n'.repeat(43)}`;

  it('opens only with the previous token and for the same session', () => {
    const sealed = sealForGrace(next, previousSecret, 'user-1.session-1');
    expect(openForGrace(sealed, previousSecret, 'user-1.session-1')).toBe(next);
    expect(openForGrace(sealed, 'q'.repeat(43), 'user-1.session-1')).toBeUndefined();
    expect(openForGrace(sealed, previousSecret, 'user-2.session-1')).toBeUndefined();
    expect(openForGrace('rg1.garbage', previousSecret, 'user-1.session-1')).toBeUndefined();
  });

  it('stores neither token nor anything the stored hash opens', () => {
    const sealed = sealForGrace(next, previousSecret, 'user-1.session-1');
    expect(sealed).not.toContain('nnnn');
    // The session stores sha256Hex(previousSecret); it must not be the key.
    expect(openForGrace(sealed, sha256Hex(previousSecret), 'user-1.session-1')).toBeUndefined();
    expect(sealForGrace(next, previousSecret, 'user-1.session-1')).not.toBe(sealed);
  });
});

describe('REFRESH_GRACE_SECONDS', () => {
  it('defaults to 10 s, accepts 0 (off), refuses negative or over a minute', () => {
    expect(loadConfig(unitTestEnv).refreshGraceMs).toBe(10_000);
    expect(loadConfig({ ...unitTestEnv, REFRESH_GRACE_SECONDS: '0' }).refreshGraceMs).toBe(0);
    expect(() => loadConfig({ ...unitTestEnv, REFRESH_GRACE_SECONDS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...unitTestEnv, REFRESH_GRACE_SECONDS: '61' })).toThrow(
      /REFRESH_GRACE_SECONDS/,
    );
  });
});
