import {
  checkEmailArguments,
  detectUserImportFormat,
  parseCsv,
  parseEmailList,
  parseUserIdList,
  parseUserImport,
} from '../../scripts/ops/input-files.js';

describe('CSV reader (RFC 4180)', () => {
  it('keeps commas, doubled quotes and line breaks inside quoted fields', () => {
    // Prepare
    const text = 'a,"b, c","say ""hi"""\r\n"multi\nline",x,""\n';

    // Act
    const { records, errors } = parseCsv(text);

    // Assess
    expect(errors).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b, c', 'say "hi"'] },
      { line: 2, fields: ['multi\nline', 'x', ''] },
    ]);
  });

  it('numbers records by the physical line they start on, past multi-line fields, comments and blanks', () => {
    const text = '\uFEFF# exported 2030-01-01\nfirst\n\n"two\nlines"\nlast';

    const { records } = parseCsv(text);

    expect(records.map((record) => [record.line, record.fields[0]])).toEqual([
      [2, 'first'],
      [4, 'two\nlines'],
      [6, 'last'],
    ]);
  });

  it('treats CR-only line breaks and a trailing empty field correctly', () => {
    expect(parseCsv('a,\rb,c').records).toEqual([
      { line: 1, fields: ['a', ''] },
      { line: 2, fields: ['b', 'c'] },
    ]);
  });

  it('rejects a bare quote inside an unquoted field and carries on with the next line', () => {
    const { records, errors } = parseCsv('ok,1\nbad"value,2\nalso ok,3\n');

    expect(errors).toEqual([{ line: 2, message: expect.stringContaining('quote inside an unquoted field') }]);
    expect(records.map((record) => record.line)).toEqual([1, 3]);
  });

  it('rejects text after a closing quote', () => {
    const { errors } = parseCsv('"abc"def,1\n');

    expect(errors).toEqual([{ line: 1, message: expect.stringContaining('after a closing quote') }]);
  });

  it('reports an unterminated quoted field at the line where the record starts', () => {
    const { records, errors } = parseCsv('x\ny,"never closed\nmore\n');

    expect(records).toEqual([{ line: 1, fields: ['x'] }]);
    expect(errors).toEqual([{ line: 2, message: 'unterminated quoted field (opened on line 2)' }]);
  });
});

describe('email lists for incident scopes', () => {
  it('reads one email per line, normalised and deduplicated, ignoring comments and blank lines', () => {
    const text = '# affected by the 2030 dump\nAlice@Example.com\n\n  bob@example.com  \nalice@example.com\n';

    const list = parseEmailList(text);

    expect(list).toEqual({ values: ['alice@example.com', 'bob@example.com'], errors: [], duplicates: 1 });
  });

  it('reads the email column of a CSV file with a header, whatever its position', () => {
    const text = 'name,Email,plan\n"Doe, Jane",jane@example.com,pro\nJoe,joe@example.com,free\n';

    expect(parseEmailList(text).values).toEqual(['jane@example.com', 'joe@example.com']);
  });

  it('reads the email field of JSON lines', () => {
    const text = '{"email":"a@example.com","seen":3}\n# note\n{"email":"b@example.com"}\n';

    expect(parseEmailList(text).values).toEqual(['a@example.com', 'b@example.com']);
  });

  it('reports bad lines with their line numbers and keeps the good ones', () => {
    const text = [
      'a@example.com', // 1
      'not-an-email', // 2
      '# comment', // 3
      'b@example.com,extra', // 4
      'c@example.com', // 5
    ].join('\n');

    const list = parseEmailList(text);

    expect(list.values).toEqual(['a@example.com', 'c@example.com']);
    expect(list.errors).toEqual([
      { line: 2, message: '"not-an-email" is not an email address' },
      { line: 4, message: expect.stringContaining('expected one email per line') },
    ]);
  });

  it('reports JSON lines that do not parse or lack the field', () => {
    const text = '{"email":"a@example.com"}\n{"email":\n{"mail":"b@example.com"}\n[1]\n';

    expect(parseEmailList(text).errors).toEqual([
      { line: 2, message: 'not valid JSON' },
      { line: 3, message: 'missing email' },
      { line: 4, message: 'expected a JSON object' },
    ]);
  });

  it('reports CSV rows whose field count differs from the header', () => {
    const text = 'email,name\na@example.com,A\nb@example.com\n';

    expect(parseEmailList(text).errors).toEqual([
      { line: 3, message: 'expected 2 fields like the header, found 1' },
    ]);
  });

  it('checks emails given as arguments by position', () => {
    expect(checkEmailArguments(['ok@example.com', 'nope']).errors).toEqual([
      { line: 2, message: '"nope" is not an email address' },
    ]);
  });
});

