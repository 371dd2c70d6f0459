// Lighthouse runs for bench/lighthouse, which starts folio and calls this. See bench/README.md.
//
//   node bench/lighthouse.mjs --base http://127.0.0.1:3300 --root <repo> [--runs N]
//
// Mobile preset (Lighthouse's default config: mobile form factor, simulated throttling), one
// fresh headless Chromium per run. Prints a table and the failing audits, writes
// bench/results/lighthouse.json and bench/results/lighthouse-<page>.html.
// Exit 0 when every page was measured, whatever the scores; 1 if Lighthouse could not run.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const PAGES = [
  { name: 'home', path: '/' },
  { name: 'projects', path: '/projects' },
  { name: 'project', path: '/projects/vellmar-tide-predictions' },
];
const CATEGORIES = [
  ['performance', 'Perf'],
  ['accessibility', 'A11y'],
  ['best-practices', 'BestPr'],
  ['seo', 'SEO'],
];
const CHROME_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ATTEMPTS = 3;
const NOT_FAILING = new Set(['informative', 'notApplicable', 'manual']);

function parseArgs(argv) {
  const args = { runs: 1 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--base': args.base = value; i++; break;
      case '--root': args.root = value; i++; break;
      case '--runs': args.runs = Number(value); i++; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!args.base || !args.root) throw new Error('--base and --root are required');
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a positive integer');
  const host = new URL(args.base).hostname;
  if (host !== '127.0.0.1') throw new Error(`refusing to measure ${host}: 127.0.0.1 only`);
  return args;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/).slice(0, 3).join(' ');
const round = (x) => (x == null ? null : Math.round(x));
const score100 = (s) => (s == null ? null : Math.round(s * 100));

function tryRun(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], ...opts }).trim();
  } catch {
    return null;
  }
}

// One Lighthouse run in its own Chromium, so that no cache or state carries over between runs.
async function measure(lighthouse, launch, url, chromePath) {
  const chrome = await launch({ chromePath, chromeFlags: CHROME_FLAGS, logLevel: 'silent' });
  try {
    const result = await lighthouse(url, { port: chrome.port, output: 'html', logLevel: 'error' });
    if (!result) throw new Error('Lighthouse returned no result');
    return { lhr: result.lhr, html: result.report };
  } finally {
    await chrome.kill();
  }
}

// Short labels for what an audit found (URLs, elements, unmet checks), for the failing list.
function itemLabels(audit, pageUrl) {
  const origin = new URL(pageUrl).origin;
  const clip = (t, n = 70) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);
  const shortUrl = (u) => (u.startsWith(origin) ? u.slice(origin.length) || '/' : u);
  const nodeLabel = (n) => clip(`${n.selector ?? n.snippet ?? ''}${n.nodeLabel ? ` "${clip(n.nodeLabel, 40)}"` : ''}`, 110);
  const labels = [];
  const add = (item) => {
    if (!item || typeof item !== 'object') return;
    if (item.type === 'list-section' && item.value?.type === 'network-tree') {
      // The longest request chain, as the report draws it.
      const chain = [];
      let level = item.value.chains ?? {};
      for (;;) {
        const next = Object.values(level).find((c) => c.isLongest);
        if (!next) break;
        chain.push(shortUrl(next.url));
        level = next.children ?? {};
      }
      if (chain.length) labels.push(`longest chain ${round(item.value.longestChain?.duration)} ms: ${chain.join(' -> ')}`);
    } else if (item.type === 'checklist') {
      for (const check of Object.values(item.items ?? {})) if (check.value === false) labels.push(check.label);
    } else if (item.type === 'node') {
      labels.push(nodeLabel(item));
    } else if (typeof item.url === 'string') {
      labels.push(shortUrl(item.url));
    } else if (item.node?.type === 'node') {
      labels.push(nodeLabel(item.node));
    } else if (typeof item.source?.url === 'string') {
      labels.push(shortUrl(item.source.url));
    }
  };
  for (const item of audit.details?.items ?? []) add(item);
  return [...new Set(labels)];
}

