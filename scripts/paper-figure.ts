// Makes the exported figure shown in the README (docs/figures/): trains a tiny FERNN-V1 and a tiny G-RNN on wasm
// through the built web host (dist/webHost.js: `npm run build` first), evaluates their velocity generalisation, opens
// Compare in Chromium with the cells' values shown, and saves what its PNG buttons export, unchanged.
// Usage: npx tsx scripts/paper-figure.ts [--steps N]   (tiny runs: the figure shows the export, not the paper's numbers)
import { copyFile, mkdir } from 'node:fs/promises';
import type { RunDetail } from '../src/core/protocol/service';
import { launchChromium } from '../test/e2e/helpers/browser';
import { startLabHost } from '../test/e2e/helpers/labHost';

const at = process.argv.indexOf('--steps');
const STEPS = at >= 0 ? Number(process.argv[at + 1]) : 300;
if (!Number.isInteger(STEPS) || STEPS < 1 || STEPS > 100_000) {
  console.error('--steps: a whole number 1..100000');
  process.exit(2);
}
const TINY = {
  hidden: 8,
  dataVRange: 1,
  steps: STEPS,
  batch: 8,
  imageSize: 16,
  numDigits: 1,
  valEvery: 50,
  valSequences: 16,
  testSequences: 32,
  backend: 'wasm',
};

const host = await startLabHost();
try {
  const ids: string[] = [];
  for (const [name, model, vRange] of [
    ['FERNN-V1 tiny', 'fernn', 1],
    ['G-RNN tiny', 'grnn', 0],
  ] as const) {
    const r = await host.call('startRun', { name, config: { ...TINY, model, vRange } });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body.error));
    ids.push((r.body.result as { id: string }).id);
  }
  for (const id of ids) {
    for (;;) {
      const d = (await host.call('getRun', { id })).body.result as RunDetail;
      if (!['queued', 'running'].includes(d.run.status)) {
        if (d.run.status !== 'completed') throw new Error(`${id} ended ${d.run.status}: ${d.run.endMessage ?? ''}`);
        break;
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    const e = await host.call('evaluateRun', { id, kinds: ['velocity', 'length'], sequences: 16, velocityRange: 2, seqLens: [30] });
    if (e.status !== 200) throw new Error(JSON.stringify(e.body.error));
  }
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true, colorScheme: 'light' })).newPage();
    await page.goto(host.url);
    await page.evaluate(`location.hash = '#/compare?ids=${ids.join(',')}'`);
    await page.waitForSelector(`[data-png="velocity-${ids[0]}"]`);
    await page.check('input[name=cellValues]');
    await mkdir('docs/figures', { recursive: true });
    const save = async (selector: string, file: string) => {
      const d = page.waitForEvent('download');
      await page.click(selector);
      await copyFile((await (await d).path())!, `docs/figures/${file}`);
      console.log(`docs/figures/${file}`);
    };
    await save(`[data-png="velocity-${ids[0]}"]`, 'velocity-fernn-v1-tiny.png');
    await save(`[data-png="velocity-${ids[1]}"]`, 'velocity-grnn-tiny.png');
    await save('[data-png=loss]', 'loss-tiny.png');
  } finally {
    await browser.close();
  }
} finally {
  await host.stop();
}
