import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../infra/paths.js';
import { busEventDetailFields, busEventTypes } from '../../shared/domain/security-bus-events.js';
import { securityMetricNames } from '../../shared/ports/security-metrics.js';

const doc = readFileSync(join(repoRoot, 'docs', 'events.md'), 'utf8');

/** `### \`type\`` sections of docs/events.md -> the fields their table lists, with the documented type. */
function documentedTypes(): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  const catalog = doc.slice(doc.indexOf('## Event types'), doc.indexOf('## Metrics'));
  for (const part of catalog.split(/^### /m).slice(1)) {
    const type = /^`([a-z_]+)`/.exec(part)?.[1];
    if (!type) continue;
    const fields: Record<string, string> = {};
    for (const match of part.matchAll(/^\| `([A-Za-z]+)` \| ([a-z ]+) \|$/gm)) {
      fields[match[1]!] = match[2]!.trim();
    }
    sections.set(type, fields);
  }
  return sections;
}

describe('docs/events.md', () => {
  it('documents every published event type with exactly the fields and types the publisher sends', () => {
    const documented = documentedTypes();
    expect([...documented.keys()].sort()).toEqual([...busEventTypes].sort());
    for (const type of busEventTypes) {
      const expected = Object.fromEntries(
        Object.entries(busEventDetailFields[type]).map(([name, fieldType]) => [
          name,
          fieldType === 'string?' ? 'string or null' : fieldType,
        ]),
      );
      expect({ type, fields: documented.get(type) }).toEqual({ type, fields: expected });
    }
  });

  it('lists every security metric', () => {
    const metrics = doc.slice(doc.indexOf('## Metrics'));
    const listed = [...metrics.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(Object.values(securityMetricNames).sort());
  });
});
