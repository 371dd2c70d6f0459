import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { expect, sql, test } from '../fixtures';

// The owner's account through a real browser: the one-time setup link, the session cookie,
// signing out and in, the inbox fed by the contact form, a cross-origin form post refused, and
// the pause after too many wrong passwords. The tests share one owner and run in order.

test.describe.configure({ mode: 'serial' });
// Every owner page and form works as plain HTML; without scripts the tests also never race the
// islands' WASM download when a form navigates away.
test.use({ javaScriptEnabled: false });

const port = Number(process.env.E2E_PORT ?? 3100);
const repoRoot = process.env.E2E_ROOT ?? path.resolve(__dirname, '..', '..');
const EMAIL = 'owner@example.com';
const PASSWORD = 'tide tables at dawn, twice';

/** A fresh setup link from the command line, as an owner who missed the console would get one. */
function setupLink(): string {
  const out = execFileSync('target/release/folio', ['owner', 'setup-link'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: {
      ...process.env,
      FOLIO_DATA_DIR: `/tmp/folio-e2e-${port}`,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    },
  });
  const link = out.trim().split('\n').pop() ?? '';
  expect(link).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/setup\\?token=[A-Za-z0-9_-]{43}$`));
  return link;
}

async function signIn(page: Page, password = PASSWORD): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Let the page signing in lands on finish loading before the test moves on.
  await expect(page).not.toHaveURL(/\/sign-in/);
  await page.waitForLoadState('load');
}

/** A new browser context for someone else: a visitor, or the owner on another device. */
async function other(browser: Browser, address: string): Promise<BrowserContext> {
  return browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': address } });
}

test.beforeAll(() => {
  // A rerun against a kept database starts from no owner, as a fresh site does.
  sql('delete from owner; delete from setup_tokens; delete from sign_in_failures; delete from security_log; delete from tower_sessions.session');
});

test.afterAll(() => {
  sql('delete from sign_in_failures');
});

test('the setup link creates the owner, who is signed in at once with a __Host- cookie', async ({ page, context, guard }) => {
  const link = setupLink();
  guard.expectStatus('/setup', 422);
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: 'Set up folio' })).toBeVisible();
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password', { exact: true }).fill('too short');
  await page.getByLabel('Password again').fill('too short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByLabel('Password', { exact: true })).toHaveAccessibleDescription(/at least 12 characters/);
  await expect(page.getByLabel('Email')).toHaveValue(EMAIL);

  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/owner\?done=setup$/);
  await expect(page.getByTestId('account-notice')).toContainText('Your account is ready');
  await expect(page.getByTestId('account-email')).toContainText(EMAIL);

  const cookies = await context.cookies();
  expect(cookies.map((c) => c.name)).toEqual(['__Host-folio-session']);
  const [cookie] = cookies;
  expect(cookie).toMatchObject({ path: '/', secure: true, httpOnly: true, sameSite: 'Strict' });
  expect(cookie.domain).toBe('127.0.0.1');

  // The link is spent.
  await page.goto(link);
  await expect(page.getByTestId('setup-done')).toBeVisible();
  expect(sql("select event from security_log order by id")).toEqual(['owner_created']);
});

test('the owner signs out, is sent to sign in for owner pages, and signs back in', async ({ page, guard }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/owner$/);
  await page.goto('/');
  await expect(page.getByTestId('owner-bar')).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('owner-bar')).toHaveCount(0);
  expect(await page.context().cookies()).toEqual([]);

  await page.goto('/owner/inbox');
  await expect(page).toHaveURL(/\/sign-in\?next=\/owner\/inbox$/);
  guard.expectStatus('/sign-in', 401);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill('not the password, sorry');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('form-summary')).toHaveText("That email and password don't match. Check both and try again.");
  await expect(page.getByLabel('Email')).toHaveValue(EMAIL);
  await expect(page.getByLabel('Password')).toHaveValue('');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/owner\/inbox$/);
});

test('a visitor gets no cookie and sees no owner controls', async ({ browser }) => {
  const visitor = await other(browser, '198.51.100.60');
  const page = await visitor.newPage();
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByTestId('owner-bar')).toHaveCount(0);
  const response = await page.goto('/owner');
  expect(response?.url()).toMatch(/\/sign-in\?next=\/owner$/);
  expect(await visitor.cookies()).toEqual([]);
  await visitor.close();
});

test('a message sent from the contact form arrives in the inbox', async ({ page, browser }) => {
  const text = `Hello from the inbox test (${Date.now()}), about a harbour map.`;
  const visitor = await other(browser, '198.51.100.61');
  const form = await visitor.newPage();
  await form.goto('/contact');
  await form.getByLabel('Your name').fill('Grace Hopper');
  await form.getByLabel('Email address').fill('grace@example.com');
  await form.getByLabel('Message', { exact: true }).fill(text);
  await form.getByRole('button', { name: 'Send message' }).click();
  await expect(form.getByRole('heading', { name: /Thank you/ })).toBeVisible();
  await visitor.close();

  await signIn(page);
  await page.goto('/owner/inbox');
  const message = page.getByTestId('inbox-message').filter({ hasText: text });
  await expect(message).toHaveCount(1);
  await expect(message.getByRole('heading')).toContainText('Grace Hopper');
  await expect(message.getByRole('heading')).toContainText('New');
  await message.getByRole('button', { name: 'Mark read' }).click();
  await expect(message.getByRole('button', { name: 'Mark unread' })).toBeVisible();
  await expect(message.getByRole('heading')).not.toContainText('New');

  await message.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('inbox-message').filter({ hasText: text })).toHaveCount(0);
  expect(sql(`select count(*) from contact_messages where message = '${text}'`)).toEqual(['0']);
});

test('the owner pages have no serious or critical WCAG violations, in both themes', async ({ browser }) => {
  test.setTimeout(60_000);
  for (const colorScheme of ['light', 'dark'] as const) {
    // axe runs as a script in the page, so this visit has JavaScript on.
    const owner = await browser.newContext({ colorScheme, javaScriptEnabled: true });
    const page = await owner.newPage();
    await signIn(page);
    await expect(page).toHaveURL(/\/owner$/);
    for (const path of ['/owner', '/owner/inbox', '/owner/security', '/owner/media']) {
      // This context is not the guarded page: leaving while the islands load is fine here.
      await page.goto(path);
      const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
      const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(serious.map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), `${path} (${colorScheme})`).toEqual([]);
    }
    await owner.close();
  }
});

test('a cross-origin form post is refused and changes nothing', async ({ page, guard }) => {
  await signIn(page);
  // A page on another origin with a form aimed at folio, submitted by the owner's own browser.
  const evil = 'http://evil.localhost:9/';
  await page.route(evil, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Win a prize</title>
        <form method="post" action="http://127.0.0.1:${port}/owner/sign-out-everywhere"><button>Claim</button></form>`,
    }),
  );
  const sessionsBefore = sql('select count(*) from tower_sessions.session');
  await page.goto(evil);
  guard.expectStatus('/owner/sign-out-everywhere', 403);
  const refused = page.waitForResponse((r) => r.url().endsWith('/owner/sign-out-everywhere'));
  await page.getByRole('button', { name: 'Claim' }).click();
  expect((await refused).status()).toBe(403);
  await expect(page.locator('body')).toContainText('Cross-origin request refused');
  expect(sql('select count(*) from tower_sessions.session')).toEqual(sessionsBefore);
  expect(sql("select count(*) from security_log where event = 'signed_out_everywhere'")).toEqual(['0']);
  await page.goto('/owner');
  await expect(page.getByTestId('account-email')).toContainText(EMAIL);
});

