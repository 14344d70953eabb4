import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedRun, writeManyRuns, type GeneratedRun } from '../helpers/manyRuns';
import { closeLab, E2E_WAIT_MS, openLab, type LabSession } from './helpers/session';

/**
 * The Runs view with thousands of runs (issue 16): generated run records (nothing trains) served by the built web
 * host. The list renders only the rows in sight, whatever the store holds; search, filters, sort and sweep groups
 * give the right rows; runs changed, added or broken on disk show when the list is read again (the store's summary
 * index is never trusted over the files). No timings are asserted (scripts/bench-runs-view.ts measures them).
 */
const N = 3000;
/** Rows in the DOM may not grow with the store: the view's height in rows plus the overscan, far below N. */
const MAX_DOM_ROWS = 80;

let session: LabSession;
let page: Page;
let runs: GeneratedRun[] = [];
const problems: string[] = [];

const domRuns = () => page.locator('tr[data-run]').evaluateAll((trs) => trs.map((t) => t.getAttribute('data-run') ?? ''));
const countText = async () => ((await page.locator('[data-testid=runs-count]').textContent()) ?? '').trim();

beforeAll(async () => {
  session = await openLab({
    problems,
    defaultTimeoutMs: E2E_WAIT_MS,
    beforeBrowser: async (host) => {
      runs = await writeManyRuns(host.store, N);
    },
  });
  page = session.page;
  await page.waitForSelector('tr[data-run]');
});

afterAll(async () => {
  await closeLab(session ?? {});
});

async function setFilters(f: { text?: string; model?: string; status?: string; task?: string; sweep?: string; sort?: string; group?: boolean }) {
  await page.fill('input[name=runSearch]', f.text ?? '');
  await page.selectOption('select[name=filterModel]', f.model ?? '');
  await page.selectOption('select[name=filterStatus]', f.status ?? '');
  await page.selectOption('select[name=filterTask]', f.task ?? '');
  await page.selectOption('select[name=filterSweep]', f.sweep ?? '');
  if (f.sort) await page.selectOption('select[name=sortKey]', f.sort);
  if (f.group !== undefined) await page.setChecked('input[name=groupSweeps]', f.group);
}