function summarise(page, url, lhr, perfScores, load) {
  const audit = (id) => lhr.audits[id];
  const metrics = {
    lcp_ms: round(audit('largest-contentful-paint')?.numericValue),
    tbt_ms: round(audit('total-blocking-time')?.numericValue),
    cls: audit('cumulative-layout-shift')?.numericValue ?? null,
    fcp_ms: round(audit('first-contentful-paint')?.numericValue),
    si_ms: round(audit('speed-index')?.numericValue),
  };
  const scores = Object.fromEntries(CATEGORIES.map(([id]) => [id, score100(lhr.categories[id]?.score)]));

  // Which category (and group) each audit counts towards; the metric audits are left out of
  // the failing list because the table already shows them.
  const owner = new Map();
  for (const [id] of CATEGORIES) {
    for (const ref of lhr.categories[id]?.auditRefs ?? []) {
      if (!owner.has(ref.id)) owner.set(ref.id, { category: id, group: ref.group });
    }
  }
  const failing = [];
  const errors = [];
  for (const a of Object.values(lhr.audits)) {
    const where = owner.get(a.id);
    if (a.scoreDisplayMode === 'error') {
      errors.push({ id: a.id, title: a.title, error: a.errorMessage ?? '' });
      continue;
    }
    if (!where || where.group === 'metrics') continue;
    if (NOT_FAILING.has(a.scoreDisplayMode) || a.score == null || a.score >= 1) continue;
    const items = a.details?.items;
    failing.push({
      category: where.category,
      group: where.group ?? null,
      id: a.id,
      title: a.title,
      score: a.score,
      display: a.displayValue ?? '',
      items: Array.isArray(items) ? items.length : 0,
      what: itemLabels(a, url),
    });
  }
  const order = CATEGORIES.map(([id]) => id);
  failing.sort((x, y) => order.indexOf(x.category) - order.indexOf(y.category) || x.score - y.score);

  return {
    page: page.name,
    path: page.path,
    url,
    final_url: lhr.finalDisplayedUrl,
    scores,
    metrics,
    performance_runs: perfScores,
    loadavg_before: load,
    benchmark_index: lhr.environment?.benchmarkIndex ?? null,
    warnings: lhr.runWarnings ?? [],
    failing,
    errors,
    report: `bench/results/lighthouse-${page.name}.html`,
  };
}

function pad(s, n, left = false) {
  s = String(s);
  return left ? s.padEnd(n) : s.padStart(n);
}

