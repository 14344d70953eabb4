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
 * The Predictions view and the Equivariance inspector on a user's .npy sequences (a path on the lab's machine): the
 * samples come from the file, and the view says which (path, sha256 prefix); a file that does not fit the run is
 * refused under the path field, naming the file.
 */
let host: LabHost;
let browser: Browser;
let page: Page;
let runId: string;
let good: string;
let goodSha: string;
const problems: string[] = [];

/** [N, 5, 8, 8] float32 with a bright square per sequence (the run's 3 + 2 frames of 8x8). */
async function writeSequences(path: string, n: number, size = 8): Promise<void> {
  const v = new Float32Array(n * 5 * size * size);
  for (let s = 0; s < n; s++) for (let t = 0; t < 5; t++) v[((s * 5 + t) * size + 2) * size + ((s + t) % size)] = 1;
  await writeFile(path, encodeNpy(v, [n, 5, size, size]));
}

beforeAll(async () => {
  ({ host, browser, page } = await openLab({ problems }));
  const started = (await host.call('startRun', { config: { ...TINY_GRNN, steps: 2, valEvery: 2, backend: 'wasm' }, name: 'tiny' })).body.result as RunRecord;
  runId = started.id;
  await waitForRun(host, runId, (r) => r.status === 'completed' || r.status === 'failed');
  good = join(host.store, '..', 'squares.npy');
  await writeSequences(good, 6);
  goodSha = createHash('sha256')
    .update(await readFile(good))
    .digest('hex');
});

afterAll(() => closeLab({ host, browser }));

const text = (sel: string) => textOf(page, sel);

describe('Predictions on a user .npy', () => {
  it('shows the sequences of the file and where they come from; a file of another frame size is refused under the field', async () => {
    await goTo(page, `#/predictions/${runId}`);
    await page.waitForSelector('[data-sample="0"]', { timeout: E2E_WAIT_MS });
    await page.selectOption('select[name=from]', 'file');
    const wrong = join(host.store, '..', 'big.npy');
    await writeSequences(wrong, 2, 10);
    await page.fill('input[name=data]', wrong);
    await page.click('form[aria-label="choose predictions"] button[type=submit]');
    await expect.poll(() => text('[data-error-for=data]'), { timeout: E2E_WAIT_MS }).toMatch(/big\.npy: frames are 10x10; run .* was trained on 8x8 frames/);

    await page.fill('input[name=data]', good);
    await page.fill('input[name=count]', '4');
    await page.click('form[aria-label="choose predictions"] button[type=submit]');
    await expect.poll(() => text('[data-testid=predictions-source]'), { timeout: E2E_WAIT_MS }).toContain(`sequences 0–3 of ${good}`);
    expect(await text('[data-testid=predictions-source]')).toContain(`sha256 ${goodSha.slice(0, 12)}, 6 sequences of 5 frames 8x8`);
    expect(await page.locator('[data-sample]').count()).toBe(4);
    expect(await text('[data-sample="1"] h3')).toMatch(new RegExp(`^Sequence 1 of squares\\.npy \\(sha256 ${goodSha.slice(0, 12)}\\) MSE `));
    expect(await text('[data-error-for=data]')).toBe('');
    await shot(page, 'predictions-user-data');
    // Viewing writes nothing to the run.
    expect(((await host.call('getRun', { id: runId })).body.result as RunDetail).evaluations.map((e) => e.kind)).toEqual(['test']);
    expect(problems).toEqual([]);
  });
});

describe('Equivariance inspector on a user .npy', () => {
  it("probes with a sequence of the file and says which; a sequence index past the file's end is refused under its field", async () => {
    await goTo(page, '#/inspect');
    await page.selectOption('select[name=input]', 'file');
    await page.fill('input[name=data]', good);
    await page.fill('input[name=steps]', '4');
    await page.fill('input[name=sequence]', '9');
    await page.click('form[aria-label="probe settings"] button[type=submit]');
    await expect.poll(() => text('[data-error-for=sequence]'), { timeout: E2E_WAIT_MS }).toMatch(/squares\.npy has 6 sequences \(0\.\.5\)/);
    await page.fill('input[name=sequence]', '2');
    await page.click('form[aria-label="probe settings"] button[type=submit]');
    await expect
      .poll(() => text('[data-testid=probe-source]'), { timeout: E2E_WAIT_MS })
      .toMatch(
        new RegExp(
          `^Input u: sequence 2 of ${good.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(sha256 ${goodSha.slice(0, 12)}\\), its first\\s+4 frames at 8x8$`,
        ),
      );
    await shot(page, 'inspector-user-data');
    expect(problems).toEqual([]);
  });
});
