import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../../infra/paths.js';

const storesDir = join(repoRoot, 'shared', 'stores');

/**
 * What use-cases still import from shared/stores/: key helpers, constants and errors that are moving to
 * shared/domain/ (docs/architecture.md, "Known exceptions"). Store module -> the names allowed. Only ever shrinks:
 * the last test fails when an entry is no longer imported, so a move also takes its entry out.
 */
const allowedUseCaseImports: Readonly<Record<string, readonly string[]>> = {
  'incident-audience-store': ['entryRef'],
  'incidents-store': ['incidentKey', 'LeaseLostError'],
  'send-rate-limiter': ['delayUntilNextSecond', 'waitForSendSecond'],
  'sso-flows-store': ['SSO_FLOW_LIFETIME_SECONDS'],
  'sso-login-codes-store': ['SSO_LOGIN_CODE_LIFETIME_SECONDS'],
};

interface StoreImport {
  /** The importing file, relative to the repository. */
  readonly file: string;
  /** The store module's name, without folder or extension. */
  readonly store: string;
  /** The imported names (`*` for a namespace or default import), `type` markers removed. */
  readonly names: readonly string[];
}

const sourceFiles = (folder: string) =>
  readdirSync(join(repoRoot, 'shared', folder))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(repoRoot, 'shared', folder, name));

function importedNames(clause: string): string[] {
  const braces = /\{([^}]*)\}/.exec(clause);
  const names = (braces?.[1] ?? '')
    .split(',')
    .map(
      (part) =>
        part
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)[0]!,
    )
    .filter((name) => name.length > 0);
  const outsideBraces = clause.replace(/\{[^}]*\}/, '').replace(/^type\s+/, '');
  return /[\w*]/.test(outsideBraces) ? [...names, '*'] : names;
}

/** Every import, re-export and dynamic import in a file's source that resolves into shared/stores/. */
function storeImports(file: string, source = readFileSync(file, 'utf8')): StoreImport[] {
  const found: { specifier: string; clause: string }[] = [
    ...[...source.matchAll(/^(?:import|export)\s+([^;]*?)\s+from\s+'([^']+)'/gm)].map((match) => ({
      clause: match[1]!,
      specifier: match[2]!,
    })),
    ...[...source.matchAll(/import\(\s*'([^']+)'\s*\)/g)].map((match) => ({
      clause: '*',
      specifier: match[1]!,
    })),
  ];
  return found.flatMap(({ specifier, clause }) => {
    if (!specifier.startsWith('.')) return [];
    const target = resolve(dirname(file), specifier);
    if (dirname(target) !== storesDir) return [];
    return [
      {
        file: relative(repoRoot, file),
        store: target.slice(storesDir.length + 1).replace(/\.js$/, ''),
        names: importedNames(clause),
      },
    ];
  });
}

const portImports = sourceFiles('ports').flatMap((file) => storeImports(file));
const useCaseImports = sourceFiles('use-cases').flatMap((file) => storeImports(file));

describe('import direction (docs/architecture.md)', () => {
  it('finds store imports of every form: type-only, multi-line, re-exports, namespace and dynamic', () => {
    const file = join(repoRoot, 'shared', 'use-cases', 'example.ts');
    const source = [
      "import type { UsersStore } from '../stores/users-store.js';",
      "import {\n  type A,\n  b as c,\n} from '../stores/incidents-store.js';",
      "export { d } from '../stores/throttle-store.js';",
      "import * as sessions from '../stores/sessions-store.js';",
      "const lazy = () => import('../stores/deliveries-store.js');",
      "import type { Clock } from '../ports/clock.js';",
      "export const x: string = 'not an import from here';",
    ].join('\n');
    expect(storeImports(file, source).map(({ store, names }) => ({ store, names }))).toEqual([
      { store: 'users-store', names: ['UsersStore'] },
      { store: 'incidents-store', names: ['A', 'b'] },
      { store: 'throttle-store', names: ['d'] },
      { store: 'sessions-store', names: ['*'] },
      { store: 'deliveries-store', names: ['*'] },
    ]);
  });

  it('keeps shared/ports/ free of shared/stores/, even for types', () => {
    expect(portImports).toEqual([]);
  });

  it('lets use-cases take stores only through their ports in shared/ports/', () => {
    const disallowed = useCaseImports.flatMap((entry) =>
      entry.names
        .filter((name) => !allowedUseCaseImports[entry.store]?.includes(name))
        .map((name) => `${entry.file}: ${name} from shared/stores/${entry.store}`),
    );
    expect(disallowed).toEqual([]);
  });

  it('allows only store imports that use-cases still make (a moved name leaves the allow-list)', () => {
    const used = new Set(
      useCaseImports.flatMap((entry) => entry.names.map((name) => `${entry.store}:${name}`)),
    );
    const unused = Object.entries(allowedUseCaseImports).flatMap(([store, names]) =>
      names.filter((name) => !used.has(`${store}:${name}`)).map((name) => `${store}:${name}`),
    );
    expect(unused).toEqual([]);
  });
});
