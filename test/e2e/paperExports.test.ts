import { readFile } from 'node:fs/promises';
import type { Browser, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../src/node/store/runStore';
import { writeManyRuns, type GeneratedRun } from '../helpers/manyRuns';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab } from './helpers/session';

/**
 * Exports for papers and the run page's charts (issue 16), on a generated run (nothing trains): a loss curve with a
 * resume, a length curve and a velocity grid written into the store as the service writes them.
 */
let host: LabHost;
let browser: Browser;
let page: Page;
let run: GeneratedRun;
const problems: string[] = [];
const t = '2026-01-01T00:00:00.000Z';

/** One generated run with a resumed loss curve, validation points, and a velocity and a length evaluation. */
async function writeChartedRun(storeDir: string): Promise<GeneratedRun> {
  const [run] = await writeManyRuns(storeDir, 1);
  const store = new RunStore(storeDir);
  for (let step = 1; step <= 100; step++) {
    await store.appendMetric(run.id, { kind: 'train', step, epoch: 0, loss: 1 / step, gradNorm: 1, msPerStep: 10, t });
    if (step === 50) await store.appendMetric(run.id, { kind: 'event', step, event: 'resumed', message: 'resumed at step 50', t });
    if (step % 20 === 0) await store.appendMetric(run.id, { kind: 'val', step, mse: 2 / step, best: true, t });
  }
  const ck = { which: 'best' as const, step: 100 };
  const velocities = [-2, -1, 0, 1, 2];
  await store.addEvaluation(run.id, {
    kind: 'velocity',
    origin: 'evaluate',
    checkpoint: ck,
    settings: { sequences: 4, velocityRange: 2 },
    result: { velocities, mse: velocities.map((vy) => velocities.map((vx) => 0.01 * (1 + vx * vx + 2 * vy * vy))), sequences: 4 },
  });
  await store.addEvaluation(run.id, {
    kind: 'length',
    origin: 'evaluate',
    checkpoint: ck,
    settings: { sequences: 4, seqLens: [20] },
    result: { 20: { mean: Array.from({ length: 20 }, (_, i) => 0.01 * (i + 1)), std: new Array(20).fill(0), sequences: 4 } },
  });
  return run;
}

beforeAll(async () => {
  ({ host, browser, page } = await openLab({
    acceptDownloads: true,
    problems,
    consoleErrors: false,
    defaultTimeoutMs: E2E_WAIT_MS,
    beforeBrowser: async (h) => void (run = await writeChartedRun(h.store)),
  }));
});

afterAll(() => closeLab({ host, browser }));

/** Width and height of a PNG from its IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
async function downloaded(click: () => Promise<void>): Promise<Download> {
  const d = page.waitForEvent('download');
  await click();
  return d;
}

describe('exports for papers', () => {
  it('chart PNGs are at least twice the size they have on screen; the heat-map PNG carries its colour scale', async () => {
    await goTo(page, `#/compare?ids=${run.id}`, { detour: false });
    await page.waitForSelector('[data-png=loss]');
    const box = await page.locator('figure:has([data-png=loss]) canvas').evaluate((c) => ({ w: c.clientWidth, h: c.clientHeight }));
    const loss = pngSize(await readFile((await (await downloaded(() => page.click('[data-png=loss]'))).path())!));
    expect(loss.width).toBeGreaterThanOrEqual(2 * box.w);
    expect(loss.height).toBeGreaterThanOrEqual(2 * box.h);
    // The chart on screen is drawn back at the screen's resolution afterwards.
    expect(await page.locator('figure:has([data-png=loss]) canvas').evaluate((c) => Number(c.getAttribute('width')) / c.clientWidth)).toBeLessThan(2);

    const key = `velocity-${run.id}`;
    const heatBox = await page.locator(`figure:has([data-png="${key}"]) canvas`).evaluate((c) => ({ w: c.clientWidth, h: c.clientHeight }));
    const heat = pngSize(await readFile((await (await downloaded(() => page.click(`[data-png="${key}"]`))).path())!));
    expect(heat.width).toBeGreaterThanOrEqual(2 * heatBox.w);
    // The colour scale is drawn under the map: the image is taller than the map alone at that scale.
    expect(heat.height).toBeGreaterThan((heat.width / heatBox.w) * heatBox.h);
  });

  it('the long-format CSVs: curves with run names, and the velocity grid', async () => {
    const files: Record<string, string> = {};
    page.on('download', async (d) => (files[d.suggestedFilename()] = await readFile((await d.path())!, 'utf8')));
    await page.click('[data-action=export-paper]');
    await expect.poll(() => Object.keys(files).sort(), { timeout: E2E_WAIT_MS }).toEqual(['fernn-curves-long.csv', 'fernn-velocity-grids-long.csv']);
    page.removeAllListeners('download');
    const curves = files['fernn-curves-long.csv'].trimEnd().split('\n');
    expect(curves[0]).toBe('run,name,step,metric,value');
    expect(curves[1]).toBe(`${run.id},${run.name},1,train_loss,1`);
    expect(curves.filter((l) => l.includes(',val_mse,'))).toHaveLength(5);
    expect(curves.filter((l) => l.includes(',length_mse_T20,'))).toHaveLength(20);
    const grid = files['fernn-velocity-grids-long.csv'].trimEnd().split('\n');
    expect(grid[0]).toBe('run,name,metric,vx,vy,value');
    expect(grid).toHaveLength(26);
    expect(grid).toContain(`${run.id},${run.name},velocity_mse,1,-2,0.1`);
  });
});

describe('the run page', () => {
  it('shows speed in ms/step, and length and velocity generalisation inline', async () => {
    await goTo(page, `#/runs/${run.id}`, { detour: false });
    await page.waitForSelector('[data-testid=length-generalisation] canvas');
    expect(await page.locator('[data-stat=speed]').textContent()).toBe('10.0 ms/step');
    await page.waitForSelector('[data-testid=velocity-generalisation] canvas');
    expect(await page.locator('[data-testid=velocity-generalisation] .heat-legend').textContent()).toMatch(/test MSE, lower is better/);
    await page.check('[data-testid=velocity-generalisation] input[name=cellValues]');
    expect(problems).toEqual([]);
  });
});
