import { App } from 'aws-cdk-lib';
import { addAccountShield } from './account-shield-app.js';
import { DeploymentConfigError } from './config.js';

// `npx cdk synth|deploy` runs this file; the App synthesizes itself when the process exits.
try {
  addAccountShield(new App());
} catch (error) {
  if (!(error instanceof DeploymentConfigError)) throw error;
  // The message names every missing or invalid setting; a stack trace would only hide it.
  console.error(error.message);
  process.exitCode = 1;
}
