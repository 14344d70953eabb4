import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFrameFolder } from '../helpers/clipFolders';
import { E2E_WAIT_MS, goTo, runCount, textOf, useLab, waitForRun } from './helpers/session';

/**
 * The New run form on a user's folder of frame folders (dataset `frames`, a path on the lab's machine): the kind and
 * its folder field come from the dataset facts; a folder with a clip shorter than one window is refused under the
 * field with nothing stored; a good one trains to completion and run.json records it.
 */

const lab = useLab();
const text = (sel: string) => textOf(lab.page, sel);

describe('New run on your own frame folders', () => {
  it('shows the kind and its folder field, refuses a short clip under the field with nothing stored, and trains on good clips', async () => {
    const { host, page } = lab;
    const good = join(host.store, '..', 'clips');
    for (let i = 0; i < 4; i++) writeFrameFolder(join(good, `clip${i}`), { frames: 10, width: 10, height: 9, offset: i });
    const bad = join(host.store, '..', 'short-clips');
    for (let i = 0; i < 3; i++) writeFrameFolder(join(bad, `clip${i}`), { frames: i === 1 ? 5 : 10, width: 10, height: 9 });

    await goTo(page, '#/new', { detour: false });
    await page.click('summary:has-text("More settings")');
    expect(await page.locator('input[name=dataStride]').count()).toBe(0); // Flowing MNIST is not cut from clips
    await page.selectOption('select[name=dataset]', 'frames');
    expect(await text('label.field:has(input[name=dataDir]) > span:first-child')).toBe('Clips folder');
    expect(await text('label.field:has(input[name=dataDir]) .hint')).toMatch(/a video \(ffmpeg\) or a folder of PNG frames/);
    expect(await text('[data-error-for=dataDir]')).toMatch(/^Clips folder is required/);
    await page.selectOption('select[name=model]', 'grnn');
    const fields = {
      hidden: '2',
      imageSize: '8',
      inputFrames: '4',
      predFrames: '2',
      steps: '2',
      batch: '2',
      valEvery: '2',
      valSequences: '4',
      testSequences: '4',
    };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    await page.selectOption('select[name=backend]', 'wasm');

    await page.fill('input[name=dataDir]', bad);
    await page.click('button[type=submit]');
    await expect.poll(() => text('[data-error-for=dataDir]'), { timeout: E2E_WAIT_MS }).toMatch(/short-clips\/clip1: 5 frames, fewer than one window of 6/);
    expect(await runCount(host)).toBe(0);

    await page.fill('input[name=dataDir]', good);
    await page.fill('input[name=dataStride]', '2');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const detail = await waitForRun(host, id, (r) => r.status === 'completed' || r.status === 'failed');
    expect(detail.run.status).toBe('completed');
    expect(detail.run.config).toMatchObject({ dataset: 'frames', dataDir: good, inputFrames: 4, predFrames: 2, imageSize: 8, dataStride: 2 });
    // 4 clips of 10 frames, windows of 6 starting every 2 frames (0, 2, 4): 3 each.
    expect(detail.run.sources?.data?.[0]).toMatchObject({ split: 'all', path: good, shape: [12, 6, 8, 8], dtype: 'frames', clips: 4 });
    expect(Number.isFinite(detail.run.results?.testMse)).toBe(true);
  });
});
