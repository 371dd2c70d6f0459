import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, gotoHydrated, gotoLoaded, test, themeToggle, waitForHydration } from '../fixtures';
import { openHydrated, pathOf, SITE_PAGES } from '../site-pages';

// Accessibility of every page in SITE_PAGES (site-pages.ts): axe-core's WCAG 2.2 AA rules in both
// themes, the page structure assistive technology relies on, a keyboard-only visit, and motion
// that stops when the visitor asks for less of it.

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const THEMES = [
  { scheme: 'light', background: 'rgb(250, 250, 247)' },
  { scheme: 'dark', background: 'rgb(0, 0, 0)' },
] as const;

/** axe's serious and critical violations on the page, one readable line per failing element. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(WCAG_TAGS).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) =>
      v.nodes.map(
        (node) =>
          `${v.id} (${v.impact}): ${v.help} at ${node.target.join(' ')}` +
          (node.failureSummary ? ` | ${node.failureSummary.replace(/\s+/g, ' ')}` : ''),
      ),
    );
}

for (const theme of THEMES) {
  test.describe(`axe, ${theme.scheme} theme`, () => {
    test.use({ colorScheme: theme.scheme });

    for (const site of SITE_PAGES) {
      test(`${site.name}: no serious or critical WCAG violations`, async ({ page, guard, request }) => {
        const path = await openHydrated(page, guard, request, site);
        // The page really shows this theme (the two backgrounds differ).
        await expect(page.locator('body')).toHaveCSS('background-color', theme.background);
        expect(await seriousViolations(page), `axe on ${path} (${theme.scheme})`).toEqual([]);
      });
    }
  });
}

/**
 * Moves the keyboard's starting point to the top of the document, as on a fresh page, whatever
 * the test did before.
 */
async function focusFromTop(page: Page): Promise<void> {
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    const body = document.body;
    body.tabIndex = -1;
    body.focus();
    body.removeAttribute('tabindex');
  });
}

test.describe('page structure', () => {
  for (const site of SITE_PAGES) {
    test(`${site.name}: one h1, landmarks, a working skip link, images with alt`, async ({
      page,
      guard,
      request,
    }) => {
      const path = await openHydrated(page, guard, request, site);

      await expect(page.locator('h1'), `h1 on ${path}`).toHaveCount(1);
      await expect(page.getByRole('banner')).toHaveCount(1);
      await expect(page.getByRole('navigation', { name: 'Main' })).toHaveCount(1);
      await expect(page.getByRole('main')).toHaveCount(1);
      await expect(page.getByRole('contentinfo')).toHaveCount(1);
      await expect(page.locator('body > header, body > footer, body > main')).toHaveCount(3);

      // The skip link is the first thing Tab reaches, and it moves focus into the content.
      await focusFromTop(page);
      await page.keyboard.press('Tab');
      const skip = page.getByRole('link', { name: 'Skip to content' });
      await expect(skip).toBeFocused();
      await expect(skip).toHaveAttribute('href', '#main');
      await expect(skip).toBeInViewport();
      await page.keyboard.press('Enter');
      await expect(page.locator('#main')).toBeFocused();

      // Every image says what it shows; only decoration, hidden from assistive technology, may
      // have an empty alt.
      const images = await page.locator('img').evaluateAll((imgs) =>
        imgs.map((img) => ({
          src: img.getAttribute('src'),
          alt: img.getAttribute('alt'),
          decorative:
            img.getAttribute('aria-hidden') === 'true' ||
            ['presentation', 'none'].includes(img.getAttribute('role') ?? ''),
        })),
      );
      const missing = images.filter((i) => i.alt === null).map((i) => i.src);
      expect(missing, `images without an alt attribute on ${path}`).toEqual([]);
      const unexplained = images.filter((i) => !i.decorative && !i.alt?.trim()).map((i) => i.src);
      expect(unexplained, `content images with an empty alt on ${path}`).toEqual([]);
    });
  }
});

/** What a focus indicator is drawn with, as the browser computes it. */
interface FocusStyle {
  outlineStyle: string;
  outlineWidth: string;
  outlineColor: string;
  boxShadow: string;
}

