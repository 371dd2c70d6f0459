import AxeBuilder from '@axe-core/playwright';
import type { Browser } from '@playwright/test';
import { expect, resetOwner, signInAsOwner, sql, test } from '../fixtures';

// Editing in place through a real browser, as plain HTML forms: the headline edited on the home
// page and seen by a visitor, then restored from its history; a project created as a draft,
// previewed, scheduled, published, moved and deleted with undo; two tabs saving the same
// project. The tests share one owner and run in order, and leave the demo content as it was.

test.describe.configure({ mode: 'serial' });
test.use({ javaScriptEnabled: false });

const TITLE = 'Saltmarsh sound recordings';
const SLUG = 'saltmarsh-sound-recordings';

/** What an anonymous visitor, in a browser of their own, gets at `address`. */
async function asVisitor(browser: Browser, address: string): Promise<{ status: number; text: string }> {
  const visitor = await browser.newContext({ javaScriptEnabled: false, extraHTTPHeaders: { 'x-forwarded-for': '203.0.113.50' } });
  const page = await visitor.newPage();
  const response = await page.goto(address);
  const text = await page.locator('main').innerText();
  await visitor.close();
  return { status: response?.status() ?? 0, text };
}

test.beforeAll(() => {
  resetOwner();
  sql(`delete from projects where slug like '${SLUG}%'`);
});

test.afterAll(() => {
  sql(`delete from projects where slug like '${SLUG}%'; delete from sign_in_failures`);
});

test('the owner edits the headline on the home page; a visitor sees it; history brings the old one back', async ({ page, browser }) => {
  await signInAsOwner(page);
  await page.goto('/');
  const original = (await page.getByTestId('headline').innerText()).trim();
  await page.getByTestId('edit-link').click();
  await expect(page).toHaveURL(/\/\?edit$/);
  const headline = page.getByLabel('Headline');
  await expect(headline).toHaveValue(original);
  await headline.fill('I chart quiet coastlines');
  await page.getByTestId('save').click();
  await expect(page).toHaveURL(/\/\?saved$/);
  await expect(page.getByTestId('saved-notice')).toHaveText('Saved.');
  await expect(page.getByTestId('headline')).toHaveText('I chart quiet coastlines');
  expect((await asVisitor(browser, '/')).text).toContain('I chart quiet coastlines');

  // The history shows what the save changed, and restores the version before it.
  await page.getByRole('link', { name: 'History' }).click();
  const versions = page.getByTestId('revisions').getByRole('link');
  await versions.first().click();
  await expect(page.getByTestId('revision')).toContainText('+ I chart quiet coastlines');
  await expect(page.getByTestId('revision')).toContainText(`- ${original}`);
  await page.getByTestId('revisions').getByRole('link').nth(1).click();
  await page.getByTestId('restore').click();
  await expect(page).toHaveURL(/\/\?saved$/);
  await expect(page.getByTestId('headline')).toHaveText(original);
  expect((await asVisitor(browser, '/')).text).toContain(original);
  await page.goto('/owner/history/profile/1');
  await expect(page.getByTestId('revisions')).toContainText('Restored an earlier version');
});

