import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, gotoHydrated, resetOwner, signInAsOwner, sql, test, waitForHydration } from '../fixtures';
import type { Page } from '@playwright/test';
import puppeteer, { type CDPSession } from 'puppeteer-core';

// The Web Vitals collector (app/src/vitals/collect.rs) against the reference: the npm
// `web-vitals` library (v6, the attribution build) is added to the same real folio page as a
// test oracle, never shipped. Both watch the same browser entries; the page is driven into
// known behaviour (a late image for LCP, inserted content for a layout shift, a click handler
// that blocks for INP, then leaving the page), and what folio stored from its beacon must equal
// what the library reported, metric by metric.

const ORACLE = path.join(__dirname, '..', 'node_modules', 'web-vitals', 'dist', 'web-vitals.attribution.iife.js');

// Playwright turns Chromium's back/forward cache off by default; these tests need it.
test.use({
  launchOptions: {
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  },
});

interface Reported {
  page: string;
  name: string;
  id: string;
  value: number;
  rating: string;
  navigationType: string;
  attribution: Record<string, unknown>;
}

/** Adds web-vitals to every page the test opens; what it reports is kept in sessionStorage. */
async function addOracle(page: Page): Promise<void> {
  // The IIFE build declares `var webVitals`; an init script runs in a function of its own, so
  // the global is made explicit.
  await page.addInitScript({ content: `${readFileSync(ORACLE, 'utf8')}\nwindow.webVitals = webVitals;` });
  await page.addInitScript(() => {
    const w = window as unknown as { webVitals: Record<string, (cb: (m: Record<string, unknown>) => void) => void> };
    const keep = (m: Record<string, unknown>) => {
      const a = (m.attribution ?? {}) as Record<string, unknown>;
      const all = JSON.parse(sessionStorage.getItem('oracle') ?? '[]');
      all.push({
        page: location.pathname,
        name: m.name,
        id: m.id,
        value: m.value,
        rating: m.rating,
        navigationType: m.navigationType,
        attribution: {
          target: a.target ?? a.interactionTarget ?? a.largestShiftTarget,
          url: a.url,
          timeToFirstByte: a.timeToFirstByte,
          resourceLoadDelay: a.resourceLoadDelay,
          resourceLoadDuration: a.resourceLoadDuration,
          elementRenderDelay: a.elementRenderDelay,
          inputDelay: a.inputDelay,
          processingDuration: a.processingDuration,
          presentationDelay: a.presentationDelay,
          loadState: a.loadState,
        },
      });
      sessionStorage.setItem('oracle', JSON.stringify(all));
    };
    for (const on of ['onLCP', 'onINP', 'onCLS', 'onFCP', 'onTTFB']) w.webVitals[on](keep);
  });
}

/** The oracle's last report of each metric for `pathname`'s page view(s), by metric name. */
async function oracleFor(page: Page, pathname: string): Promise<Map<string, Reported>> {
  const all: Reported[] = JSON.parse((await page.evaluate(() => sessionStorage.getItem('oracle'))) ?? '[]');
  const last = new Map<string, Reported>();
  for (const r of all.filter((r) => r.page === pathname)) last.set(r.name, r);
  return last;
}

interface Stored {
  name: string;
  id: string;
  value: number;
  rating: string;
  nav: string;
  view: string;
  attribution: Record<string, unknown>;
}

function stored(route: string): Stored[] {
  return sql(
    `select json_build_object('name', name, 'id', metric_id, 'value', value, 'rating', rating,
                              'nav', nav, 'view', view_id, 'attribution', attribution)
       from vitals_metrics where route = '${route}' order by updated_at`,
  ).map((row) => JSON.parse(row));
}

/** Waits until folio has stored `names` for `route`, and returns them by name. */
async function storedFor(route: string, names: string[]): Promise<Map<string, Stored>> {
  await expect
    .poll(() => names.filter((n) => !stored(route).some((s) => s.name === n)), {
      message: `folio stored ${names.join(', ')} for ${route}`,
    })
    .toEqual([]);
  return new Map(stored(route).map((s) => [s.name, s]));
}

/** What folio stored for each of `names` has the value, rating and navigation type the oracle reported. */
function expectSameAsOracle(
  oracle: Map<string, Pick<Reported, 'value' | 'rating' | 'navigationType'>>,
  folio: Map<string, Stored>,
  names: string[],
): void {
  for (const name of names) {
    const want = oracle.get(name);
    const got = folio.get(name)!;
    expect(want, `web-vitals reported ${name}`).toBeDefined();
    expect(got.value, `${name}'s value`).toBeCloseTo(want!.value, 6);
    expect(got.rating, `${name}'s rating`).toBe(want!.rating);
    expect(got.nav, `${name}'s navigation type`).toBe(want!.navigationType);
  }
}

