import { createAwsClients } from '../../shared/aws/clients.js';
import { loadConfig } from '../../shared/config.js';
import { systemClock } from '../../shared/ports/clock.js';
import { createSignalDeps, type SignalDeps } from '../../shared/signals-app.js';

let signalDeps: Promise<SignalDeps> | undefined;

/** The transmitter's stores, keys and delivery adapters, built on first use and kept while the Lambda is warm. */
export function getSignalDeps(): Promise<SignalDeps> {
  signalDeps ??= Promise.resolve().then(() => {
    const config = loadConfig(process.env);
    return createSignalDeps(config, createAwsClients(config), systemClock);
  });
  return signalDeps;
}
