import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { TOL, relErr } from '../helpers/close';
import { expectInputError } from '../helpers/errors';
import { makeCellConfig, makeClassifierConfig } from '../../src/core/nn/config';
import { classify, createClassifier, type ClassifierModel } from '../../src/core/nn/classifier';
import { disposeModel } from '../../src/core/nn/seq2seq';
import { classifyTrainStep } from '../../src/core/train/classifyStep';
import { accuracyPerVelocity, evaluateClassifier } from '../../src/core/metrics/classification';
import { EvaluationStopped } from '../../src/core/metrics/evaluate';
import { classificationSource, type ClassificationBatch, type ClassificationSource } from '../../src/core/data/flowingMnistClassification';
import type { DigitSource } from '../../src/core/data/flowingMnist';
import { framesToTensor } from '../../src/core/data/tensor';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Ten synthetic 8x8 "digits": class k is a bright bar whose length and row depend on k, plus seeded noise. */
function toyDigits(): DigitSource {
  const count = 40;
  const pixels = new Uint8Array(count * 64);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const k = n % 10;
    labels[n] = k;
    for (let j = 0; j <= (k % 5) + 1; j++) pixels[n * 64 + (1 + Math.floor(k / 5) * 4) * 8 + j] = 255;
    pixels[n * 64 + ((n * 37) % 64)] = 128;
  }
  return { images: { count, rows: 8, cols: 8, pixels }, labels, indices: Array.from({ length: count }, (_, i) => i) };
}

function model(kind: 'fernn' | 'grnn', classes: number, seed: number): ClassifierModel {
  return createClassifier(makeClassifierConfig(makeCellConfig({ kind, vRange: kind === 'grnn' ? 0 : 1, hidden: 4 }), classes), seed);
}

/** Two classes: class 0 dark clips, class 1 a bright square moving right; [4, 4, 8, 8, 1] and labels 0,1,0,1. */
function toyTask(): { x: tf.Tensor5D; labels: Int32Array } {
  const b = 4;
  const data = new Float32Array(b * 4 * 64);
  for (let s = 1; s < b; s += 2) {
    for (let t = 0; t < 4; t++) for (let i = 2; i < 5; i++) for (let j = 0; j < 3; j++) data[s * 256 + t * 64 + i * 8 + ((j + t) % 8)] = 1;
  }
  return { x: tf.tensor5d(data, [b, 4, 8, 8, 1]), labels: Int32Array.from([0, 1, 0, 1]) };
}

async function read(s: tf.Scalar): Promise<number> {
  const v = (await s.data())[0];
  s.dispose();
  return v;
}

