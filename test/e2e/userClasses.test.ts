import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunList } from '../../src/core/protocol/service';
import { writeBarFrames } from '../helpers/classFolders';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab, textOf, waitForRun } from './helpers/session';

/**
 * The New run form on a user's class folders (a path on the lab's machine): an empty class folder is refused under
 * the path field and leaves no run; good folders train to completion, and the Results view's confusion matrix is
 * headed by the folder names that run.json recorded.
 */
let host: LabHost;
let browser: Browser;
let page: Page;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fernn-e2e-classes-'));
  for (let i = 0; i < 3; i++) {
    writeBarFrames(join(dir, 'good', 'across', `clip${i}`), { frames: 8, bar: 'across', offset: i });
    writeBarFrames(join(dir, 'good', 'along', `clip${i}`), { frames: 8, bar: 'along', offset: i });
    writeBarFrames(join(dir, 'bad', 'across', `clip${i}`), { frames: 8, bar: 'across', offset: i });
  }
  mkdirSync(join(dir, 'bad', 'idle'));
  ({ host, browser, page } = await openLab());
});

afterAll(async () => {
  await closeLab({ host, browser });
  rmSync(dir, { recursive: true, force: true });
});

const text = (sel: string) => textOf(page, sel);
const runCount = async () => ((await host.call('listRuns', {})).body.result as RunList).runs.length;

describe('New run on your own class folders', () => {
  it('refuses an empty class folder under the field with nothing stored, trains on good ones and names the classes', async () => {
    await goTo(page, '#/new', { detour: false });
    await page.click('[data-action=reset-form]');
    await page.check('input[name=task][value=classification]');
    await page.selectOption('select[name=dataset]', 'class-folders');
    expect(await text('[data-error-for=dataDir]')).toMatch(/^Class folders is required/);
    await page.selectOption('select[name=model]', 'grnn');
    await page.click('summary:has-text("More settings")');
    const fields = { hidden: '2', inputFrames: '3', imageSize: '8', steps: '2', batch: '2', valEvery: '2', valSequences: '2', testSequences: '4' };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    await page.selectOption('select[name=backend]', 'wasm');

    await page.fill('input[name=dataDir]', join(dir, 'bad'));
    await page.click('button[type=submit]');
    await expect.poll(() => text('[data-error-for=dataDir]'), { timeout: E2E_WAIT_MS }).toMatch(/the class folder \S*bad\/idle is empty/);
    expect(await runCount()).toBe(0);

    await page.fill('input[name=dataDir]', join(dir, 'good'));
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const detail = await waitForRun(host, id, (r) => r.status === 'completed' || r.status === 'failed');
    expect(detail.run.status).toBe('completed');
    expect(detail.run.sources?.data?.[0]?.classes?.map((c) => c.name)).toEqual(['across', 'along']);
    await expect.poll(() => page.locator('[data-testid=confusion] tbody tr').count(), { timeout: E2E_WAIT_MS }).toBe(2);
    expect(await text('[data-testid=confusion] tbody tr[data-class="along"] th')).toBe('along');
    expect(await text('[data-testid=confusion] tbody tr[data-class="across"] th')).toBe('across');
  });
});
