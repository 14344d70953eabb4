// The Runs view at scale: writes N generated runs (default 5,000) into a temporary store, serves them through the
// built web host (dist/webHost.js: `npm run build` first) and times, in Debian's Chromium:
//   listRuns   the service call over HTTP (median of 5, after one warm-up), as plain JSON and packed (as the page asks)
//   first open loading the app at #/runs until the run list shows its rows (navigation start to the next frame)
//   reopen     from another view back to Runs until its rows are drawn (median of 5)
// Usage: npm run bench:runs-view [-- --runs N] [-- --profile]. Prints one JSON line; docs/benchmarks.md records the
// figures. --profile adds `profile`: the page's CPU time during the first open (Chrome's sampling profiler), by
// script and by function (self time, ms), to show where the first open goes.
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/e2e/helpers/browser';
import { startLabHost } from '../test/e2e/helpers/labHost';
import { writeManyRuns } from '../test/helpers/manyRuns';
import { PACKED_JSON_TYPE, unpack, type Packed } from '../src/core/protocol/packedJson';

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

/** Init script: `window.__firstRows`, a promise of the time (ms from navigation start) the first rows were drawn. */
const FIRST_ROWS = `window.__firstRows = new Promise((resolve) => {
  const seen = () => document.querySelector('[data-run]') !== null;
  const done = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
  const watch = new MutationObserver(() => {
    if (seen()) {
      watch.disconnect();
      done();
    }
  });
  watch.observe(document, { childList: true, subtree: true });
});`;

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

// The runs are in the store before the lab starts, as a user's are; the host warms its run list as it starts.
const host = await startLabHost({ prepare: (store) => writeManyRuns(store, N) });
try {
  /** One listRuns over HTTP: plain JSON (any client), or packed as the page asks for it. */
  const listRuns = async (packed: boolean): Promise<number> => {
    const t0 = performance.now();
    const res = await fetch(`${host.origin}/api/listRuns`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${host.token}`, ...(packed ? { Accept: PACKED_JSON_TYPE } : {}) },
    });
    const body = (await res.json()) as { result: unknown };
    const ms = performance.now() - t0;
    const isPacked = (res.headers.get('Content-Type') ?? '').startsWith(PACKED_JSON_TYPE);
    const runs = (isPacked ? (unpack(body.result as Packed) as { runs: unknown[] }) : (body.result as { runs: unknown[] })).runs;
    if (runs.length !== N) throw new Error(`listRuns gave ${runs.length} runs, expected ${N}`);
    return ms;
  };
  const serviceMs: number[] = [];
  const packedMs: number[] = [];
  await listRuns(true);
  for (let i = 0; i < 5; i++) {
    serviceMs.push(await listRuns(false));
    packedMs.push(await listRuns(true));
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
    // The moment the rows are drawn, seen from inside the page by an observer set up before the app's scripts run
    // (polling from outside ran the harness's own script in the page while it loaded): the first DOM change that
    // adds a row, then two frames, so the frame with the rows has been laid out and painted.
    await page.addInitScript(FIRST_ROWS);
    // The address holds only the token: the app opens at Runs, its default view.
    await page.goto(host.url);
    const firstMs = (await Promise.race([
      page.evaluate('window.__firstRows'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('no run row within 120 s (with --runs under 201, every run is in a closed sweep)')), 120_000).unref(),
      ),
    ])) as number;
    const profile = cdp ? summariseProfile((await cdp.send('Profiler.stop')).profile) : undefined;
    const domRows = await page.locator('[data-run]').count();
    // Where the first open's time goes: each request of the page (start, first byte and end, ms from navigation start;
    // for service calls, the time the service took, from the host's Server-Timing header; -1 for files).
    const firstOpenRequests = (await page.evaluate(
      `performance.getEntriesByType('resource').map((e) => [e.name.replace(location.origin, '').split('?')[0], Math.round(e.startTime), Math.round(e.responseStart), Math.round(e.responseEnd), Math.round(e.serverTiming.find((t) => t.name === 'call')?.duration ?? -1)])`,
    )) as [string, number, number, number, number][];
    const reopenMs: number[] = [];
    for (let i = 0; i < 5; i++) reopenMs.push(await reopen(page));
    console.log(
      JSON.stringify({
        runs: N,
        listRunsMs: Math.round(median(serviceMs)),
        listRunsPackedMs: Math.round(median(packedMs)),
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
