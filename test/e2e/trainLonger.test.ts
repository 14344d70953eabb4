import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/protocol/run';
import type { FlowPreset, RunDetail } from '../../src/core/protocol/service';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab, SHOTS, textOf, waitForRun } from './helpers/session';

/**
 * Issue 16 end to end, in Chromium on the built web host: a completed run trained longer from the run page, the Flow
 * designer's saves (the note never reused, overwriting asks, invalid fields kept out of the header, a wrapping
 * velocity named), and Predictions with each sample's velocity, difference frames and the best or last weights.
 */
const SHORT = {
  model: 'fernn',
  vRange: 1,
  hidden: 4,
  dataVRange: 1,
  steps: 10,
  batch: 4,
  imageSize: 16,
  inputFrames: 5,
  predFrames: 5,
  valEvery: 5,
  valSequences: 8,
  testSequences: 8,
  backend: 'wasm',
};

let host: LabHost;
let browser: Browser;
let page: Page;
const consoleProblems: string[] = [];
let runId = '';

const text = (sel: string) => textOf(page, sel);
const go = (hash: string) => goTo(page, hash);
const waitRun = (id: string, done: (r: RunRecord) => boolean) => waitForRun(host, id, done);
const flows = async () => (await host.call('listFlows')).body.result as FlowPreset[];

beforeAll(async () => {
  ({ host, browser, page } = await openLab({ colorScheme: 'light', problems: consoleProblems }));
  await mkdir(SHOTS, { recursive: true });
});

afterAll(() => closeLab({ host, browser }));

