// The Runs view at scale: writes N generated runs (default 5,000) into a temporary store, serves them through the
// built web host (dist/webHost.js: `npm run build` first) and times, in Debian's Chromium:
//   listRuns   the service call over HTTP (median of 5, after one warm-up)
//   first open loading the app at #/runs until the run list shows its rows (navigation start to the next frame)
//   reopen     from another view back to Runs until its rows are drawn (median of 5)
// Usage: npm run bench:runs-view [-- --runs N] [-- --profile]. Prints one JSON line; docs/benchmarks.md records the
// figures. --profile adds `profile`: the page's CPU time during the first open (Chrome's sampling profiler), by
// script and by function (self time, ms), to show where the first open goes.
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
const PROFILE = process.argv.includes('--profile');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** In the page: from now until the run list holds rows, plus one frame so the rows are laid out and painted. */
const ROWS_DRAWN = `new Promise((resolve) => {
  const t0 = performance.now();
  location.hash = '#/runs';
  const check = () => (document.querySelector('[data-run]') ? requestAnimationFrame(() => resolve(performance.now() - t0)) : requestAnimationFrame(check));
  check();
})`;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time (ms) per script and the heaviest functions, from a sampling profile. */
function summariseProfile(p: CpuProfile) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  (p.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas?.[i] ?? 0) / 1000));
  const byScript = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    const script = f.url ? f.url.replace(/^.*\//, '').split('?')[0] : `(${f.functionName || 'native'})`;
    byScript.set(script, (byScript.get(script) ?? 0) + ms);
    const fn = `${f.functionName || '(anonymous)'} ${script}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, ms]) => [name, Math.round(ms)] as const);
  return { totalMs: Math.round((p.endTime - p.startTime) / 1000), byScript: top(byScript, 8), byFunction: top(byFn, 15) };
}

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
    const cdp = PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    // The address holds only the token: the app opens at Runs, its default view.
    await page.goto(host.url);
    // A function, not a string (the page's CSP forbids eval); this file is compiled without the DOM's types.
    const first = await page.waitForFunction(
      () => ((globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector('[data-run]') ? performance.now() : null),
      null,
      { polling: 'raf', timeout: 300_000 },
    );
    const firstMs = (await first.jsonValue()) as number;
    const profile = cdp ? summariseProfile((await cdp.send('Profiler.stop')).profile) : undefined;
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
        ...(profile ? { profile } : {}),
      }),
    );
  } finally {
    await browser.close();
  }
} finally {
  await host.stop();
}
