// The Runs view at scale: writes N generated runs (default 5,000) into a temporary store, serves them through the
// built web host (dist/webHost.js: `npm run build` first) and times, in Debian's Chromium:
//   listRuns   the service call over HTTP (median of 5, after one warm-up)
//   first open loading the app at #/runs until the run list shows its rows (navigation start to the next frame)
//   reopen     from another view back to Runs until its rows are drawn (median of 5)
// Usage: npm run bench:runs-view [-- --runs N]. Prints one JSON line; docs/benchmarks.md records the figures.
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/e2e/helpers/browser';
import { startLabHost } from '../test/e2e/helpers/labHost';
import { writeManyRuns } from '../test/helpers/manyRuns';

const arg = process.argv.indexOf('--runs');
const N = arg >= 0 ? Number(process.argv[arg + 1]) : 5000;
if (!Number.isInteger(N) || N < 1 || N > 100_000) {
  console.error('--runs: a whole number 1..100000');
  process.exit(2);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** In the page: from now until the run list holds rows, plus one frame so the rows are laid out and painted. */
const ROWS_DRAWN = `new Promise((resolve) => {
  const t0 = performance.now();
  location.hash = '#/runs';
  const check = () => (document.querySelector('[data-run]') ? requestAnimationFrame(() => resolve(performance.now() - t0)) : requestAnimationFrame(check));
  check();
})`;

async function reopen(page: Page): Promise<number> {
  await page.evaluate(`location.hash = '#/flows'`);
  await page.waitForSelector('[data-view=flows][aria-current=page]');
  await page.waitForTimeout(200);
  return (await page.evaluate(ROWS_DRAWN)) as number;
}

const host = await startLabHost();
try {
  await writeManyRuns(host.store, N);
  const serviceMs: number[] = [];
  await host.call('listRuns');
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const res = await host.call('listRuns');
    serviceMs.push(performance.now() - t0);
    const runs = (res.body.result as { runs: unknown[] }).runs;
    if (runs.length !== N) throw new Error(`listRuns gave ${runs.length} runs, expected ${N}`);
  }
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The address holds only the token: the app opens at Runs, its default view.
    await page.goto(host.url);
    // A function, not a string (the page's CSP forbids eval); this file is compiled without the DOM's types.
    const first = await page.waitForFunction(
      () => ((globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector('[data-run]') ? performance.now() : null),
      null,
      { polling: 'raf', timeout: 300_000 },
    );
    const firstMs = (await first.jsonValue()) as number;
    const domRows = await page.locator('[data-run]').count();
    // Where the first open's time goes: each request of the page (start and end, ms from navigation start).
    const firstOpenRequests = (await page.evaluate(
      `performance.getEntriesByType('resource').map((e) => [e.name.replace(location.origin, '').split('?')[0], Math.round(e.startTime), Math.round(e.responseEnd)])`,
    )) as [string, number, number][];
    const reopenMs: number[] = [];
    for (let i = 0; i < 5; i++) reopenMs.push(await reopen(page));
    console.log(
      JSON.stringify({
        runs: N,
        listRunsMs: Math.round(median(serviceMs)),
        firstOpenMs: Math.round(firstMs),
        reopenMs: Math.round(median(reopenMs)),
        reopenAllMs: reopenMs.map(Math.round),
        domRows,
        firstOpenRequests,
      }),
    );
  } finally {
    await browser.close();
  }
} finally {
  await host.stop();
}
