/**
 * Builds the hosted pages once, into a directory the pages function serves as it is: one HTML file per page and
 * content-hashed assets (one bundled script per page, one stylesheet). Run by the local stack and the tests'
 * global setup before anything is served, and by the pages function's bundling on AWS
 * (`tsx web/build.ts <outDir>`); never per request.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type PageName, pageDefinitions, renderPage } from './pages.js';

const webDir = dirname(fileURLToPath(import.meta.url));

export const ASSETS_PREFIX = '/assets/';

export interface BuiltPages {
  readonly outDir: string;
  /** Page name -> the bundled script's URL path. */
  readonly scripts: Readonly<Record<PageName, string>>;
  readonly stylesheet: string;
}

const hashOf = (content: string | Uint8Array): string =>
  createHash('sha256').update(content).digest('hex').slice(0, 12);

export async function buildPages(outDir: string): Promise<BuiltPages> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });

  const result = await build({
    entryPoints: Object.fromEntries(
      pageDefinitions.map((page) => [page.name, join(webDir, 'scripts', `${page.name}.ts`)]),
    ),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'none',
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const scripts = {} as Record<PageName, string>;
  for (const file of result.outputFiles) {
    writeFileSync(file.path, file.contents);
  }
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const name = basename(meta.entryPoint, '.ts') as PageName;
    scripts[name] = `${ASSETS_PREFIX}${basename(output)}`;
  }

  const css = readFileSync(join(webDir, 'styles.css'), 'utf8');
  const cssName = `pages-${hashOf(css)}.css`;
  writeFileSync(join(outDir, 'assets', cssName), css);
  const stylesheet = `${ASSETS_PREFIX}${cssName}`;

  for (const page of pageDefinitions) {
    const script = scripts[page.name];
    if (!script) throw new Error(`esbuild produced no script for page "${page.name}"`);
    writeFileSync(join(outDir, `${page.name}.html`), renderPage(page, { script, stylesheet }));
  }
  return { outDir, scripts, stylesheet };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: tsx web/build.ts <output directory>');
    process.exit(2);
  }
  await buildPages(outDir);
}
