import fc from 'fast-check';
import { loadPasswordBlocklist } from '../../shared/domain/password-blocklist.js';
import {
  codePointLength,
  localPasswordProblems,
  normalisePassword,
} from '../../shared/domain/password-policy.js';

const blocklist = loadPasswordBlocklist();

describe('password policy', () => {
  it('loads a blocklist of tens of thousands of common passwords', () => {
    expect(blocklist.size).toBeGreaterThan(40_000);
    expect(blocklist.has('password')).toBe(true);
  });

  it('rejects passwords shorter than 8 code points, counting astral characters once', () => {
    expect(localPasswordProblems('short7!', {}, blocklist)).toEqual(['too_short']);
    // Seven emoji are 14 UTF-16 units but 7 code points.
    expect(localPasswordProblems('😀😁😂🤣😃😄😅', {}, blocklist)).toEqual(['too_short']);
    expect(localPasswordProblems('😀😁😂🤣😃😄😅😆', {}, blocklist)).toEqual([]);
  });

  it('rejects passwords longer than 256 code points and never truncates', () => {
    expect(localPasswordProblems('a'.repeat(257).replace(/a/g, 'x'), {}, blocklist)).toContain('too_long');
    expect(localPasswordProblems(`${'x7Q'.repeat(85)}z`, {}, blocklist)).toEqual([]);
  });

  it('rejects common passwords case-insensitively', () => {
    expect(localPasswordProblems('Password1', {}, blocklist)).toEqual(['common']);
    expect(localPasswordProblems('QWERTYUIOP', {}, blocklist)).toEqual(['common']);
  });

  it('rejects passwords containing the email local part or the username', () => {
    expect(localPasswordProblems('my-Jonathan-pass', { email: 'jonathan@example.com' }, blocklist)).toEqual([
      'contains_identifier',
    ]);
    expect(localPasswordProblems('zz_neo_matrix_zz', { username: 'neo_matrix' }, blocklist)).toEqual([
      'contains_identifier',
    ]);
  });

  it('ignores identifiers too short to be meaningful', () => {
    expect(localPasswordProblems('abundant-violet-river', { email: 'ab@example.com' }, blocklist)).toEqual(
      [],
    );
  });

  it('NFKC-normalises so compatibility characters cannot dodge the blocklist', () => {
    // Fullwidth "ｐａｓｓｗｏｒｄ" normalises to "password".
    expect(localPasswordProblems(normalisePassword('ｐａｓｓｗｏｒｄ'), {}, blocklist)).toEqual(['common']);
  });

  it('counts code points for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (value) => {
        expect(codePointLength(value)).toBe(Array.from(value).length);
      }),
    );
  });
});
