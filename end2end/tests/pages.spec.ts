import { expect, test } from '../fixtures';

// The visitor's pages over the demo content, with and without JavaScript: filters are links and
// a GET form, so they work the same either way.
for (const javaScriptEnabled of [false, true]) {
  test.describe(javaScriptEnabled ? 'with JavaScript' : 'without JavaScript', () => {
    test.use({ javaScriptEnabled });

    test('the projects index filters by tag and by search, and pages', async ({ page }) => {
      await page.goto('/projects');
      await expect(page.getByRole('heading', { level: 1, name: 'Projects' })).toBeVisible();
      await expect(page.getByTestId('result-count')).toHaveText('12 projects');
      await expect(page.getByTestId('project-card')).toHaveCount(9);

      const pages = page.getByRole('navigation', { name: 'Pages' });
      await pages.getByRole('link', { name: 'Older' }).click();
      await expect(page).toHaveURL('/projects?page=2');
      await expect(page.getByTestId('project-card')).toHaveCount(3);

      await page.getByRole('navigation', { name: 'Filter by tag' }).getByRole('link', { name: 'typography' }).click();
      await expect(page).toHaveURL('/projects?tag=typography');
      await expect(page.getByTestId('result-count')).toHaveText('3 projects match');
      await expect(page.getByRole('link', { name: 'typography' })).toHaveAttribute('aria-current', 'page');

      await page.getByRole('searchbox', { name: 'Search projects' }).fill('type specimen');
      await page.getByRole('button', { name: 'Search' }).click();
      await expect(page).toHaveURL(/\/projects\?q=type\+specimen&tag=typography$/);
      await expect(page.getByTestId('project-card')).toHaveCount(1);
      await expect(page.getByTestId('project-card').getByRole('link')).toHaveText(/quillon/i);

      await page.goBack();
      await expect(page).toHaveURL('/projects?tag=typography');
      await expect(page.getByTestId('project-card')).toHaveCount(3);
    });

    test('a case study reads whole, with highlighted code and anchored headings', async ({ page }) => {
      await page.goto('/projects');
      await page.getByTestId('project-card').first().getByRole('link').click();
      const study = page.getByTestId('case-study');
      await expect(study.getByRole('heading', { level: 1 })).toBeVisible();
      await expect(study.getByRole('img').first()).toHaveAttribute('alt', /.+/);
      const anchored = study.locator('h2[id]');
      expect(await anchored.count()).toBeGreaterThan(1);
      await expect(study.locator('pre code').first()).toBeVisible();
    });

    test('writing and about pages', async ({ page }) => {
      await page.goto('/writing');
      await expect(page.getByTestId('post-item')).toHaveCount(4);
      await page.getByTestId('post-item').first().getByRole('link').click();
      await expect(page.getByTestId('post').getByRole('heading', { level: 1 })).toBeVisible();

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'About' }).click();
      await expect(page.getByRole('heading', { level: 1, name: /About/ })).toBeVisible();
      await expect(page.getByTestId('timeline').getByRole('listitem')).toHaveCount(5);
    });
  });
}

test('a bad page number is a clear 400, not an error page from the server', async ({ page, guard }) => {
  guard.expectStatus('/projects', 400);
  const response = await page.goto('/projects?page=abc');
  expect(response?.status()).toBe(400);
  await expect(page.getByRole('alert')).toContainText('is not a page number');
});
