import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { loadMnist } from '../../src/node/mnist';
import { MNIST_TRAIN_COUNT, splitTrainVal } from '../../src/core/data/flowingMnist';
import { RotatingMnist } from '../../src/core/data/rotatingMnist';
import { framesToTensor } from '../../src/core/data/tensor';
import { makeSeq2SeqConfig } from '../../src/core/nn/config';
import { makeRotationCellConfig } from '../../src/core/nn/rotationCell';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { trainStep } from '../../src/core/train/step';

beforeAll(useCpu);

describe('rotation FERNN on Rotating MNIST (smoke)', () => {
  it('trains: the loss falls over a few Adam steps on fresh batches of real digits', async () => {
    const mnist = await loadMnist();
    const split = splitTrainVal(MNIST_TRAIN_COUNT, 42);
    // 12x12 frames (digits 3x downsampled), 3 input + 3 predicted frames, omegas of the data and the model in -20..20.
    const data = new RotatingMnist(
      { imageSize: 12, seqLen: 6, angularVelocity: { kind: 'list', omegas: [-20, 0, 20] } },
      { ...mnist.train, indices: split.train },
      42,
    );
    const m = createSeq2Seq(makeSeq2SeqConfig(makeRotationCellConfig({ kind: 'fernn-rot', group: 4, hidden: 2, omegas: [-20, 0, 20] })), 1);
    // lr 1e-2 spikes (2.7 at step 4): the rotated filter bank shares each weight across N orientations.
    const opt = tf.train.adam(3e-3);
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const seq = framesToTensor(data.batch(i, 4));
      const x = tf.slice(seq, [0, 0, 0, 0, 0], [4, 3, 12, 12, 1]) as tf.Tensor5D;
      const y = tf.slice(seq, [0, 3, 0, 0, 0], [4, 3, 12, 12, 1]) as tf.Tensor5D;
      const r = trainStep(m, opt, x, y, { clipNorm: 1 });
      losses.push((await r.loss.data())[0]);
      [seq, x, y, r.loss, r.gradNorm].forEach((t) => t.dispose());
    }
    const mean = (a: number[]) => a.reduce((p, q) => p + q, 0) / a.length;
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-3))).toBeLessThan(0.8 * mean(losses.slice(0, 3)));
    opt.dispose();
    disposeModel(m);
  });
});
