import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/node/npy';
import { LOSS_REL, meta, NORM_REL, relDiffs } from '../helpers/trainingParity';
import { E2E_WAIT_MS, goTo, runCount, textOf, useLab, waitForRun } from './helpers/session';

/**
 * Fine-tuning from the New run form: the PyTorch training-parity fixture's G-RNN run set up in the app (its .npy as
 * training, validation and test data, batches in file order, its initial weights as the start checkpoint) trains to
 * the losses torch recorded; a validation file of another frame size and a checkpoint of another shape are refused
 * under their own fields with nothing stored.
 */
const FIX = resolve('test/fixtures/training-parity');
const RUN = 'grnn.tf0';
const DATA = join(FIX, 'grnn.data.npy'); // [8, 7, 1, 9, 7]
const INIT = join(FIX, 'grnn.init.pth');

const lab = useLab();
const text = (sel: string) => textOf(lab.page, sel);

describe('New run: your validation and test files, file order and a start checkpoint', () => {
  it('refuses a bad validation file and a checkpoint that does not fit under their fields, then matches torch from the app', async () => {
    const { host, page } = lab;
    const s = meta(RUN);
    await goTo(page, '#/new', { detour: false });
    await page.selectOption('select[name=dataset]', 'npy');
    await page.selectOption('select[name=model]', 'grnn');
    await page.click('summary:has-text("More settings")');
    const fields = {
      hidden: '5',
      decoderLayers: '2',
      inputFrames: String(s.t_in),
      predFrames: '3',
      batch: String(s.batch),
      steps: String(s.steps),
      lr: String(s.lr),
      clipNorm: String(s.clip),
      teacherForcing: String(s.teacher_forcing),
      valEvery: String(s.steps),
      valSequences: '8',
      testSequences: '8',
    };
    for (const [k, v] of Object.entries(fields)) await page.fill(`input[name=${k}]`, v);
    await page.selectOption('select[name=backend]', 'wasm');
    await page.fill('input[name=dataDir]', DATA);
    await page.fill('input[name=dataTest]', DATA);
    await page.selectOption('select[name=batchOrder]', 'file');

    // A validation file of another frame size: refused under its field.
    const other = join(host.store, '..', 'val-8x8.npy');
    await writeFile(other, encodeNpy(new Float32Array(2 * 7 * 8 * 8).fill(0.5), [2, 7, 8, 8]));
    await page.fill('input[name=dataVal]', other);
    await page.click('button[type=submit]');
    await expect.poll(() => text('[data-error-for=dataVal]'), { timeout: E2E_WAIT_MS }).toMatch(/val-8x8\.npy: frames are 8x8, those of .*grnn\.data\.npy 9x7/);
    expect(await runCount(host)).toBe(0);

    // A checkpoint for another model (hidden 4): refused under its field, naming the first parameter that differs.
    await page.fill('input[name=dataVal]', DATA);
    await page.fill('input[name=init]', INIT);
    await page.fill('input[name=hidden]', '4');
    await page.click('button[type=submit]');
    await expect
      .poll(() => text('[data-error-for=init]'), { timeout: E2E_WAIT_MS })
      .toMatch(/grnn\.init\.pth does not fit the run's model: cell\.conv_h\.weight/);
    expect(await runCount(host)).toBe(0);

    await page.fill('input[name=hidden]', '5');
    await page.click('button[type=submit]');
    await page.waitForURL(/#\/runs\/.+/, { timeout: E2E_WAIT_MS });
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/runs/', ''));
    const detail = await waitForRun(host, id, (r) => r.status === 'completed' || r.status === 'failed');
    expect(detail.run.status).toBe('completed');
    expect(detail.run.config).toMatchObject({ dataDir: DATA, dataVal: DATA, dataTest: DATA, batchOrder: 'file', init: INIT });
    expect(detail.run.sources?.init).toMatchObject({ path: INIT, format: 'pth' });
    const train = readFileSync(join(host.store, id, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; loss: number; gradNorm: number })
      .filter((m) => m.kind === 'train');
    expect(train).toHaveLength(s.steps);
    expect(
      relDiffs(
        train.map((m) => m.loss),
        s.losses,
      ),
    ).toBeLessThan(LOSS_REL);
    expect(
      relDiffs(
        train.map((m) => m.gradNorm),
        s.grad_norms,
      ),
    ).toBeLessThan(NORM_REL);
  });
});