/** The relative luminance of an `rgb()`/`rgba()` colour (WCAG 2.2). */
function luminance(color: string): number {
  const [r, g, b] = (color.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
  const channel = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test.describe('keyboard only', () => {
  for (const theme of THEMES) {
    test.describe(`${theme.scheme} theme`, () => {
      test.use({ colorScheme: theme.scheme });

      test('Tab reaches every link and button on the home page in order, each visibly focused', async ({
        page,
      }) => {
        await gotoHydrated(page, '/');

        // Every visible, focusable element, numbered in DOM order, with how it looks unfocused.
        const focusables = await page.evaluate(() => {
          // A link or button taken out of the tab order (tabindex="-1") is still expected.
          const all = Array.from(
            document.querySelectorAll<HTMLElement>(
              'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])',
            ),
          ).filter((el) => {
            if (el.matches(':disabled')) return false;
            const style = getComputedStyle(el);
            return style.visibility === 'visible' && el.getClientRects().length > 0;
          });
          return all.map((el, i) => {
            el.dataset.kbd = String(i);
            const s = getComputedStyle(el);
            return {
              label: `${el.tagName.toLowerCase()} "${(el.textContent ?? '').trim().slice(0, 40)}"`,
              unfocused: {
                outlineStyle: s.outlineStyle,
                outlineWidth: s.outlineWidth,
                outlineColor: s.outlineColor,
                boxShadow: s.boxShadow,
              },
            };
          });
        });
        expect(focusables.map((f) => f.label)).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^a "Skip to content"/),
            expect.stringMatching(/^a "Projects"/),
            expect.stringMatching(/^button "Dark theme"/),
            expect.stringMatching(/^a "Write to me"/),
          ]),
        );
        const background = await page.locator('body').evaluate((b) => getComputedStyle(b).backgroundColor);
        expect(background).toBe(theme.background);

        // Tab through the page from the top, recording what has focus and how it looks.
        await focusFromTop(page);
        const reached: { index: number; style: FocusStyle; inViewport: boolean }[] = [];
        for (let press = 0; press < focusables.length + 3; press++) {
          await page.keyboard.press('Tab');
          const now = await page.evaluate(() => {
            const el = document.activeElement as HTMLElement | null;
            if (!el || el === document.body || el.dataset.kbd === undefined) return null;
            const s = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            return {
              index: Number(el.dataset.kbd),
              style: {
                outlineStyle: s.outlineStyle,
                outlineWidth: s.outlineWidth,
                outlineColor: s.outlineColor,
                boxShadow: s.boxShadow,
              },
              inViewport: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
            };
          });
          if (now === null || (reached.length > 0 && now.index === reached[0].index)) break;
          reached.push(now);
        }
        expect(
          reached.map((r) => focusables[r.index].label),
          'Tab visits every focusable element once, in DOM order',
        ).toEqual(focusables.map((f) => f.label));

        for (const { index, style, inViewport } of reached) {
          const { label, unfocused } = focusables[index];
          expect(inViewport, `${label} is on screen when focused`).toBe(true);
          const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
          const shadowed = style.boxShadow !== 'none';
          expect(outlined || shadowed, `${label} shows a focus indicator: ${JSON.stringify(style)}`).toBe(
            true,
          );
          expect(style, `${label} looks different when focused`).not.toEqual(unfocused);
          if (outlined) {
            expect(
              contrast(style.outlineColor, background),
              `${label}'s focus outline ${style.outlineColor} against ${background}`,
            ).toBeGreaterThanOrEqual(3);
          }
        }
      });
    });
  }

  test('Enter on the Projects link opens the projects page', async ({ page }) => {
    await gotoHydrated(page, '/');
    await focusFromTop(page);
    const projects = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Projects' });
    for (let press = 0; press < 10 && !(await projects.evaluate((el) => el === document.activeElement)); press++) {
      await page.keyboard.press('Tab');
    }
    await expect(projects).toBeFocused();
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL('/projects');
    await expect(page.getByRole('heading', { level: 1, name: 'Projects' })).toBeVisible();
  });

  test('the theme toggle is reached by Tab and works with Space and Enter', async ({ page }) => {
    await gotoHydrated(page, '/');
    await focusFromTop(page);
    const toggle = themeToggle(page);
    for (let press = 0; press < 10 && !(await toggle.evaluate((el) => el === document.activeElement)); press++) {
      await page.keyboard.press('Tab');
    }
    await expect(toggle).toBeFocused();
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await page.keyboard.press('Space');
    await expect(toggle).toHaveAttribute('aria-pressed', 'true');
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
    await page.keyboard.press('Enter');
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  });
});

/**
 * Records, in the page, what moves when it is revealed: whether the browser ran a cross-document
 * view transition, and how many animations that started (read once they are set up).
 */
