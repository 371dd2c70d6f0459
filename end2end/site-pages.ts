import type { APIRequestContext, Page } from '@playwright/test';
import { expect, gotoHydrated, type PageGuard } from './fixtures';

/**
 * One page of the site as the accessibility and layout specs visit it.
 *
 * `path` is where to go; with `firstLinkIn`, the page is instead the first link inside the first
 * element with that test id on `path` (a case study from the projects index, say), so the specs
 * follow the demo content rather than hard-coding its slugs.
 */
export interface SitePage {
  name: string;
  path: string;
  firstLinkIn?: string;
  /** The status the page answers with (200 unless given). */
  status?: number;
}

/** Every page the accessibility and layout specs check. Add new pages here. */
export const SITE_PAGES: SitePage[] = [
  { name: 'home', path: '/' },
  { name: 'projects', path: '/projects' },
  { name: 'projects by tag', path: '/projects?tag=typography' },
  { name: 'project search', path: '/projects?q=specimen' },
  { name: 'case study', path: '/projects', firstLinkIn: 'project-card' },
  { name: 'writing', path: '/writing' },
  { name: 'post', path: '/writing', firstLinkIn: 'post-item' },
  { name: 'about', path: '/about' },
  { name: 'contact', path: '/contact' },
  { name: 'contact thanks', path: '/contact/thanks' },
  { name: 'sign in', path: '/sign-in' },
  { name: 'not found', path: '/no-such-page', status: 404 },
];

const resolved = new Map<SitePage, string>();

/** The address of `site`, following `firstLinkIn` when it is given. */
export async function pathOf(request: APIRequestContext, site: SitePage): Promise<string> {
  if (!site.firstLinkIn) return site.path;
  const known = resolved.get(site);
  if (known) return known;
  const response = await request.get(site.path);
  expect(response.status(), `${site.path} answers`).toBe(200);
  const html = await response.text();
  const link = new RegExp(`data-testid="${site.firstLinkIn}"[\\s\\S]*?href="(/[^"]+)"`).exec(html);
  expect(link, `a link in the first ${site.firstLinkIn} on ${site.path}`).not.toBeNull();
  const path = (link as RegExpExecArray)[1];
  resolved.set(site, path);
  return path;
}

/**
 * Opens `site` with JavaScript on, waits until its islands are hydrated and every finite
 * animation has finished, and checks the status. Returns the address it opened.
 */
export async function openHydrated(
  page: Page,
  guard: PageGuard,
  request: APIRequestContext,
  site: SitePage,
): Promise<string> {
  const path = await pathOf(request, site);
  const status = site.status ?? 200;
  if (status !== 200) guard.expectStatus(new URL(path, 'http://x').pathname, status);
  const response = await gotoHydrated(page, path);
  expect(response.status(), `status of ${path}`).toBe(status);
  await animationsFinished(page);
  return path;
}

/** Waits for every running animation and transition that ends to end (infinite ones never do). */
export async function animationsFinished(page: Page): Promise<void> {
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity)
        .map((a) => a.finished.catch(() => undefined)),
    ),
  );
}
