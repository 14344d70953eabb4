import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/protocol/run';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab, SHOTS, textOf, waitForRun } from './helpers/session';

/**
 * Equivariance that explains itself (issue 16): the Inspector names the hidden and output errors, says whether ν is in
 * V and how many slices are constrained, explains an output error above the hidden one by the truncated V and probes
 * the same model at a larger r to show it shrink; a flow outside V never shows a bare hidden error 0; the run page
 * and Compare say which error a figure is. At 900 px wide (the narrow layout the issue names) nothing overflows.
 */
const TINY = {
  model: 'fernn',
  vRange: 1,
  hidden: 4,
  dataVRange: 1,
  steps: 20,
  batch: 4,
  imageSize: 16,
  valEvery: 10,
  valSequences: 16,
  testSequences: 32,
  backend: 'wasm',
};

let host: LabHost;
let browser: Browser;
let page: Page;
const consoleProblems: string[] = [];

const go = (hash: string) => goTo(page, hash);
const text = (sel: string) => textOf(page, sel);
/** The page is no wider than the window: nothing overflows sideways. */
const overflow = async () => Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));

beforeAll(async () => {
  ({ host, browser, page } = await openLab({ viewport: { width: 900, height: 900 }, colorScheme: 'light', problems: consoleProblems }));
});

afterAll(() => closeLab({ host, browser }));

