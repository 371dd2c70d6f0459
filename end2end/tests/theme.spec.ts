import { expect, test, themeToggle, waitForHydration } from '../fixtures';

const LIGHT_BG = 'rgb(250, 250, 247)';
const DARK_BG = 'rgb(0, 0, 0)';

test.describe('theme toggle', () => {
  test.use({ colorScheme: 'light' });

  test('hydrates, switches to dark, and the choice survives a reload', async ({ page }) => {
    await page.goto('/');
    const html = page.locator('html');
    const body = page.locator('body');
    const toggle = themeToggle(page);

    // No theme is chosen yet, and the page follows the light system theme.
    await expect(html).not.toHaveAttribute('data-theme');
    await expect(body).toHaveCSS('background-color', LIGHT_BG);

    // The button shows itself once its island has hydrated, so the first click works.
    await expect(toggle).toBeVisible({ timeout: 20_000 });
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-pressed', 'true');
    await expect(html).toHaveAttribute('data-theme', 'dark');
    await expect(body).toHaveCSS('background-color', DARK_BG);
    expect(await page.evaluate(() => localStorage.getItem('folio-theme'))).toBe('dark');

    // Reload: the stored choice is applied by the head script, before any WASM could run.
    await page.reload({ waitUntil: 'domcontentloaded' });
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await expect(body).toHaveCSS('background-color', DARK_BG);
    // Once hydrated, the island learns the stored theme and shows itself pressed.
    await expect(toggle).toHaveAttribute('aria-pressed', 'true', { timeout: 20_000 });

    // And back to light, which is remembered too.
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await expect(html).toHaveAttribute('data-theme', 'light');
    await expect(body).toHaveCSS('background-color', LIGHT_BG);
    expect(await page.evaluate(() => localStorage.getItem('folio-theme'))).toBe('light');

    await page.reload({ waitUntil: 'domcontentloaded' });
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await waitForHydration(page);
  });
});

test.describe('theme toggle with a dark system theme', () => {
  test.use({ colorScheme: 'dark' });

  test('starts pressed and switches to light', async ({ page }) => {
    await page.goto('/');
    const html = page.locator('html');
    const toggle = themeToggle(page);

    await expect(html).not.toHaveAttribute('data-theme');
    await expect(page.locator('body')).toHaveCSS('background-color', DARK_BG);
    // The server cannot know the system theme and renders the toggle unpressed; the hydrated
    // island corrects it.
    await expect(toggle).toHaveAttribute('aria-pressed', 'true', { timeout: 20_000 });

    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await expect(html).toHaveAttribute('data-theme', 'light');
    await expect(page.locator('body')).toHaveCSS('background-color', LIGHT_BG);
    expect(await page.evaluate(() => localStorage.getItem('folio-theme'))).toBe('light');
  });
});
