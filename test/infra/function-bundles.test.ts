import { build, type Metafile, stop } from 'esbuild';
import { lambdaBuildOptions } from '../../infra/function-bundles.js';
import { type Workload, workloads } from '../../infra/workloads.js';

/**
 * Each function's Lambda bundle (esbuild with the stack's settings, written nowhere, read by its metafile) holds
 * only what its routes use: argon2 (a native binary, shipped installed) and the password blocklist only in the
 * functions that hash passwords; SES, KMS, the Lambda client and openid-client only where they are called.
 */
// esbuild's service process would otherwise outlive the test file in its jest worker.
afterAll(() => stop());

const names = Object.keys(workloads) as Workload[];
const bundles = new Map<Workload, { inputs: string[]; externals: Set<string> }>();

beforeAll(async () => {
  for (const workload of names) {
    const result = await build({
      ...lambdaBuildOptions(workload),
      // argon2 external everywhere: what we check is whether the bundle imports it at all.
      external: ['@aws-sdk/*', '@node-rs/argon2'],
      write: false,
      outfile: 'index.mjs',
      metafile: true,
    });
    const output = Object.values(result.metafile.outputs)[0] as Metafile['outputs'][string];
    bundles.set(workload, {
      inputs: Object.keys(output.inputs),
      externals: new Set(output.imports.filter((entry) => entry.external).map((entry) => entry.path)),
    });
  }
}, 180_000);

const bundle = (workload: Workload) => {
  const found = bundles.get(workload);
  if (!found) throw new Error(`${workload} was not bundled`);
  return found;
};

test('GIVEN the access map THEN exactly the functions that hash passwords ship the argon2 binary', () => {
  const shipping = names.filter((workload) => workloads[workload].shipsArgon2);
  expect(shipping).toEqual(names.filter((workload) => workloads[workload].hashesPasswords));
  expect(shipping).toEqual(['accounts', 'login', 'password', 'mfa', 'admin', 'importWorker']);
});

test.each(names)(
  'GIVEN the %s function WHEN bundled as for Lambda THEN it imports argon2 only if it hashes passwords',
  (workload) => {
    const { externals, inputs } = bundle(workload);
    const hashes = workloads[workload].hashesPasswords;
    expect(externals.has('@node-rs/argon2')).toBe(hashes);
    expect(inputs.some((path) => path.includes('@zxcvbn-ts/language-common'))).toBe(
      ['accounts', 'password', 'admin'].includes(workload),
    );
  },
);

test('GIVEN every function WHEN bundled THEN SES, KMS, Lambda and openid-client are only where they are called', () => {
  const users = (match: (b: { inputs: string[]; externals: Set<string> }) => boolean) =>
    names.filter((workload) => match(bundle(workload)));
  expect(users((b) => b.externals.has('@aws-sdk/client-sesv2'))).toEqual(['notifier']);
  expect(users((b) => b.externals.has('@aws-sdk/client-kms'))).toEqual(['login', 'password', 'mfa']);
  expect(users((b) => b.externals.has('@aws-sdk/client-lambda'))).toEqual(['admin']);
  expect(users((b) => b.inputs.some((path) => path.includes('node_modules/openid-client/')))).toEqual([
    'sso',
  ]);
});
