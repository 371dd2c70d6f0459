import AxeBuilder from '@axe-core/playwright';
import type { APIRequestContext, Page } from '@playwright/test';
import { expect, gotoHydrated, resetOwner, signInAsOwner, sql, test } from '../fixtures';

// The owner's Core Web Vitals dashboard in a real browser: values posted as visitors' beacons
// show up as the p75 the database gives, the period changes through the GET form with and
// without JavaScript, and axe finds nothing serious in either theme. The numbers are compared
// with what PostgreSQL computes from the stored rows, so other specs' beacons do no harm.

test.describe.configure({ mode: 'serial' });

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36';
const METRICS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'] as const;

/** Twelve page views' beacons, as a visitor's browser sends them. */
async function postBeacons(request: APIRequestContext, baseURL: string): Promise<void> {
  for (let n = 0; n < 12; n += 1) {
    const id = (metric: string) => `e2e-${metric}-${Date.now()}-${n}`.toLowerCase();
    const metrics = [
      { name: 'LCP', value: 900 + n * 310, attribution: { element: n % 2 ? 'main > img.cover' : 'h1' } },
      { name: 'INP', value: 40 + n * 45, attribution: { target: 'button.theme-toggle' } },
      { name: 'CLS', value: (n % 4) * 0.04 },
      { name: 'FCP', value: 500 + n * 150 },
      { name: 'TTFB', value: 60 + n * 90 },
    ].map((m) => ({ id: id(m.name), delta: m.value, rating: 'good', ...m }));
    const response = await request.post('/api/vitals', {
      headers: {
        'content-type': 'application/json',
        'user-agent': CHROME,
        origin: baseURL,
        // Each view from its own address, as the trusted proxy in front says.
        'x-forwarded-for': `198.51.100.${n + 10}`,
      },
      data: JSON.stringify({
        page: n % 3 ? '/projects/harbour' : '/',
        view: `e2e-view-${Date.now()}-${n}`,
        nav: 'navigate',
        ect: '4g',
        ref: n % 2 ? 'https://news.example/item' : '',
        metrics,
      }),
    });
    expect(response.status(), await response.text()).toBe(204);
  }
}

/** The nearest-rank p75 of a metric's stored values over the last 28 days, as PostgreSQL gives it. */
function p75(metric: string): number {
  const [value] = sql(
    `select percentile_disc(0.75) within group (order by value) from vitals_metrics
     where name = '${metric}' and day > (now() at time zone 'UTC')::date - 28`,
  );
  return Number(value);
}

async function expectNumbers(page: Page): Promise<void> {
  for (const metric of METRICS) {
    const card = page.locator(`article[data-metric="${metric}"]`);
    await expect(card).toBeVisible();
    expect(Number(await card.getAttribute('data-p75')), `${metric} p75`).toBe(p75(metric));
    // The rating is said in words beside the number.
    await expect(card.locator('.p75 .rating')).toHaveText(/^(Good|Needs improvement|Poor)$/);
  }
  await expect(page.getByTestId('assessment')).toContainText('Core Web Vitals assessment:');
}

test.beforeAll(async ({ request, baseURL }) => {
  resetOwner();
  await postBeacons(request, baseURL ?? '');
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the owner sees the numbers and changes the period with the form', async ({ page }) => {
    await signInAsOwner(page);
    await page.goto('/owner/vitals');
    await expect(page.getByRole('heading', { level: 1, name: 'Core Web Vitals' })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Owner' }).getByRole('link', { name: 'Web Vitals' })).toHaveAttribute(
      'aria-current',
      'page',
    );
    await expectNumbers(page);
    await expect(page.getByRole('img', { name: /^LCP p75 by day/ })).toBeVisible();
    await page.getByText('LCP as a table').click();
    await expect(page.getByTestId('table-LCP').locator('td[data-p75]')).toHaveCount(1);

    await page.getByRole('combobox', { name: 'Period' }).selectOption('7d');
    await page.getByRole('combobox', { name: 'Device' }).selectOption('desktop');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page).toHaveURL(/\/owner\/vitals\?period=7d&route=&device=desktop&nav=$/);
    await expect(page.getByRole('combobox', { name: 'Period' })).toHaveValue('7d');
    await expect(page.getByRole('combobox', { name: 'Device' })).toHaveValue('desktop');
    await expect(page.locator('article[data-metric="LCP"]')).toHaveAttribute('data-n', /^[1-9]\d*$/);
  });

  test('a visitor is sent to sign in', async ({ page }) => {
    await page.goto('/owner/vitals');
    await expect(page).toHaveURL(/\/sign-in\?next=\/owner\/vitals$/);
  });
});

test.describe('with JavaScript', () => {
  test('the period changes through the same form once the page is live', async ({ page }) => {
    await signInAsOwner(page);
    await gotoHydrated(page, '/owner/vitals?period=24h');
    await expect(page.getByRole('combobox', { name: 'Period' })).toHaveValue('24h');
    await expect(page.getByRole('img', { name: /^LCP p75 by hour/ })).toBeVisible();
    await page.getByRole('combobox', { name: 'Period' }).selectOption('90d');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page).toHaveURL(/period=90d/);
    await expect(page.getByRole('img', { name: /^LCP p75 by day/ })).toBeVisible();
    await expect(page.getByTestId('table-LCP').locator('tr[data-bucket]')).toHaveCount(90);
    await expectNumbers(page);
  });
});

for (const scheme of ['light', 'dark'] as const) {
  test.describe(`axe, ${scheme} theme`, () => {
    test.use({ colorScheme: scheme });

    test('no serious or critical WCAG violations on the dashboard', async ({ page }) => {
      await signInAsOwner(page);
      await gotoHydrated(page, '/owner/vitals');
      // Open the tables too, so axe checks them.
      for (const summary of await page.locator('details > summary').all()) await summary.click();
      const results = await new AxeBuilder({ page })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
        .analyze();
      const serious = results.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .flatMap((v) => v.nodes.map((node) => `${v.id}: ${v.help} at ${node.target.join(' ')} | ${node.failureSummary ?? ''}`));
      expect(serious, `axe on /owner/vitals (${scheme})`).toEqual([]);
    });
  });
}
