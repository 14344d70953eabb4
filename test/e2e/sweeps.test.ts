import { mkdtemp, readdir, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepDetail } from '../../src/core/protocol/sweeps';
import type { LabHost } from './helpers/labHost';
import { E2E_WAIT_MS, closeLab, openLab, shot as shotOf, textOf } from './helpers/session';

/**
 * Sweeps in the app, end to end: the built web host (its lab service runs the sweep in its own pool, training on
 * wasm) driven through Chromium. A tiny 2 models x 2 seeds sweep is created from the Sweeps view; member 0 parks at a
 * known step (the test gate) so live progress is seen mid-run whatever the machine's speed. The host runs with a
 * PATH without sbatch, so Slurm must be offered greyed out with its reason.
 */
let host: LabHost;
let browser: Browser;
let page: Page;
const consoleProblems: string[] = [];
let sweepId = '';

const shot = (name: string) => shotOf(page, name);
const text = (sel: string) => textOf(page, sel);

/** A PATH like ours in which sbatch does not exist: one folder of links to every other command. */
async function pathWithoutSbatch(): Promise<string> {
  const bin = await mkdtemp(join(tmpdir(), 'fernn-nosbatch-'));
  const seen = new Set<string>(['sbatch']);
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (seen.has(name)) continue;
      seen.add(name);
      await symlink(join(dir, name), join(bin, name)).catch(() => undefined);
    }
  }
  return bin;
}

beforeAll(async () => {
  ({ host, browser, page } = await openLab({
    env: { PATH: await pathWithoutSbatch() },
    acceptDownloads: true,
    colorScheme: 'light',
    problems: consoleProblems,
  }));
});

afterAll(() => closeLab({ host, browser }));

