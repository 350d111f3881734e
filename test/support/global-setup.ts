/**
 * Starts the emulators once per jest run, on free ports, and hands their endpoints to the workers through
 * process.env (workers are forked after this runs). The handle stays on globalThis for global-teardown.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '@jest/types';
import { register } from 'tsx/esm/api';
import type { Emulators } from '../../scripts/local/emulators.js';

declare global {
  // Shared with global-teardown, which jest runs in this same process.
  var accountShieldEmulators: Emulators | undefined;
}

export default async function globalSetup(
  globalConfig: Config.GlobalConfig,
  projectConfig: Config.ProjectConfig,
): Promise<void> {
  if (!mayRunIntegrationTests(globalConfig, projectConfig)) return;
  // jest loads this file outside its module system, where Node cannot import our TypeScript sources; tsx
  // can, with the same `.js` -> `.ts` resolution the rest of the code relies on.
  const tsx = register({ namespace: 'account-shield-global-setup' });
  const { startEmulators }: typeof import('../../scripts/local/emulators.js') = await tsx.import(
    '../../scripts/local/emulators.js',
    import.meta.url,
  );
  const { buildPages }: typeof import('../../web/build.js') = await tsx.import(
    '../../web/build.js',
    import.meta.url,
  );
  // The hosted pages are bundled once per run; every test stack serves this directory.
  const [emulators, pages] = await Promise.all([
    startEmulators({ dynamodbPort: 0, sqsPort: 0, sesPort: 0 }),
    buildPages(join(tmpdir(), `account-shield-test-pages-${process.pid}`)),
  ]);
  process.env.PAGES_DIR = pages.outDir;
  globalThis.accountShieldEmulators = emulators;
  // Read by test-stack.ts in the workers.
  process.env.ACCOUNT_SHIELD_TEST_DYNAMODB_ENDPOINT = emulators.endpoints.dynamodb;
  process.env.ACCOUNT_SHIELD_TEST_SQS_ENDPOINT = emulators.endpoints.sqs;
  process.env.ACCOUNT_SHIELD_TEST_SES_ENDPOINT = emulators.endpoints.ses;
}

/**
 * A run limited by path patterns to unit or infra tests skips the JVM (seconds and ~250 MB on a 2-core
 * machine). Anything less clear-cut starts the emulators; and should this guess wrong, test-stack.ts starts
 * emulators of its own.
 */
function mayRunIntegrationTests(
  globalConfig: Config.GlobalConfig,
  projectConfig: Config.ProjectConfig,
): boolean {
  try {
    if (globalConfig.runTestsByPath || globalConfig.findRelatedTests || globalConfig.onlyChanged) return true;
    if (!globalConfig.testPathPatterns.isSet()) return true;
    const executor = globalConfig.testPathPatterns.toExecutor({ rootDir: projectConfig.rootDir });
    return ['integration', 'browser'].some((folder) => {
      const dir = join(projectConfig.rootDir, 'test', folder);
      return readdirSync(dir).some((file) => executor.isMatch(join(dir, file)));
    });
  } catch {
    return true;
  }
}
