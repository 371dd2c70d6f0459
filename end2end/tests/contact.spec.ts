import { expect, gotoHydrated, sql, test } from '../fixtures';

// The contact form with and without JavaScript. Every test is its own visitor (its own
// X-Forwarded-For, believed because the e2e server trusts the loopback proxy), so the
// per-address limit of 3 an hour never leaks between tests. Messages are checked in the database.

/** A unique, recognisable message for this test, so database checks find exactly it. */
function message(tag: string): string {
  return `Hello from the ${tag} test (${Date.now()}): could we talk about a tide table?`;
}

function stored(text: string): string[] {
  return sql(`select name || '|' || email || '|' || read from contact_messages where message = '${text.replace(/'/g, "''")}'`);
}

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false, extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.10' } });

  test('a refused post comes back with field errors, then a good one lands on the thanks page', async ({ page, guard }) => {
    guard.expectStatus('/contact', 422);
    await page.goto('/contact');
    await expect(page.getByRole('heading', { level: 1, name: 'Get in touch' })).toBeVisible();

    await page.getByLabel('Your name').fill('Ada');
    await page.getByLabel('Email address').fill('ada@example');
    await page.getByLabel('Message', { exact: true }).fill('Too short');
    const refused = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Send message' }).click();
    expect((await refused).status()).toBe(422);

    // The same page, with what was typed kept and each problem beside its field.
    await expect(page.getByTestId('contact-summary')).toHaveText('Please fix the 2 fields marked below.');
    const email = page.getByLabel('Email address');
    await expect(email).toHaveValue('ada@example');
    await expect(email).toHaveAttribute('aria-invalid', 'true');
    await expect(email).toHaveAccessibleDescription('Please enter an email address like name@example.com.');
    await expect(page.getByLabel('Message', { exact: true })).toHaveAccessibleDescription(/At least 10 characters\. Please write a little more/);
    await expect(page.getByLabel('Your name')).toHaveValue('Ada');
    await expect(page.getByLabel('Your name')).not.toHaveAttribute('aria-invalid');

    const text = message('no-JavaScript');
    await email.fill('ada@example.com');
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Send message' }).click();
    await expect(page).toHaveURL('/contact/thanks');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Thank you, your message is on its way');
    expect(stored(text)).toEqual(['Ada|ada@example.com|false']);
  });
});

test.describe('with JavaScript', () => {
  test.use({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.20' } });

  test('fields are checked at once, and the message is sent without leaving the page', async ({ page }) => {
    await gotoHydrated(page, '/contact');
    await page.evaluate(() => ((window as unknown as { marker: string }).marker = 'same document'));

    // Nothing typed: the form says what is missing without asking the server.
    let posts = 0;
    page.on('request', (r) => { if (r.method() === 'POST') posts += 1; });
    await page.getByRole('button', { name: 'Send message' }).click();
    await expect(page.getByTestId('contact-summary')).toHaveText('Please fix the 3 fields marked below.');
    await expect(page.getByLabel('Your name')).toBeFocused();
    await expect(page.getByLabel('Your name')).toHaveAccessibleDescription('Please enter your name.');
    expect(posts).toBe(0);

    const text = message('JavaScript');
    await page.getByLabel('Your name').fill('Grace');
    await page.getByLabel('Email address').fill('grace@example.org');
    await page.getByLabel('Message', { exact: true }).fill(text);
    const sent = page.waitForResponse((r) => r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Send message' }).click();
    const response = await sent;
    expect(response.status()).toBe(200);
    expect(await response.json()).toEqual({ ok: true });

    const thanks = page.getByTestId('contact-thanks');
    await expect(thanks.getByRole('heading', { level: 2 })).toHaveText('Thank you, your message is on its way');
    await expect(thanks.getByRole('heading', { level: 2 })).toBeFocused();
    await expect(page).toHaveURL('/contact');
    expect(await page.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('same document');
    expect(stored(text)).toEqual(['Grace|grace@example.org|false']);
  });

  test('the server refuses a fourth message in an hour and the form says when to try again', async ({ page, guard }) => {
    guard.expectStatus('/contact', 429);
    // Three messages from this visitor, as a script would send them.
    for (let i = 0; i < 3; i += 1) {
      const response = await page.request.post('/contact', {
        headers: { accept: 'application/json', 'sec-fetch-site': 'same-origin', 'x-forwarded-for': '198.51.100.30' },
        form: { name: 'Flood', email: 'flood@example.com', message: `${message('limit')} #${i}` },
      });
      expect(response.status()).toBe(200);
    }
    await page.setExtraHTTPHeaders({ 'x-forwarded-for': '198.51.100.30' });
    await gotoHydrated(page, '/contact');
    const text = message('over the limit');
    await page.getByLabel('Your name').fill('Flood');
    await page.getByLabel('Email address').fill('flood@example.com');
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByRole('button', { name: 'Send message' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'try again in' })).toBeVisible();
    // Nothing was stored, and what was typed is still there to send later.
    await expect(page.getByLabel('Message', { exact: true })).toHaveValue(text);
    expect(stored(text)).toEqual([]);
  });
});
