import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/protocol/run';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab, waitForRun } from './helpers/session';

/**
 * The New run form end to end (issue 16): "New run from this config" fills every field with a run's config and
 * starts the same run under another name; the settings the form lacked before (clip norm, teacher forcing, early
 * stop, pooling, activation) reach run.json; the form keeps its contents across a view change and a reload, and
 * "Reset to defaults" brings the defaults back; a newly opened view starts at its top. Runs are tiny (wasm, 8 px).
 */
/** A source run with every new setting away from its default. */
const SOURCE = {
  model: 'fernn',
  vRange: 1,
  hidden: 3,
  dataVRange: 1,
  steps: 2,
  batch: 2,
  imageSize: 8,
  valEvery: 1,
  valSequences: 4,
  testSequences: 4,
  inputFrames: 3,
  predFrames: 2,
  decoderLayers: 0,
  lr: 0.002,
  clipNorm: 0.5,
  teacherForcing: 0.25,
  earlyStopPatience: 3,
  divergenceFactor: 500,
  pool: 'mean',
  activation: 'tanh',
  seed: 7,
  backend: 'wasm',
};

let host: LabHost;
let browser: Browser;
let page: Page;

/** Sets the hash only: these tests check what a view keeps, or where it opens, when the user comes straight from another. */
const go = (hash: string) => goTo(page, hash, { detour: false });
const value = (name: string) => page.locator(`[name=${name}]`).first().inputValue();
const waitRun = async (id: string, done: (r: RunRecord) => boolean) => (await waitForRun(host, id, done)).run;
const ended = (r: RunRecord) => r.status !== 'running' && r.status !== 'queued';

beforeAll(async () => {
  ({ host, browser, page } = await openLab({ colorScheme: 'light' }));
  await page.waitForSelector('nav a[data-view=new]');
});

afterAll(() => closeLab({ host, browser }));

describe('the New run form', () => {
  it('"New run from this config" fills every field with the run’s config; started, the copy has the same config and its own name', async () => {
    const started = await host.call('startRun', { config: SOURCE, name: 'e2e source' });
    expect(started.status).toBe(200);
    const source = await waitRun((started.body.result as RunRecord).id, ended);
    expect(source.status).toBe('completed');
    // The new settings reached run.json.
    expect(source.config).toMatchObject({ clipNorm: 0.5, teacherForcing: 0.25, earlyStopPatience: 3, pool: 'mean', activation: 'tanh' });

    await go(`#/runs/${encodeURIComponent(source.id)}`);
    await page.click('[data-action=new-from-config]');
    await page.waitForURL(/#\/new$/);
    await page.click('summary:has-text("More settings")');
    expect(await value('name')).toBe('e2e source (copy)');
    // Every field of the form shows the source run's setting.
    const names = await page
      .locator('form[aria-label="new run"] :is(input, select)[name]')
      .evaluateAll((els) =>
        els
          .filter((e) => (e as unknown as { type: string }).type !== 'radio' && (e as unknown as { type: string }).type !== 'checkbox')
          .map((e) => e.getAttribute('name')),
      );
    const config = source.config as unknown as Record<string, unknown>;
    const fields = names.filter((n): n is string => !!n && n in config);
    expect(fields).toEqual(
      expect.arrayContaining(['hidden', 'clipNorm', 'teacherForcing', 'earlyStopPatience', 'divergenceFactor', 'pool', 'activation', 'backend']),
    );
    for (const f of fields) expect(await value(f), f).toBe(String(config[f]));
    expect(await page.locator('input[name=task][value=prediction]').isChecked()).toBe(true);

    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    expect(id).not.toBe(source.id);
    const copy = await waitRun(id, ended);
    expect(copy.name).toBe('e2e source (copy)');
    expect(copy.config).toEqual(source.config);
  });

  it('keeps its contents across a view change and a reload; Reset to defaults brings the defaults back', async () => {
    await go('#/new');
    await page.click('[data-action=reset-form]');
    await page.click('summary:has-text("More settings")');
    expect(await value('hidden')).toBe('16');
    expect(await value('clipNorm')).toBe('1');
    expect(await value('pool')).toBe('max');
    // Inline validation names the new fields.
    await page.fill('input[name=clipNorm]', '-1');
    expect(await page.locator('[data-error-for=clipNorm]').textContent()).toMatch(/^Clip norm must be ≥ 0/);
    await page.fill('input[name=teacherForcing]', '2');
    expect(await page.locator('[data-error-for=teacherForcing]').textContent()).toMatch(/^Teacher forcing must be ≥ 0 and ≤ 1/);
    await page.fill('input[name=teacherForcing]', '0.5');
    await page.fill('input[name=clipNorm]', '0.3');
    await page.fill('input[name=hidden]', '7');
    await page.fill('input[name=name]', 'kept');
    await page.selectOption('select[name=pool]', 'sum');
    await page.selectOption('select[name=activation]', 'tanh');
    const kept = { hidden: '7', clipNorm: '0.3', teacherForcing: '0.5', name: 'kept', pool: 'sum', activation: 'tanh' };
    const shown = async () => Object.fromEntries(await Promise.all(Object.keys(kept).map(async (k) => [k, await value(k)])));

    await go('#/compare');
    await page.waitForSelector('h1');
    await go('#/new');
    await page.waitForSelector('input[name=hidden]');
    expect(await shown()).toEqual(kept);

    await page.reload();
    await page.waitForSelector('input[name=hidden]');
    expect(await shown()).toEqual(kept);

    await page.click('[data-action=reset-form]');
    expect(await shown()).toEqual({ hidden: '16', clipNorm: '1', teacherForcing: '0', name: '', pool: 'max', activation: 'relu' });
    await page.reload();
    await page.waitForSelector('input[name=hidden]');
    expect(await value('hidden')).toBe('16');
  });

  it('opens a new view at its top', async () => {
    // A short window, so both views are taller than it.
    await page.setViewportSize({ width: 1360, height: 500 });
    const { runs } = (await host.call('listRuns')).body.result as { runs: RunRecord[] };
    await go(`#/runs/${encodeURIComponent(runs[0].id)}`);
    await page.waitForSelector('[data-testid=detail-status]');
    await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    await expect.poll(() => page.evaluate('window.scrollY')).toBeGreaterThan(300);
    await go('#/new');
    await page.waitForSelector('input[name=hidden]');
    // The form is taller than the window: without the reset it would open where the run page was scrolled to.
    expect(await page.evaluate('document.body.scrollHeight - window.innerHeight')).toBeGreaterThan(300);
    await expect.poll(() => page.evaluate('window.scrollY')).toBe(0);
  });
});