async function paramValues(m: ClassifierModel): Promise<Float32Array> {
  const names = Object.keys(m.params).sort();
  const parts = await Promise.all(names.map((n) => m.params[n].data() as Promise<Float32Array>));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function norm(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

describe('classifyTrainStep (softmax cross-entropy, clipped, sorted update order)', () => {
  it('lowers the loss on a separable toy task, reports accuracy, and leaks nothing once warm', async () => {
    const m = model('fernn', 2, 1);
    const { x, labels } = toyTask();
    const opt = tf.train.adam(0.05);
    const losses: number[] = [];
    const accs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = classifyTrainStep(m, opt, x, labels, { clipNorm: 1 });
      losses.push(await read(r.loss));
      accs.push(await read(r.accuracy));
      expect(Number.isFinite(await read(r.gradNorm))).toBe(true);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.2);
    expect(accs.at(-1)).toBe(1);
    for (const a of accs) expect([0, 0.25, 0.5, 0.75, 1]).toContain(a);
    // A tensor of labels works the same and is not disposed by the step.
    const y = tf.tensor1d(labels, 'int32');
    const warm = tf.memory().numTensors;
    const r = classifyTrainStep(m, opt, x, y, { clipNorm: 1 });
    expect(tf.memory().numTensors).toBe(warm + 3);
    [r.loss, r.gradNorm, r.accuracy].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(warm);
    [x, y].forEach((t) => t.dispose());
    opt.dispose();
    disposeModel(m);
  });

  it('reports the loss and accuracy of the weights before the update', async () => {
    const m = model('grnn', 2, 3);
    const { x, labels } = toyTask();
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 2);
    const logits = classify(m, x);
    const expectedLoss = await read(tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar);
    const predicted = (await tf.argMax(logits, 1).array()) as number[];
    const expectedAcc = predicted.filter((p, i) => p === labels[i]).length / labels.length;
    const opt = tf.train.sgd(0.1);
    const r = classifyTrainStep(m, opt, x, labels);
    expect(relErr([await read(r.loss)], [expectedLoss])).toBeLessThan(TOL.roundOff);
    expect(await read(r.accuracy)).toBe(expectedAcc);
    r.gradNorm.dispose();
    tf.dispose([x, y, logits]);
    opt.dispose();
    disposeModel(m);
  });

  it('reports the norm before clipping and moves the weights by lr * min(norm, clipNorm) under SGD', async () => {
    const lr = 1;
    const stepSize = async (clipNorm: number | undefined): Promise<{ gradNorm: number; moved: number }> => {
      const m = model('fernn', 2, 5);
      const { x, labels } = toyTask();
      const before = await paramValues(m);
      const opt = tf.train.sgd(lr);
      const r = classifyTrainStep(m, opt, x, labels, { clipNorm });
      const gradNorm = await read(r.gradNorm);
      [r.loss, r.accuracy, x].forEach((t) => t.dispose());
      const moved = norm(await paramValues(m), before);
      opt.dispose();
      disposeModel(m);
      return { gradNorm, moved };
    };
    const free = await stepSize(undefined);
    const tiny = await stepSize(1e-3);
    const loose = await stepSize(1e6);
    expect(free.gradNorm).toBeGreaterThan(1e-2);
    // Same weights, same batch: the reported norm is the unclipped one whatever the clip.
    expect(relErr([tiny.gradNorm, loose.gradNorm], [free.gradNorm, free.gradNorm])).toBeLessThan(TOL.roundOff);
    expect(relErr([free.moved], [lr * free.gradNorm])).toBeLessThan(TOL.parity);
    expect(relErr([loose.moved], [lr * free.gradNorm])).toBeLessThan(TOL.parity);
    expect(relErr([tiny.moved], [lr * 1e-3])).toBeLessThan(TOL.visibleFailure);
  });

  it('rejects labels of the wrong length or outside the classes, and clips of the wrong channel count, naming the field', () => {
    const m = model('grnn', 2, 1);
    const { x } = toyTask();
    const opt = tf.train.sgd(0.1);
    const before = tf.memory().numTensors;
    expectInputError(() => classifyTrainStep(m, opt, x, Int32Array.from([0, 1])), 'labels', /2 entries for a batch of 4/);
    expectInputError(() => classifyTrainStep(m, opt, x, Int32Array.from([0, 1, 2, 0])), 'labels', /entry 2 is 2, outside 0..1/);
    const wrong = tf.tensor1d([0, 1, 0, 1], 'float32');
    expectInputError(() => classifyTrainStep(m, opt, x, wrong), 'labels', /int32/);
    wrong.dispose();
    const twoChannels = tf.concat([x, x], 4) as tf.Tensor5D;
    expectInputError(() => classifyTrainStep(m, opt, twoChannels, Int32Array.from([0, 1, 0, 1])), 'clips', /must be \[B, T, H, W, 1\], got \[4, .*, 2\]/);
    twoChannels.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    opt.dispose();
    disposeModel(m);
  });
});

describe('classification data from single-digit Flowing MNIST', () => {
  it('gives clips [B, T, H, W, 1] and the digit class of each clip, seeded', () => {
    const digits = toyDigits();
    const src = classificationSource(digits, { imageSize: 8, seqLen: 3, velocity: { kind: 'range', range: 1 } }, 7);
    const a = src.batch(2, 5);
    expect(a.shape).toEqual([5, 3, 8, 8, 1]);
    expect(a.clips.length).toBe(5 * 3 * 64);
    expect(a.labels.length).toBe(5);
    for (const k of a.labels) expect(k >= 0 && k < 10).toBe(true);
    const b = classificationSource(digits, { imageSize: 8, seqLen: 3, velocity: { kind: 'range', range: 1 } }, 7).batch(2, 5);
    expect(b.clips).toEqual(a.clips);
    expect(b.labels).toEqual(a.labels);
    // Velocity spec changes only the motion: same digits (labels) and same first frame.
    const fixed = classificationSource(digits, { imageSize: 8, seqLen: 3, velocity: { kind: 'fixed', velocity: { vx: 2, vy: -1 } } }, 7).batch(2, 5);
    expect(fixed.labels).toEqual(a.labels);
    for (let s = 0; s < 5; s++) expect(fixed.clips.subarray(s * 192, s * 192 + 64)).toEqual(a.clips.subarray(s * 192, s * 192 + 64));
  });

  it('validates its options with the field name', () => {
    expectInputError(() => classificationSource(toyDigits(), { imageSize: 2, velocity: { kind: 'range', range: 1 } }, 1), 'imageSize', /.+/);
  });
});

