import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../../infra/paths.js';

const storesDir = join(repoRoot, 'shared', 'stores');

interface StoreImport {
  /** The importing file, relative to the repository. */
  readonly file: string;
  /** The store module's name, without folder or extension. */
  readonly store: string;
  /** The imported names (`*` for a namespace or default import), `type` markers removed. */
  readonly names: readonly string[];
}

const sourceFiles = (folder: string): string[] =>
  readdirSync(join(repoRoot, 'shared', folder), { recursive: true, encoding: 'utf8' })
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

/** Every relative import, re-export and dynamic import in a file's source: the resolved target and its clause. */
function relativeImports(file: string, source = readFileSync(file, 'utf8')) {
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
  return found
    .filter(({ specifier }) => specifier.startsWith('.'))
    .map(({ specifier, clause }) => ({ target: resolve(dirname(file), specifier), clause }));
}

/** The imports of a file that resolve into shared/stores/. */
function storeImports(file: string, source?: string): StoreImport[] {
  return relativeImports(file, source).flatMap(({ target, clause }) => {
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
    expect(
      useCaseImports.map((entry) => `${entry.file}: ${entry.names.join(', ')} from ${entry.store}`),
    ).toEqual([]);
  });

  it('keeps shared/domain/ free of anything of ours but itself and the error types', () => {
    const domainDir = join(repoRoot, 'shared', 'domain');
    const errors = join(repoRoot, 'shared', 'errors.js');
    const outside = sourceFiles('domain').flatMap((file) =>
      relativeImports(file)
        .filter(({ target }) => dirname(target) !== domainDir && target !== errors)
        .map(({ target }) => `${relative(repoRoot, file)} -> ${relative(repoRoot, target)}`),
    );
    expect(outside).toEqual([]);
  });

  it('never imports functions/, infra/ or scripts/ from shared/', () => {
    const upward = ['functions', 'infra', 'scripts'].map((folder) => join(repoRoot, folder));
    const files = readdirSync(join(repoRoot, 'shared'), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(repoRoot, 'shared', name));
    const backwards = files.flatMap((file) =>
      relativeImports(file)
        .filter(({ target }) => upward.some((folder) => target.startsWith(`${folder}/`)))
        .map(({ target }) => `${relative(repoRoot, file)} -> ${relative(repoRoot, target)}`),
    );
    expect(files.length).toBeGreaterThan(100);
    expect(backwards).toEqual([]);
  });
});