describe('train longer from the run page', () => {
  it('continues a completed run to a new total, says so, and keeps the first headline as a record', async () => {
    const started = await host.call('startRun', { config: SHORT, name: 'e2e short' });
    expect(started.status).toBe(200);
    runId = (started.body.result as RunRecord).id;
    const first = await waitRun(runId, (r) => r.status === 'completed');
    expect(first.run.progress.step).toBe(10);

    await go(`#/runs/${runId}`);
    await page.waitForSelector('[data-action=train-longer]', { timeout: E2E_WAIT_MS });
    expect(await page.locator('input[name=longerSteps]').inputValue()).toBe('20');
    await page.fill('input[name=longerSteps]', '10');
    await page.click('[data-action=train-longer]');
    expect(await text('[data-testid=longer-error]')).toMatch(/above the 10 trained/);
    expect(await page.locator('input[name=longerSteps]').getAttribute('aria-invalid')).toBe('true');

    await page.fill('input[name=longerSteps]', '16');
    await page.click('[data-action=train-longer]');
    const done = await waitRun(runId, (r) => r.status === 'completed' && r.progress.step === 16);
    expect(done.run.config.steps).toBe(16);
    expect(done.run.continuations).toMatchObject([{ fromStep: 10, toStep: 16 }]);
    expect(done.metrics.filter((m) => m.kind === 'train').map((m) => m.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(done.metrics.some((m) => m.kind === 'event' && m.event === 'continued' && m.step === 10)).toBe(true);

    await expect.poll(() => text('[data-stat=step]'), { timeout: E2E_WAIT_MS }).toBe('16 / 16');
    await expect.poll(() => text('[data-testid=continuations]'), { timeout: E2E_WAIT_MS }).toMatch(/Trained longer: from step 10 to 16/);
    // Two end-of-training test figures: the continued run's is the headline; the first stays listed.
    expect(await page.locator('[data-testid=evaluations] tr[data-origin=training]').count()).toBe(2);
    expect(await page.locator('[data-testid=evaluations] tr[data-origin=training] [data-testid=headline]').count()).toBe(1);
    expect(done.run.results?.testSource?.evaluationId).toBe(done.evaluations.filter((e) => e.origin === 'training').at(-1)?.id);
    // A completed run offers to train longer again, from its new total.
    expect(await page.locator('input[name=longerSteps]').inputValue()).toBe('32');
    await page.screenshot({ path: join(SHOTS, 'train-longer.png'), fullPage: true });
  });
});

describe('the Flow designer', () => {
  it('keeps invalid fields out of the header and the save button', async () => {
    await go('#/flows');
    await page.fill('input[name=vx]', 'abc');
    await page.fill('input[name=vy]', '2');
    // (the first preview may still be loading: the header never shows a half-typed flow meanwhile)
    await expect.poll(() => text('#preview-h'), { timeout: E2E_WAIT_MS }).toBe('Preview no flow yet');
    expect(await text('#preview-h')).not.toMatch(/NaN/);
    expect(await text('[data-action=save-flow]')).toBe('Save flow');
    expect(await page.locator('[data-action=save-flow]').isDisabled()).toBe(true);
    await page.fill('input[name=vx]', '1');
    await page.fill('input[name=vy]', '0');
    await expect.poll(() => text('#preview-h'), { timeout: E2E_WAIT_MS }).toMatch(/^Preview translate:1,0/);
  });

  it('says when a velocity wraps the frame', async () => {
    await page.fill('input[name=imageSize]', '28');
    await page.fill('input[name=vx]', '20');
    await expect.poll(() => text('[data-testid=wrap-warning]')).toMatch(/vx = 20 wraps the 28-px frame.*looks the same as vx -8 px\/frame/);
    await page.fill('input[name=vx]', '2');
    expect(await page.locator('[data-testid=wrap-warning]').count()).toBe(0);
    await expect.poll(() => text('[data-testid=wrap-hint]')).toMatch(/crosses the frame's edge/);
    await page.check('input[name=kind][value=rotation]');
    await page.fill('input[name=omega]', '270');
    await expect
      .poll(() => text('[data-testid=wrap-warning]'))
      .toMatch(/ω = 270° is more than half a turn per frame: it looks the same as -90° per frame \(clockwise\)/);
    await page.check('input[name=kind][value=translation]');
  });

  it('never reuses the previous note, and asks before overwriting a saved flow', async () => {
    await page.fill('input[name=vx]', '1');
    await page.fill('input[name=vy]', '0');
    await page.fill('input[name=flowName]', 'right');
    await page.fill('input[name=flowNote]', 'one pixel right per frame');
    await page.click('[data-action=save-flow]');
    await page.waitForSelector('tr[data-flow=right]');
    expect(await page.locator('input[name=flowNote]').inputValue()).toBe('');
    expect(await page.locator('input[name=flowName]').inputValue()).toBe('');

    await page.fill('input[name=vx]', '0');
    await page.fill('input[name=vy]', '1');
    await page.fill('input[name=flowName]', 'down');
    await page.click('[data-action=save-flow]');
    await page.waitForSelector('tr[data-flow=down]');
    expect((await flows()).find((f) => f.name === 'down')).toEqual({ name: 'down', flow: 'translate:0,1' });

    // The same name again: nothing is written until the user says replace.
    await page.fill('input[name=vx]', '3');
    await page.fill('input[name=flowName]', 'right');
    await page.click('[data-action=save-flow]');
    await expect
      .poll(() => text('[data-testid=confirm-replace]'))
      .toMatch(/A flow named “right” is saved \(translate:1,0, “one pixel right per frame”\)\. Replace it with translate:3,1\?/);
    expect((await flows()).find((f) => f.name === 'right')?.flow).toBe('translate:1,0');
    await page.click('[data-action=keep-flow]');
    expect(await page.locator('[data-testid=confirm-replace]').count()).toBe(0);
    expect((await flows()).find((f) => f.name === 'right')?.flow).toBe('translate:1,0');
    await page.click('[data-action=save-flow]');
    await page.click('[data-action=replace-flow]');
    await expect.poll(async () => (await flows()).find((f) => f.name === 'right')).toEqual({ name: 'right', flow: 'translate:3,1' });
    await expect.poll(() => text('tr[data-flow=right] td.mono')).toBe('translate:3,1');
  });
});

describe('Predictions', () => {
  it("shows each sample's velocity and the difference frames, for the best or the last weights", async () => {
    await go(`#/predictions/${runId}`);
    await page.waitForSelector('[data-sample="7"]', { timeout: E2E_WAIT_MS });
    expect(await page.locator('[data-sample]').count()).toBe(8);
    // Two digits per sample, each with its own integer velocity in -1..1 (the run's data range).
    expect(await text('[data-sample="0"] [data-testid=sample-motion]')).toMatch(
      /^· digit 1 \(-?[01], -?[01]\) px\/frame · digit 2 \(-?[01], -?[01]\) px\/frame$/,
    );
    expect(await page.locator('[data-sample="0"] [data-testid=difference] canvas').count()).toBe(5);
    expect(await page.locator('[data-sample="0"] [data-testid=difference]').getAttribute('aria-label')).toBe('prediction − truth');
    const best = (await host.call('getRun', { id: runId })).body.result as RunDetail;
    expect(await text('[data-testid=predictions-checkpoint]')).toContain(`best checkpoint by validation (step ${best.run.progress.bestStep})`);
    await page.selectOption('select[name=checkpoint]', 'last');
    await expect.poll(() => text('[data-testid=predictions-checkpoint]'), { timeout: E2E_WAIT_MS }).toContain('last checkpoint (step 16)');
    // Larger frames, and the next page of test sequences.
    await page.selectOption('select[name=frameSize]', '128');
    expect((await page.locator('[data-sample="0"] canvas').first().boundingBox())?.width).toBe(128);
    await page.click('[data-action=next-samples]');
    await expect.poll(() => text('[data-sample="0"] h3'), { timeout: E2E_WAIT_MS }).toMatch(/^Sample 8 /);
    await page.screenshot({ path: join(SHOTS, 'predictions-differences.png'), fullPage: true });
    expect(consoleProblems).toEqual([]);
  });
});