/** A 96 × 64 checkerboard PNG. */
const CHECKER_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAGAAAABACAIAAABqVuVZAAAAh0lEQVR42u3asQ0AIAgEQCaxdhxrp3Mcx2IGSvGSrz/hyg8x9inlrlnK6/0BCBAgQIAAAQIECBAgQIAAAQLUDOi3g6v9gAABAgQIECBAgAABAgQIECBA3YAMZhZFQIAAAQIECBAgQIAAAQIECJD/IIOZRREQIECAAAECBAgQIECAAAEC1BYoATwPIaV6aUDQAAAAAElFTkSuQmCC',
  'base64',
);

test('the owner uploads a picture to the media library; a fake one is refused', async ({ page, guard }) => {
  await signIn(page);
  await page.goto('/owner/media');
  await expect(page.getByRole('heading', { level: 1, name: 'Media' })).toBeVisible();

  // A text file dressed up as a PNG: refused, with the reason beside the file field.
  guard.expectStatus('/owner/media', 422);
  await page.getByLabel('Picture').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('not a picture, only words\n') });
  await page.getByLabel('Alt text').fill('Words');
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByTestId('file-error')).toContainText('upload a JPEG, PNG, GIF or WebP image');
  await expect(page.getByLabel('Alt text')).toHaveValue('Words');

  // A real PNG named .jpg: fine, since only its content counts.
  await page.getByLabel('Picture').setInputFiles({ name: 'checker.jpg', mimeType: 'image/jpeg', buffer: CHECKER_PNG });
  await page.getByLabel('Alt text').fill('A blue and orange checkerboard');
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page).toHaveURL(/\/owner\/media\?added=[0-9a-f]{32}$/);
  await expect(page.getByTestId('media-notice')).toContainText('Uploaded');
  const item = page.getByTestId('media-item').filter({ has: page.getByAltText('A blue and orange checkerboard') });
  await expect(item).toHaveCount(1);
  const url = (await item.getByTestId('media-url').textContent()) ?? '';
  expect(url).toMatch(/^\/media\/[0-9a-f]{32}-96\.webp$/);
  const image = item.getByRole('img');
  await expect(image).toHaveAttribute('width', '96');
  await expect(image).toHaveAttribute('height', '64');

  const served = await page.request.get(url);
  expect(served.status()).toBe(200);
  expect(served.headers()['content-type']).toBe('image/webp');
  expect(served.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(served.headers()['x-content-type-options']).toBe('nosniff');
  expect((await served.body()).subarray(8, 12).toString()).toBe('WEBP');

  await item.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/owner\/media\?deleted=1$/);
  await expect(page.getByAltText('A blue and orange checkerboard')).toHaveCount(0);
  expect((await page.request.get(url)).status()).toBe(404);
});

// Last: it leaves the account paused for a minute.
test('six wrong passwords get a 429 page that says how long to wait', async ({ browser }) => {
  const attacker = await other(browser, '198.51.100.62');
  const page = await attacker.newPage();
  const statuses: number[] = [];
  for (let attempt = 1; attempt <= 6; attempt += 1) {
    await page.goto('/sign-in');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(`wrong guess number ${attempt}`);
    const answer = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const response = await answer;
    statuses.push(response.status());
    if (response.status() === 429) {
      expect(Number(response.headers()['retry-after'])).toBeGreaterThan(0);
    }
  }
  expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
  await expect(page.getByTestId('form-summary')).toHaveText(/sign-in is paused: try again in a minute\./);
  // Even the right password waits now.
  await page.getByLabel('Password').fill(PASSWORD);
  const answer = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Sign in' }).click();
  expect((await answer).status()).toBe(429);
  expect(await attacker.cookies()).toEqual([]);
  const events = sql("select event from security_log where event in ('sign_in_failed', 'locked_out') order by id");
  expect(events.filter((e) => e === 'locked_out')).toHaveLength(1);
  await attacker.close();
});
