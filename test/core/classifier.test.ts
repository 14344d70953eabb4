import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { makeCellConfig, makeClassifierConfig } from '../../src/core/nn/config';
import { classifierParamCount, classify, createClassifier } from '../../src/core/nn/classifier';
import { disposeModel } from '../../src/core/nn/seq2seq';

beforeAll(useCpu);

describe('sequence classifier head (pool over V, global average pool, linear)', () => {
  it('has the cell parameters plus a linear layer, for any V', () => {
    for (const [kind, vRange] of [['grnn', 0], ['fernn', 1], ['fernn', 2]] as const) {
      expect(classifierParamCount(makeClassifierConfig(makeCellConfig({ kind, vRange, hidden: 8 }), 6))).toBe(1 * 9 * 8 + 8 * 9 * 8 + 8 * 6 + 6);
    }
  });

  it('gives [B, classes] logits, learns a separable toy task, and leaks nothing', async () => {
    const m = createClassifier(makeClassifierConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 }), 2), 1);
    // Class 0: a dark clip; class 1: a bright square moving right.
    const clip = (bright: boolean) =>
      tf.tidy(() => {
        const frames = Array.from({ length: 4 }, (_, t) => {
          const a = new Float32Array(64);
          if (bright) for (let i = 2; i < 5; i++) for (let j = 0; j < 3; j++) a[i * 8 + ((j + t) % 8)] = 1;
          return tf.tensor4d(a, [1, 8, 8, 1]);
        });
        return tf.stack(frames, 1) as tf.Tensor5D;
      });
    const x = tf.concat([clip(false), clip(true), clip(false), clip(true)]) as tf.Tensor5D;
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    const logits = classify(m, x);
    expect(logits.shape).toEqual([4, 2]);
    logits.dispose();
    const opt = tf.train.adam(0.05);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, classify(m, x)) as tf.Scalar, true)!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    const warm = tf.memory().numTensors;
    const again = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, classify(m, x)) as tf.Scalar, true)!;
    again.dispose();
    expect(tf.memory().numTensors).toBe(warm);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.2);
    [x, y].forEach((t) => t.dispose());
    opt.dispose();
    disposeModel(m);
  });
});
