import {
  formatUserCode,
  generateUserCode,
  grantedScopes,
  isAcceptableRedirectUri,
  normaliseUserCode,
  pkceChallengeOf,
  USER_CODE_ALPHABET,
} from '../../shared/domain/oauth.js';
import { OAuthError } from '../../shared/errors.js';
import { tokenForm } from '../../shared/http/oauth-schemas.js';
import { parseFormBody } from '../../shared/http/request-body.js';

describe('user codes (RFC 8628 6.1)', () => {
  it('draws 8 characters from 20 consonants without lookalikes, shown as XXXX-XXXX', () => {
    expect(USER_CODE_ALPHABET).not.toMatch(/[AEIOU01]/);
    for (let index = 0; index < 200; index += 1) {
      const code = generateUserCode();
      expect(code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      expect(formatUserCode(code)).toBe(`${code.slice(0, 4)}-${code.slice(4)}`);
    }
  });

  it('accepts what a person types: any case, dashes and spaces; refuses other characters and lengths', () => {
    expect(normaliseUserCode('bcdf-ghjk')).toBe('BCDFGHJK');
    expect(normaliseUserCode(' BCDF GHJK ')).toBe('BCDFGHJK');
    expect(normaliseUserCode('BCDF-GHJ')).toBeUndefined();
    expect(normaliseUserCode('BCDF-GHJA')).toBeUndefined();
    expect(normaliseUserCode('BCDF-GHJK-L')).toBeUndefined();
  });
});

describe('PKCE (RFC 7636)', () => {
  it('computes S256 as in the RFC appendix B example', () => {
    expect(pkceChallengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });
});

describe('scopes', () => {
  const client = { scopes: ['media.read', 'media.write'] };
  it('grants all registered scopes when none are asked for, and exactly the asked ones otherwise', () => {
    expect(grantedScopes(client, undefined)).toBe('media.read media.write');
    expect(grantedScopes(client, 'media.read media.read')).toBe('media.read');
  });
  it('refuses a scope the client was not registered for', () => {
    expect(grantedScopes(client, 'media.read admin')).toBeUndefined();
  });
});

describe('redirect URIs', () => {
  it.each([
    ['https://app.example.com/callback', true],
    ['http://127.0.0.1:8080/cb', true],
    ['http://localhost/cb', true],
    ['com.example.tvapp:/oauth2redirect', true],
    ['http://app.example.com/callback', false],
    ['https://app.example.com/cb#fragment', false],
    ['javascript:alert(1)', false],
    ['not a url', false],
  ])('%s -> %s', (uri, ok) => {
    expect(isAcceptableRedirectUri(uri)).toBe(ok);
  });
});

describe('form bodies of the OAuth endpoints', () => {
  const parse = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    parseFormBody({ body, contentType }, tokenForm);

  it('reads form fields and ignores unknown parameters', () => {
    expect(parse('grant_type=client_credentials&extra=1&scope=a+b')).toEqual({
      grant_type: 'client_credentials',
      scope: 'a b',
    });
  });

  it.each([
    ['a repeated parameter', 'grant_type=a&grant_type=b', undefined],
    ['a missing grant_type', 'scope=a', undefined],
    ['a JSON body', '{"grant_type":"client_credentials"}', 'application/json'],
  ])('answers invalid_request to %s', (_name, body, contentType) => {
    let caught: unknown;
    try {
      parse(body, contentType);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OAuthError);
    expect(caught).toMatchObject({ code: 'invalid_request', status: 400 });
  });
});
