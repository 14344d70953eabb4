import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/protocol/run';
import type { RunDetail } from '../../src/core/protocol/service';
import { launchChromium } from './helpers/browser';
import { startLabHost, type LabHost } from './helpers/labHost';

/**
 * The lab end to end: the built web host with the real lab service (training in worker threads on wasm), driven
 * through Chromium. Runs are tiny (16 px frames, hidden 4, batch 4, 40 steps) so the file takes a few minutes on
 * two cores. Screenshots of every view go to test-results/screenshots/ (and docs/screenshots/ with
 * FERNN_UPDATE_SCREENSHOTS=1).
 */
const SHOTS = 'test-results/screenshots';
const DOCS_SHOTS = 'docs/screenshots';
const TINY = { vRange: 1, hidden: 4, dataVRange: 1, steps: 40, batch: 4, imageSize: 16, valEvery: 10, valSequences: 16, testSequences: 32, backend: 'wasm' };

let host: LabHost;
let browser: Browser;
let page: Page;
const consoleProblems: string[] = [];
let runA = '';
let runB = '';

async function shot(name: string) {
  await mkdir(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (process.env.FERNN_UPDATE_SCREENSHOTS) {
    await mkdir(DOCS_SHOTS, { recursive: true });
    await copyFile(path, join(DOCS_SHOTS, `${name}.png`));
  }
}
async function go(hash: string) {
  // A detour through another view re-creates the target view, as a user arriving there would see it.
  await page.evaluate(`location.hash = ${JSON.stringify(hash.startsWith('#/runs') ? '#/flows' : '#/runs')}`);
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
}
const text = async (sel: string) => (await page.locator(sel).first().textContent())?.trim() ?? '';
const stepOf = async () => Number((await text('[data-stat=step]')).split('/')[0]);
async function waitRun(id: string, done: (r: RunRecord) => boolean, timeoutMs = 150_000): Promise<RunRecord> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = (await host.call('getRun', { id })).body.result as RunDetail;
    if (done(r.run)) return r.run;
    if (Date.now() > until) throw new Error(`run ${id} stuck at ${r.run.status} step ${r.run.progress.step}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

beforeAll(async () => {
  host = await startLabHost();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true, colorScheme: 'light' });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) consoleProblems.push(m.text());
  });
  page.on('pageerror', (e) => consoleProblems.push(`page error: ${e.message}`));
  await page.goto(host.url);
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

describe('web host security (real service)', () => {
  it('answers 401 without the token and with a wrong one', async () => {
    expect((await fetch(`${host.origin}/api/listRuns`, { method: 'POST' })).status).toBe(401);
    expect((await host.call('listRuns', undefined, 'wrong-token')).status).toBe(401);
    expect((await host.call('listRuns')).status).toBe(200);
  });

  it('rejects malformed calls with 400 and the field', async () => {
    const r = await host.call('startRun', { config: { ...TINY, model: 'grnn', vRange: 2 } });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ field: 'config.vRange' });
    const s = await host.call('estimateRun', { config: { ...TINY, model: 'fernn', hidden: 1000 } });
    expect(s.status).toBe(400);
    expect(s.body.error?.message).toMatch(/^config\.hidden: /);
  });

  it('is reachable on loopback only', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal)
      .map((a) => a!.address);
    for (const address of others) {
      const connected = await new Promise<boolean>((resolve) => {
        const s = connect({ host: address, port: host.port });
        s.setTimeout(2000, () => (s.destroy(), resolve(false)));
        s.on('connect', () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      expect(connected, address).toBe(false);
    }
  });

  it('takes the token out of the address bar', async () => {
    expect(page.url()).not.toContain('token');
    await page.waitForSelector('.shell-line');
    expect(await text('.shell-line')).toContain('Browser mode');
  });
});

describe('the lab in the browser', () => {
  it('navigates by keyboard', async () => {
    await page.focus('nav a[data-view=flows]');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(`document.activeElement?.getAttribute('data-view')`)).toBe('new');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/new$/);
  });

  it('designs, previews and saves a flow; shows bad input', async () => {
    await go('#/flows');
    await page.fill('input[name=vx]', 'abc');
    expect(await text('#vx-err')).toMatch(/whole number/);
    await page.fill('input[name=vx]', '2');
    await page.fill('input[name=vy]', '1');
    await page.fill('input[name=imageSize]', '28');
    await expect.poll(() => page.locator('.panel .strip-frames canvas').count(), { timeout: 20_000 }).toBe(20);
    await page.fill('input[name=flowName]', 'bad/name');
    await page.click('text=Save flow translate:2,1');
    await expect.poll(() => text('#name-err')).toMatch(/^name: /);
    await shot('flows-error');
    await page.fill('input[name=flowName]', 'diagonal');
    await page.fill('input[name=flowNote]', 'two right, one down per frame');
    await page.click('text=Save flow translate:2,1');
    await page.waitForSelector('tr[data-flow=diagonal]');
    await shot('flows');
  });

  it('validates a new run inline and estimates its time', async () => {
    await go('#/new');
    await page.fill('input[name=hidden]', '0');
    expect(await text('[data-error-for=hidden]')).toMatch(/Hidden channels must be ≥ 1/);
    expect(await page.locator('button[type=submit]').isDisabled()).toBe(true);
    await page.selectOption('select[name=model]', 'grnn');
    expect(await page.locator('input[name=vRange]').inputValue()).toBe('0');
    await shot('new-run-error');
    await page.selectOption('select[name=model]', 'fernn');
    await page.click('[data-preset=tiny]');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=name]', 'e2e FERNN');
    await expect.poll(() => text('[data-estimate=total]'), { timeout: 60_000 }).not.toBe('—');
    expect(await text('[data-estimate=backend]')).toBe('wasm');
    await shot('new-run');
  });

  it('starts a tiny run and shows live progress without moving the layout', async () => {
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: 30_000 });
    runA = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    await expect.poll(stepOf, { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
    const box1 = await page.locator('.chart-box').first().boundingBox();
    const s1 = await stepOf();
    await expect.poll(stepOf, { timeout: 60_000 }).toBeGreaterThan(s1 + 2);
    const box2 = await page.locator('.chart-box').first().boundingBox();
    expect(box2).toEqual(box1);
    expect(Number(await page.locator(`tr[data-run="${runA}"] [role=progressbar]`).getAttribute('aria-valuenow'))).toBeGreaterThan(0);
    await shot('runs');
  });

  it('stops and resumes the run', async () => {
    await page.click('[data-action=stop]');
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: 120_000 }).toBe('cancelled');
    const stopped = (await host.call('getRun', { id: runA })).body.result as RunDetail;
    expect(stopped.run.progress.checkpointStep).not.toBeNull();
    await page.click('[data-action=resume]');
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: 60_000 }).toMatch(/running|completed/);
    const done = await waitRun(runA, (r) => r.status === 'completed');
    expect(done.progress.step).toBe(40);
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: 30_000 }).toBe('completed');
  });

  it('trains on a saved flow as data motion', async () => {
    await go('#/new');
    await page.click('[data-preset=tiny]');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=name]', 'e2e flow data');
    await page.check('input[name=dataMotion][value=flows]');
    expect(await text('[data-error-for=dataVelocities]')).toMatch(/at least one saved flow/);
    expect(await page.locator('button[type=submit]').isDisabled()).toBe(true);
    // The flow list is a keyboard-operable checkbox list.
    await page.focus('input[name=dataFlow][data-flow=diagonal]');
    await page.keyboard.press('Space');
    expect(await page.locator('input[name=dataFlow][data-flow=diagonal]').isChecked()).toBe(true);
    expect(await text('[data-error-for=dataVelocities]')).toBe('');
    await expect.poll(() => text('[data-estimate=total]'), { timeout: 60_000 }).not.toBe('—');
    await shot('new-run-flows');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: 30_000 });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const started = (await host.call('getRun', { id })).body.result as RunDetail;
    expect(started.run.config.dataVelocities).toEqual([{ vx: 2, vy: 1 }]);
    await expect.poll(() => text('[data-testid=detail-motion]'), { timeout: 10_000 }).toBe('velocities (2, 1)');
    // Trains and validates on the flow's motion (first validation at step 10); then make room for the next runs.
    await waitRun(id, (r) => r.progress.bestValMse !== null || r.status === 'completed', 60_000);
    await host.call('stopRun', { id });
    const stopped = await waitRun(id, (r) => r.status === 'cancelled' || r.status === 'completed', 60_000);
    expect(stopped.progress.step).toBeGreaterThanOrEqual(10);
    await go('#/runs');
    expect((await host.call('deleteRun', { id })).status).toBe(200);
  });

  it('shows a missing run as such', async () => {
    await go('#/runs/no-such-run');
    await expect.poll(() => text('.notice.error')).toMatch(/Run not found:.*no run no-such-run/);
    await shot('runs-missing');
  });

  it('compares two runs, evaluates them and exports the numbers', async () => {
    const started = await host.call('startRun', { config: { ...TINY, model: 'grnn', vRange: 0 }, name: 'e2e G-RNN' });
    runB = (started.body.result as RunRecord).id;
    await waitRun(runB, (r) => r.status === 'completed');
    await go(`#/compare?ids=${runA},${runB}`);
    await expect.poll(() => page.locator('table[aria-label="comparison table"] tbody tr').count(), { timeout: 20_000 }).toBe(2);
    await page.fill('input[name=evalSequences]', '16');
    await page.click('[data-action=evaluate-missing]');
    await expect.poll(() => page.locator('.heatmaps figure').count(), { timeout: 170_000 }).toBe(2);
    for (const id of [runA, runB]) expect(await text(`tr[data-row="${id}"] [data-col=test]`)).toMatch(/^\d/);
    const downloads: string[] = [];
    page.on('download', async (d) => downloads.push(await readFile((await d.path())!, 'utf8')));
    await page.click('[data-action=export-csv]');
    await page.click('[data-action=export-json]');
    await expect.poll(() => downloads.length, { timeout: 10_000 }).toBe(3);
    const summary = downloads.find((d) => d.startsWith('run_id,model'))!;
    expect(summary).toContain(runA);
    expect(summary).toContain(runB);
    expect(downloads.some((d) => d.startsWith('run_id,series') && d.includes('velocity_mse'))).toBe(true);
    expect(JSON.parse(downloads.find((d) => d.startsWith('{'))!).runs).toHaveLength(2);
    const png = page.waitForEvent('download');
    await page.click('[data-png=loss]');
    expect((await png).suggestedFilename()).toBe('fernn-compare-loss.png');
    await shot('compare');
  });

  it('reports a missing run and bad input in the comparison', async () => {
    await go(`#/compare?ids=${runA},gone-run`);
    await expect.poll(() => text('.notice.error')).toMatch(/no run gone-run/);
    expect(await page.locator('table[aria-label="comparison table"] tbody tr').count()).toBe(1);
    await page.fill('input[name=evalSequences]', '0');
    expect(await page.locator('input[name=evalSequences]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[data-action=evaluate-missing]').isDisabled()).toBe(true);
  });

  it('inspects equivariance: FERNN far below G-RNN', async () => {
    await go('#/inspect');
    await page.waitForSelector('[data-probe-row="1"]', { timeout: 60_000 });
    const fernn = Number(await text('[data-probe-row="0"] [data-col=hidden]'));
    const grnn = Number(await text('[data-probe-row="1"] [data-col=hidden]'));
    expect(await text('[data-probe-row="0"] td')).toMatch(/^FERNN-V1/);
    expect(await text('[data-probe-row="1"] td')).toMatch(/^G-RNN/);
    expect(fernn).toBeLessThan(1e-4);
    expect(grnn).toBeGreaterThan(1e-2);
    expect(await page.locator('[data-slice^="h[v="]').count()).toBe(9);
    expect(await page.locator('.strip.hit').count()).toBe(1);
    await shot('inspect');
    await page.fill('input[name=steps]', '0');
    expect(await text('[data-error-for=steps]')).toMatch(/steps must be/);
    expect(await page.locator('form[aria-label="probe settings"] button[type=submit]').isDisabled()).toBe(true);
  });

  it('probes a trained run, and reports a missing one', async () => {
    await go(`#/inspect?run=${runA}`);
    await page.waitForSelector('[data-probe-row="1"]', { timeout: 60_000 });
    expect(await text('[data-probe-row="0"] td')).toContain(runA);
    await go('#/inspect?run=nope');
    await expect.poll(() => text('[data-error-for="models.0"]'), { timeout: 30_000 }).toMatch(/Run not found: .*no run nope/);
  });

  it('shows predictions of a run, and a missing run', async () => {
    await go(`#/predictions/${runA}`);
    await page.waitForSelector('[data-sample="3"]', { timeout: 60_000 });
    expect(await page.locator('[data-sample="0"] .strip').count()).toBe(3);
    await shot('predictions');
    await page.fill('input[name=count]', '99');
    expect(await text('#count-err')).toMatch(/1\.\.16/);
    expect(await page.locator('form[aria-label="choose predictions"] button[type=submit]').isDisabled()).toBe(true);
    await go('#/predictions/nope');
    await expect.poll(() => text('.notice.error'), { timeout: 30_000 }).toMatch(/Run not found:/);
  });

  it('reads in the dark theme', async () => {
    await go(`#/runs/${runA}`);
    await page.click('button[aria-label="Switch to dark theme"]');
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.waitForTimeout(300);
    await shot('runs-dark');
    await go(`#/compare?ids=${runA},${runB}`);
    await expect.poll(() => page.locator('.heatmaps figure').count(), { timeout: 20_000 }).toBe(2);
    await shot('compare-dark');
    await page.click('button[aria-label="Switch to light theme"]');
  });

  it('deletes a run after confirmation', async () => {
    await go(`#/runs/${runB}`);
    await page.click('[data-action=delete]');
    await page.click('[data-action=confirm-delete]');
    await page.waitForURL(/#\/runs$/);
    await expect.poll(() => page.locator(`tr[data-run="${runB}"]`).count()).toBe(0);
    expect((await host.call('getRun', { id: runB })).status).toBe(404);
  });

  it('kept the console free of errors (CSP included)', () => {
    expect(consoleProblems).toEqual([]);
  });
});

describe('graceful shutdown', () => {
  it('checkpoints a running training and marks it interrupted when the host stops', async () => {
    const started = await host.call('startRun', { config: { ...TINY, model: 'grnn', vRange: 0, steps: 2000, valEvery: 5 } });
    const id = (started.body.result as RunRecord).id;
    await waitRun(id, (r) => r.status === 'running' && r.progress.step >= 8);
    const store = host.store;
    await host.stop({ keepStore: true });
    const rec = JSON.parse(await readFile(join(store, id, 'run.json'), 'utf8')) as RunRecord;
    expect(rec.status).toBe('interrupted');
    expect(rec.progress.checkpointStep).toBeGreaterThan(0);
    expect(rec.owner).toBeNull();
  });
});