describe('evaluateClassifier', () => {
  it('equals the argmax of classify, confusion matrix included, whatever the batch size', async () => {
    const m = model('fernn', 10, 11);
    const src = classificationSource(toyDigits(), { imageSize: 8, seqLen: 3, velocity: { kind: 'range', range: 1 } }, 3);
    const n = 13;
    const all = src.batch(0, n);
    const predicted = (await tf.tidy(() => tf.argMax(classify(m, framesToTensor({ frames: all.clips, shape: all.shape })), 1)).array()) as number[];
    const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    predicted.forEach((p, i) => (confusion[all.labels[i]][p] += 1));
    const accuracy = predicted.filter((p, i) => p === all.labels[i]).length / n;
    for (const batchSize of [13, 4, 64]) {
      const progress: [number, number][] = [];
      const r = await evaluateClassifier(m, src, { sequences: n, batchSize, onProgress: (d, t) => progress.push([d, t]) });
      expect(r.sequences).toBe(n);
      expect(r.confusion).toEqual(confusion);
      expect(r.accuracy).toBeCloseTo(accuracy, 12);
      expect(progress.at(-1)).toEqual([n, n]);
    }
    disposeModel(m);
  });

  it('leaks nothing once warm, and stops when asked', async () => {
    const m = model('grnn', 10, 2);
    const src = classificationSource(toyDigits(), { imageSize: 8, seqLen: 3, velocity: { kind: 'range', range: 1 } }, 3);
    await evaluateClassifier(m, src, { sequences: 5, batchSize: 2 });
    const warm = tf.memory().numTensors;
    await evaluateClassifier(m, src, { sequences: 5, batchSize: 2 });
    expect(tf.memory().numTensors).toBe(warm);
    let calls = 0;
    await expect(evaluateClassifier(m, src, { sequences: 6, batchSize: 2, shouldStop: () => ++calls > 1 })).rejects.toBeInstanceOf(EvaluationStopped);
    expect(tf.memory().numTensors).toBe(warm);
    await expect(evaluateClassifier(m, src, { sequences: 0 })).rejects.toThrow(/sequences: must be an integer >= 1/);
    disposeModel(m);
  });

  it('rejects labels outside the model classes', async () => {
    const m = model('grnn', 2, 2);
    const bad: ClassificationSource = {
      batch: (_i: number, size: number): ClassificationBatch => ({
        clips: new Float32Array(size * 2 * 16),
        labels: new Int32Array(size).fill(5),
        shape: [size, 2, 4, 4, 1],
      }),
    };
    await expect(evaluateClassifier(m, bad, { sequences: 2 })).rejects.toThrow(/labels: clip 0 has label 5, outside 0..1/);
    disposeModel(m);
  });
});

describe('accuracyPerVelocity', () => {
  it('gives a (2R+1)^2 grid in [0, 1], deterministic, each cell the accuracy of its fixed-velocity set, no leak', async () => {
    const m = model('fernn', 10, 4);
    const digits = toyDigits();
    const opts = { range: 1, sequences: 6, batchSize: 4, seed: 9, imageSize: 8, seqLen: 3 };
    const a = await accuracyPerVelocity(m, digits, opts);
    const warm = tf.memory().numTensors;
    const progress: number[] = [];
    const b = await accuracyPerVelocity(m, digits, { ...opts, onProgress: (d) => progress.push(d) });
    expect(tf.memory().numTensors).toBe(warm);
    expect(a.velocities).toEqual([-1, 0, 1]);
    expect(a.sequences).toBe(6);
    expect(a.accuracy.length).toBe(3);
    for (const row of a.accuracy) {
      expect(row.length).toBe(3);
      for (const v of row) expect(v >= 0 && v <= 1 && Number.isInteger(v * 6)).toBe(true);
    }
    expect(b).toEqual(a);
    expect(progress.at(-1)).toBe(6 * 9);
    // Cell (vx, vy) = (1, -1) is row iy = 0, column ix = 2.
    const cell = classificationSource(digits, { imageSize: 8, seqLen: 3, velocity: { kind: 'fixed', velocity: { vx: 1, vy: -1 } } }, 9);
    const direct = await evaluateClassifier(m, cell, { sequences: 6 });
    expect(a.accuracy[0][2]).toBe(direct.accuracy);
    disposeModel(m);
  });

  it('validates the range before any work', async () => {
    const m = model('grnn', 10, 4);
    await expect(accuracyPerVelocity(m, toyDigits(), { range: -1, sequences: 2, seed: 1 })).rejects.toThrow(/range: must be an integer >= 0/);
    await expect(accuracyPerVelocity(m, toyDigits(), { range: 100, sequences: 2, seed: 1, imageSize: 8 })).rejects.toThrow(/velocity/);
    disposeModel(m);
  });
});
