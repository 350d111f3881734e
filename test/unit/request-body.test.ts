import { ApiError } from '../../shared/errors.js';
import { MAX_BODY_BYTES, parseJsonBody } from '../../shared/http/request-body.js';
import { createAccountBody, loginBody } from '../../shared/http/schemas.js';

function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

const jsonType = 'application/json';

describe('request body parsing', () => {
  it('accepts a valid body with a charset parameter', () => {
    const body = parseJsonBody(
      { body: '{"login":"a@b.co","password":"x"}', contentType: 'application/json; charset=utf-8' },
      loginBody,
    );
    expect(body).toEqual({ login: 'a@b.co', password: 'x' });
  });

  it('answers malformed JSON with 400 invalid_request', () => {
    const error = errorOf(() => parseJsonBody({ body: '{"login":', contentType: jsonType }, loginBody));
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
  });

  it('answers a non-JSON media type with 415', () => {
    const error = errorOf(() =>
      parseJsonBody({ body: 'login=a', contentType: 'application/x-www-form-urlencoded' }, loginBody),
    );
    expect(error.status).toBe(415);
  });

  it('answers bodies over 16 KiB with 413 before parsing them', () => {
    const big = JSON.stringify({ login: 'a'.repeat(MAX_BODY_BYTES), password: 'x' });
    expect(errorOf(() => parseJsonBody({ body: big, contentType: jsonType }, loginBody)).status).toBe(413);
  });

  it('names every unknown, missing and mistyped field in details', () => {
    const error = errorOf(() =>
      parseJsonBody(
        { body: '{"email":"nope","password":5,"admin":true}', contentType: jsonType },
        createAccountBody,
      ),
    );
    expect(error.status).toBe(400);
    const paths = (error.extra['details'] as { path: string }[]).map((d) => d.path).sort();
    expect(paths).toEqual(['admin', 'email', 'password', 'username']);
  });

  it('decodes base64-encoded bodies', () => {
    const body = Buffer.from('{"refreshToken":"abc"}').toString('base64');
    expect(
      parseJsonBody(
        { body, isBase64Encoded: true, contentType: jsonType },
        loginBody.pick({}).extend({ refreshToken: loginBody.shape.login }),
      ),
    ).toEqual({
      refreshToken: 'abc',
    });
  });
});
