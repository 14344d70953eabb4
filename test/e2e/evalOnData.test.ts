import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/protocol/run';
import type { RunDetail } from '../../src/core/protocol/service';
import { encodeNpy } from '../../src/node/npy';
import { TINY_GRNN } from '../helpers/runStore';
import type { LabHost } from './helpers/labHost';
import { closeLab, E2E_WAIT_MS, goTo, openLab, shot, textOf, waitForRun } from './helpers/session';

/**
 * "Evaluate on your data" on a prediction run's page: the test MSE of the run's best weights on a user's .npy is
 * recorded as a data-test evaluation listed with the file and its sha256 prefix, and the run's headline test figure
 * stays its own; a file that does not fit the run is refused under the path field and adds no record.
 */
let host: LabHost;
let browser: Browser;
let page: Page;
let run: RunRecord;
const problems: string[] = [];

/** [N, T, 8, 8] float32 with a bright square per sequence moving one pixel a frame (the tiny run is 3 + 2 frames of 8x8). */
async function writeSequences(path: string, n: number, frames: number): Promise<void> {
  const v = new Float32Array(n * frames * 64);
  for (let s = 0; s < n; s++) for (let t = 0; t < frames; t++) v[((s * frames + t) * 8 + 2) * 8 + ((s + t) % 8)] = 1;
  await writeFile(path, encodeNpy(v, [n, frames, 8, 8]));
}

beforeAll(async () => {
  ({ host, browser, page } = await openLab({ problems }));
  const started = (await host.call('startRun', { config: { ...TINY_GRNN, steps: 2, valEvery: 2, backend: 'wasm' }, name: 'tiny' })).body.result as RunRecord;
  run = (await waitForRun(host, started.id, (r) => r.status === 'completed' || r.status === 'failed')).run;
});

afterAll(() => closeLab({ host, browser }));

const text = (sel: string) => textOf(page, sel);
const kinds = async () => ((await host.call('getRun', { id: run.id })).body.result as RunDetail).evaluations.map((e) => e.kind);

describe('Evaluate on your data, from the run page', () => {
  it('records a data-test evaluation naming the file, keeps the headline; a file of the wrong frame count is refused under the field', async () => {
    expect(run.status).toBe('completed');
    await goTo(page, `#/runs/${run.id}`);
    await page.waitForSelector('[data-testid=evaluations]', { timeout: E2E_WAIT_MS });
    const headline = await text('[data-stat=test-mse]');
    expect(headline).toMatch(/\d/);

    // A file of 4-frame sequences: the run needs 3 + 2.
    const bad = join(host.store, '..', 'short.npy');
    await writeSequences(bad, 3, 4);
    await page.fill('input[name=evalData]', bad);
    await page.click('[data-action=evaluate-data]');
    await expect
      .poll(() => text('[data-error-for=evalData]'), { timeout: E2E_WAIT_MS })
      .toMatch(/short\.npy: sequences have 4 frames; input frames \+ predicted frames = 3 \+ 2 = 5/);
    expect(await page.getAttribute('input[name=evalData]', 'aria-invalid')).toBe('true');
    expect(await kinds()).toEqual(['test']);
    expect(await page.locator('[data-testid=evaluations] tr[data-evaluation=data-test]').count()).toBe(0);
    expect(await page.locator('[data-read-for=evalData]').count()).toBe(0); // nothing read yet

    const good = join(host.store, '..', 'squares.npy');
    await writeSequences(good, 6, 5);
    const sha = createHash('sha256')
      .update(await readFile(good))
      .digest('hex');
    await page.fill('input[name=evalData]', good);
    await page.click('[data-action=evaluate-data]');
    const row = '[data-testid=evaluations] tr[data-evaluation=data-test]';
    await page.waitForSelector(row, { timeout: E2E_WAIT_MS });
    expect(await text(row)).toMatch(new RegExp(`test MSE \\d[\\d.e+-]* on squares\\.npy \\(sha256 ${sha.slice(0, 12)}\\)`));
    expect(await text(row)).toContain('6 seqs');
    expect(await page.getAttribute(`${row} td.num`, 'title')).toBe(good);
    expect(await text('[data-error-for=evalData]')).toBe('');
    // The path field says which file the lab read (its sha256 prefix), as the evaluation records it.
    expect(await text('[data-read-for=evalData]')).toBe(`read ${good} (sha256 ${sha.slice(0, 12)})`);
    await shot(page, 'evaluate-on-data');
    // The headline is the run's own test figure, unchanged; the record is kept beside it.
    expect(await text('[data-stat=test-mse]')).toBe(headline);
    expect(await page.locator('[data-testid=evaluations] [data-testid=headline]').count()).toBe(1);
    expect(await text('[data-testid=evaluations] tr[data-evaluation=test]')).toContain('headline');
    expect(await kinds()).toEqual(['test', 'data-test']);
    const after = ((await host.call('getRun', { id: run.id })).body.result as RunDetail).run;
    expect(after.results?.testMse).toBe(run.results?.testMse);
    expect(problems).toEqual([]);
  });
});