describe('sweeps in the app', () => {
  it('offers Slurm greyed out with its reason when sbatch is not on PATH', async () => {
    await page.evaluate(`location.hash = '#/sweeps'`);
    await page.waitForSelector('form[aria-label="new sweep"]');
    await expect.poll(() => text('[data-hint=slurm]'), { timeout: E2E_WAIT_MS }).toMatch(/^Slurm is not available: sbatch is not usable here \(.*ENOENT/);
    expect(await page.locator('input[name=executor][value=slurm]').isDisabled()).toBe(true);
    expect(await page.locator('input[name=executor][value=local]').isChecked()).toBe(true);
  });

  it('creates a 2 models x 2 seeds sweep from the New run settings and shows every member progress and complete', async () => {
    const gate = await host.gates.hold('e2e-sweep/0', 2);
    await page.click('[data-preset=tiny]');
    await page.selectOption('select[name=backend]', 'wasm');
    for (const [k, v] of Object.entries({ hidden: '2', steps: '6', batch: '2' })) await page.fill(`input[name=${k}]`, v);
    await page.click('text=More settings');
    for (const [k, v] of Object.entries({ imageSize: '8', valEvery: '3', valSequences: '4', testSequences: '8', inputFrames: '3', predFrames: '2' }))
      await page.fill(`input[name=${k}]`, v);
    await page.fill('input[name=sweepName]', 'e2e-sweep');
    await page.fill('input[name=seeds]', '2');
    // The default axis: model = grnn, fernn (the G-RNN gets V = {0}).
    expect(await page.locator('[data-axis="0"] select').inputValue()).toBe('model');
    expect(await page.locator('[data-axis="0"] input').inputValue()).toBe('grnn, fernn');
    await page.fill('input[name=parallel]', '2');
    await shot('sweeps-new');
    await page.click('form[aria-label="new sweep"] button[type=submit]');
    await page.waitForURL(/#\/sweeps\/.+/, { timeout: E2E_WAIT_MS });
    sweepId = decodeURIComponent(new URL(page.url()).hash.replace('#/sweeps/', ''));
    await gate.parked();
    // Parked after step 2: the member shows running at 2 of 6 steps.
    await expect.poll(() => page.locator('tr[data-member="0"]').getAttribute('data-status'), { timeout: E2E_WAIT_MS }).toBe('running');
    await expect.poll(() => page.locator('tr[data-member="0"] [role=progressbar]').getAttribute('aria-valuenow'), { timeout: E2E_WAIT_MS }).toBe('2');
    await gate.release();
    for (const i of [0, 1, 2, 3])
      await expect.poll(() => page.locator(`tr[data-member="${i}"]`).getAttribute('data-status'), { timeout: E2E_WAIT_MS }).toBe('completed');
    const d = (await host.call('getSweep', { id: sweepId })).body.result as SweepDetail;
    expect(d.status.members.map((m) => [m.overrides.model, m.overrides.seed])).toEqual([
      ['grnn', 0],
      ['grnn', 1],
      ['fernn', 0],
      ['fernn', 1],
    ]);
  });

  it('shows the aggregate table with n = 2 per group, mean ± std and the CI, and exports the statistics', async () => {
    for (const g of ['model=grnn', 'model=fernn']) {
      const row = `[data-testid=sweep-groups] tr[data-group="${g}"]`;
      await expect.poll(() => text(`${row} [data-col=completed]`), { timeout: E2E_WAIT_MS }).toBe('2');
      expect(await text(`${row} [data-col=n]`)).toBe('2');
      expect(await text(`${row} [data-col=mean]`)).toMatch(/^\d.* ± \d/);
      expect(await text(`${row} [data-col=ci95]`)).toMatch(/^-?\d.* … \d/);
    }
    // Mean curves with a filled mean ± std band per group (two groups of two members: two bands in each chart).
    await expect
      .poll(() => page.locator('[data-testid=sweep-groups] .charts canvas').evaluateAll((cs) => cs.map((c) => c.getAttribute('data-bands'))), {
        timeout: E2E_WAIT_MS,
      })
      .toEqual(['2', '2']);
    await shot('sweeps');
    const downloads: string[] = [];
    page.on('download', async (dl) => downloads.push(await readFile((await dl.path())!, 'utf8')));
    await page.click('[data-testid=sweep-groups] [data-export=csv]');
    await expect.poll(() => downloads.length, { timeout: E2E_WAIT_MS }).toBe(1);
    const lines = downloads[0].trim().split('\n');
    expect(lines[0]).toBe('group,n,completed,metric,mean,std,ci95_lo,ci95_hi');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 4).join(','))).toEqual(['model=grnn,2,2,test_mse', 'model=fernn,2,2,test_mse']);
  });

  it('evaluates the members and shows the mean velocity heat-map of each group', async () => {
    await page.fill('input[name=evalSequences]', '4');
    await page.click('[data-action=evaluate-velocity]');
    await expect.poll(() => page.locator('[data-testid=sweep-groups] .heatmap').count(), { timeout: E2E_WAIT_MS }).toBe(2);
    expect(await page.locator('[data-testid=sweep-groups] .heatmap canvas').first().getAttribute('aria-label')).toMatch(/^model=grnn \(mean of 2\)/);
    await shot('sweeps');
  });

  it('links each member to its run', async () => {
    const runId = `${sweepId}-m2`;
    await page.click(`tr[data-member="2"] a[data-run-link="${runId}"]`);
    await page.waitForURL(new RegExp(`#/runs/${runId}`), { timeout: E2E_WAIT_MS });
    await expect.poll(() => page.locator('body').textContent(), { timeout: E2E_WAIT_MS }).toContain('e2e-sweep/2');
  });

  it("compares the sweep's groups", async () => {
    await page.evaluate(`location.hash = ${JSON.stringify(`#/sweeps/${sweepId}`)}`);
    await page.click('[data-action=compare]');
    await page.waitForURL(/#\/compare\?sweep=/, { timeout: E2E_WAIT_MS });
    await page.waitForSelector('[data-testid=compare-sweep] tr[data-group="model=fernn"]', { timeout: E2E_WAIT_MS });
    expect(await page.locator('[data-testid=compare-sweep] tbody tr').count()).toBe(2);
    await shot('sweeps-compare');
    await page.uncheck('[data-group-toggle="model=grnn"]');
    await expect.poll(() => page.locator('[data-testid=compare-sweep] tbody tr').count(), { timeout: E2E_WAIT_MS }).toBe(1);
    expect(await text('[data-testid=compare-sweep] tbody tr')).toContain('model=fernn');
    expect(consoleProblems).toEqual([]);
  });
});
