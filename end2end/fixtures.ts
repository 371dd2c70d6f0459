import { execFileSync } from 'node:child_process';
import { test as base, expect, type Locator, type Page, type Response } from '@playwright/test';

/**
 * Everything a visitor's browser complained about while a test ran.
 *
 * Each list holds one readable line per problem, so a failing test prints exactly what went
 * wrong (the message and the address it came from).
 */
export interface Problems {
  consoleMessages: string[];
  pageErrors: string[];
  failedRequests: string[];
  errorResponses: string[];
  cspViolations: string[];
}

/** A response status a test provokes on purpose, e.g. the 404 page. */
interface Expected {
  path: string;
  status: number;
}

/**
 * Watches pages for console errors and warnings (which includes Leptos' hydration warnings and
 * Rust panics), uncaught exceptions, failed requests, HTTP error responses and
 * Content-Security-Policy violations. The `guard` fixture below watches every test's `page` and
 * fails the test if anything was recorded.
 */
export class PageGuard {
  readonly problems: Problems = {
    consoleMessages: [],
    pageErrors: [],
    failedRequests: [],
    errorResponses: [],
    cspViolations: [],
  };
  private readonly expected: Expected[] = [];
  private readonly pages: Page[] = [];

  /** Allows one response with `status` for `path` (and the console line Chromium logs for it). */
  expectStatus(path: string, status: number): void {
    this.expected.push({ path, status });
  }

  private isExpected(url: string, status: number): boolean {
    const { pathname } = new URL(url);
    return this.expected.some((e) => pathname === e.path && status === e.status);
  }

  /**
   * Starts recording `page`'s problems. `scriptsDisabled` tells it the page runs without
   * JavaScript, where Chromium refuses any script fetch, reporting it as blocked by "csp"
   * (with or without a policy): the browser's doing, not the site's.
   */
  async watch(page: Page, { scriptsDisabled = false } = {}): Promise<void> {
    this.pages.push(page);
    const p = this.problems;

    page.on('console', (message) => {
      const type = message.type();
      if (type !== 'error' && type !== 'warning') return;
      const where = message.location().url;
      // Chromium logs every error response it receives; the one a test provoked is not a problem.
      const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(
        message.text(),
      );
      if (type === 'error' && failed && where && this.isExpected(where, Number(failed[1]))) return;
      p.consoleMessages.push(`[console.${type}] ${message.text()} (at ${where || 'unknown'})`);
    });
    page.on('pageerror', (error) => {
      p.pageErrors.push(`${error.name}: ${error.message} (page ${page.url()})`);
    });
    // Which main-frame navigation each request started under: leaving a page cancels what it was
    // still loading (the favicon, say), and Chromium reports that as ERR_ABORTED. That is the
    // test moving on, not the site failing; an abort without a navigation still counts.
    // Counted from the navigation's own request: Chromium cancels the old page's loads (its
    // WASM, say) before it reports the new frame as navigated.
    let navigations = 0;
    const startedUnder = new WeakMap<object, number>();
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    // The document the page is going to: a page being left may still start loads (its WASM,
    // say) after the next navigation has begun, and those are cancelled too.
    let target = '';
    page.on('request', (request) => {
      if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
        navigations += 1;
        target = request.url();
      }
      startedUnder.set(request, navigations);
    });
    page.on('requestfailed', (request) => {
      const error = request.failure()?.errorText;
      if (scriptsDisabled && request.resourceType() === 'script' && error === 'csp') return;
      const from = request.headers()['referer'];
      const leftThePage =
        !request.isNavigationRequest() &&
        (startedUnder.get(request) !== navigations || (!!from && !!target && from !== target));
      // Chromium's own favicon loader (not the page) cancels and re-issues its fetch around
      // navigations; a cancelled favicon is the browser's bookkeeping, never a failed load.
      const favicon = new URL(request.url()).pathname === '/favicon.svg';
      if (error === 'net::ERR_ABORTED' && (leftThePage || favicon)) return;
      p.failedRequests.push(`${request.method()} ${request.url()}: ${error ?? 'failed'}`);
    });
    page.on('response', (response) => {
      const status = response.status();
      if (status >= 400 && !this.isExpected(response.url(), status)) {
        p.errorResponses.push(`${response.request().method()} ${response.url()}: ${status}`);
      }
    });

