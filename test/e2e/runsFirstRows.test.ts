import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeManyRuns, type GeneratedRun } from '../helpers/manyRuns';
import { closeLab, E2E_WAIT_MS, openLab, type LabSession } from './helpers/session';

/**
 * The first rows of the Runs view (issue 16): with thousands of runs the page draws the head of the list (its opening
 * rows) before it reads the rest. What it draws first must be what the whole list shows: the same rows, the same
 * count. An init script notes the rows and the count at the moment the first row appears.
 */
const N = 3000;
const FIRST_ROWS = `window.__first = new Promise((resolve) => {
  const watch = new MutationObserver(() => {
    if (!document.querySelector('tr[data-run]')) return;
    watch.disconnect();
    resolve({
      rows: [...document.querySelectorAll('tbody tr[data-run], tbody tr[data-sweep]')].map((t) => t.getAttribute('data-run') ?? 'sweep:' + t.getAttribute('data-sweep')),
      count: document.querySelector('[data-testid=runs-count]')?.textContent?.trim() ?? '',
      partial: document.querySelector('[data-testid=runs-scroll]')?.getAttribute('data-partial') === 'true',
    });
  });
  watch.observe(document, { childList: true, subtree: true });
});`;

let session: LabSession;
let runs: GeneratedRun[] = [];
const problems: string[] = [];

beforeAll(async () => {
  session = await openLab({
    problems,
    defaultTimeoutMs: E2E_WAIT_MS,
    initScript: FIRST_ROWS,
    beforeBrowser: async (host) => {
      runs = await writeManyRuns(host.store, N);
    },
  });
});
afterAll(async () => {
  await closeLab(session ?? {});
});

describe('the first rows of the Runs view with thousands of runs', () => {
  it('are drawn from the head of the list and are the rows and count of the whole list', async () => {
    const { page } = session;
    const first = (await page.evaluate('window.__first')) as { rows: string[]; count: string; partial: boolean };
    // Drawn before the rest of the list was read...
    expect(first.partial).toBe(true);
    expect(first.count).toBe(String(N));
    expect(first.rows[0]).toBe(runs[N - 1].id);
    // ...and the same once it has been.
    await page.waitForSelector('[data-testid=runs-scroll]:not([data-partial])');
    const rows = await page
      .locator('tbody tr[data-run], tbody tr[data-sweep]')
      .evaluateAll((trs) => trs.map((t) => t.getAttribute('data-run') ?? 'sweep:' + t.getAttribute('data-sweep')));
    // (The first rows were noted when inserted, before the list's height was measured: the frame adds rows below.)
    expect(rows.length).toBeGreaterThanOrEqual(first.rows.length);
    expect(rows.slice(0, first.rows.length)).toEqual(first.rows);
    expect(((await page.locator('[data-testid=runs-count]').textContent()) ?? '').trim()).toBe(String(N));
    expect(problems).toEqual([]);
  });
});
