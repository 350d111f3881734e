import { join } from 'node:path';
import { build, stop } from 'esbuild';
import { esmBundling } from '../../infra/constructs/app-function.js';
import { defaultFunctionsDir } from '../../infra/paths.js';

/**
 * The sso function's Lambda bundle holds the relying-party library and never the local runner's identity
 * provider (oidc-provider, scripts/local): esbuild with the functions' settings, written nowhere, read by its metafile.
 */
// esbuild's service process would otherwise outlive the test file in its jest worker.
afterAll(() => stop());

test('GIVEN functions/sso.ts WHEN bundled as for Lambda THEN openid-client is in and the local IdP is not', async () => {
  const result = await build({
    entryPoints: [join(defaultFunctionsDir, 'sso.ts')],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: esmBundling.target,
    mainFields: [...esmBundling.mainFields],
    external: ['@node-rs/argon2', '@aws-sdk/*'],
    logLevel: 'silent',
  });
  const inputs = Object.keys(result.metafile.inputs);
  expect(inputs.some((path) => path.includes('node_modules/openid-client/'))).toBe(true);
  expect(inputs.filter((path) => /oidc-provider|scripts\/local|test\//.test(path))).toEqual([]);
}, 60_000);
