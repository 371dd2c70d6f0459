import { expect, gotoHydrated, test } from '../fixtures';

// Once hydrated, the projects index filters, searches and pages in place: no page load, the
// address bar follows, and Back and Forward show what they name. (pages.spec.ts proves the
// same links and form work without JavaScript.)

test('tags, search as you type and pages update in place, and history follows', async ({ page }) => {
  await gotoHydrated(page, '/projects');
  await expect(page.locator('[data-live="ready"]')).toBeAttached();
  // Survives only if no navigation replaces the document.
  await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same document'));
  const stillHere = async () =>
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same document');
  const cards = page.getByTestId('project-card');
  const count = page.getByTestId('result-count');
  const tags = page.getByRole('navigation', { name: 'Filter by tag' });
  const search = page.getByRole('searchbox', { name: 'Search projects' });

  await expect(count).toHaveText('12 projects');
  await tags.getByRole('link', { name: 'typography' }).click();
  await expect(page).toHaveURL('/projects?tag=typography');
  await expect(count).toHaveText('3 projects match');
  await expect(cards).toHaveCount(3);
  await expect(tags.getByRole('link', { name: 'typography' })).toHaveAttribute('aria-current', 'page');
  await expect(page).toHaveTitle(/Projects/);
  // The clicked link was replaced; focus goes to the announced result, not to the page's top.
  await expect(count).toBeFocused();
  await stillHere();

  // Typing searches after a pause, within the chosen tag; one history entry for the whole word.
  await search.pressSequentially('quillon', { delay: 40 });
  await expect(page).toHaveURL('/projects?q=quillon&tag=typography');
  await expect(cards).toHaveCount(1);
  await expect(count).toHaveText('1 project matches');
  await expect(search).toBeFocused();
  await stillHere();

  await page.goBack();
  await expect(page).toHaveURL('/projects?tag=typography');
  await expect(cards).toHaveCount(3);
  await expect(search).toHaveValue('');
  await page.goBack();
  await expect(page).toHaveURL('/projects');
  await expect(count).toHaveText('12 projects');
  await page.goForward();
  await expect(page).toHaveURL('/projects?tag=typography');
  await expect(count).toHaveText('3 projects match');
  await stillHere();

  // Pages, then a search with the button (Enter) that finds nothing.
  await tags.getByRole('link', { name: 'All' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Older' }).click();
  await expect(page).toHaveURL('/projects?page=2');
  await expect(cards).toHaveCount(3);
  await search.fill('zzzz-nothing');
  await search.press('Enter');
  await expect(page).toHaveURL('/projects?q=zzzz-nothing');
  await expect(count).toHaveText('No projects match.');
  await expect(cards).toHaveCount(0);
  await stillHere();

  // Opening a case study from the results is an ordinary navigation.
  await search.fill('');
  await search.press('Enter');
  await expect(page).toHaveURL('/projects');
  await cards.first().getByRole('link').click();
  await expect(page.getByTestId('case-study')).toBeVisible();
});