describe('equivariance notes', () => {
  it('a fresh FERNN-V1 probe explains its output error by the truncated V, and the same probe at r = 2 shows it smaller', async () => {
    await go('#/inspect');
    await page.waitForSelector('[data-probe-row="1"]', { timeout: E2E_WAIT_MS });
    expect(await text('[data-probe-row="0"] td')).toMatch(/^FERNN-V1, fresh/);
    expect(await text('[data-probe-row="0"] [data-col=constrained]')).toBe('6/9 slices constrained · ν in V');
    expect(await text('[data-probe-row="0"] [data-col=note]')).toMatch(
      /output error above the hidden error: .* the 3 whose partner v − ν lies outside it .* enter the max/,
    );
    expect(await text('[data-probe-row="1"] [data-col=constrained]')).toBe('whole state compared · no velocity axis');
    const hidden1 = Number(await text('[data-probe-row="0"] [data-col=hidden]'));
    const output1 = Number(await text('[data-probe-row="0"] [data-col=output]'));
    expect(hidden1).toBeLessThan(1e-5);
    expect(output1).toBeGreaterThan(1e-2);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await mkdir(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'inspect-truncation-900.png'), fullPage: true });

    await page.click('[data-larger-r="0"]');
    await page.waitForSelector('[data-probe-row="2"]', { timeout: E2E_WAIT_MS });
    expect(await text('[data-probe-row="2"] td')).toMatch(/^FERNN-V2, fresh/);
    expect(await text('[data-probe-row="2"] [data-col=constrained]')).toBe('20/25 slices constrained · ν in V');
    const output2 = Number(await text('[data-probe-row="2"] [data-col=output]'));
    expect(output2).toBeLessThan(output1);
    expect(await overflow()).toBeLessThanOrEqual(0);
  });

  it('a flow outside V: no bare "0" hidden error, the slices it covers and why it is not equivariant', async () => {
    await go('#/inspect?flow=translate%3A2%2C0');
    await page.waitForSelector('[data-probe-row="1"]', { timeout: E2E_WAIT_MS });
    expect(await text('[data-probe-row="0"] [data-col=hidden]')).toMatch(/^\S+ \(only 3\/9 slices; ν outside V\)$/);
    expect(await text('[data-probe-row="0"] [data-col=constrained]')).toBe('3/9 slices constrained · ν outside V');
    expect(await text('[data-probe-row="0"] [data-col=note]')).toMatch(/ν of translate:2,0 lies outside V = \{−1..1\}²: .*not equivariant/);
    expect(await page.locator('[data-larger-r="0"]').count()).toBe(0);
  });

  it('a trained run: the Inspector names it and uses its frame size; the run page and Compare name both errors and judge the reproduction', async () => {
    // Two runs named as `fernn-lab reproduce translating-mnist --scale tiny` names its runs (a toy number of steps).
    const started = (await host.call('startRun', { config: TINY, name: 'translating-mnist tiny' })).body.result as RunRecord;
    const grnn = (await host.call('startRun', { config: { ...TINY, model: 'grnn', vRange: 0 }, name: 'translating-mnist tiny' })).body.result as RunRecord;
    const until = Date.now() + E2E_WAIT_MS;
    for (const id of [started.id, grnn.id]) {
      const { run } = await waitForRun(host, id, (r) => r.status === 'completed' || r.status === 'failed', until - Date.now());
      if (run.status === 'failed') throw new Error(`run ${id}: ${run.status} at step ${run.progress.step}`);
    }
    const ev = await host.call('evaluateRun', { id: started.id, kinds: ['equivariance'], flows: ['translate:1,0', 'translate:2,0'] });
    expect(ev.status).toBe(200);

    await go(`#/inspect?run=${started.id}`);
    await page.waitForSelector('[data-probe-row="1"]', { timeout: E2E_WAIT_MS });
    expect(await text('[data-probe-row="0"] td')).toBe('translating-mnist tiny · FERNN-V1');
    expect(await page.inputValue('input[name=imageSize]')).toBe('16');
    expect(await overflow()).toBeLessThanOrEqual(0);

    await go(`#/runs/${started.id}`);
    await page.waitForSelector('[data-equivariance="translate:2,0"]', { timeout: E2E_WAIT_MS });
    expect(await text('[data-equivariance="translate:1,0"]')).toMatch(/^max hidden error \S+, max output error \S+; 6\/9 slices constrained · ν in V/);
    expect(await text('[data-equivariance="translate:2,0"]')).toMatch(/^max hidden error \S+ \(only 3\/9 slices; ν outside V\), max output error \S+; 3\/9/);

    await go(`#/compare?ids=${started.id},${grnn.id}`);
    await page.waitForSelector(`[data-row="${started.id}"] [data-col=eq-output]`, { timeout: E2E_WAIT_MS });
    expect(await text('[data-col-head=eq-hidden]')).toBe('Max hidden equiv. error');
    expect(await text('[data-col-head=eq-output]')).toBe('Max output equiv. error');
    expect(await page.getAttribute('[data-col-head=eq-hidden]', 'title')).toMatch(/hidden state over the slices the flow constrains/);
    expect(await text(`[data-row="${started.id}"] [data-col=eq-hidden]`)).toMatch(/\(translate:1,0, translate:2,0\)$/);
    expect(Number(await text(`[data-row="${started.id}"] [data-col=eq-output]`))).toBeGreaterThan(0);
    expect(await text(`[data-row="${grnn.id}"] [data-col=eq-output]`)).toBe('—');
    // The reproduction's claim and whether these runs show it, from their test MSEs.
    expect(await text('[data-claim=text]')).toMatch(/^The paper's claim: On Translating MNIST a FERNN predicts .* lower test MSE than the G-RNN/);
    const verdict = await page.getAttribute('[data-claim-verdict]', 'data-claim-verdict');
    expect(['shown', 'not-shown']).toContain(verdict);
    expect(await text('[data-claim-verdict]')).toMatch(verdict === 'shown' ? /^Shown at this scale \(tiny\): / : /^Not at this scale \(tiny\): /);
    expect(await text('[data-claim=evidence]')).toMatch(/^FERNN-V1 test MSE \S+ vs G-RNN \S+ \(\d+%\)$/);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SHOTS, 'compare-claim-900.png'), fullPage: true });
  });

  it('logged no console errors', () => {
    expect(consoleProblems).toEqual([]);
  });
});