describe('the Runs view with thousands of runs', () => {
  it('lists every run but renders only a bounded number of rows, also after scrolling to the end', async () => {
    expect(await countText()).toBe(String(N));
    // Newest first: the last generated run leads (the first 200 runs, grouped into sweeps, come at the end).
    expect((await domRuns())[0]).toBe(runs[N - 1].id);
    expect((await domRuns()).length).toBeLessThanOrEqual(MAX_DOM_ROWS);
    await page.locator('[data-testid=runs-scroll]').evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(async () => (await page.locator('tr[data-sweep]').count()) > 0, { timeout: E2E_WAIT_MS }).toBe(true);
    expect((await domRuns()).length).toBeLessThanOrEqual(MAX_DOM_ROWS);
    expect(await page.locator('tr[data-sweep="sweep-000"]').count()).toBe(1);
    // Rows keep their height, so the rows in sight follow from the scroll position: the spacers and rows fill the box exactly.
    const heights = await page.locator('tr.run-row, tr.sweep-row').evaluateAll((trs) => [...new Set(trs.map((t) => t.getBoundingClientRect().height))]);
    expect(heights).toHaveLength(1);
  });

  it('search finds a run by name and by id', async () => {
    await setFilters({ text: 'run-01234' });
    await expect.poll(domRuns, { timeout: E2E_WAIT_MS }).toEqual([runs[1234].id]);
    expect(await countText()).toBe(`1 of ${N}`);
    await setFilters({ text: runs[2500].id.toUpperCase() });
    await expect.poll(domRuns, { timeout: E2E_WAIT_MS }).toEqual([runs[2500].id]);
  });

  it('filters by model, status and task together, and says when nothing matches', async () => {
    await setFilters({ model: 'grnn-plus', status: 'failed', task: 'classification', group: false });
    const want = runs.filter((r) => r.model === 'grnn-plus' && r.status === 'failed' && r.task === 'classification');
    expect(want.length).toBeGreaterThan(20);
    await expect.poll(countText, { timeout: E2E_WAIT_MS }).toBe(`${want.length} of ${N}`);
    const inSight = await domRuns();
    expect(inSight.length).toBeGreaterThan(0);
    expect(inSight.every((id) => want.some((r) => r.id === id))).toBe(true);
    // With a search on top, few enough to see them all.
    await page.fill('input[name=runSearch]', 'run-001');
    const few = want.filter((r) => r.name.startsWith('run-001'));
    expect(few.length).toBeGreaterThan(0);
    await expect.poll(async () => (await domRuns()).sort(), { timeout: E2E_WAIT_MS }).toEqual(few.map((r) => r.id).sort());
    expect(await countText()).toBe(`${few.length} of ${N}`);
    await page.fill('input[name=runSearch]', 'no such run anywhere');
    await page.waitForSelector('[data-testid=no-match]');
    expect(await page.locator('tr[data-run]').count()).toBe(0);
  });

  it('sorts by test MSE, best first and worst first, runs without one last', async () => {
    await setFilters({ sort: 'testMse', group: false });
    const scored = runs.filter((r) => r.testMse !== null).sort((a, b) => a.testMse! - b.testMse!);
    await expect.poll(async () => (await domRuns()).slice(0, 5), { timeout: E2E_WAIT_MS }).toEqual(scored.slice(0, 5).map((r) => r.id));
    const first = await page.locator(`[data-run-summary="${scored[0].id}"] [data-result]`).textContent();
    expect(first).toMatch(/^test MSE 0\.0100/);
    await page.click('button[name=sortDir]');
    await expect
      .poll(async () => (await domRuns()).slice(0, 5), { timeout: E2E_WAIT_MS })
      .toEqual(
        scored
          .slice(-5)
          .reverse()
          .map((r) => r.id),
      );
    // Runs without a test MSE close the list in either direction.
    await page.locator('[data-testid=runs-scroll]').evaluate((el) => (el.scrollTop = el.scrollHeight));
    const unscored = new Set(runs.filter((r) => r.testMse === null).map((r) => r.id));
    await expect.poll(async () => unscored.has((await domRuns()).at(-1) ?? ''), { timeout: E2E_WAIT_MS }).toBe(true);
    // A column header sorts too: by name, then the other way round.
    await page.click('button[data-sort=name]');
    await expect.poll(async () => (await domRuns())[0], { timeout: E2E_WAIT_MS }).toBe(runs[0].id);
    await page.click('button[data-sort=name]');
    await expect.poll(async () => (await domRuns())[0], { timeout: E2E_WAIT_MS }).toBe(runs[N - 1].id);
  });

  it("groups a sweep's runs under one row that opens, and filters by sweep", async () => {
    await setFilters({ sort: 'created', group: true, text: 'sweep-003' });
    await expect.poll(() => page.locator('tr[data-sweep]').count(), { timeout: E2E_WAIT_MS }).toBe(1);
    expect(await page.locator('tr[data-run]').count()).toBe(0);
    expect(await page.locator('tr[data-sweep="sweep-003"]').textContent()).toContain('10 runs');
    await page.click('tr[data-sweep="sweep-003"] button[aria-expanded=false]');
    const members = runs.filter((r) => r.sweep === 'sweep-003').map((r) => r.id);
    await expect.poll(async () => (await domRuns()).sort(), { timeout: E2E_WAIT_MS }).toEqual(members.sort());
    await setFilters({ sweep: 'sweep-007' });
    await expect
      .poll(async () => (await domRuns()).sort(), { timeout: E2E_WAIT_MS })
      .toEqual(
        runs
          .filter((r) => r.sweep === 'sweep-007')
          .map((r) => r.id)
          .sort(),
      );
    expect(generatedRun(75, N).sweep).toBe('sweep-007');
  });

  it('keeps its search when the view is opened again, and opens a run from the list', async () => {
    await setFilters({ text: 'run-00777' });
    await expect.poll(domRuns, { timeout: E2E_WAIT_MS }).toEqual([runs[777].id]);
    await page.evaluate(`location.hash = '#/flows'`);
    await page.waitForSelector('[data-view=flows][aria-current=page]');
    await page.evaluate(`location.hash = '#/runs'`);
    await expect.poll(domRuns, { timeout: E2E_WAIT_MS }).toEqual([runs[777].id]);
    await page.click(`tr[data-run="${runs[777].id}"] a`);
    await expect.poll(async () => (await page.locator('#run-detail').textContent()) ?? '', { timeout: E2E_WAIT_MS }).toContain('run-00777');
    expect(problems).toEqual([]);
  });

  it("Compare's run picker shows a bounded number of runs, and its search finds a given run", async () => {
    await page.evaluate(`location.hash = '#/compare'`);
    await page.waitForSelector('[data-testid=compare-search]');
    const picks = () => page.locator('input[data-compare]').evaluateAll((els) => els.map((e) => e.getAttribute('data-compare') ?? ''));
    await expect.poll(async () => (await picks()).length, { timeout: E2E_WAIT_MS }).toBeGreaterThan(0);
    expect((await picks()).length).toBeLessThanOrEqual(MAX_DOM_ROWS);
    expect(await page.textContent('[data-testid=compare-matches]')).toContain(`of ${N} matching runs shown`);
    await page.fill('[data-testid=compare-search]', 'run-02345');
    await expect.poll(picks, { timeout: E2E_WAIT_MS }).toEqual([runs[2345].id]);
    await page.check(`input[data-compare="${runs[2345].id}"]`);
    await expect.poll(() => page.url(), { timeout: E2E_WAIT_MS }).toContain(runs[2345].id);
    // A chosen run stays in the list, to be unticked, when the search moves on.
    await page.fill('[data-testid=compare-search]', runs[42].id);
    await expect.poll(async () => (await picks()).sort(), { timeout: E2E_WAIT_MS }).toEqual([runs[2345].id, runs[42].id].sort());
    expect(problems).toEqual([]);
  });

  it('shows runs changed, added and broken on disk once the list is read again', async () => {
    const store = session.host.store;
    const runFile = (id: string) => join(store, id, 'run.json');
    // Renamed in place, broken, and a new folder (a copy of a run under a new id, the newest of all).
    await writeFile(runFile(runs[10].id), (await readFile(runFile(runs[10].id), 'utf8')).replace('"name": "run-00010"', '"name": "renamed-on-disk"'));
    await writeFile(runFile(runs[11].id), '{ broken');
    const added = { ...(JSON.parse(await readFile(runFile(runs[12].id), 'utf8')) as Record<string, unknown>) };
    Object.assign(added, { id: 'added-on-disk', name: 'added-on-disk', createdAt: '2030-01-01T00:00:00.000Z' });
    await mkdir(join(store, 'added-on-disk'));
    await writeFile(runFile('added-on-disk'), JSON.stringify(added));
    await page.evaluate(`location.hash = '#/runs'`);
    await page.reload();
    await page.waitForSelector('tr[data-run]');
    await setFilters({ sort: 'created', group: false });
    await expect.poll(countText, { timeout: E2E_WAIT_MS }).toBe(String(N));
    expect((await domRuns())[0]).toBe('added-on-disk');
    await setFilters({ text: 'renamed-on-disk', group: false });
    await expect.poll(domRuns, { timeout: E2E_WAIT_MS }).toEqual([runs[10].id]);
    await setFilters({ text: runs[11].id, group: false });
    await page.waitForSelector('[data-testid=no-match]');
    expect(await page.locator('details', { hasText: 'not readable runs' }).textContent()).toContain(runs[11].id);
    expect(problems).toEqual([]);
  });
});