    // CSP violations, reported from the page through a binding that survives reloads. The init
    // script runs in the page before its own scripts (Playwright injects it outside the page's
    // CSP), and also keeps them on `window.__cspViolations` for anyone debugging in the page.
    await page.exposeBinding('__folioReportCspViolation', (_source, line: string) => {
      p.cspViolations.push(line);
    });
    await page.addInitScript(() => {
      const w = window as unknown as {
        __cspViolations: string[];
        __folioReportCspViolation: (line: string) => void;
      };
      w.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        const line =
          `${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'} ` +
          `in ${event.documentURI}` +
          (event.sourceFile ? ` (${event.sourceFile}:${event.lineNumber})` : '') +
          (event.sample ? ` sample: ${event.sample}` : '');
        w.__cspViolations.push(line);
        w.__folioReportCspViolation(line);
      });
    });
  }

  /** Forgets everything recorded so far (for a test that provoked problems on purpose). */
  reset(): void {
    for (const list of Object.values(this.problems) as string[][]) list.length = 0;
  }

  /** Lets late problems surface: waits until each open page has loaded and gone network-idle. */
  async settle(): Promise<void> {
    for (const page of this.pages) {
      if (page.isClosed() || page.url() === 'about:blank') continue;
      await page.waitForLoadState('load');
      await page.waitForLoadState('networkidle');
    }
  }
}

/**
 * Navigates to `path` and waits until the browser has loaded the page's script and WASM from
 * /pkg (the islands loader fetches them once the page has loaded and the browser is idle).
 * Returns the page's own response.
 */
export async function gotoLoaded(page: Page, path: string): Promise<Response> {
  // This page's files, not those of the page being left, which may still be loading them.
  const address = new URL(path, page.url().startsWith('http') ? page.url() : base.info().project.use.baseURL).href;
  const pkg = (ext: string) =>
    page.waitForResponse((r) => {
      const { pathname } = new URL(r.url());
      const from = r.request().headers()['referer'];
      return pathname.startsWith('/pkg/') && pathname.endsWith(ext) && (!from || from === address);
    });
  const files = Promise.all([pkg('.js'), pkg('.wasm')]);
  const response = await page.goto(path);
  expect(response, `a response for ${path}`).not.toBeNull();
  for (const file of await files) {
    expect(file.ok(), `${file.url()} loads`).toBe(true);
    // The WASM is compiled while it streams in; wait for its last byte, not just its headers.
    expect(await file.finished(), `${file.url()} arrives whole`).toBeNull();
  }
  return response as Response;
}

/** Navigates to `path` and waits until the WASM has loaded and the islands are live. */
export async function gotoHydrated(page: Page, path: string): Promise<Response> {
  const response = await gotoLoaded(page, path);
  await waitForHydration(page);
  return response;
}

/**
 * Waits until the theme toggle island is hydrated: the island itself marks its button
 * `data-ready` when its code runs (CSS shows the button only then), so this waits on the WASM
 * having run, not on a timer, and changes nothing on the page.
 */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(themeToggle(page)).toHaveAttribute('data-ready', '', { timeout: 20_000 });
}

/** The header's theme switch, found as a visitor (and a screen reader) finds it. */
export function themeToggle(page: Page): Locator {
  return page.getByRole('button', { name: 'Dark theme' });
}

export const test = base.extend<{ guard: PageGuard }>({
  guard: [
    async ({ page, javaScriptEnabled }, use) => {
      const guard = new PageGuard();
      await guard.watch(page, { scriptsDisabled: javaScriptEnabled === false });
      await use(guard);
      await guard.settle();
      expect(guard.problems, 'the browser reported problems').toEqual({
        consoleMessages: [],
        pageErrors: [],
        failedRequests: [],
        errorResponses: [],
        cspViolations: [],
      });
    },
    { auto: true },
  ],
});

export { expect };

/**
 * Runs `query` against the e2e server's database (the embedded cluster's socket under its data
 * folder) and returns the rows, one string per row with columns joined by `|`.
 */
export function sql(query: string): string[] {
  const port = Number(process.env.E2E_PORT ?? 3100);
  const out = execFileSync(
    'psql',
    ['-h', `/tmp/folio-e2e-${port}/postgres`, '-U', 'folio', '-d', 'folio', '-At', '-v', 'ON_ERROR_STOP=1', '-c', query],
    { encoding: 'utf8' },
  );
  return out.split('\n').filter((line) => line.length > 0);
}

/** The owner the editing and backup specs sign in as (the owner spec makes its own). */
export const OWNER = { email: 'owner@example.com', password: 'tide tables at dawn, twice' };

/** Makes (or resets) the owner from the command line, as `folio owner reset-password` does. */
export function resetOwner(): void {
  const port = Number(process.env.E2E_PORT ?? 3100);
  execFileSync('target/release/folio', ['owner', 'reset-password', OWNER.email], {
    cwd: process.env.E2E_ROOT ?? `${__dirname}/..`,
    input: `${OWNER.password}\n`,
    env: { ...process.env, FOLIO_DATA_DIR: `/tmp/folio-e2e-${port}`, LEPTOS_SITE_ADDR: `127.0.0.1:${port}` },
  });
  sql('delete from sign_in_failures');
}

/** Signs in through the form as [`OWNER`]. */
export async function signInAsOwner(page: Page): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).not.toHaveURL(/\/sign-in/);
}
