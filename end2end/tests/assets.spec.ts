import type { Page } from '@playwright/test';
import { expect, gotoLoaded, test } from '../fixtures';

/** The /pkg files the browser really loads for the home page: script and WASM. */
async function pkgFiles(page: Page): Promise<string[]> {
  const seen = new Set<string>();
  page.on('response', (r) => {
    const { pathname } = new URL(r.url());
    if (pathname.startsWith('/pkg/')) seen.add(pathname);
  });
  await gotoLoaded(page, '/');
  return [...seen].sort();
}

const TYPES: Record<string, RegExp> = {
  js: /^text\/javascript\b/,
  wasm: /^application\/wasm$/,
  css: /^text\/css\b/,
};

test('the page loads hashed script and WASM from /pkg, and carries its stylesheet inline', async ({ page }) => {
  const files = await pkgFiles(page);
  for (const ext of ['js', 'wasm']) {
    const matching = files.filter((f) => f.endsWith(`.${ext}`));
    expect(matching, `a .${ext} file among ${files.join(', ')}`).toHaveLength(1);
    // A content hash in the name is what makes caching it forever safe.
    expect(matching[0]).toMatch(new RegExp(`^/pkg/folio\\.[A-Za-z0-9_-]{8,}\\.${ext}$`));
  }
  // No render-blocking stylesheet request: the CSS is in the page, allowed by the CSP nonce.
  expect(files.filter((f) => f.endsWith('.css'))).toEqual([]);
  const style = page.locator('head style[nonce]');
  await expect(style).toHaveCount(1);
  expect(await style.evaluate((el) => (el as HTMLStyleElement).sheet?.cssRules.length ?? 0)).toBeGreaterThan(50);
  // Nothing is preloaded: the script and WASM wait for the page to load.
  await expect(page.locator('link[rel=preload], link[rel=modulepreload]')).toHaveCount(0);
});

test('/pkg files are cached forever and sent compressed', async ({ page, request }) => {
  const files = (await pkgFiles(page)).filter((f) => /\.(js|wasm)$/.test(f));
  expect(files).toHaveLength(2);

  for (const file of files) {
    const ext = file.split('.').pop() as string;
    const plain = await request.get(file, { headers: { 'Accept-Encoding': 'identity' } });
    expect(plain.status(), file).toBe(200);
    expect(plain.headers()['content-encoding'], `${file} uncompressed`).toBeUndefined();
    const original = await plain.body();
    if (ext === 'wasm') expect(original.subarray(0, 4).toString('latin1'), file).toBe('\0asm');

    for (const encoding of ['br', 'gzip']) {
      const response = await request.get(file, { headers: { 'Accept-Encoding': encoding } });
      const headers = response.headers();
      expect(response.status(), `${file} (${encoding})`).toBe(200);
      expect(headers['content-encoding'], `${file} content-encoding`).toBe(encoding);
      expect(headers['content-type'], `${file} content-type`).toMatch(TYPES[ext]);
      expect(headers['cache-control'], `${file} cache-control`).toContain('immutable');
      expect(headers['cache-control'], `${file} cache-control`).toMatch(/max-age=31536000\b/);
      // The precompressed copy is the same file, not a stale one (Playwright decodes it).
      expect((await response.body()).equals(original), `${file} (${encoding}) matches`).toBe(true);
      // And it is worth sending: the compressed body is smaller.
      expect(Number(headers['content-length']), `${file} (${encoding}) size`).toBeLessThan(
        original.length,
      );
      // A shared cache must not hand this year-long, Brotli-encoded copy to a client that
      // cannot decode it: the response has to say it depends on Accept-Encoding.
      expect
        .soft(headers['vary']?.toLowerCase() ?? '', `Vary on ${file} (${encoding})`)
        .toContain('accept-encoding');
    }
  }
});
