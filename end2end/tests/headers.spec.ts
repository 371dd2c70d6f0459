import type { APIResponse } from '@playwright/test';
import { expect, gotoLoaded, test, waitForHydration } from '../fixtures';

/** The directives of a Content-Security-Policy header, each with its list of sources. */
function directives(csp: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) map.set(name.toLowerCase(), sources);
  }
  return map;
}

/** The nonce in a response's CSP script-src, failing the test when there is none. */
function cspNonce(response: APIResponse | { headers(): Record<string, string> }): string {
  const csp = response.headers()['content-security-policy'];
  expect(csp, 'content-security-policy header').toBeTruthy();
  const scriptSrc = directives(csp).get('script-src') ?? [];
  const nonces = scriptSrc.flatMap((s) => /^'nonce-([^']+)'$/.exec(s)?.[1] ?? []);
  expect(nonces, `exactly one nonce in script-src of: ${csp}`).toHaveLength(1);
  return nonces[0];
}

test('the home page sends a strict CSP, and every script carries its nonce', async ({ request }) => {
  const response = await request.get('/');
  expect(response.status()).toBe(200);
  const csp = directives(response.headers()['content-security-policy']);
  const scriptSrc = csp.get('script-src') ?? [];
  expect(scriptSrc).toEqual(expect.arrayContaining(["'strict-dynamic'", "'wasm-unsafe-eval'"]));
  expect(scriptSrc).not.toContain("'unsafe-inline'");
  expect(scriptSrc).not.toContain("'unsafe-eval'");
  expect(csp.get('object-src')).toEqual(["'none'"]);
  expect(csp.get('base-uri')).toEqual(["'none'"]);

  const nonce = cspNonce(response);
  // 128 random bits, base64: unguessable.
  expect(Buffer.from(nonce, 'base64')).toHaveLength(16);

  const html = await response.text();
  const tags = html.match(/<script\b[^>]*>/gi) ?? [];
  // JSON-LD is a data block, which the browser never runs (and the CSP does not gate): it
  // needs no nonce, and has none. Every other script needs the response's.
  const dataBlocks = tags.filter((tag) => /\stype="application\/ld\+json"/.test(tag));
  expect(dataBlocks.length, 'the JSON-LD block').toBe(1);
  expect(dataBlocks[0]).not.toMatch(/\snonce=/);
  const scripts = tags.filter((tag) => !dataBlocks.includes(tag));
  // At least the no-flash theme script and the island loader.
  expect(scripts.length).toBeGreaterThanOrEqual(2);
  for (const tag of scripts) {
    expect(/\snonce="([^"]*)"/.exec(tag)?.[1], `nonce of ${tag}`).toBe(nonce);
  }

  // A nonce is worthless if it repeats: the next response has a new one.
  expect(cspNonce(await request.get('/'))).not.toBe(nonce);
});

test('the browser runs the page scripts under the CSP with the response nonce', async ({ page }) => {
  // A stored choice for the head script to apply.
  await page.addInitScript(() => {
    if (location.protocol.startsWith('http')) localStorage.setItem('folio-theme', 'dark');
  });
  const nonce = cspNonce(await gotoLoaded(page, '/'));
  const scriptNonces = await page.evaluate(() =>
    Array.from(document.scripts)
      .filter((script) => script.type !== 'application/ld+json')
      .map((script) => script.nonce),
  );
  expect(scriptNonces.length).toBeGreaterThanOrEqual(2);
  expect(new Set(scriptNonces)).toEqual(new Set([nonce]));
  // Both scripts ran, so the nonce was accepted: the head script applied the stored theme, and
  // the island loader woke the toggle.
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await waitForHydration(page);
});

const SAMPLES = [
  { path: '/', status: 200 },
  { path: '/no-such-page', status: 404 },
  { path: '/healthz', status: 200 },
  { path: '/robots.txt', status: 200 },
];

for (const { path, status } of SAMPLES) {
  test(`${path} carries the security headers`, async ({ request }) => {
    const response = await request.get(path);
    expect(response.status()).toBe(status);
    const headers = response.headers();

    cspNonce(response);
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
    // Anonymous visitors' pages keep the tab's process; the owner's are isolated (below).
    expect(headers['cross-origin-opener-policy']).toBeUndefined();
    // Nobody may frame the site: the CSP says so, and X-Frame-Options for older browsers.
    expect(directives(headers['content-security-policy']).get('frame-ancestors')).toEqual(["'none'"]);
    expect(headers['x-frame-options']).toBe('DENY');
    // Every response can be traced in the server log by its request id.
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/i);
  });
}

test("the owner's pages get a browsing context group of their own", async ({ request }) => {
  for (const path of ['/sign-in', '/owner']) {
    const response = await request.get(path, { maxRedirects: 0 });
    expect(response.headers()['cross-origin-opener-policy'], path).toBe('same-origin');
  }
});

test('request ids are unique, and one sent by a proxy is kept', async ({ request }) => {
  const first = (await request.get('/healthz')).headers()['x-request-id'];
  const second = (await request.get('/healthz')).headers()['x-request-id'];
  expect(first).toBeTruthy();
  expect(second).not.toBe(first);
  const given = await request.get('/healthz', { headers: { 'x-request-id': 'e2e-proxy-id-42' } });
  expect(given.headers()['x-request-id']).toBe('e2e-proxy-id-42');
});

test('an anonymous visitor is given no cookie', async ({ page, request, guard }) => {
  for (const path of ['/', '/no-such-page']) {
    const response = await request.get(path);
    expect(response.headers()['set-cookie'], `set-cookie on ${path}`).toBeUndefined();
  }
  // A whole visit in the browser, WASM and all, leaves the cookie jar empty too.
  await gotoLoaded(page, '/');
  guard.expectStatus('/no-such-page', 404);
  await page.goto('/no-such-page');
  expect(await page.context().cookies()).toEqual([]);
});