function printTable(rows) {
  const cols = [
    ['page', 9, (r) => r.page, true],
    ['Perf', 5, (r) => r.scores.performance ?? '-'],
    ['A11y', 5, (r) => r.scores.accessibility ?? '-'],
    ['BestPr', 7, (r) => r.scores['best-practices'] ?? '-'],
    ['SEO', 5, (r) => r.scores.seo ?? '-'],
    ['LCP ms', 8, (r) => r.metrics.lcp_ms ?? '-'],
    ['TBT ms', 8, (r) => r.metrics.tbt_ms ?? '-'],
    ['CLS', 7, (r) => (r.metrics.cls == null ? '-' : r.metrics.cls.toFixed(3))],
    ['FCP ms', 8, (r) => r.metrics.fcp_ms ?? '-'],
    ['load', 16, (r) => r.loadavg_before],
  ];
  const line = (cells) => cells.join('  ').trimEnd();
  console.log(line(cols.map(([h, w, , left]) => pad(h, w, left))));
  console.log(line(cols.map(([, w]) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map(([, w, f, left]) => pad(f(r), w, left))));
}

function printFailing(rows) {
  const short = Object.fromEntries(CATEGORIES);
  let hidden = false;
  for (const r of rows) {
    console.log(`\nfailing audits: ${r.page} (${r.path})${r.failing.length ? '' : ': none'}`);
    for (const f of r.failing) {
      // Audits in Lighthouse's 'hidden' group (the newer "insights", max-potential-fid) are not
      // in the HTML report's default view; many repeat a visible audit.
      const tag = short[f.category] + (f.group === 'hidden' ? '*' : '');
      hidden ||= f.group === 'hidden';
      const extra = f.display || (f.items && !f.what.length ? `${f.items} item${f.items === 1 ? '' : 's'}` : '');
      console.log(`  ${pad(tag, 6, true)} ${f.score.toFixed(2)}  ${f.id}: ${f.title}${extra ? ` [${extra}]` : ''}`);
      const shown = f.what.slice(0, 4);
      if (shown.length) {
        const more = f.what.length > shown.length ? `, +${f.what.length - shown.length} more` : '';
        console.log(`               ${shown.join(', ')}${more}`);
      }
    }
    for (const e of r.errors) console.log(`  error       ${e.id}: ${e.error}`);
    for (const w of r.warnings) console.log(`  warning     ${w}`);
  }
  if (hidden) console.log("\n* in Lighthouse's hidden group (insights): not in the HTML report's default view");
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const modules = path.join(args.root, '.tools', 'node_modules');
  const { default: lighthouse } = await import(pathToFileURL(path.join(modules, 'lighthouse/core/index.js')));
  const { launch } = await import(pathToFileURL(path.join(modules, 'chrome-launcher/dist/index.js')));
  const lhVersion = JSON.parse(readFileSync(path.join(modules, 'lighthouse/package.json'), 'utf8')).version;
  const chromePath = process.env.CHROME_PATH || '/usr/bin/chromium';
  const outDir = path.join(args.root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });

  const started = new Date();
  const loadStart = loadavg();
  console.log(
    `lighthouse ${lhVersion}, mobile preset (simulated throttling), ${args.runs} run${args.runs === 1 ? '' : 's'} per page, ` +
      `${os.cpus().length} CPUs, load average ${loadStart}`,
  );

  const rows = [];
  let failed = false;
  let chromeVersion = null;
  for (const page of PAGES) {
    const url = new URL(page.path, args.base).href;
    // One request first, so the page comes from folio's page cache as a visitor's would.
    const warm = await fetch(url);
    await warm.arrayBuffer();
    if (warm.status !== 200) console.error(`lighthouse: ${page.path} answered ${warm.status} to the warm-up request`);

    const load = loadavg();
    const runs = [];
    for (let i = 0; i < args.runs; i++) {
      // Lighthouse now and then fails a run for its own reasons (NO_NAVSTART, a lost
      // connection to Chromium); such a run is tried again, up to ATTEMPTS times.
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        const again = attempt < ATTEMPTS ? '; trying again' : '';
        process.stderr.write(
          `lighthouse: ${page.name} run ${i + 1}/${args.runs}${attempt > 1 ? ` attempt ${attempt}` : ''} (load ${loadavg()})\n`,
        );
        try {
          const run = await measure(lighthouse, launch, url, chromePath);
          if (run.lhr.runtimeError) {
            const { code, message } = run.lhr.runtimeError;
            console.error(`lighthouse: ${page.path}: ${code}: ${message}${again}`);
            continue;
          }
          chromeVersion ??= run.lhr.environment?.hostUserAgent ?? null;
          runs.push(run);
          break;
        } catch (error) {
          console.error(`lighthouse: ${page.path}: ${error?.stack ?? error}${again}`);
        }
      }
    }
    if (runs.length < args.runs) failed = true;
    if (runs.length === 0) continue;
    // The median run by performance score (the lower of the two middle ones for an even count).
    const sorted = [...runs].sort((a, b) => (a.lhr.categories.performance?.score ?? 0) - (b.lhr.categories.performance?.score ?? 0));
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    const perfScores = runs.map((r) => score100(r.lhr.categories.performance?.score));
    writeFileSync(path.join(outDir, `lighthouse-${page.name}.html`), median.html);
    const row = summarise(page, url, median.lhr, perfScores, load);
    // Every run's TBT and LCP too: on a shared two-core machine one run's TBT can differ from
    // the next by a few milliseconds of the browser's own work, so the spread is the honest figure.
    row.tbt_runs = runs.map((r) => round(r.lhr.audits['total-blocking-time']?.numericValue));
    row.lcp_runs = runs.map((r) => round(r.lhr.audits['largest-contentful-paint']?.numericValue));
    rows.push(row);
  }

  const loadEnd = loadavg();
  console.log('');
  printTable(rows);
  console.log(`\nload average (1/5/15 min) at start ${loadStart}, at end ${loadEnd}; ${os.cpus().length} CPUs`);
  if (rows.length) {
    console.log(`Lighthouse CPU benchmark index: ${rows.map((r) => `${r.page} ${r.benchmark_index}`).join(', ')}`);
  }
  if (args.runs > 1) {
    console.log(`performance scores of all runs: ${rows.map((r) => `${r.page} [${r.performance_runs.join(', ')}]`).join('; ')}`);
    console.log(`TBT ms of all runs: ${rows.map((r) => `${r.page} [${r.tbt_runs.join(', ')}]`).join('; ')}`);
    console.log(`LCP ms of all runs: ${rows.map((r) => `${r.page} [${r.lcp_runs.join(', ')}]`).join('; ')}`);
  }
  printFailing(rows);

  const commit = tryRun('git', ['-C', args.root, 'rev-parse', 'HEAD']);
  const dirty = tryRun('git', ['-C', args.root, 'status', '--porcelain', '--untracked-files=no']);
  const summary = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    commit,
    worktree_dirty: dirty == null ? null : dirty.length > 0,
    lighthouse: lhVersion,
    chrome: chromeVersion,
    preset: 'mobile (Lighthouse default config, simulated throttling)',
    runs_per_page: args.runs,
    base_url: args.base,
    nproc: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? null,
    loadavg_start: loadStart,
    loadavg_end: loadEnd,
    pages: rows,
  };
  if (rows.length) {
    writeFileSync(path.join(outDir, 'lighthouse.json'), JSON.stringify(summary, null, 2) + '\n');
    console.log(`\nsummary: bench/results/lighthouse.json; reports: ${rows.map((r) => r.report).join(', ')}`);
  }

  if (failed || rows.length < PAGES.length) {
    console.error('lighthouse: some runs did not complete (see above)');
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(`lighthouse: ${error?.stack ?? error}`);
  process.exit(1);
});
