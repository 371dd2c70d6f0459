import { expect, test } from '../fixtures';

// Every page is rendered whole on the server: a visitor without JavaScript gets the same content.
test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the home page shows who, featured work and recent writing', async ({ page }) => {
    const response = await page.goto('/');
    expect(response?.status()).toBe(200);
    // The e2e database starts empty, so folio loads its demo content (a fictional portfolio).
    await expect(page).toHaveTitle('Iris Kaldemaar');

    await expect(page.getByRole('heading', { level: 1 })).toHaveCount(1);
    const work = page.getByRole('region', { name: 'Selected work' });
    await expect(work.getByTestId('project-card')).toHaveCount(4);
    await expect(work.getByRole('link', { name: /tide/i })).toBeVisible();
    const writing = page.getByRole('region', { name: 'Recent writing' });
    await expect(writing.getByTestId('post-item')).toHaveCount(3);

    // The stylesheet applies (the light palette, since no theme was chosen)...
    await expect(page.locator('body')).toHaveCSS('background-color', 'rgb(250, 250, 247)');
    // ...and the theme toggle, which needs JavaScript, is not shown as a dead button.
    await expect(page.getByTestId('theme-toggle')).toBeHidden();
  });

  test('an unknown address answers 404 with a page that leads back home', async ({ page, guard }) => {
    guard.expectStatus('/no-such-page', 404);
    const response = await page.goto('/no-such-page');
    expect(response?.status()).toBe(404);
    await expect(page).toHaveTitle('Page not found · folio');

    const notFound = page.getByTestId('not-found');
    await expect(notFound.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
    await notFound.getByRole('link', { name: 'Back to the home page' }).click();
    await expect(page).toHaveURL('/');
    await expect(page.getByRole('heading', { level: 2, name: 'Selected work' })).toBeVisible();
  });
});
