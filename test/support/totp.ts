import { generate } from 'otplib';

const STEP_SECONDS = 30;
/** Longer than any one request takes here, even on a loaded 2-core machine. */
const BOUNDARY_MARGIN_SECONDS = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The TOTP code of the step `offsetSteps` from now, as an authenticator app shows it. The server accepts one
 * step either side of its own. A step boundary passing between this call and the server's check moves every
 * code one step into the past: 0 and +1 stay accepted, but -1 would become -2 and be refused. So a -1 code
 * is only built when the current step has at least BOUNDARY_MARGIN_SECONDS left (waiting for the next step
 * otherwise), which keeps it valid for the request that carries it.
 */
export async function totpCode(secret: string, offsetSteps: -1 | 0 | 1 = 0): Promise<string> {
  if (offsetSteps < 0) {
    const intoStepMs = Date.now() % (STEP_SECONDS * 1000);
    const leftMs = STEP_SECONDS * 1000 - intoStepMs;
    if (leftMs < BOUNDARY_MARGIN_SECONDS * 1000) await sleep(leftMs + 50);
  }
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * STEP_SECONDS });
}
