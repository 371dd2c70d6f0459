import type { Browser, Page } from '@playwright/test';
import { expect, gotoHydrated, resetOwner, signInAsOwner, sql, test } from '../fixtures';

// The editor with the owner's script: Markdown previewed live as it is typed, the experience
// timeline and skills edited where they show on /about, projects put in order by dragging, and a
// picture dropped on the media form, uploaded with its progress shown, then used as a cover.
// Each test leaves the demo content as it found it, and waits for a page to be hydrated before
// using it, as a person would not click within the first milliseconds.

test.describe.configure({ mode: 'serial' });
test.use({ javaScriptEnabled: true });

/** The text of `main` that an anonymous visitor, in a browser of their own, gets at `address`. */
async function asVisitor(browser: Browser, address: string): Promise<string> {
  const visitor = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { 'x-forwarded-for': '203.0.113.51' } });
  const page = await visitor.newPage();
  await page.goto(address);
  const text = await page.locator('main').innerText();
  await visitor.close();
  return text;
}

const firstProject = () => sql('select slug from projects where published_at <= now() order by sort_order, published_at desc, id limit 1')[0];

test.beforeAll(() => {
  resetOwner();
});

test.afterAll(() => {
  sql('delete from sign_in_failures');
});

test('the Markdown of a case study is previewed as it is typed, sanitized by the server', async ({ page }) => {
  await signInAsOwner(page);
  const slug = firstProject();
  const body = sql(`select md5(body) from projects where slug = '${slug}'`);
  await gotoHydrated(page, `/projects/${slug}?edit`);
  const preview = page.getByTestId('live-preview');
  // Shown from the start, as the stored text renders.
  await expect(preview.locator('.prose')).not.toBeEmpty();

  await page.getByLabel('Case study').fill(
    '## Typed just now\n\nTide **tables**.\n\n<img src=x onerror="window.pwned = 1"> [link](javascript:window.pwned=2)\n\n```rust\nfn main() {}\n```',
  );
  await expect(preview.getByRole('heading', { level: 2, name: 'Typed just now' })).toBeVisible();
  await expect(preview.locator('strong')).toHaveText('tables');
  // Highlighted on the server, as visitors get it.
  await expect(preview.locator('pre code span').first()).toBeVisible();
  await expect(preview.locator('img, [onerror], a[href^="javascript"]')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  // Previewing saves nothing.
  expect(sql(`select md5(body) from projects where slug = '${slug}'`)).toEqual(body);
  await page.getByRole('link', { name: 'Cancel' }).click();
  await page.evaluate(() => localStorage.clear());
});

test('the timeline and skills are edited where they show, and a visitor sees them', async ({ page, browser }) => {
  await signInAsOwner(page);
  const before = sql("select count(*) from experience")[0];
  const skillsBefore = sql("select count(*) from skills")[0];
  await gotoHydrated(page, '/about');
  await page.getByTestId('edit-experience').click();
  await expect(page).toHaveURL(/\/about\?edit#edit-experience$/);
  const entries = page.getByTestId('timeline-entry');
  await expect(entries).toHaveCount(Number(before) + 1);

  // The blank entry, then one more from "Add another entry".
  const blank = entries.last();
  await blank.getByLabel('Role').fill('Harbour pilot');
  await blank.getByLabel('Organisation').fill('Port of Nowhere');
  await blank.getByLabel('From (month)').fill('2031-02');
  await blank.getByLabel('Summary').fill('Brought ships in through the fog.');
  await page.getByRole('button', { name: 'Add another entry' }).click();
  const added = entries.last();
  await expect(added.getByLabel('Role')).toBeFocused();
  await added.getByLabel('Role').fill('Deckhand');
  await added.getByLabel('Organisation').fill('The Saltwater Ferry');
  await added.getByLabel('From (month)').fill('1999-05');
  await added.getByLabel('To (month; empty while it lasts)').fill('2001-08');
  const skills = page.getByLabel('Skills', { exact: true });
  await skills.fill(`${await skills.inputValue()}\nSeamanship: Knots, Tides`);
  await page.getByTestId('save').click();

  await expect(page).toHaveURL(/\/about\?saved$/);
  const timeline = page.getByTestId('timeline');
  await expect(timeline.locator('li').first()).toContainText('Harbour pilot · Port of Nowhere');
  await expect(timeline.locator('li').last()).toContainText('Deckhand · The Saltwater Ferry');
  await expect(timeline.locator('li').last()).toContainText('1999-05 – 2001-08');
  const seen = await asVisitor(browser, '/about');
  expect(seen).toContain('Harbour pilot');
  expect(seen).toContain('Brought ships in through the fog.');
  expect(seen).toContain('Knots, Tides');

  // Removing them again: each stored entry has its own "Remove this entry".
  await page.getByTestId('edit-skills').click();
  for (const role of ['Harbour pilot', 'Deckhand']) {
    const entry = entries.filter({ has: page.locator(`input[value="${role}"]`) });
    await entry.getByLabel('Remove this entry').check();
  }
  await skills.fill((await skills.inputValue()).replace(/\nSeamanship: Knots, Tides$/, ''));
  await page.getByTestId('save').click();
  await expect(page).toHaveURL(/\/about\?saved$/);
  expect(sql("select count(*) from experience")).toEqual([before]);
  expect(sql("select count(*) from skills")).toEqual([skillsBefore]);
  expect(await asVisitor(browser, '/about')).not.toContain('Harbour pilot');
});

test('a project dragged onto another takes its place, for visitors too', async ({ page, browser }) => {
  await signInAsOwner(page);
  await gotoHydrated(page, '/owner/content');
  const rows = page.getByTestId('content-project');
  const titles = async () => (await rows.locator('a:not([href$="?edit"]):not([href^="/owner"])').allInnerTexts()).map((t) => t.trim());
  const before = await titles();
  expect(before.length).toBeGreaterThan(3);

  await rows.nth(2).dragTo(rows.nth(0));
  await expect(page.getByTestId('order-status')).toHaveText(`Moved \u201c${before[2]}\u201d to place 1.`);
  const moved = [before[2], before[0], before[1], ...before.slice(3)];
  expect(await titles()).toEqual(moved);
  await expect(rows.nth(0).getByRole('button', { name: /up$/ })).toBeDisabled();
  await page.reload();
  expect(await titles()).toEqual(moved);
  const index = await asVisitor(browser, '/projects');
  expect(index.indexOf(before[2])).toBeLessThan(index.indexOf(before[0]));

  // And back where it was.
  await rows.nth(0).dragTo(rows.nth(2));
  await expect(page.getByTestId('order-status')).toHaveText(`Moved \u201c${before[2]}\u201d to place 3.`);
  await page.reload();
  expect(await titles()).toEqual(before);
});

/** A PNG of random pixels (so it does not compress), made by the page's canvas. */
async function dropNoisyPicture(page: Page, selector: string): Promise<void> {
  const transfer = await page.evaluateHandle(async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 480;
    const context = canvas.getContext('2d')!;
    const pixels = context.createImageData(canvas.width, canvas.height);
    for (let i = 0; i < pixels.data.length; i += 1) pixels.data[i] = i % 4 === 3 ? 255 : Math.floor(Math.random() * 256);
    context.putImageData(pixels, 0, 0);
    const blob = await new Promise<Blob>((done) => canvas.toBlob((b) => done(b!), 'image/png'));
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], 'noise.png', { type: 'image/png' }));
    return transfer;
  });
  await page.dispatchEvent(selector, 'dragenter', { dataTransfer: transfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: transfer });
}

