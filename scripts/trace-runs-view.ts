// Scratch: a Chrome trace of the first open at Runs, summarised by top-level event on the page's main thread.
import { launchChromium } from '../test/e2e/helpers/browser';
import { startLabHost } from '../test/e2e/helpers/labHost';
import { writeManyRuns } from '../test/helpers/manyRuns';
const host = await startLabHost({ prepare: (s) => writeManyRuns(s, 5000) });
try {
  
  await host.call('listRuns');
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await browser.startTracing(page, { categories: ['devtools.timeline', 'v8', 'disabled-by-default-devtools.timeline', 'blink', 'loading', 'v8.execute'] });
  await page.addInitScript(`window.__firstRows = new Promise((resolve) => { const w = new MutationObserver(() => { if (document.querySelector('[data-run]')) { w.disconnect(); requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now()))); } }); w.observe(document, { childList: true, subtree: true }); });`);
  await page.goto(host.url);
  const firstMs = await page.evaluate('window.__firstRows');
  await page.waitForTimeout(100);
  const buf = await browser.stopTracing();
  const trace = JSON.parse(buf.toString()) as { traceEvents: any[] };
  const evs = trace.traceEvents;
  // the renderer main thread: CrRendererMain
  const names = evs.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const nav = evs.find((e) => e.name === 'navigationStart' || e.name === 'NavigationStartToEnd') ;
  let navTs: number | undefined;
  console.log('firstMs', firstMs, 'mainThreads', names.length);
  for (const n of names) {
    const mine = evs.filter((e) => e.pid === n.pid && e.tid === n.tid && e.ph === 'X' && e.dur);
    mine.sort((a, b) => a.ts - b.ts);
    // top-level: not contained in a previous event
    let end = 0; const top: any[] = []; navTs = mine.find((e) => e.name === 'RunTask' && e.dur > 20000)?.ts;
    for (const e of mine) { if (e.ts >= end) { top.push(e); end = e.ts + e.dur; } }
    const total = top.reduce((s, e) => s + e.dur, 0) / 1000;
    if (total < 20) continue;
    console.log('thread', n.pid, n.tid, 'busy ms', Math.round(total));
    for (const e of top) if (e.dur > 2000 && n.tid === n.pid) {
      const kids = mine.filter((k) => k !== e && k.ts >= e.ts && k.ts + k.dur <= e.ts + e.dur && k.dur > 2000).slice(0, 30).map((k) => `${k.name}${k.args?.data?.url ?? k.args?.data?.fileName ?? k.args?.fileName ? '(' + String(k.args?.data?.url ?? k.args?.data?.fileName ?? k.args?.fileName).split('/').pop() + ')' : ''}:${Math.round(k.dur / 1000)}`);
      console.log(Math.round((e.ts - (navTs ?? e.ts)) / 1000), e.name, Math.round(e.dur / 1000), e.args?.data?.url ? String(e.args.data.url).split('/').pop() : '', kids.join(' '));
    }
  }
  await browser.close();
} finally { await host.stop(); }
