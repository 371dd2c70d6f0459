import { inflateSync } from 'node:zlib';
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from '../fixtures';
import { openHydrated, SITE_PAGES } from '../site-pages';

// Layout: nothing runs off the side of a small phone, and a stored dark theme is there on the
// first paint, before any of the site's script or WASM from /pkg could have run.

test.describe('at 320 CSS pixels wide', () => {
  test.use({ viewport: { width: 320, height: 640 } });

  for (const site of SITE_PAGES) {
    test(`${site.name}: nothing overflows sideways`, async ({ page, guard, request }) => {
      const path = await openHydrated(page, guard, request, site);
      const layout = await page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const name = (el: Element) =>
          el.tagName.toLowerCase() +
          (el.id ? `#${el.id}` : '') +
          Array.from(el.classList, (c) => `.${c}`).join('');
        const selector = (el: Element) => {
          const parts: string[] = [];
          for (let e: Element | null = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
            parts.unshift(name(e));
          }
          return parts.join(' > ');
        };
        // Whatever sits inside a box that clips or scrolls sideways (code blocks, wide tables)
        // cannot push the page wider; that box itself is still checked.
        const insideScroller = (el: Element) => {
          for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
            if (getComputedStyle(a).overflowX !== 'visible') return true;
          }
          return false;
        };
        const offenders: string[] = [];
        for (const el of Array.from(document.body.querySelectorAll('*'))) {
          const r = el.getBoundingClientRect();
          if (r.width === 0 && r.height === 0) continue;
          if (insideScroller(el)) continue;
          if (r.right > width + 0.5 || r.left < -0.5) {
            offenders.push(`${selector(el)} (left ${Math.round(r.left)}, right ${Math.round(r.right)})`);
          }
        }
        return { width, scrollWidth: document.documentElement.scrollWidth, offenders };
      });
      expect(layout.width).toBe(320);
      expect(layout.offenders, `elements past the edge of ${path}`).toEqual([]);
      expect(layout.scrollWidth, `document width of ${path}`).toBeLessThanOrEqual(layout.width);
    });
  }
});

// Type: visitors' pages speak in two weights, and form controls in the page's own font. Each
// further weight, or a control in the platform's font, is one more font a fresh renderer
// has to look up before its first frame (README, "The first paint on a phone"). Lengths in font
// metrics (ch, ex, ic, cap) make it look fonts up while computing styles, ahead of layout.
test.describe('type', () => {
  for (const site of SITE_PAGES) {
    test(`${site.name}: two weights, no font-metric lengths, and controls in the page's font`, async ({ page, guard, request }) => {
      const path = await openHydrated(page, guard, request, site);
      const type = await page.evaluate(() => {
        const ownText = (el: Element) =>
          Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent?.trim());
        const weights = new Set<string>();
        for (const el of Array.from(document.body.querySelectorAll('*'))) {
          if (ownText(el)) weights.add(getComputedStyle(el).fontWeight);
        }
        const family = getComputedStyle(document.body).fontFamily;
        const controls = Array.from(document.querySelectorAll('button, input, textarea, select'))
          .filter((el) => getComputedStyle(el).fontFamily !== family)
          .map((el) => `${el.tagName.toLowerCase()}: ${getComputedStyle(el).fontFamily}`);
        const metricLengths: string[] = [];
        const walk = (rules: CSSRuleList) => {
          for (const rule of Array.from(rules)) {
            if (rule instanceof CSSGroupingRule) walk(rule.cssRules);
            else if (/[\d.](ch|ex|ic|cap)\b/.test(rule.cssText)) metricLengths.push(rule.cssText);
          }
        };
        for (const sheet of Array.from(document.styleSheets)) {
          if (!sheet.href?.endsWith('/owner.css')) walk(sheet.cssRules);
        }
        return {
          metricLengths,
          owner: document.querySelector('link[href="/owner.css"]') !== null,
          weights: [...weights].sort(),
          controls,
          controlCount: document.querySelectorAll('button, input, textarea, select').length,
        };
      });
      // The theme toggle is on every page.
      expect(type.controlCount, `form controls on ${path}`).toBeGreaterThan(0);
      expect(type.controls, `controls not in the page's font on ${path}`).toEqual([]);
      expect(type.metricLengths, `font-metric lengths on ${path}`).toEqual([]);
      // The owner's stylesheet (its forms, sign-in among them) has weights of its own.
      if (site.name !== 'sign in') expect(type.owner, `${path} links owner.css`).toBe(false);
      if (!type.owner) {
        expect(type.weights.every((w) => w === '400' || w === '700'), `weights on ${path}: ${type.weights}`).toBe(true);
      }
    });
  }
});

