import { defineConfig, devices } from '@playwright/test';
import path from 'node:path';

// folio's end-to-end suite runs against the real release server (`target/release/folio`), which
// must be built first (see scripts/lib.sh: build_release). It starts with an empty embedded
// PostgreSQL under /tmp/folio-e2e-<port>, wiped before every run.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
// E2E_ROOT: run another checkout's (or a snapshot's) build instead of this one's.
const repoRoot = process.env.E2E_ROOT ?? path.resolve(__dirname, '..');

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  // A whole run takes about 10 minutes; past 30, something hangs and CI must not wait it out.
  globalTimeout: 30 * 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: {
    // Run from the repository root: the server reads ./Leptos.toml and serves target/site.
    // `exec` lets the SIGTERM below reach folio itself, which then stops its PostgreSQL.
    command: `bash -c 'rm -rf "$FOLIO_DATA_DIR" && exec target/release/folio'`,
    cwd: repoRoot,
    env: {
      // Under /tmp: PostgreSQL runs as the `postgres` user, who may not enter the checkout.
      FOLIO_DATA_DIR: `/tmp/folio-e2e-${port}`,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      // The contact specs tell their simulated visitors apart by X-Forwarded-For, as a reverse
      // proxy in front of folio would, so each test has its own per-address limit.
      FOLIO_TRUSTED_PROXIES: '127.0.0.1',
      FOLIO_CONTACT_LIMIT_PER_HOUR: '3',
      // Every page view reports its Web Vitals when it is left; the suite leaves pages far
      // faster than visitors, and a 429 would fail whichever test it landed in. The limit
      // itself is tested in server/tests/vitals.rs.
      FOLIO_VITALS_LIMIT_PER_MINUTE: '100000',
    },
    url: `${baseURL}/healthz`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 15_000 },
  },
});