describe('user id lists for incident scopes', () => {
  it('reads plain ids, a userId CSV column and JSON lines alike', () => {
    const id = '5b3c1f0e-8d2a-4c8e-9d7e-1a2b3c4d5e6f';

    expect(parseUserIdList(`${id}\n`).values).toEqual([id]);
    expect(parseUserIdList(`userId,email\n${id},a@example.com\n`).values).toEqual([id]);
    expect(parseUserIdList(`{"userId":"${id}"}\n`).values).toEqual([id]);
  });

  it('rejects ids with spaces or punctuation', () => {
    expect(parseUserIdList('ok-1\nhas space\n').errors).toEqual([
      { line: 2, message: '"has space" is not a user id' },
    ]);
  });
});

describe('users import files', () => {
  it('maps CSV columns by header name, keeps passwords byte for byte and drops empty optional cells', () => {
    const text = [
      'Email,authMethod,username,password',
      'a@example.com,password,alice," padded, with ""quotes"" "',
      'b@example.com,SSO,,',
    ].join('\r\n');

    const { rows, errors } = parseUserImport(text, 'csv');

    expect(errors).toEqual([]);
    expect(rows).toEqual([
      {
        line: 2,
        user: {
          email: 'a@example.com',
          authMethod: 'password',
          username: 'alice',
          password: ' padded, with "quotes" ',
        },
      },
      { line: 3, user: { email: 'b@example.com', authMethod: 'sso' } },
    ]);
  });

  it('reads JSON lines and reports structural problems by line without echoing the row', () => {
    const secret = 'Hunter2-correct-horse';
    const text = [
      JSON.stringify({ email: 'a@example.com', authMethod: 'password', password: secret }),
      `{"email":"b@example.com","authMethod":"password","password":"${secret}"`,
      JSON.stringify({ email: 'c@example.com', authMethod: 'magic', password: secret }),
      JSON.stringify({ email: 'd@example.com', authMethod: 'sso', pasword: secret }),
      JSON.stringify({ email: 'A@example.com', authMethod: 'sso' }),
      JSON.stringify({ authMethod: 'sso', username: null }),
    ].join('\n');

    const { rows, errors } = parseUserImport(text, 'jsonl');

    expect(rows.map((row) => row.line)).toEqual([1]);
    expect(errors).toEqual([
      { line: 2, message: 'not valid JSON' },
      { line: 3, message: 'authMethod must be "password" or "sso"' },
      { line: 4, message: 'unknown field(s): "pasword"' },
      { line: 5, message: 'duplicate email (same as line 1)' },
      { line: 6, message: 'missing email' },
    ]);
    expect(JSON.stringify(errors)).not.toContain(secret);
  });

  it('refuses the whole CSV file when the header has an unknown column', () => {
    const text = 'email,authMethod,passwd\na@example.com,password,secret\n';

    const { rows, errors, rejected } = parseUserImport(text, 'csv');

    expect(rows).toEqual([]);
    expect(errors).toEqual([{ line: 1, message: expect.stringContaining('unknown column "passwd"') }]);
    expect(rejected).toEqual(errors[0]);
  });

  it('does not echo a first row that is data instead of a header', () => {
    const secret = 'S3cret-value-123';
    const { rows, errors } = parseUserImport(`a@example.com,password,${secret}\n`, 'csv');

    expect(rows).toEqual([]);
    expect(errors).toEqual([{ line: 1, message: expect.stringContaining('not a header row') }]);
    expect(JSON.stringify(errors)).not.toContain(secret);
  });

  it('reports CSV quoting errors and field-count mismatches with line numbers', () => {
    const text = [
      'email,authMethod',
      'a@example.com,sso',
      'b@exa"mple.com,sso',
      'c@example.com',
      'd@example.com,sso',
    ].join('\n');

    const { rows, errors } = parseUserImport(text, 'csv');

    expect(rows.map((row) => row.line)).toEqual([2, 5]);
    expect(errors.map((error) => error.line)).toEqual([3, 4]);
  });

  it('detects the format from the extension, then from the content', () => {
    expect(detectUserImportFormat('users.CSV', '{"email":"x"}')).toBe('csv');
    expect(detectUserImportFormat('users.ndjson', 'email,authMethod')).toBe('jsonl');
    expect(detectUserImportFormat('users.txt', '# note\n{"email":"x"}')).toBe('jsonl');
    expect(detectUserImportFormat('users.txt', 'email,authMethod')).toBe('csv');
  });
});
