/**
 * Every hosted page: axe-core finds no serious or critical violation, nothing scrolls sideways at 320 px, the
 * headers are the strict ones (CSP without inline script, no referrer), nothing is loaded from another origin,
 * and sign-in works by keyboard alone. Leaves a screenshot of each page in test/artifacts/.
 */
import type { Browser, Page } from 'playwright-core';
import {
  newDevice,
  screenshot,
  scrollsHorizontally,
  seriousAxeViolations,
  signInThroughPage,
  useBrowserStack,
} from '../support/browser.js';
import { type Api, signUp, type TestAccount } from '../support/fixtures.js';
import type { TestStack } from '../support/test-stack.js';

let stack: TestStack;
let client: Api;
let browser: Browser;
let account: TestAccount;

useBrowserStack({}, async (started) => {
  ({ stack, client, browser } = started);
  account = await signUp(client);
});

interface PageCase {
  readonly path: string;
  readonly name: string;
  readonly signedIn: boolean;
  /** Something the page shows once its script has run. */
  readonly ready: (page: Page) => Promise<unknown>;
}

const pages: readonly PageCase[] = [
  {
    path: '/login',
    name: 'login',
    signedIn: false,
    ready: (page) => page.getByRole('button', { name: 'Sign in' }).waitFor(),
  },
  {
    path: '/forgot-password',
    name: 'forgot-password',
    signedIn: false,
    ready: (page) => page.getByRole('button', { name: 'Send reset link' }).waitFor(),
  },
  {
    path: '/reset-password#token=not-a-real-token-but-long-enough-to-look-like-one',
    name: 'reset-password-form',
    signedIn: false,
    ready: (page) => page.waitForFunction('!location.hash'),
  },
  {
    path: '/security',
    name: 'security-full',
    signedIn: true,
    ready: (page) => page.getByRole('button', { name: 'Sign out of all devices' }).waitFor(),
  },
  {
    path: '/security/report',
    name: 'security-report-page',
    signedIn: true,
    ready: (page) => page.getByRole('button', { name: 'Secure my account' }).waitFor(),
  },
  {
    path: '/device?user_code=ABCD-EFGH',
    name: 'device',
    signedIn: true,
    ready: (page) => page.getByRole('button', { name: 'Continue' }).waitFor(),
  },
];

/** Tabs already signed in: the session stays in the tab's sessionStorage from page to page. */
const signedInTabs = new WeakSet<Page>();

async function signInOnce(page: Page): Promise<void> {
  if (signedInTabs.has(page)) return;
  await signInThroughPage(page, stack.apiUrl, account);
  signedInTabs.add(page);
}

async function open(page: Page, testCase: PageCase): Promise<void> {
  if (testCase.signedIn) await signInOnce(page);
  await page.goto(`${stack.apiUrl}${testCase.path}`);
  await testCase.ready(page);
}

describe('hosted pages', () => {
  // One device per pass, shared by the pages (each signs in once): a context with the CSP bypassed for axe only,
  // and a 320 px one with the CSP enforced.
  let axeDevice: Page;
  let narrowDevice: Page;
  const foreign: string[] = [];
  const cspErrors: string[] = [];

  beforeAll(async () => {
    axeDevice = (await newDevice(browser, { bypassCSP: true })).page;
    narrowDevice = (await newDevice(browser, { width: 320 })).page;
    narrowDevice.on('request', (request) => {
      if (!request.url().startsWith(stack.apiUrl)) foreign.push(request.url());
    });
    narrowDevice.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
        cspErrors.push(message.text());
    });
  });

  afterAll(async () => {
    await Promise.all([axeDevice?.context().close(), narrowDevice?.context().close()]);
  });

  it.each(pages)(
    '$path passes axe-core with no serious or critical violation (CSP bypassed for axe only)',
    async (testCase) => {
      await open(axeDevice, testCase);
      await expect(seriousAxeViolations(axeDevice)).resolves.toEqual([]);
      await screenshot(axeDevice, testCase.name);
    },
  );

  it('/security with the two-factor enrolment open (QR code) passes axe-core', async () => {
    await signInOnce(axeDevice);
    await axeDevice.goto(`${stack.apiUrl}/security`);
    const mfa = axeDevice.getByRole('region', { name: 'Two-factor authentication' });
    await mfa.getByLabel('Current password').filter({ visible: true }).fill(account.password);
    await mfa.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await mfa.getByRole('button', { name: 'Turn on' }).waitFor();
    await expect(seriousAxeViolations(axeDevice)).resolves.toEqual([]);
  });

  it.each(pages)(
    '$path fits 320 px without horizontal scrolling, with the strict headers',
    async (testCase) => {
      if (testCase.signedIn) await signInOnce(narrowDevice);
      const response = await narrowDevice.goto(`${stack.apiUrl}${testCase.path}`);
      const headers = response?.headers() ?? {};
      expect(headers['content-type']).toBe('text/html; charset=utf-8');
      expect(headers['referrer-policy']).toBe('no-referrer');
      expect(headers['content-security-policy']).toContain("script-src 'self'");
      expect(headers['content-security-policy']).not.toContain('unsafe-inline');
      expect(headers['x-frame-options']).toBe('DENY');
      await testCase.ready(narrowDevice);
      await expect(scrollsHorizontally(narrowDevice)).resolves.toBe(false);
      await screenshot(narrowDevice, `${testCase.name}-320`);
    },
  );

  it('loaded nothing from another origin and broke no CSP rule on any page', () => {
    expect(foreign).toEqual([]);
    expect(cspErrors).toEqual([]);
  });

  it('sign in by keyboard alone', async () => {
    const { context, page } = await newDevice(browser);
    await page.goto(`${stack.apiUrl}/login`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    // From the top of the page: the brand link, then the first field.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.type(account.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(account.password);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${stack.apiUrl}/security`);
    await page.getByText(account.email).waitFor();
    await context.close();
  });

  it('serve the page scripts from content-hashed, cacheable URLs and answer 404 for unknown assets', async () => {
    const html = await (await fetch(`${stack.apiUrl}/login`)).text();
    const script = /<script type="module" src="(\/assets\/login-[A-Z0-9]+\.js)"><\/script>/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(html).not.toMatch(/<script>(?!<)/);
    const asset = await fetch(`${stack.apiUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${stack.apiUrl}/assets/nothing-here.js`)).status).toBe(404);
    expect((await fetch(`${stack.apiUrl}/assets/..%2Fsecurity.html`)).status).toBe(404);
  });
});
