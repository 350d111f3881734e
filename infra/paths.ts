import { fileURLToPath } from 'node:url';

/** The repository root: esbuild's project root and where package-lock.json pins the bundled modules. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Handler entry files live at `functions/<name>.ts`. */
export const defaultFunctionsDir = fileURLToPath(new URL('../functions', import.meta.url));
