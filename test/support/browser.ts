/**
 * Real-browser helpers for the hosted-page tests: Debian's Chromium driven by playwright-core (no browser
 * download), axe-core injected for the accessibility pass, screenshots under test/artifacts/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { api } from './http.js';
import { type StackWithClient, startTestStack, type TestStack, type TestStackOptions } from './test-stack.js';

const require = createRequire(import.meta.url);
export const artifactsDir = join(process.cwd(), 'test', 'artifacts');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 20_000,
  });
}

/** A page test file's stack, an API client on it, and the browser. */
export interface BrowserStack extends StackWithClient {
  readonly browser: Browser;
}

/**
 * One stack (with `options`; its mail links on its own origin, as `npm start` does, unless they say otherwise) and
 * one browser for the page test file: started together before its tests and handed to `use` (which keeps them in
 * the file's variables), closed after them. Call it at the top level of the test file.
 */
export function useBrowserStack(
  options: TestStackOptions,
  use: (started: BrowserStack) => void | Promise<void>,
): void {
  // A real browser on a shared 2-core machine: page steps wait on argon2 and the emulators.
  jest.setTimeout(90_000);
  let stack: TestStack | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    [stack, browser] = await Promise.all([
      startTestStack({ publicAppUrl: 'api', ...options }),
      launchBrowser(),
    ]);
    await use({ stack, client: api(stack.apiUrl), browser });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), stack?.stop()]);
  });
}

/** The access token the page keeps in sessionStorage. */
export const storedAccessToken = (page: Page) =>
  // A string: this file is type-checked for Node, and the expression runs in the page.
  page.evaluate<string>("JSON.parse(sessionStorage.getItem('account-shield.session') ?? '{}').accessToken");

/** A fresh context is a fresh device: its own sessionStorage, so its own sign-in. */
export async function newDevice(
  browser: Browser,
  options: { width?: number; bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1000, height: 900 },
    bypassCSP: options.bypassCSP ?? false,
  });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
}

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical findings on the page as it is now. The page must come from a context opened
 * with `bypassCSP: true`: the strict CSP (rightly) refuses the injected script otherwise.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: axeSource });
  // Expressions as strings: this file is type-checked for Node (no DOM types); they run in the page.
  const result = await page.evaluate<{ violations: AxeViolation[]; passes: unknown[] }>(
    'axe.run(document).then((r) => ({ violations: r.violations, passes: r.passes }))',
  );
  // A run that checked nothing would pass vacuously.
  if (result.passes.length === 0) throw new Error('axe-core checked no rule on this page');
  return result.violations.filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical',
  );
}

/** Whether the document is wider than the viewport (horizontal scrolling at this width). */
export function scrollsHorizontally(page: Page): Promise<boolean> {
  return page.evaluate<boolean>(
    'document.documentElement.scrollWidth > document.documentElement.clientWidth',
  );
}

/** The link of a mail's text part that leads to one of our pages (a reset link, /security, ...). */
export function linkIn(text: string | undefined, path: string): string {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`https?://[^\\s>"]+${escaped}[^\\s>"]*`).exec(text ?? '');
  if (!match) throw new Error(`no ${path} link in mail: ${text}`);
  return match[0];
}

/** Signs in through /login (password, then the code when one is given). */
export async function signInThroughPage(
  page: Page,
  apiUrl: string,
  account: { readonly email: string; readonly password: string },
  options: { readonly code?: () => string; readonly returnTo?: string } = {},
): Promise<void> {
  const returnTo = options.returnTo ?? '/security';
  await page.goto(`${apiUrl}/login?returnTo=${encodeURIComponent(returnTo)}`);
  await page.getByLabel('Email or username').fill(account.email);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  if (options.code) {
    await page.getByLabel('Code').waitFor({ state: 'visible' });
    await page.getByLabel('Code').fill(options.code());
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.waitForURL(`${apiUrl}${returnTo}`);
}
