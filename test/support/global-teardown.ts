import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  await globalThis.accountShieldEmulators?.stop();
  globalThis.accountShieldEmulators = undefined;
  // Built by global-setup.ts for this run only.
  if (process.env.PAGES_DIR?.includes('account-shield-test-pages-')) {
    rmSync(process.env.PAGES_DIR, { recursive: true, force: true });
  }
}
