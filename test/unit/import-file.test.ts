import {
  batchEntries,
  type FileEntry,
  ImportFileError,
  MAX_WRAPPED_ROWS_PER_BATCH,
  readImportEntries,
  splitLines,
} from '../../shared/domain/import-file.js';

async function* chunksOf(text: string, size = 5): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('user import files', () => {
  it('splits lines across chunk boundaries with line numbers and byte offsets (CRLF, UTF-8)', async () => {
    const lines = await collect(splitLines(chunksOf('ä1\r\nb2\n\nc3')));
    expect(lines).toEqual([
      { text: 'ä1', line: 1, end: 5 },
      { text: 'b2', line: 2, end: 8 },
      { text: '', line: 3, end: 9 },
      { text: 'c3', line: 4, end: 11 },
    ]);
  });

  it('reads CSV with quoted commas, doubled quotes and line breaks, and digest columns', async () => {
    const csv = [
      'email,authMethod,username,passwordHash,hashAlgorithm,salt,saltPosition',
      '# a comment',
      'a@example.test,password,,"abc",sha1,"s,1",suffix',
      '"b@example.test",sso,"bee",,,,',
      'c@example.test,password,,"$2b$10$x""y',
      'z",,,',
      'd@example.test,sso',
    ].join('\n');
    const entries = (await collect(readImportEntries(splitLines(chunksOf(csv)), 'csv'))).filter(
      (entry): entry is FileEntry => !('header' in entry),
    );
    expect(entries.map((entry) => ('row' in entry ? entry.row : entry.error))).toEqual([
      {
        email: 'a@example.test',
        authMethod: 'password',
        passwordHash: { algorithm: 'sha1', hash: 'abc', salt: 's,1', saltPosition: 'suffix' },
      },
      { email: 'b@example.test', authMethod: 'sso', username: 'bee' },
      { email: 'c@example.test', authMethod: 'password', passwordHash: '$2b$10$x"y\nz' },
      'Expected 7 fields, found 2.',
    ]);
    expect(entries.map((entry) => entry.line)).toEqual([3, 4, 5, 7]);
  });

  it('refuses a CSV whose header names unknown columns, without importing anything', async () => {
    await expect(
      collect(readImportEntries(splitLines(chunksOf('mail,authMethod\nx@example.test,sso')), 'csv')),
    ).rejects.toBeInstanceOf(ImportFileError);
  });

  it('cuts the same batches on every run: at most 500 rows and 100 fast-digest rows, each resumable from its end', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) =>
      JSON.stringify(
        i < 300
          ? {
              email: `d${i}@example.test`,
              authMethod: 'password',
              passwordHash: { algorithm: 'md5', hash: 'a'.repeat(32) },
            }
          : { email: `s${i}@example.test`, authMethod: 'sso' },
      ),
    );
    const text = `${rows.join('\n')}\n`;
    const batches = await collect(batchEntries(readImportEntries(splitLines(chunksOf(text, 4096)), 'jsonl')));
    expect(batches.map((b) => b.rows.length)).toEqual([100, 100, 500, 500]);
    // Batch 2 holds the last 100 digest rows and fills up with cheap rows.
    expect(MAX_WRAPPED_ROWS_PER_BATCH).toBe(100);
    // Resuming at the end of batch 1 reads exactly batches 2 and 3 again.
    const resumeAt = batches[1]!.next;
    const resumed = await collect(
      batchEntries(
        readImportEntries(
          splitLines(chunksOf(Buffer.from(text).subarray(resumeAt.offset).toString()), resumeAt),
          'jsonl',
        ),
        { firstBatch: 2 },
      ),
    );
    expect(resumed.map((b) => [b.number, b.rows[0]?.line, b.rows.length])).toEqual([
      [2, 201, 500],
      [3, 701, 500],
    ]);
  });
});
