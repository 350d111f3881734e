import { chunkEntries, MAX_CHUNK_ENTRIES } from '../../scripts/ops/audience-upload.js';

async function* from(values: readonly string[]) {
  yield* values;
}

async function collect(values: readonly string[]) {
  const chunks: { number: number; entries: readonly string[] }[] = [];
  for await (const chunk of chunkEntries(from(values))) chunks.push(chunk);
  return chunks;
}

describe('audience chunks of the ops CLI', () => {
  it('cuts at 10,000 entries, numbering chunks in file order', async () => {
    const values = Array.from({ length: 25_000 }, (_, i) => `u${i}`);

    const chunks = await collect(values);

    expect(chunks.map((chunk) => [chunk.number, chunk.entries.length])).toEqual([
      [0, MAX_CHUNK_ENTRIES],
      [1, MAX_CHUNK_ENTRIES],
      [2, 5_000],
    ]);
    expect(chunks.flatMap((chunk) => chunk.entries)).toEqual(values);
  });

  it('keeps every request body within the 1 MiB limit when entries are long', async () => {
    const long = (i: number) => `${String(i).padStart(6, '0')}${'x'.repeat(230)}@example.test`;
    const values = Array.from({ length: 9_000 }, (_, i) => long(i));

    const chunks = await collect(values);

    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks)
      expect(Buffer.byteLength(JSON.stringify({ entries: chunk.entries }))).toBeLessThanOrEqual(1024 * 1024);
    expect(chunks.flatMap((chunk) => chunk.entries)).toEqual(values);
  });

  it('cuts the same chunks from the same entries on every run (resume relies on it)', async () => {
    const values = Array.from({ length: 12_345 }, (_, i) => (i % 2 ? `e${i}@example.test` : `ext:${i}`));

    expect(await collect(values)).toEqual(await collect(values));
  });
});