function forget(): void {
  sql('delete from vitals_metrics; delete from vitals_views');
}

/** Blocks the main thread for `ms` on each click of `selector` (a slow event handler). */
async function slowClicks(page: Page, selector: string, ms: number): Promise<void> {
  await page.evaluate(
    ([selector, ms]) => {
      document.querySelector(selector as string)!.addEventListener('click', () => {
        const end = performance.now() + (ms as number);
        while (performance.now() < end) {
          // Busy: the interaction waits for this handler.
        }
      });
    },
    [selector, ms],
  );
}

/** Inserts a block above the page's content: everything below it shifts down. */
async function shiftTheContent(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const block = document.createElement('div');
    block.style.height = '180px';
    document.querySelector('main')!.prepend(block);
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
}

function projectSlug(): string {
  const [slug] = sql(
    'select slug from projects where published_at <= now() and cover is not null order by sort_order, id limit 1',
  );
  return slug;
}

test.describe.configure({ mode: 'serial' });

test('every metric folio stores equals what web-vitals reports on the same page view', async ({ page }) => {
  forget();
  await addOracle(page);
  const slug = projectSlug();
  // A large image arrives late (it is put at the top of the page as it loads, and held back
  // for 700 ms), so LCP is that image, well after FCP.
  await page.addInitScript(() => {
    if (!location.pathname.startsWith('/projects/')) return;
    document.addEventListener('DOMContentLoaded', () => {
      const img = new Image(1200, 800);
      img.alt = '';
      img.src = '/demo/brisk-ledger-reconciliation-1600.webp?late';
      document.querySelector('main')!.prepend(img);
    });
  });
  await page.route('**/*?late', async (route) => {
    await new Promise((r) => setTimeout(r, 700));
    await route.continue();
  });
  await gotoHydrated(page, `/projects/${slug}`);
  // Away from the hydration probe's clicks (input excuses shifts for half a second).
  await page.waitForTimeout(600);
  await shiftTheContent(page);
  await slowClicks(page, 'h1', 250);
  await page.locator('h1').click();
  // Both handle event entries when the browser is next idle. Hidden sooner, web-vitals v6
  // reports INP without the entries still waiting (its hidden handler runs before the idle
  // work it queued) while folio handles them first; the steady state is what is compared.
  await page.evaluate(() => new Promise((r) => requestIdleCallback(() => r(null), { timeout: 3000 })));
  // Leaving the page hides it: both report what they have.
  await page.goto('/about');

  const oracle = await oracleFor(page, `/projects/${slug}`);
  const folio = await storedFor('/projects/{slug}', ['LCP', 'FCP', 'TTFB', 'CLS', 'INP']);
  expectSameAsOracle(oracle, folio, ['LCP', 'FCP', 'TTFB', 'CLS', 'INP']);
  for (const [name, got] of folio) expect(got.id, `${name}'s id`).toMatch(/^v6-\d{13}-\d{13}$/);
  // The behaviour provoked is what was measured.
  expect(oracle.get('CLS')!.value).toBeGreaterThan(0);
  expect(oracle.get('INP')!.value).toBeGreaterThanOrEqual(250);
  expect(oracle.get('LCP')!.value).toBeGreaterThan(oracle.get('FCP')!.value);

  // Attribution: the same elements, and the same split of the time.
  const lcp = oracle.get('LCP')!.attribution;
  const lcpGot = folio.get('LCP')!.attribution;
  expect(lcpGot.element).toBe(lcp.target);
  expect(lcpGot.url).toBe(lcp.url);
  for (const part of ['timeToFirstByte', 'resourceLoadDelay', 'resourceLoadDuration', 'elementRenderDelay']) {
    expect(lcpGot[part] as number, `LCP ${part}`).toBeCloseTo(lcp[part] as number, 6);
  }
  const inp = oracle.get('INP')!.attribution;
  const inpGot = folio.get('INP')!.attribution;
  expect(inpGot.target).toBe(inp.target);
  expect(inpGot.loadState).toBe(inp.loadState);
  expect(['pointerdown', 'pointerup', 'mousedown', 'mouseup', 'click']).toContain(inpGot.type);
  for (const part of ['inputDelay', 'processingDuration', 'presentationDelay']) {
    expect(inpGot[part] as number, `INP ${part}`).toBeCloseTo(inp[part] as number, 6);
  }
  expect(inpGot.processingDuration as number).toBeGreaterThanOrEqual(250);
  const cls = oracle.get('CLS')!.attribution;
  expect(folio.get('CLS')!.attribution.target).toBe(cls.target);
});