async function recordReveal(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __reveal: Promise<{ viewTransition: boolean; animations: number }> };
    w.__reveal = new Promise((resolve) => {
      addEventListener('pagereveal', (event) => {
        const transition = (event as Event & { viewTransition: ViewTransition | null }).viewTransition;
        if (!transition) resolve({ viewTransition: false, animations: document.getAnimations().length });
        else
          transition.ready.then(
            () => resolve({ viewTransition: true, animations: document.getAnimations().length }),
            () => resolve({ viewTransition: true, animations: 0 }),
          );
      });
    });
  });
}

async function revealed(page: Page): Promise<{ viewTransition: boolean; animations: number }> {
  return page.evaluate(
    () => (window as unknown as { __reveal: Promise<{ viewTransition: boolean; animations: number }> }).__reveal,
  );
}

const animationCount = (page: Page) => page.evaluate(() => document.getAnimations().length);

/**
 * Hovers the first project card and returns the most animations the document had while any
 * transition the hover started was running (read when the browser announces each one, so a
 * slow machine cannot miss a short transition), and how many are left two frames later.
 */
async function hoverFirstCard(page: Page): Promise<{ whileStarting: number; after: number }> {
  await page.evaluate(() => {
    const w = window as unknown as { __hoverAnimations: number };
    w.__hoverAnimations = 0;
    document.addEventListener('transitionrun', () => {
      w.__hoverAnimations = Math.max(w.__hoverAnimations, document.getAnimations().length);
    });
  });
  await page.getByTestId('project-card').first().hover();
  return page.evaluate(
    () =>
      new Promise((resolve) =>
        requestAnimationFrame(() =>
          requestAnimationFrame(() =>
            resolve({
              whileStarting: (window as unknown as { __hoverAnimations: number }).__hoverAnimations,
              after: document.getAnimations().length,
            }),
          ),
        ),
      ),
  );
}

test.describe('reduced motion', () => {
  test.use({ reducedMotion: 'reduce' });

  for (const site of SITE_PAGES) {
    test(`${site.name}: nothing moves, and axe still passes`, async ({ page, guard, request }) => {
      const path = await pathOf(request, site);
      if (site.status) guard.expectStatus(new URL(path, 'http://x').pathname, site.status);
      await gotoLoaded(page, path);
      expect(await animationCount(page), `animations on ${path} after load`).toBe(0);
      await waitForHydration(page);
      expect(await animationCount(page), `animations on ${path} after hydration`).toBe(0);

      if ((await page.getByTestId('project-card').count()) > 0) {
        expect(await hoverFirstCard(page), `animations on ${path} hovering a card`).toEqual({
          whileStarting: 0,
          after: 0,
        });
      }
      expect(await seriousViolations(page), `axe on ${path} (reduced motion)`).toEqual([]);
    });
  }

  test('following a link runs no view transition', async ({ page }) => {
    await gotoHydrated(page, '/');
    await recordReveal(page);
    await page.getByRole('link', { name: 'All projects' }).click();
    await expect(page).toHaveURL('/projects');
    expect(await revealed(page)).toEqual({ viewTransition: false, animations: 0 });
  });
});

// The control: without a reduced-motion preference the same checks do see motion, so the
// assertions above can fail. (No page animates on a direct load; motion comes from the
// cross-document view transition when arriving by a link, and from the project cards' hover.)
test.describe('with motion allowed', () => {
  test.use({ reducedMotion: 'no-preference' });

  test('arriving at the home page by a link animates, and a hovered card moves', async ({ page }) => {
    await gotoHydrated(page, '/projects');
    await recordReveal(page);
    await page.getByRole('link', { name: 'folio', exact: true }).click();
    await expect(page).toHaveURL('/');
    const reveal = await revealed(page);
    expect(reveal.viewTransition).toBe(true);
    expect(reveal.animations).toBeGreaterThan(0);

    const hover = await hoverFirstCard(page);
    expect(hover.whileStarting, 'animations while the hover transition runs').toBeGreaterThan(0);
  });

  test('a page rises into place on a direct load', async ({ page }) => {
    await page.goto('/projects', { waitUntil: 'domcontentloaded' });
    // The entrance runs from the first frames: sections, then cards, staggered.
    const names = await page.evaluate(
      () =>
        new Promise<string[]>((resolve) =>
          requestAnimationFrame(() =>
            resolve(document.getAnimations().map((a) => (a as CSSAnimation).animationName ?? '')),
          ),
        ),
    );
    expect(names.filter((n) => n === 'rise').length, names.join(', ')).toBeGreaterThan(3);
    await waitForHydration(page);
  });
});
