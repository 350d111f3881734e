export default async function globalTeardown(): Promise<void> {
  await globalThis.accountShieldEmulators?.stop();
  globalThis.accountShieldEmulators = undefined;
}
