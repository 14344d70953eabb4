import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/node/npy';
import { E2E_WAIT_MS, goTo, runCount, textOf, useLab, waitForRun } from './helpers/session';

/**
 * The New run form on a user's .npy sequences (a path on the lab's machine): a bad file is refused under the path
 * field and leaves no run; the training-parity fixture's G-RNN data trains to completion and run.json records it.
 */
const DATA = resolve('test/fixtures/training-parity/grnn.data.npy'); // [8, 7, 1, 9, 7]

const lab = useLab();
const text = (sel: string) => textOf(lab.page, sel);

describe('New run on your own .npy sequences', () => {
  it('asks for the file, refuses a bad one under the field with nothing stored, and trains on a good one', async () => {
    const { host, page } = lab;
    await goTo(page, '#/new', { detour: false });
    await page.selectOption('select[name=dataset]', 'npy');
    expect(await text('[data-error-for=dataDir]')).toMatch(/^\.npy file is required/);
    await page.selectOption('select[name=model]', 'grnn');
    await page.click('summary:has-text("More settings")');
    const fields = { hidden: '3', inputFrames: '4', predFrames: '3', steps: '2', batch: '2', valEvery: '2', valSequences: '4', testSequences: '4' };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    await page.selectOption('select[name=backend]', 'wasm');

    const bad = join(host.store, '..', 'nan.npy');
    const values = new Float32Array(8 * 7 * 9 * 7).fill(0.5);
    values[5 * 7 * 9 * 7 + 3] = Number.NaN;
    await writeFile(bad, encodeNpy(values, [8, 7, 1, 9, 7]));
    await page.fill('input[name=dataDir]', bad);
    await page.click('button[type=submit]');
    await expect.poll(() => text('[data-error-for=dataDir]'), { timeout: E2E_WAIT_MS }).toMatch(/nan\.npy: sequence 5: NaN/);
    expect(await runCount(host)).toBe(0);

    await page.fill('input[name=dataDir]', DATA);
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const detail = await waitForRun(host, id, (r) => r.status === 'completed' || r.status === 'failed');
    expect(detail.run.status).toBe('completed');
    expect(detail.run.config).toMatchObject({ dataset: 'npy', dataDir: DATA, inputFrames: 4, predFrames: 3 });
    expect(detail.run.sources?.data?.[0]).toMatchObject({ split: 'all', path: DATA, shape: [8, 7, 9, 7], dtype: 'float32' });
  });
});
