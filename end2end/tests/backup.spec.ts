import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, resetOwner, signInAsOwner, sql, test } from '../fixtures';

// Export and import through the owner's pages, as plain HTML: the export downloads, the site
// changes, the file is checked (a summary, nothing applied), then confirmed, and the site is as
// it was; a file that is not an export is refused. The command line writes the same archive.

test.describe.configure({ mode: 'serial' });
test.use({ javaScriptEnabled: false });

const port = Number(process.env.E2E_PORT ?? 3100);
const repoRoot = process.env.E2E_ROOT ?? path.resolve(__dirname, '..', '..');
const env = { ...process.env, FOLIO_DATA_DIR: `/tmp/folio-e2e-${port}`, LEPTOS_SITE_ADDR: `127.0.0.1:${port}` };

test.beforeAll(resetOwner);

test('an export downloaded, then imported after a change, brings the site back as it was', async ({ page, guard }) => {
  await signInAsOwner(page);
  await page.goto('/owner/backup');
  const downloading = page.waitForEvent('download');
  await page.getByTestId('export').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^folio-export-\d{4}-\d{2}-\d{2}\.json\.gz$/);
  const file = path.join(os.tmpdir(), `folio-e2e-export-${port}.json.gz`);
  await download.saveAs(file);
  expect([...readFileSync(file).subarray(0, 2)]).toEqual([0x1f, 0x8b]);

  const headline = sql('select headline from profile')[0];
  const projects = sql('select count(*) from projects')[0];
  sql("update profile set headline = 'Changed after the export'; delete from projects where id = (select min(id) from projects)");
  await page.goto('/');
  await expect(page.getByTestId('headline')).toHaveText('Changed after the export');

  await page.goto('/owner/backup');
  await page.getByLabel('Export file').setInputFiles(file);
  await page.getByRole('button', { name: 'Check the file' }).click();
  const check = page.getByTestId('import-check');
  await expect(check).toContainText('Check before importing');
  await expect(check.getByRole('row', { name: /^Projects/ })).toContainText(`${Number(projects) - 1}${projects}`);
  expect(sql('select headline from profile')[0]).toBe('Changed after the export');

  await page.getByTestId('confirm-import').click();
  await expect(page).toHaveURL(/\/owner\/backup\?done=import$/);
  await expect(page.getByTestId('import-done')).toContainText('Imported');
  expect(sql('select headline from profile')[0]).toBe(headline);
  expect(sql('select count(*) from projects')[0]).toBe(projects);
  await page.goto('/');
  await expect(page.getByTestId('headline')).toHaveText(headline);

  // Not an export: refused with the reason, and nothing changes.
  const bogus = path.join(os.tmpdir(), `folio-e2e-bogus-${port}.json.gz`);
  execFileSync('bash', ['-c', `echo 'not an export' > ${bogus}`]);
  guard.expectStatus('/owner/import', 422);
  await page.goto('/owner/backup');
  await page.getByLabel('Export file').setInputFiles(bogus);
  await page.getByRole('button', { name: 'Check the file' }).click();
  await expect(page.getByTestId('form-summary')).toContainText('Nothing was changed: this is not a folio export');
  expect(sql('select count(*) from projects')[0]).toBe(projects);
});

test('folio export writes the same kind of archive from the command line', () => {
  const file = path.join(os.tmpdir(), `folio-e2e-cli-${port}.json.gz`);
  const out = execFileSync('target/release/folio', ['export', file], { cwd: repoRoot, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  expect(out).toBe('');
  const bytes = readFileSync(file);
  expect([...bytes.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
  expect(sql("select count(*) from security_log where event = 'exported' and client = 'command line'")[0]).not.toBe('0');
});