test('a page restored from the back/forward cache is a new page view with new ids', async ({ page }) => {
  forget();
  await addOracle(page);
  await page.addInitScript(() => {
    addEventListener('pageshow', (e) => {
      if ((e as PageTransitionEvent).persisted) sessionStorage.setItem('restored', location.pathname);
    });
  });
  await gotoHydrated(page, '/writing');
  // Loaded whole before going back: a restore is no navigation the guard could tell a
  // cancelled load by.
  await gotoHydrated(page, '/about');
  // A restore fires no load event: wait only for the navigation to commit.
  await page.goBack({ waitUntil: 'commit' });
  await expect.poll(() => page.evaluate(() => sessionStorage.getItem('restored'))).toBe('/writing');
  // The restored view's paints are measured two frames after the restore (web-vitals'
  // doubleRAF); a page hidden sooner runs no frames and has none to report. Both collectors'
  // frames are the same frames, so once the oracle has them, folio has measured them too.
  await expect
    .poll(async () =>
      [...(await oracleFor(page, '/writing')).values()]
        .filter((r) => r.navigationType === 'back-forward-cache')
        .map((r) => r.name)
        .sort(),
    )
    .toEqual(expect.arrayContaining(['FCP', 'LCP', 'TTFB']));
  await page.goto('/contact');

  const oracle = (await oracleFor(page, '/writing')).get('TTFB')!;
  expect(oracle.navigationType).toBe('back-forward-cache');
  await expect
    .poll(() => stored('/writing').filter((s) => s.nav === 'back-forward-cache').map((s) => s.name).sort())
    .toEqual(expect.arrayContaining(['FCP', 'LCP', 'TTFB']));
  const rows = stored('/writing');
  const first = rows.filter((s) => s.nav === 'navigate');
  const restored = rows.filter((s) => s.nav === 'back-forward-cache');
  expect(first.map((s) => s.name)).toEqual(expect.arrayContaining(['FCP', 'LCP', 'TTFB']));
  // Two page views, no id shared between them.
  expect(new Set(first.map((s) => s.view)).size).toBe(1);
  expect(new Set(restored.map((s) => s.view)).size).toBe(1);
  expect(first[0].view).not.toBe(restored[0].view);
  const ids = new Set(first.map((s) => s.id));
  for (const s of restored) expect(ids.has(s.id), `${s.name} has a new id`).toBe(false);
  // A restore's TTFB is 0 and its paints are measured from the restore, as the library does.
  const ttfb = restored.find((s) => s.name === 'TTFB')!;
  expect(ttfb.value).toBe(0);
  expect(ttfb.value).toBeCloseTo(oracle.value, 6);
});