/** The colour of an image's top-left pixel, from a PNG as Playwright's screenshots write it. */
function firstPixel(png: Buffer): [number, number, number] {
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  let offset = 8;
  let bitDepth = 0;
  let colorType = -1;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') [bitDepth, colorType] = [body[8], body[9]];
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  // 8-bit RGB or RGBA.
  expect(bitDepth).toBe(8);
  expect([2, 6]).toContain(colorType);
  // Each row starts with its filter byte. The first pixel of the first row has no neighbours
  // to predict from, so under every PNG filter its bytes are the colour itself.
  const raw = inflateSync(Buffer.concat(data));
  return [raw[1], raw[2], raw[3]];
}

/**
 * Stands in for the site's own script and WASM: the island loader imports a module that
 * fetches the WASM address, as the real one does, and then never starts; the WASM
 * served is an empty module. Nothing is aborted, so the page sees no failed request.
 * Returns how many of each were asked for.
 */
async function withoutSiteCode(page: Page): Promise<{ js: number; wasm: number }> {
  const asked = { js: 0, wasm: 0 };
  await page.route(/\/pkg\/[^/]+\.js$/, (route) => {
    asked.js += 1;
    return route.fulfill({
      contentType: 'text/javascript',
      body:
        'export default async function init({ module_or_path }) {\n' +
        '  await fetch(module_or_path);\n' +
        '  return new Promise(() => {});\n' +
        '}\n' +
        'export function hydrate() {}\n',
    });
  });
  await page.route(/\/pkg\/[^/]+\.wasm$/, (route) => {
    asked.wasm += 1;
    return route.fulfill({
      contentType: 'application/wasm',
      body: Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    });
  });
  return asked;
}

/** Stores a theme choice for the site before any page of it loads. */
async function storeTheme(context: BrowserContext, theme: 'dark' | 'light'): Promise<void> {
  await context.addInitScript((choice) => {
    try {
      if (location.protocol.startsWith('http')) localStorage.setItem('folio-theme', choice);
    } catch {
      // about:blank has no storage.
    }
  }, theme);
}

/** The body's background on the first frame the browser renders with a body in it. */
async function recordFirstFrame(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __firstFrame: Promise<{ background: string; theme: string | null }> };
    w.__firstFrame = new Promise((resolve) => {
      const look = () => {
        if (!document.body) {
          requestAnimationFrame(look);
          return;
        }
        resolve({
          background: getComputedStyle(document.body).backgroundColor,
          theme: document.documentElement.dataset.theme ?? null,
        });
      };
      requestAnimationFrame(look);
    });
  });
}

async function firstFrame(page: Page): Promise<{ background: string; theme: string | null }> {
  await page.goto('/', { waitUntil: 'commit' });
  const frame = await page.evaluate(
    () => (window as unknown as { __firstFrame: Promise<{ background: string; theme: string | null }> }).__firstFrame,
  );
  // The islands loader asks for the (stand-in) script once the page has loaded and the browser
  // is idle; let it, so the next navigation does not cut that request off.
  await page.waitForLoadState('networkidle');
  return frame;
}

async function topLeftAtDomContentLoaded(page: Page): Promise<[number, number, number]> {
  await page.goto('/', { waitUntil: 'domcontentloaded' });
  return firstPixel(await page.screenshot({ clip: { x: 0, y: 0, width: 1, height: 1 } }));
}

test.describe('a stored theme with a light system theme and no site script', () => {
  test.use({ colorScheme: 'light' });

  test('a stored dark theme is on the first paint', async ({ page, context }) => {
    await storeTheme(context, 'dark');
    const asked = await withoutSiteCode(page);
    await recordFirstFrame(page);

    expect(await firstFrame(page)).toEqual({ background: 'rgb(0, 0, 0)', theme: 'dark' });
    expect(await topLeftAtDomContentLoaded(page)).toEqual([0, 0, 0]);

    // The site's code really was kept out: the loader asked for it and got the stand-in, and
    // the toggle, which a hydrated island would mark ready and show pressed in the dark theme,
    // never changed (so it stays hidden, its space kept).
    await page.waitForLoadState('networkidle');
    expect(asked.js).toBeGreaterThan(0);
    expect(asked.wasm).toBeGreaterThan(0);
    const toggle = page.getByTestId('theme-toggle');
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await expect(toggle).not.toHaveAttribute('data-ready');
    await expect(toggle).toBeHidden();
  });

  test('the control: with nothing stored the same checks see the light theme', async ({ page }) => {
    await withoutSiteCode(page);
    await recordFirstFrame(page);

    expect(await firstFrame(page)).toEqual({ background: 'rgb(250, 250, 247)', theme: null });
    expect(await topLeftAtDomContentLoaded(page)).toEqual([250, 250, 247]);
    await page.waitForLoadState('networkidle');
  });
});
