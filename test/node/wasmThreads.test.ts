import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/node/backend';
import { relErr, TOL } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { clearIndexMapCache } from '../../src/core/nn/indexMap';
import { trainStep } from '../../src/core/train/step';

afterAll(async () => {
  clearIndexMapCache();
  await tf.setBackend('cpu');
});

/** Loss, gradient norm and updated weights of two Adam steps of a small FERNN on the active backend. */
async function twoSteps(): Promise<number[]> {
  const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 8 })), 4);
  const x = tf.randomUniform([4, 4, 12, 12, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
  const y = tf.randomUniform([4, 3, 12, 12, 1], 0, 1, 'float32', 2) as tf.Tensor5D;
  const opt = tf.train.adam(1e-2);
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    const r = trainStep(m, opt, x, y, { clipNorm: 1 });
    out.push((await r.loss.data())[0], (await r.gradNorm.data())[0]);
    r.loss.dispose();
    r.gradNorm.dispose();
  }
  out.push(...m.params['cell.conv_h.weight'].dataSync());
  [x, y].forEach((t) => t.dispose());
  opt.dispose();
  disposeModel(m);
  return out;
}

// Threads are fixed when the wasm module starts, once per process: this file runs in its own worker (vitest forks).
describe('wasm with XNNPACK threads under Node', () => {
  it('starts with 2 threads and trains like the cpu backend', async () => {
    await selectBackend('cpu');
    const cpu = await twoSteps();
    clearIndexMapCache();
    const r = await selectBackend('wasm', { wasmThreads: 2 });
    expect(r.detail).toMatch(/2 threads/);
    const wasm = await twoSteps();
    expect(relErr(wasm, cpu)).toBeLessThan(TOL.parity);
  });
});