test('a prerendered page is measured from its activation, as web-vitals measures it', async ({ baseURL }) => {
  forget();
  // Chromium prerenders nothing while a DevTools session is attached to the page itself, as
  // Playwright's are; Puppeteer attaches through the tab, which leaves prerendering on.
  const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${baseURL}/writing`, { waitUntil: 'load' });
    // The page's own session (a new one would turn prerendering off) reports how it goes.
    const client = (page as unknown as { _client(): CDPSession })._client();
    await client.send('Preload.enable');
    const ready = new Promise<void>((resolve, reject) => {
      client.on('Preload.prerenderStatusUpdated', (e) => {
        if (e.status === 'Ready') resolve();
        if (e.status === 'Failure') reject(new Error(`the prerender failed: ${e.prerenderStatus}`));
      });
    });
    // Speculation rules, as a site would add them (with the page's nonce: folio's CSP).
    await page.evaluate(() => {
      const rules = document.createElement('script');
      rules.type = 'speculationrules';
      rules.nonce = document.querySelector<HTMLScriptElement>('script[nonce]')!.nonce;
      rules.textContent = JSON.stringify({ prerender: [{ source: 'list', urls: ['/about'] }] });
      document.head.append(rules);
    });
    await ready;
    await page.click('a[href="/about"]');

    // The activated page is a target of its own, which Puppeteer's page does not follow
    // reliably: attach to it from the browser (prerendering is over, nothing is turned off).
    const root = await browser.target().createCDPSession();
    let targetId = '';
    await expect
      .poll(async () => {
        const { targetInfos } = await root.send('Target.getTargets');
        targetId = targetInfos.find((t) => t.type === 'page' && !t.subtype && t.url.endsWith('/about'))?.targetId ?? '';
        return targetId;
      })
      .not.toBe('');
    const { sessionId } = await root.send('Target.attachToTarget', { targetId, flatten: true });
    const about = root.connection()!.session(sessionId)!;
    const problems: string[] = [];
    about.on('Runtime.consoleAPICalled', (e) => {
      if (e.type === 'error' || e.type === 'warning') problems.push(JSON.stringify(e.args));
    });
    about.on('Runtime.exceptionThrown', (e) => problems.push(e.exceptionDetails.text));
    // Enabling reports what the page logged before.
    await about.send('Runtime.enable');
    const ask = async <T>(expression: string): Promise<T> => {
      const { result, exceptionDetails } = await about.send('Runtime.evaluate', {
        expression,
        returnByValue: true,
        awaitPromise: true,
      });
      if (exceptionDetails) throw new Error(exceptionDetails.text);
      return result.value as T;
    };
    const activation = await ask<number>(`performance.getEntriesByType('navigation')[0].activationStart`);
    expect(activation, 'the page was prerendered, then activated').toBeGreaterThan(0);
    // The reference, loaded late (as a site may load it): it reads the same buffered entries.
    await ask(`${readFileSync(ORACLE, 'utf8')}
      window.oracle = {};
      for (const on of ['onLCP', 'onFCP', 'onTTFB'])
        webVitals[on]((m) => { window.oracle[m.name] = m; }, { reportAllChanges: true });`);
    await expect.poll(() => ask<string[]>('Object.keys(window.oracle).sort()')).toEqual(['FCP', 'LCP', 'TTFB']);
    const oracle = new Map(
      Object.entries(await ask<Record<string, Reported>>('JSON.parse(JSON.stringify(window.oracle))')),
    );
    // Leaving the page hides it: folio reports.
    await ask(`location.href = '/contact'`);

    const folio = await storedFor('/about', ['LCP', 'FCP', 'TTFB']);
    for (const name of ['LCP', 'FCP', 'TTFB']) expect(oracle.get(name)!.navigationType).toBe('prerender');
    expectSameAsOracle(oracle, folio, ['LCP', 'FCP', 'TTFB']);
    // Answered before the visitor asked: measured from the activation, there was no wait.
    expect(folio.get('TTFB')!.value).toBe(0);
    expect(problems, 'the browser reported problems').toEqual([]);
  } finally {
    await browser.close();
  }
});

test('a reload is reported as a reload', async ({ page }) => {
  forget();
  await gotoHydrated(page, '/writing');
  await page.reload();
  // The collector starts with the islands: a page left before then reports nothing.
  await waitForHydration(page);
  await page.goto('/about');
  await expect.poll(() => stored('/writing').map((s) => s.nav)).toContain('reload');
  const navs = new Set(stored('/writing').map((s) => s.nav));
  expect([...navs].sort()).toEqual(['navigate', 'reload']);
});

test('where the browser refuses sendBeacon, fetch with keepalive delivers the beacon', async ({ page }) => {
  forget();
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'sendBeacon', {
      value: () => {
        sessionStorage.setItem('refused', String(Number(sessionStorage.getItem('refused') ?? 0) + 1));
        return false;
      },
    });
  });
  await gotoHydrated(page, '/writing');
  await page.goto('/about');
  await expect.poll(() => stored('/writing').map((s) => s.name)).toEqual(expect.arrayContaining(['FCP', 'LCP', 'TTFB']));
  // It was refused, so what was stored came by fetch.
  expect(Number(await page.evaluate(() => sessionStorage.getItem('refused')))).toBeGreaterThan(0);
});

test('the owner is never measured', async ({ page }) => {
  forget();
  resetOwner();
  await signInAsOwner(page);
  await page.goto('/writing');
  await expect(page.locator('meta[name="folio-vitals"]')).toHaveCount(0);
  await page.goto('/about');
  await page.goto('/contact');

  // The same pages as a visitor are measured. (Bots are refused by the server, whatever their
  // browser sends: server/tests/vitals.rs. Playwright's user-agent override does not reach
  // the beacons a page sends as it is left, so a browser here cannot play one.)
  await page.context().clearCookies();
  await gotoHydrated(page, '/writing');
  await expect(page.locator('meta[name="folio-vitals"]')).toHaveCount(1);
  await page.goto('/about');
  await expect.poll(() => stored('/writing').length).toBeGreaterThan(0);
  // The owner's view of /writing and the visitor's: only the visitor's is kept.
  expect(sql("select count(*) from vitals_views where route = '/writing'")).toEqual(['1']);
});
