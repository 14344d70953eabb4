import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/protocol/run';
import type { RunDetail } from '../../src/core/protocol/service';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab, shot as screenshot, textOf, waitForRun } from './helpers/session';
import type { Gate } from '../helpers/gates';

/**
 * The lab end to end: the built web host with the real lab service (training in worker threads on wasm), driven
 * through Chromium. Runs are tiny (16 px frames, hidden 4, batch 4, 40 steps) so the file takes a few minutes on
 * two cores. Screenshots of every view go to test-results/screenshots/ (and docs/screenshots/ with
 * FERNN_UPDATE_SCREENSHOTS=1).
 */
const TINY = { vRange: 1, hidden: 4, dataVRange: 1, steps: 40, batch: 4, imageSize: 16, valEvery: 10, valSequences: 16, testSequences: 32, backend: 'wasm' };

let host: LabHost;
let browser: Browser;
let page: Page;
const consoleProblems: string[] = [];
let runA = '';
/** Parks run A at known steps: live progress and the stop are checked at those steps, whatever the machine's speed. */
let gateA: Gate;
let runB = '';
let runC = '';

const shot = (name: string) => screenshot(page, name);
const go = (hash: string) => goTo(page, hash);
const text = (sel: string) => textOf(page, sel);
const stepOf = async () => Number((await text('[data-stat=step]')).split('/')[0]);
const waitRun = async (id: string, done: (r: RunRecord) => boolean, timeoutMs?: number) => (await waitForRun(host, id, done, timeoutMs)).run;

beforeAll(async () => {
  ({ host, browser, page } = await openLab({ acceptDownloads: true, colorScheme: 'light', problems: consoleProblems }));
});