test('a picture dropped on the media form uploads with its progress, then becomes a cover', async ({ page, browser, guard }) => {
  test.setTimeout(60_000); // the upload is throttled on purpose
  await signInAsOwner(page);
  await gotoHydrated(page, '/owner/media');
  await dropNoisyPicture(page, 'form[data-upload]');
  await expect(page.getByTestId('upload-chosen')).toContainText('noise.png');
  await expect(page.getByLabel('Alt text')).toBeFocused();
  await page.getByLabel('Alt text').fill('Static on a night sea');

  // A slow uplink, so that the upload is seen under way.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 256 * 1024 });
  await page.getByRole('button', { name: 'Upload' }).click();
  const bar = page.getByTestId('upload-progress');
  await expect(bar).toBeVisible();
  await expect.poll(async () => Number(await bar.getAttribute('value'))).toBeGreaterThan(0);
  await expect(page.getByTestId('upload-status')).toContainText(/Uploading… \d+%/);
  await expect(page).toHaveURL(/\/owner\/media\?added=[0-9a-f]{32}$/, { timeout: 30_000 });
  await cdp.send('Network.disable');
  await cdp.detach();

  const item = page.getByTestId('media-item').filter({ has: page.getByAltText('Static on a night sea') });
  const url = ((await item.getByTestId('media-url').textContent()) ?? '').trim();
  expect(url).toMatch(/^\/media\/[0-9a-f]{32}-640\.webp$/);
  const key = url.slice('/media/'.length, '/media/'.length + 32);

  // The cover of the first project: picked from the library's suggestions by its address.
  const slug = firstProject();
  const restoreCover = sql(
    `select format('update projects set cover = %L, cover_alt = %L, cover_srcset = %L where slug = %L', cover, cover_alt, cover_srcset, slug)
     from projects where slug = '${slug}'`,
  )[0];
  await page.goto(`/projects/${slug}?edit`);
  await expect(page.locator(`#edit-pictures option[value="${url}"]`)).toHaveText('Static on a night sea');
  await page.getByLabel('Cover image').fill(url);
  await page.getByLabel('Cover description (alt text)').fill('Static on a night sea');
  await page.getByTestId('save').click();
  await expect(page).toHaveURL(new RegExp(`/projects/${slug}\\?saved$`));

  const visitor = await browser.newContext({ javaScriptEnabled: false });
  const seen = await visitor.newPage();
  await seen.goto(`/projects/${slug}`);
  const image = seen.getByRole('img', { name: 'Static on a night sea' });
  await expect(image).toHaveAttribute('src', url);
  await expect(image).toHaveAttribute('srcset', new RegExp(`/media/${key}-640\\.webp 640w`));
  expect(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  await visitor.close();

  // In use, the picture cannot be deleted; with the cover put back, it can.
  await page.goto('/owner/media');
  guard.expectStatus(`/owner/media/${key}/delete`, 409);
  await item.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByTestId('form-summary').first()).toContainText('still used by');
  await expect(item).toHaveCount(1);
  sql(restoreCover);
  await page.goto('/owner/media');
  await item.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/owner\/media\?deleted=1$/);
  await expect(item).toHaveCount(0);
});
