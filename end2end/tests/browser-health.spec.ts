import { expect, gotoHydrated, gotoLoaded, test, themeToggle } from '../fixtures';

// The `guard` fixture (fixtures.ts) watches every test's page and fails the test on any console
// error or warning, uncaught exception, failed request, error response or CSP violation. These
// tests give it whole visits to check; the last one proves the guard really notices problems.

test('the home page loads, hydrates and is used without a single browser complaint', async ({ page }) => {
  await gotoHydrated(page, '/');
  await expect(page.getByRole('heading', { level: 2, name: 'Selected work' })).toBeVisible();

  // The toggle works by mouse and by keyboard.
  const toggle = themeToggle(page);
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await toggle.focus();
  await page.keyboard.press('Space');
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
});

test('keyboard users can skip straight to the content', async ({ page }) => {
  await page.goto('/');
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  // Hidden off-screen until focused, then shown.
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('main')).toBeFocused();
});

test('the 404 page hydrates without complaints too', async ({ page, guard }) => {
  guard.expectStatus('/no-such-page', 404);
  const response = await gotoHydrated(page, '/no-such-page');
  expect(response.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toBeVisible();
});

test('the guard notices console errors, exceptions, failed requests and CSP violations', async ({
  page,
  guard,
}) => {
  await gotoLoaded(page, '/');
  await page.route('**/guard-probe/aborted', (route) => route.abort());
  await page.evaluate(async () => {
    console.error('guard probe: console error');
    setTimeout(() => {
      throw new Error('guard probe: uncaught');
    });
    // An inline <style> is refused by the CSP (style-src 'self').
    const style = document.createElement('style');
    style.textContent = 'body { outline: 1px solid red }';
    document.head.append(style);
    await fetch('/guard-probe/missing');
    await fetch('/guard-probe/aborted').catch(() => undefined);
  });

  const p = guard.problems;
  await expect.poll(() => p.pageErrors.join('\n')).toContain('guard probe: uncaught');
  await expect.poll(() => p.cspViolations.join('\n')).toContain('style-src-elem');
  await expect.poll(() => p.consoleMessages.join('\n')).toContain('guard probe: console error');
  // Chromium also logs the refusal and the error response to the console.
  await expect.poll(() => p.consoleMessages.join('\n')).toContain('Content Security Policy');
  await expect.poll(() => p.consoleMessages.join('\n')).toContain('status of 404');
  await expect.poll(() => p.errorResponses.join('\n')).toContain('/guard-probe/missing: 404');
  await expect.poll(() => p.failedRequests.join('\n')).toContain('/guard-probe/aborted');

  // All of that was provoked on purpose; let the teardown check pass.
  guard.reset();
});