afterAll(() => closeLab({ host, browser }));

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
    await expect.poll(() => page.locator('.panel .strip-frames canvas').count(), { timeout: E2E_WAIT_MS }).toBe(20);
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
    await page.click('[data-action=reset-form]'); // the form keeps what an earlier test left in it
    await page.fill('input[name=hidden]', '0');
    expect(await text('[data-error-for=hidden]')).toMatch(/Hidden channels must be ≥ 1/);
    expect(await page.locator('button[type=submit]').isDisabled()).toBe(true);
    await page.selectOption('select[name=model]', 'grnn');
    expect(await page.locator('input[name=vRange]').inputValue()).toBe('0');
    await shot('new-run-error');
    await page.selectOption('select[name=model]', 'fernn');
    // The paper scale on wasm: refused by its memory estimate, before anything is allocated, with Start disabled.
    await page.click('[data-preset=paper]');
    await page.selectOption('select[name=backend]', 'wasm');
    await expect
      .poll(() => text('[data-testid=memory-error]'), { timeout: E2E_WAIT_MS })
      .toMatch(/on wasm, beyond its 4 GiB limit: batch \d+ fits .*GPU backend/);
    expect(await page.locator('button[type=submit]').isDisabled()).toBe(true);
    expect(await text('[data-estimate=total]')).toBe('—');
    await shot('new-run-memory');
    await page.click('[data-preset=tiny]');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=name]', 'e2e FERNN');
    await expect.poll(() => text('[data-estimate=total]'), { timeout: E2E_WAIT_MS }).not.toBe('—');
    expect(await text('[data-estimate=backend]')).toBe('wasm');
    expect(await text('[data-estimate=memory]')).toMatch(/^\d+(\.\d+)? GB$/);
    expect(await page.locator('[data-testid=memory-error]').count()).toBe(0);
    await shot('new-run');
  });

  it('starts a tiny run and shows live progress without moving the layout', async () => {
    gateA = await host.gates.hold('e2e FERNN', 3);
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    runA = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    await gateA.parked();
    await expect.poll(stepOf, { timeout: E2E_WAIT_MS }).toBe(3);
    const box1 = await page.locator('.chart-box').first().boundingBox();
    await gateA.moveTo(8);
    await gateA.parked();
    await expect.poll(stepOf, { timeout: E2E_WAIT_MS }).toBe(8);
    const box2 = await page.locator('.chart-box').first().boundingBox();
    expect(box2).toEqual(box1);
    expect(Number(await page.locator(`tr[data-run="${runA}"] [role=progressbar]`).getAttribute('aria-valuenow'))).toBeGreaterThan(0);
    await shot('runs');
  });

  it('stops and resumes the run', async () => {
    // Parked after step 8: the stop always lands mid-run.
    await page.click('[data-action=stop]');
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: E2E_WAIT_MS }).toBe('cancelled');
    const stopped = (await host.call('getRun', { id: runA })).body.result as RunDetail;
    expect(stopped.run.progress.checkpointStep).toBe(8);
    await gateA.release();
    await page.click('[data-action=resume]');
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: E2E_WAIT_MS }).toMatch(/running|completed/);
    const done = await waitRun(runA, (r) => r.status === 'completed');
    expect(done.progress.step).toBe(40);
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: E2E_WAIT_MS }).toBe('completed');
  });

  it('trains on a saved flow as data motion', async () => {
    await go('#/new');
    await page.click('[data-action=reset-form]'); // the form keeps what an earlier test left in it
    await page.click('[data-preset=tiny]');
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=name]', 'e2e flow data');
    const gate = await host.gates.hold('e2e flow data', 10);
    await page.check('input[name=dataMotion][value=flows]');
    expect(await text('[data-error-for=dataVelocities]')).toMatch(/at least one saved flow/);
    expect(await page.locator('button[type=submit]').isDisabled()).toBe(true);
    // The flow list is a keyboard-operable checkbox list.
    await page.focus('input[name=dataFlow][data-flow=diagonal]');
    await page.keyboard.press('Space');
    expect(await page.locator('input[name=dataFlow][data-flow=diagonal]').isChecked()).toBe(true);
    expect(await text('[data-error-for=dataVelocities]')).toBe('');
    await expect.poll(() => text('[data-estimate=total]'), { timeout: E2E_WAIT_MS }).not.toBe('—');
    await shot('new-run-flows');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const started = (await host.call('getRun', { id })).body.result as RunDetail;
    expect(started.run.config.dataVelocities).toEqual([{ vx: 2, vy: 1 }]);
    await expect.poll(() => text('[data-testid=detail-motion]'), { timeout: E2E_WAIT_MS }).toBe('velocities (2, 1)');
    // Trains and validates on the flow's motion (first validation at step 10, where it parks); then make room for the
    // next runs.
    await gate.parked();
    expect(((await host.call('getRun', { id })).body.result as RunDetail).run.progress.bestValMse).not.toBeNull();
    await host.call('stopRun', { id });
    const stopped = await waitRun(id, (r) => r.status === 'cancelled' || r.status === 'completed');
    expect(stopped.status).toBe('cancelled');
    expect(stopped.progress.step).toBe(10);
    await gate.release();
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
    await expect.poll(() => page.locator('table[aria-label="comparison table"] tbody tr').count(), { timeout: E2E_WAIT_MS }).toBe(2);
    await page.fill('input[name=evalSequences]', '16');
    await page.click('[data-action=evaluate-missing]');
    await expect.poll(() => page.locator('.heatmaps figure').count(), { timeout: E2E_WAIT_MS }).toBe(2);
    for (const id of [runA, runB]) expect(await text(`tr[data-row="${id}"] [data-col=test]`)).toMatch(/^\d/);
    const downloads: string[] = [];
    page.on('download', async (d) => downloads.push(await readFile((await d.path())!, 'utf8')));
    await page.click('[data-action=export-csv]');
    await page.click('[data-action=export-json]');
    await expect.poll(() => downloads.length, { timeout: E2E_WAIT_MS }).toBe(3);
    const summary = downloads.find((d) => d.startsWith('run_id,name,model'))!;
    expect(summary).toContain(runA);
    expect(summary).toContain(runB);
    expect(downloads.some((d) => d.startsWith('run_id,series') && d.includes('velocity_mse'))).toBe(true);
    expect(JSON.parse(downloads.find((d) => d.startsWith('{'))!).runs).toHaveLength(2);
    const png = page.waitForEvent('download');
    await page.click('[data-png=loss]');
    expect((await png).suggestedFilename()).toBe('fernn-compare-loss.png');
    await shot('compare');
  });

  it('keeps both of two evaluations with different settings, and the headline test MSE stays the training one', async () => {
    await go(`#/runs/${runB}`);
    await page.waitForSelector('[data-testid=evaluations]', { timeout: E2E_WAIT_MS });
    const headline = await text('[data-stat=test-mse]');
    expect(await text('[data-stat=test-source]')).toMatch(/^best @ step \d+, 32 seqs$/);
    const form = page.locator('form[aria-label="evaluate run"]');
    for (const kind of ['length generalisation', 'velocity generalisation', 'equivariance']) await form.locator(`label:has-text("${kind}") input`).uncheck();
    const testRows = page.locator('[data-testid=evaluations] tr[data-evaluation=test]');
    for (const [sequences, rows] of [
      ['8', 2],
      ['4', 3],
    ] as const) {
      await page.fill('input[name=sequences]', sequences);
      await page.click('[data-action=evaluate]');
      await expect.poll(() => testRows.count(), { timeout: E2E_WAIT_MS }).toBe(rows);
    }
    const cells = await testRows.evaluateAll((rs) => rs.map((r) => r.querySelectorAll('td')[2]?.textContent?.trim() ?? ''));
    expect(cells.map((c) => c.replace(/^best @ step \d+, /, ''))).toEqual(['32 seqs', '8 seqs', '4 seqs']);
    expect(await page.locator('[data-testid=evaluations] tr[data-origin=training] [data-testid=headline]').count()).toBe(1);
    expect(await text('[data-stat=test-mse]')).toBe(headline);
    expect(await text('[data-stat=test-source]')).toMatch(/32 seqs$/);
    expect(await text(`[data-run-summary="${runB}"] [data-result]`)).toMatch(
      new RegExp(`^test MSE ${headline.replace('.', '\\.')} \\(best @ step \\d+, 32 seqs\\)$`),
    );
    await shot('runs-evaluations');
  });

  it('reports a missing run and bad input in the comparison', async () => {
    await go(`#/compare?ids=${runA},gone-run`);
    await expect.poll(() => text('.notice.error')).toMatch(/no run gone-run/);
    expect(await page.locator('table[aria-label="comparison table"] tbody tr').count()).toBe(1);
    await page.fill('input[name=evalSequences]', '0');
    expect(await page.locator('input[name=evalSequences]').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[data-action=evaluate-missing]').isDisabled()).toBe(true);
  });

  it('configures a classification run: task fields, KTH and 3D-CNN rules', async () => {
    await go('#/new');
    await page.click('[data-action=reset-form]'); // the form keeps what an earlier test left in it
    expect(await page.locator('input[name=testDataVRange]').count()).toBe(0);
    await page.check('input[name=task][value=classification]');
    // Prediction-only fields go; the clip length and the test motion are basic settings.
    for (const gone of ['predFrames', 'decoderLayers', 'numDigits']) expect(await page.locator(`input[name=${gone}]`).count(), gone).toBe(0);
    expect(await page.locator('input[name=testDataVRange]').isVisible()).toBe(true);
    expect(await page.locator('input[name=inputFrames]').isVisible()).toBe(true);
    await page.selectOption('select[name=dataset]', 'kth');
    expect(await text('[data-error-for=dataDir]')).toMatch(/^KTH folder is required/);
    expect(await page.locator('input[name=dataMotion][value=flows]').isDisabled()).toBe(true);
    await page.selectOption('select[name=model]', 'cnn3d');
    expect(await page.locator('input[name=vRange]').inputValue()).toBe('0');
    expect(await page.locator('button[type=submit]').isDisabled()).toBe(true);
    await page.fill('input[name=testDataVRange]', '9');
    expect(await text('[data-error-for=testDataVRange]')).toMatch(/^Test velocity range must be ≥ 0 and ≤ 8/);
    await shot('new-run-classification-error');
    // Back to prediction: the 3D-CNN is not offered there.
    await page.check('input[name=task][value=prediction]');
    expect(await page.locator('select[name=model] option[value=cnn3d]').count()).toBe(0);
    expect(await page.locator('select[name=model]').inputValue()).toBe('fernn');
  });

  it('trains a tiny classification run started from the form and shows its accuracy and confusion matrix', async () => {
    await go('#/new');
    await page.click('[data-action=reset-form]'); // the form keeps what an earlier test left in it
    await page.check('input[name=task][value=classification]');
    await page.click('summary:has-text("More settings")');
    const fields = {
      vRange: '1',
      hidden: '3',
      dataVRange: '1',
      testDataVRange: '2',
      inputFrames: '3',
      steps: '20',
      batch: '4',
      imageSize: '8',
      valEvery: '10',
      valSequences: '8',
      testSequences: '16',
    };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=name]', 'e2e classifier');
    expect(await text('[data-hint=test-motion]')).toMatch(/−2\.\.2/);
    await expect.poll(() => text('[data-estimate=total]'), { timeout: E2E_WAIT_MS }).not.toBe('—');
    await shot('new-run-classification');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    runC = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const started = (await host.call('getRun', { id: runC })).body.result as RunDetail;
    expect(started.run.config).toMatchObject({
      task: 'classification',
      dataset: 'flowing-mnist',
      model: 'fernn',
      inputFrames: 3,
      testDataVRange: 2,
      imageSize: 8,
    });
    await waitRun(runC, (r) => r.status === 'completed');
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: E2E_WAIT_MS }).toBe('completed');
    await expect.poll(() => text('[data-stat=test-accuracy]'), { timeout: E2E_WAIT_MS }).toMatch(/^\d+\.\d %$/);
    expect(await text('[data-stat=best-val-accuracy]')).toMatch(/^\d+\.\d %$/);
    expect(await text('[data-stat=val-accuracy]')).toMatch(/^\d+\.\d %$/);
    expect(await text('[data-testid=detail-test-motion]')).toBe('velocities −2..2');
    // The confusion matrix: digits 0-9 as rows (true) and columns (predicted); its counts are the 16 test clips.
    expect(await page.locator('[data-testid=confusion] tbody tr').count()).toBe(10);
    expect(await text('[data-testid=confusion] tbody tr[data-class="9"] th')).toBe('9');
    const counts = await page.locator('[data-testid=confusion] tbody td.num:not(:last-child)').allTextContents();
    expect(counts.map(Number).reduce((a, b) => a + b, 0)).toBe(16);
    expect(await text(`[data-run-summary="${runC}"]`)).toMatch(/^classification · test acc\. \d+\.\d % \(best @ step \d+, 16 seqs\)$/);
    expect(await text(`[data-run-summary="${runA}"]`)).toMatch(/^prediction · test MSE \d/);
    // Prediction-only views are not offered for a classifier.
    expect(await page.locator('a.button:has-text("Predictions")').count()).toBe(0);
    await shot('runs-classification');
  });

  it('evaluates the classifier per velocity and compares it with a prediction run', async () => {
    await page.fill('input[name=sequences]', '8');
    await page.fill('input[name=velocityRange]', '2');
    await page.click('[data-action=evaluate-velocity]');
    await page.waitForSelector('[data-testid=velocity-accuracy] canvas', { timeout: E2E_WAIT_MS });
    expect(await text('[data-testid=velocity-accuracy] [data-legend=hi]')).toBe('100 %');
    expect(await text('[data-testid=velocity-accuracy] .heat-legend')).toMatch(/test accuracy, higher is better/);
    const d = (await host.call('getRun', { id: runC })).body.result as RunDetail;
    expect((d.evals['velocity-accuracy'] as { velocities: number[] }).velocities).toEqual([-2, -1, 0, 1, 2]);
    await shot('runs-classification-velocity');

    await go(`#/compare?ids=${runA},${runC}`);
    await expect
      .poll(() => page.locator(`table[aria-label="classification comparison table"] tr[data-row="${runC}"]`).count(), { timeout: E2E_WAIT_MS })
      .toBe(1);
    expect(await text('.notice.info')).toMatch(/Different tasks:/);
    expect(await page.locator('table[aria-label="comparison table"] tbody tr').count()).toBe(1);
    expect(await text(`tr[data-row="${runC}"] [data-col=test-accuracy]`)).toMatch(/^\d+\.\d %$/);
    expect(await page.locator('.heatmaps[data-measure=accuracy] figure').count()).toBe(1);
    expect(await page.locator('.heatmaps[data-measure=mse] figure').count()).toBe(1);
    const downloads: string[] = [];
    page.on('download', async (dl) => downloads.push(await readFile((await dl.path())!, 'utf8')));
    await page.click('[data-action=export-csv]');
    await expect.poll(() => downloads.length, { timeout: E2E_WAIT_MS }).toBe(2);
    const summary = downloads.find((x) => x.startsWith('run_id,name,model'))!;
    expect(summary.split('\n')[0]).toContain('test_accuracy');
    expect(summary.split('\n').find((l) => l.startsWith(runC))).toMatch(/,classification,completed,/);
    const curves = downloads.find((x) => x.startsWith('run_id,series'))!;
    expect(curves).toContain('velocity_accuracy');
    expect(curves).toContain('val_accuracy');
    page.removeAllListeners('download');
    await shot('compare-classification');
  });

  it('inspects equivariance: FERNN far below G-RNN', async () => {
    await go('#/inspect');
    await page.waitForSelector('[data-probe-row="1"]', { timeout: E2E_WAIT_MS });
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
    await page.waitForSelector('[data-probe-row="1"]', { timeout: E2E_WAIT_MS });
    // Labelled by the run's name, not its id.
    expect(await text('[data-probe-row="0"] td')).toMatch(/^e2e FERNN · FERNN-V1$/);
    await go('#/inspect?run=nope');
    await expect.poll(() => text('[data-error-for="models.0"]'), { timeout: E2E_WAIT_MS }).toMatch(/Run not found: .*no run nope/);
  });

  it('shows predictions of a run, and a missing run', async () => {
    await go(`#/predictions/${runA}`);
    await page.waitForSelector('[data-sample="3"]', { timeout: E2E_WAIT_MS });
    // input, target, predicted, and the difference prediction − truth
    expect(await page.locator('[data-sample="0"] .strip').count()).toBe(4);
    await shot('predictions');
    await page.fill('input[name=count]', '99');
    expect(await text('#count-err')).toMatch(/1\.\.32/);
    expect(await page.locator('form[aria-label="choose predictions"] button[type=submit]').isDisabled()).toBe(true);
    await go('#/predictions/nope');
    await expect.poll(() => text('.notice.error'), { timeout: E2E_WAIT_MS }).toMatch(/Run not found:/);
  });

  it('reads in the dark theme', async () => {
    await go(`#/runs/${runA}`);
    await page.click('button[aria-label="Switch to dark theme"]');
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.waitForTimeout(300);
    await shot('runs-dark');
    await go(`#/compare?ids=${runA},${runB}`);
    await expect.poll(() => page.locator('.heatmaps figure').count(), { timeout: E2E_WAIT_MS }).toBe(2);
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

describe('rotation flows end to end', () => {
  let rotRun = '';

  it('designs, previews and saves rotation flows', async () => {
    await go('#/flows');
    await page.check('input[name=kind][value=rotation]');
    expect(await page.locator('input[name=vx]').count()).toBe(0);
    await page.fill('input[name=omega]', '400');
    expect(await text('#omega-err')).toMatch(/within −360\.\.360/);
    expect(await page.locator('button:has-text("Save flow")').isDisabled()).toBe(true);
    await page.click('[data-omega="30"]');
    expect(await page.locator('input[name=omega]').inputValue()).toBe('30');
    expect(await page.locator('input[name=omegaSlider]').inputValue()).toBe('30');
    await expect.poll(() => text('#preview-h'), { timeout: E2E_WAIT_MS }).toBe('Preview rotate:30');
    expect(await page.locator('.panel .strip-frames canvas').count()).toBe(20);
    await page.fill('input[name=flowName]', 'spin30');
    await page.click('text=Save flow rotate:30');
    await page.waitForSelector('tr[data-flow=spin30]');
    expect(await page.locator('tr[data-flow=spin30]').getAttribute('data-kind')).toBe('rotation');
    expect(await text('tr[data-flow=spin30] [data-col=motion]')).toBe('rotation 30°/frame ↺');
    // A quarter turn per frame: the slider moves the number too.
    await page.locator('input[name=omegaSlider]').fill('90');
    expect(await page.locator('input[name=omega]').inputValue()).toBe('90');
    await page.fill('input[name=flowName]', 'quarter-turn');
    await page.click('text=Save flow rotate:90');
    await page.waitForSelector('tr[data-flow=quarter-turn]');
    await expect.poll(() => text('#preview-h'), { timeout: E2E_WAIT_MS }).toBe('Preview rotate:90');
    await shot('flows-rotation');
    const saved = (await host.call('listFlows')).body.result as { name: string; flow: string }[];
    expect(
      saved
        .filter((f) => f.flow.startsWith('rotate:'))
        .map((f) => f.flow)
        .sort(),
    ).toEqual(['rotate:30', 'rotate:90']);
  });

  it('inspects a quarter-turn flow: the rotation FERNN (C4, omegas ±90) is exact, the rotation G-RNN is not', async () => {
    await page.click('tr[data-flow=quarter-turn] button:has-text("Probe")');
    await page.waitForURL(/#\/inspect\?flow=rotate%3A90$/);
    // Rotation models with orientations aligned to the flow: C4, omega step 90, r = 1 (omegas -90, 0, 90).
    expect(await page.locator('select[aria-label="model 1 kind"]').inputValue()).toBe('fernn-rot');
    expect(await page.locator('select[aria-label="model 2 kind"]').inputValue()).toBe('grnn-rot');
    expect(await page.locator('input[aria-label="model 1 group order"]').inputValue()).toBe('4');
    expect(await page.locator('input[aria-label="model 1 omega step"]').inputValue()).toBe('90');
    expect(await page.locator('input[aria-label="model 1 velocity range"]').inputValue()).toBe('1');
    await page.fill('input[name=imageSize]', '16');
    await page.fill('input[name=steps]', '6');
    await page.click('form[aria-label="probe settings"] button[type=submit]');
    // The opening probe ran 10 steps at 28 px; this one 6 at 16 px.
    await expect.poll(() => page.locator('.strip.hit canvas').count(), { timeout: E2E_WAIT_MS }).toBe(6);
    expect(await text('[data-probe-row="0"] td')).toMatch(/^FERNN-V1 \(rot, C4, step 90\)/);
    const fernn = Number(await text('[data-probe-row="0"] [data-col=hidden]'));
    const grnn = Number(await text('[data-probe-row="1"] [data-col=hidden]'));
    expect(await text('[data-probe-row="1"] td')).toMatch(/^G-RNN \(rot, C4\)/);
    expect(fernn).toBeLessThan(1e-4);
    expect(grnn).toBeGreaterThan(1e-2);
    // The hidden strip is labelled by the angular velocities of the model's axis; the flow's omega is the highlighted slice.
    expect(await page.locator('[data-slice^="h[ω="]').evaluateAll((els) => els.map((e) => e.getAttribute('data-slice')))).toEqual([
      'h[ω=−90°]',
      'h[ω=0°]',
      'h[ω=90°]',
    ]);
    expect(await page.locator('.strip.hit').getAttribute('data-slice')).toBe('h[ω=90°]');
    expect(await text('label:has(input[name=comoving])')).toMatch(/rotating frame/);
    await shot('inspect-rotation');
    // A translation-lifted FERNN cannot be probed with a rotation: said at the model, before asking the service.
    await page.selectOption('select[aria-label="model 2 kind"]', 'fernn');
    expect(await text('[data-error-for="models.1"]')).toMatch(/probe it with a translation flow/);
    expect(await page.locator('form[aria-label="probe settings"] button[type=submit]').isDisabled()).toBe(true);
  });

  it('trains a tiny Rotating-MNIST run from the form and shows its angular-velocity curve', async () => {
    await go('#/new');
    await page.click('[data-action=reset-form]'); // the form keeps what an earlier test left in it
    await page.selectOption('select[name=dataset]', 'rotating-mnist');
    expect(await page.locator('select[name=model]').inputValue()).toBe('fernn-rot');
    expect(await page.locator('select[name=model] option').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value))).toEqual([
      'fernn-rot',
      'grnn-rot',
    ]);
    expect(await page.locator('input[name=dataMotion][value=flows]').isDisabled()).toBe(true);
    await page.fill('input[name=group]', '0');
    expect(await text('[data-error-for=group]')).toMatch(/^Group order N must be ≥ 1 and ≤ 72/);
    await page.selectOption('select[name=model]', 'grnn-rot');
    expect(await page.locator('input[name=vRange]').inputValue()).toBe('0');
    await page.selectOption('select[name=model]', 'fernn-rot');
    await page.click('summary:has-text("More settings")');
    const fields = {
      vRange: '1',
      hidden: '1',
      group: '4',
      omegaStep: '10',
      dataVRange: '1',
      steps: '6',
      batch: '2',
      imageSize: '8',
      inputFrames: '2',
      predFrames: '2',
      valEvery: '3',
      valSequences: '4',
      testSequences: '4',
    };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    expect(await text('[data-hint-for=vRange]')).toMatch(/V1 = −10\.\.10 deg\/frame$/);
    expect(await text('[data-hint-for=dataVRange]')).toMatch(/ω ∈ −10\.\.10 deg\/frame$/);
    expect(await text('[data-hint=angular-motion]')).toMatch(/ω ∈ −10\.\.10 deg\/frame/);
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=name]', 'e2e rotation');
    await expect.poll(() => text('[data-estimate=total]'), { timeout: E2E_WAIT_MS }).not.toBe('—');
    await shot('new-run-rotation');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    rotRun = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const started = (await host.call('getRun', { id: rotRun })).body.result as RunDetail;
    expect(started.run.config).toMatchObject({
      dataset: 'rotating-mnist',
      model: 'fernn-rot',
      group: 4,
      omegaStep: 10,
      vRange: 1,
      dataVRange: 1,
      hidden: 1,
      imageSize: 8,
      inputFrames: 2,
      predFrames: 2,
    });
    await waitRun(rotRun, (r) => r.status === 'completed');
    await expect.poll(() => text('[data-testid=detail-status]'), { timeout: E2E_WAIT_MS }).toBe('completed');
    expect(await text(`[data-run-summary="${rotRun}"]`)).toMatch(/^prediction · Rotating MNIST · test MSE \d/);
    expect(await text('[data-testid=detail-motion]')).toBe('angular velocities −10..10 deg/frame');
    expect(await text('[data-testid=detail-model]')).toMatch(/^FERNN-V1 \(rot, C4\) · Ω = −10\.\.10 deg\/frame · 1 field of 4 orientations · \d+ parameters$/);
    // The grid covers the training range and one step beyond: R = D + 1 = 2, omegas -20..20.
    expect(await page.locator('input[name=velocityRange]').inputValue()).toBe('2');
    expect(await text('[data-hint-for=velocityRange]')).toBe('ω = −20..20 deg/frame, step 10');
    await page.fill('input[name=sequences]', '4');
    await page.click('[data-action=evaluate-angular]');
    await page.waitForSelector('[data-testid=angular-velocity] canvas', { timeout: E2E_WAIT_MS });
    const d = (await host.call('getRun', { id: rotRun })).body.result as RunDetail;
    const angular = d.evals['angular-velocity'] as { omegas: number[]; mse: number[] };
    expect(angular.omegas).toEqual([-20, -10, 0, 10, 20]);
    expect(angular.mse.every((m) => Number.isFinite(m) && m >= 0)).toBe(true);
    expect(await page.locator('[data-action=evaluate-angular]').count()).toBe(0);
    await shot('runs-rotation');
  });

  it('probes the trained rotating run under its own omega step', async () => {
    await page.click('a.button:has-text("Inspect equivariance")');
    await page.waitForURL(/#\/inspect\?run=.+&flow=rotate%3A10$/);
    await expect.poll(() => text('[data-probe-row="0"] td'), { timeout: E2E_WAIT_MS }).toContain('e2e rotation');
    expect(await text('[data-probe-row="0"] td')).toMatch(/^e2e rotation · FERNN-V1 \(rot, C4\)/);
    expect(await text('[data-probe-row="1"] td')).toMatch(/^G-RNN \(rot, C36\)/);
    expect(await page.locator('[data-slice^="h[ω="]').evaluateAll((els) => els.map((e) => e.getAttribute('data-slice')))).toEqual([
      'h[ω=−10°]',
      'h[ω=0°]',
      'h[ω=10°]',
    ]);
    expect(await page.locator('.strip.hit').getAttribute('data-slice')).toBe('h[ω=10°]');
  });

  it('shows a rotating run’s predictions and overlays its angular curve in Compare', async () => {
    await go(`#/predictions/${rotRun}`);
    await page.waitForSelector('[data-sample="3"]', { timeout: E2E_WAIT_MS });
    expect(await page.locator('[data-sample="0"] .strip').count()).toBe(4);
    expect(await page.locator('[data-sample="0"] .strip').first().locator('canvas').count()).toBe(2);
    await go(`#/compare?ids=${rotRun}`);
    await page.waitForSelector('[data-testid=compare-angular] canvas', { timeout: E2E_WAIT_MS });
    expect(await page.locator('.heatmaps[data-measure=mse]').count()).toBe(0);
    // What a rotating run still lacks (test MSE, equivariance under its omega step); no length generalisation.
    await page.fill('input[name=evalSequences]', '4');
    await page.click('[data-action=evaluate-missing]');
    await expect.poll(() => text(`tr[data-row="${rotRun}"] td:last-child`), { timeout: E2E_WAIT_MS }).toMatch(/^\d/);
    expect(await page.locator('[data-action=evaluate-missing]').isDisabled()).toBe(true);
    const evals = ((await host.call('getRun', { id: rotRun })).body.result as RunDetail).evals;
    expect(Object.keys(evals).sort()).toEqual(['angular-velocity', 'equivariance', 'test']);
    expect((evals.equivariance as { flow: string }[]).map((r) => r.flow)).toEqual(['rotate:10']);
    const downloads: string[] = [];
    page.on('download', async (dl) => downloads.push(await readFile((await dl.path())!, 'utf8')));
    await page.click('[data-action=export-csv]');
    await expect.poll(() => downloads.length, { timeout: E2E_WAIT_MS }).toBe(2);
    const curves = downloads.find((x) => x.startsWith('run_id,series'))!;
    expect(curves.split('\n').filter((l) => l.includes(',angular_velocity_mse,'))).toHaveLength(5);
    expect(downloads.find((x) => x.startsWith('run_id,name,model'))!.split('\n')[1]).toMatch(/,rotating-mnist$/);
    page.removeAllListeners('download');
    await shot('compare-rotation');
  });

  it('kept the console free of errors', () => {
    expect(consoleProblems).toEqual([]);
  });
});

describe('graceful shutdown', () => {
  it('checkpoints a running training and marks it interrupted when the host stops', async () => {
    const gate = await host.gates.hold('e2e shutdown', 8);
    const started = await host.call('startRun', { config: { ...TINY, model: 'grnn', vRange: 0, valEvery: 5 }, name: 'e2e shutdown' });
    const id = (started.body.result as RunRecord).id;
    await gate.parked();
    const store = host.store;
    await host.stop({ keepStore: true });
    const rec = JSON.parse(await readFile(join(store, id, 'run.json'), 'utf8')) as RunRecord;
    expect(rec.status).toBe('interrupted');
    expect(rec.progress.checkpointStep).toBe(8);
    expect(rec.owner).toBeNull();
  });
});
