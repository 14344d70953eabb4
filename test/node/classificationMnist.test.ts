import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/node/backend';
import { loadMnist } from '../../src/node/mnist';
import { allIndices, splitTrainVal } from '../../src/core/data/flowingMnist';
import { classificationSource } from '../../src/core/data/flowingMnistClassification';
import { framesToTensor } from '../../src/core/data/tensor';
import { makeCellConfig, makeClassifierConfig } from '../../src/core/nn/config';
import { createClassifier } from '../../src/core/nn/classifier';
import { disposeModel } from '../../src/core/nn/seq2seq';
import { clearIndexMapCache } from '../../src/core/nn/indexMap';
import { classifyTrainStep } from '../../src/core/train/classifyStep';
import { evaluateClassifier } from '../../src/core/metrics/classification';

afterAll(async () => {
  clearIndexMapCache();
  await tf.setBackend('cpu');
});

// Calibrated on this 2-core CPU (wasm, ~0.2 s/step): the loss sits on a plateau near ln 10 for the first 60-140
// steps (depending on the init seed) before it falls, so 60-100 steps do not beat chance; 200 steps at Adam 1e-2
// reach a test accuracy of about 0.31 (seed 0; seeds 1 and 2 gave 0.34 and 0.31). Seeded and deterministic.
const STEPS = 200;
const LR = 1e-2;

// An integration check at the smallest scale that still learns: real MNIST digits (12x12 frames, 8-frame clips)
// moving with velocities in -1..1, a FERNN-V1 classifier (hidden 8), Adam at batch 16 on the wasm backend, tested on
// held-out t10k clips.
describe('FERNN-V1 classifier on single-digit Flowing MNIST (wasm, real digits)', () => {
  it('beats chance (> 0.2 on 10 classes) on held-out t10k clips after a short training run', async () => {
    clearIndexMapCache();
    await selectBackend('wasm');
    const mnist = await loadMnist();
    const { train } = splitTrainVal(mnist.train.images.count, 0);
    const data = { imageSize: 12, seqLen: 8, velocity: { kind: 'range', range: 1 } as const };
    const trainSet = classificationSource({ ...mnist.train, indices: train }, data, 1);
    const testSet = classificationSource({ ...mnist.test, indices: allIndices(mnist.test.images.count) }, data, 2);
    const m = createClassifier(makeClassifierConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 8 }), 10), 0);
    const opt = tf.train.adam(LR);
    const t0 = performance.now();
    const losses: number[] = [];
    const accs: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const b = trainSet.batch(step, 16);
      const x = framesToTensor({ frames: b.clips, shape: b.shape });
      const r = classifyTrainStep(m, opt, x, b.labels, { clipNorm: 1 });
      x.dispose();
      losses.push((await r.loss.data())[0]);
      accs.push((await r.accuracy.data())[0]);
      [r.loss, r.gradNorm, r.accuracy].forEach((t) => t.dispose());
    }
    const trainMs = performance.now() - t0;
    const result = await evaluateClassifier(m, testSet, { sequences: 256, batchSize: 64 });
    const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
    const head = mean(losses.slice(0, 10));
    const tail = mean(losses.slice(-10));
    console.log(
      `classifier: ${STEPS} steps in ${(trainMs / 1000).toFixed(1)} s (${(trainMs / STEPS).toFixed(0)} ms/step), ` +
        `loss ${head.toFixed(3)} -> ${tail.toFixed(3)}, train acc (last 20) ${mean(accs.slice(-20)).toFixed(3)}, ` +
        `test acc ${result.accuracy.toFixed(3)} on ${result.sequences} t10k clips (eval ${((performance.now() - t0 - trainMs) / 1000).toFixed(1)} s)`,
    );
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(tail).toBeLessThan(head);
    expect(result.accuracy).toBeGreaterThan(0.2);
    opt.dispose();
    disposeModel(m);
  });
});