test('a new project is a draft, previewed, scheduled, then published, and moves in the order', async ({ page, browser, guard }) => {
  await signInAsOwner(page);
  await page.goto('/owner/content');
  await page.getByLabel('Title of the new project').fill(TITLE);
  await page.getByRole('button', { name: 'New project' }).click();
  await expect(page).toHaveURL(new RegExp(`/projects/${SLUG}\\?edit$`));
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Editing \u201c${TITLE}\u201d`);

  await page.getByLabel('Summary').fill('Listening to the tide come in, one microphone at a time.');
  await page.getByLabel('Case study').fill('## Why\n\nBecause **marshes** are loud.\n\n<script>alert(1)</script>');
  await page.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByTestId('preview').locator('strong')).toHaveText('marshes');
  // Raw HTML is never markup: it shows as the text it is.
  await expect(page.getByTestId('preview').locator('script')).toHaveCount(0);
  await expect(page.getByTestId('preview')).toContainText('<script>alert(1)</script>');
  await expect(page.getByLabel('Summary')).toHaveValue(/one microphone/);
  await page.getByTestId('save').click();
  await expect(page).toHaveURL(new RegExp(`/projects/${SLUG}\\?saved$`));
  await expect(page.getByTestId('item-status')).toHaveText('Draft: only you can see it');
  expect((await asVisitor(browser, `/projects/${SLUG}`)).status).toBe(404);

  // A time that has passed is refused; one to come schedules it, still hidden.
  await page.getByTestId('edit-link').click();
  guard.expectStatus(`/owner/edit/project/${sql(`select id from projects where slug = '${SLUG}'`)[0]}`, 422);
  await page.getByLabel('Publish at (UTC)').fill('2001-01-01T00:00');
  await page.getByRole('button', { name: 'Schedule' }).click();
  await expect(page.getByLabel('Publish at (UTC)')).toHaveAccessibleDescription(/Choose a time to come/);
  await page.getByLabel('Publish at (UTC)').fill('2099-06-01T09:30');
  await page.getByRole('button', { name: 'Schedule' }).click();
  await expect(page.getByTestId('item-status')).toHaveText('Scheduled for 2099-06-01 09:30 UTC');
  expect((await asVisitor(browser, `/projects/${SLUG}`)).status).toBe(404);
  expect((await asVisitor(browser, '/projects')).text).not.toContain(TITLE);

  await page.getByTestId('edit-link').click();
  await page.getByRole('button', { name: 'Publish now' }).click();
  await expect(page.getByTestId('item-status')).toContainText('Published');
  const seen = await asVisitor(browser, `/projects/${SLUG}`);
  expect(seen.status).toBe(200);
  expect(seen.text).toContain('Because marshes are loud.');

  // New projects go to the end of the order; one move puts it a place earlier.
  await page.goto('/owner/content');
  const rows = page.getByTestId('content-project');
  const count = await rows.count();
  await expect(rows.nth(count - 1)).toContainText(TITLE);
  await page.getByRole('button', { name: `Move \u201c${TITLE}\u201d up` }).click();
  await expect(page.getByTestId('content-project').nth(count - 2)).toContainText(TITLE);
});

test('two tabs editing one project: the later save shows both versions and overwrites nothing', async ({ page, context, guard }) => {
  await signInAsOwner(page);
  const id = sql(`select id from projects where slug = '${SLUG}'`)[0];
  const other = await context.newPage();
  await page.goto(`/projects/${SLUG}?edit`);
  await other.goto(`/projects/${SLUG}?edit`);

  await page.getByLabel('Summary').fill('Saved first, from tab one.');
  await page.getByTestId('save').click();
  await expect(page).toHaveURL(/\?saved$/);

  await other.getByLabel('Summary').fill('Saved second, from tab two.');
  const refused = other.waitForResponse((r) => r.url().endsWith(`/owner/edit/project/${id}`));
  await other.getByTestId('save').click();
  expect((await refused).status()).toBe(409);
  const conflict = other.getByTestId('conflict');
  await expect(conflict).toContainText('This changed while you were editing');
  await expect(conflict).toContainText('Saved first, from tab one.');
  await expect(conflict).toContainText('Saved second, from tab two.');
  await expect(other.getByLabel('Summary')).toHaveValue('Saved second, from tab two.');
  expect(sql(`select summary from projects where id = ${id}`)).toEqual(['Saved first, from tab one.']);

  // Choosing to keep tab two's text is a deliberate save over the newer version.
  await other.getByTestId('save').click();
  await expect(other).toHaveURL(/\?saved$/);
  expect(sql(`select summary from projects where id = ${id}`)).toEqual(['Saved second, from tab two.']);
  await other.close();
  guard.expectStatus(`/owner/edit/project/${id}`, 409);
});

test.describe('with JavaScript', () => {
  test.use({ javaScriptEnabled: true });

  const drafts = (page: import('@playwright/test').Page) =>
    page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('folio-draft:')).length);

  test('an unsaved edit survives a reload until discarded, and Ctrl+S saves', async ({ page }) => {
    await signInAsOwner(page);
    await page.goto(`/projects/${SLUG}?edit`);
    const summary = page.getByLabel('Summary');
    const saved = await summary.inputValue();
    await summary.fill('Typed, and never saved.');
    await expect.poll(() => drafts(page)).toBe(1);

    await page.reload();
    await expect(page.getByTestId('draft-notice')).toContainText('Your unsaved changes from');
    await expect(summary).toHaveValue('Typed, and never saved.');
    await page.getByRole('button', { name: 'Discard them' }).click();
    await expect(summary).toHaveValue(saved);
    expect(await drafts(page)).toBe(0);
    await page.reload();
    await expect(page.getByTestId('draft-notice')).toHaveCount(0);

    await summary.fill('Saved with the keyboard.');
    await summary.press('Control+s');
    await expect(page).toHaveURL(/\?saved$/);
    expect(sql(`select summary from projects where slug = '${SLUG}'`)).toEqual(['Saved with the keyboard.']);
    await expect.poll(() => drafts(page)).toBe(0);
  });
});

test('a deleted project is gone for visitors until the owner undoes it', async ({ page, browser }) => {
  await signInAsOwner(page);
  await page.goto(`/projects/${SLUG}`);
  await page.getByTestId('owner-tools').getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/owner\/content\?deleted=project:\d+$/);
  await expect(page.getByTestId('deleted-notice')).toContainText(`Deleted \u201c${TITLE}\u201d.`);
  expect((await asVisitor(browser, `/projects/${SLUG}`)).status).toBe(404);
  await page.getByTestId('undo-delete').click();
  await expect(page).toHaveURL(new RegExp(`/projects/${SLUG}\\?saved$`));
  expect((await asVisitor(browser, `/projects/${SLUG}`)).status).toBe(200);
});

test('the editor, the content list and the history have no serious accessibility findings', async ({ browser }) => {
  for (const colorScheme of ['light', 'dark'] as const) {
    // axe runs as a script in the page, so this visit has JavaScript on.
    const owner = await browser.newContext({ colorScheme, javaScriptEnabled: true });
    const page = await owner.newPage();
    await signInAsOwner(page);
    const id = sql(`select id from projects where slug = '${SLUG}'`)[0];
    for (const address of [`/projects/${SLUG}?edit`, '/?edit', '/about?edit', '/owner/content', `/owner/history/project/${id}?v=2`]) {
      await page.goto(address);
      const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
      const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(serious.map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), `${address} (${colorScheme})`).toEqual([]);
    }
    await owner.close();
  }
});
