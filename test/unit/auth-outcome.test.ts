import { TooManyRequestsError } from '../../shared/errors.js';
import { authOutcome } from '../../shared/http/auth-outcome.js';
import { errorToHttpResult } from '../../shared/http/error-response.js';

const origin = { ip: '203.0.113.9', userAgent: 'tv-app/1.0' };
const silent = { error: () => undefined, warn: () => undefined };

describe('auth outcome line', () => {
  it('logs a throttled login as a warning, with the source address and the user the limiter named', () => {
    const result = errorToHttpResult(new TooManyRequestsError(30), silent);

    const line = authOutcome({
      action: 'login',
      result,
      principal: undefined,
      origin,
      events: [{ type: 'login_failed', userId: 'u-1' }],
    });

    expect(line).toEqual({
      level: 'warn',
      fields: {
        action: 'login',
        outcome: 'throttled',
        status: 429,
        userId: 'u-1',
        sourceIp: '203.0.113.9',
        userAgent: 'tv-app/1.0',
        securityEvents: ['login_failed'],
      },
    });
  });

  it('takes ids from a successful response by name and never copies the tokens beside them', () => {
    const result = {
      status: 200,
      body: {
        accessToken: 'eyJhbGciOiJFUzI1NiJ9.secret-access',
        refreshToken: 'secret-refresh-token',
        sessionId: 's-1',
        user: { id: 'u-2', email: 'ada@example.com' },
      },
    };

    const line = authOutcome({ action: 'refresh', result, principal: undefined, origin, events: [] });

    expect(line.fields).toEqual({
      action: 'refresh',
      outcome: 'ok',
      status: 200,
      userId: 'u-2',
      sessionId: 's-1',
      sourceIp: '203.0.113.9',
      userAgent: 'tv-app/1.0',
    });
    expect(JSON.stringify(line)).not.toMatch(/secret|ada@example/);
  });

  it('names refresh-token reuse, and a second-factor check without listing it as a recorded event', () => {
    const reuse = authOutcome({
      action: 'refresh',
      result: { status: 401, body: { error: 'invalid_grant', message: 'x' } },
      principal: undefined,
      origin,
      events: [{ type: 'refresh_token_reused', userId: 'u-3', sessionId: 's-3' }],
    });
    const missingCode = authOutcome({
      action: 'login',
      result: { status: 401, body: { error: 'mfa_required', message: 'x' } },
      principal: undefined,
      origin,
      events: [{ type: 'second_factor_checked', userId: 'u-4' }],
    });

    expect(reuse).toMatchObject({
      level: 'warn',
      fields: { outcome: 'reuse_detected', userId: 'u-3', sessionId: 's-3' },
    });
    expect(missingCode).toMatchObject({ level: 'info', fields: { outcome: 'mfa_required', userId: 'u-4' } });
    expect(missingCode.fields).not.toHaveProperty('securityEvents');
  });
});
