import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { TOL, maxAbsDiff } from '../helpers/close';
import type { IdxImages } from '../../src/core/data/idx';
import { allIndices, splitTrainVal } from '../../src/core/data/flowingMnist';
import { RotatingMnist, parseRotatingMnistConfig, type RotatingMnistBatch, type RotatingMnistConfigInput } from '../../src/core/data/rotatingMnist';
import { framesToTensor } from '../../src/core/data/tensor';
import { REFERENCE_OMEGAS } from '../../src/core/flows/angularVelocity';
import { RotationFlow } from '../../src/core/flows/rotation';
import { makeSeq2SeqConfig } from '../../src/core/nn/config';
import { makeRotationCellConfig } from '../../src/core/nn/rotationCell';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { evaluateMse } from '../../src/core/metrics/evaluate';
import { angularVelocityGeneralisation } from '../../src/core/metrics/rotationGeneralisation';
import { InputError } from '../../src/core/util/errors';

beforeAll(useCpu);

/** `count` asymmetric n x n "digits": an off-centre L stroke plus a k-dependent dot, labels k mod 10. */
function syntheticDigits(count: number, n: number): { images: IdxImages; labels: Uint8Array } {
  const pixels = new Uint8Array(count * n * n);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const inL = (j === 3 && i >= 3 && i < n - 3) || (i === n - 4 && j >= 3 && j < n - 4);
        const dot = i === (k % (n - 8)) + 4 && j === n - 5;
        pixels[k * n * n + i * n + j] = inL ? 255 : dot ? 128 : 0;
      }
    }
  }
  return { images: { count, rows: n, cols: n, pixels }, labels: Uint8Array.from({ length: count }, (_, k) => k % 10) };
}

const digits = syntheticDigits(40, 14);
const source = { ...digits, indices: allIndices(40) };

/**
 * An independent, deliberately naive model of a frame: for each digit, the canvas (digit area-averaged by f, centred,
 * extra padding right/bottom) sampled at the source point of the rotation by theta (counterclockwise as displayed,
 * about ((s-1)/2, (s-1)/2)), bilinear with zeros outside the canvas; summed over digits, clamped to [0, 1].
 */
function naiveFrame(batch: RotatingMnistBatch, b: number, t: number, images: IdxImages, s: number, f: number): Float64Array {
  const out = new Float64Array(s * s);
  for (let d = 0; d < batch.numDigits; d++) {
    const m = b * batch.numDigits + d;
    const k = batch.digitIndices[m];
    const canvas = new Float64Array(s * s);
    const dr = Math.ceil(images.rows / f);
    const top = Math.floor((s - dr) / 2);
    for (let i = 0; i < images.rows; i++) {
      for (let j = 0; j < images.cols; j++)
        canvas[(top + Math.floor(i / f)) * s + top + Math.floor(j / f)] += images.pixels[k * images.rows * images.cols + i * images.cols + j] / 255 / (f * f);
    }
    const theta = ((batch.angles[m] + batch.omegas[m] * t) * Math.PI) / 180;
    const c = (s - 1) / 2;
    const at = (r: number, q: number): number => (r >= 0 && r < s && q >= 0 && q < s ? canvas[r * s + q] : 0);
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < s; j++) {
        const y = c + (j - c) * Math.sin(theta) + (i - c) * Math.cos(theta);
        const x = c + (j - c) * Math.cos(theta) - (i - c) * Math.sin(theta);
        const y0 = Math.floor(y);
        const x0 = Math.floor(x);
        const [fy, fx] = [y - y0, x - x0];
        out[i * s + j] += (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
      }
    }
  }
  return out.map((v) => Math.min(v, 1));
}

function frameOf(batch: RotatingMnistBatch, b: number, t: number): Float32Array {
  const [, tt, h, w] = batch.shape;
  return batch.frames.subarray((b * tt + t) * h * w, (b * tt + t + 1) * h * w);
}

describe('Rotating MNIST generator', () => {
  it('draws digits turning about the frame centre: every frame matches an independent renderer', () => {
    for (const [size, f] of [
      [14, 1],
      [20, 1],
      [8, 2],
    ] as const) {
      const gen = new RotatingMnist({ numDigits: 2, imageSize: size, seqLen: 4 }, source, 3);
      const batch = gen.batch(1, 3);
      expect(batch.shape).toEqual([3, 4, size, size, 1]);
      for (let b = 0; b < 3; b++) {
        for (let t = 0; t < 4; t++)
          expect(maxAbsDiff(frameOf(batch, b, t), naiveFrame(batch, b, t, digits.images, size, f)), `${size} b${b} t${t}`).toBeLessThan(1e-5);
      }
    }
  });

  it('defaults to the reference protocol: 2 digits, 28x28, 20 frames, omegas -40..40 step 10, initial angle in [0, 360)', () => {
    const c = parseRotatingMnistConfig({});
    expect(c).toEqual({ numDigits: 2, imageSize: 28, seqLen: 20, angularVelocity: { kind: 'list', omegas: REFERENCE_OMEGAS } });
    const batch = new RotatingMnist({ seqLen: 1 }, source, 1).batch(0, 200);
    const seen = new Set(batch.omegas);
    expect([...seen].sort((a, b) => a - b)).toEqual(REFERENCE_OMEGAS);
    expect(Math.min(...batch.angles)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...batch.angles)).toBeLessThan(360);
    expect(Math.max(...batch.angles) - Math.min(...batch.angles)).toBeGreaterThan(300);
  });

  it('is seeded and pure: batch(i, B) is sequences iB..iB+B-1, the same seed the same frames, another seed others', () => {
    const cfg: RotatingMnistConfigInput = { imageSize: 12, seqLen: 3 };
    const a = new RotatingMnist(cfg, source, 5);
    const b = new RotatingMnist(cfg, source, 5);
    const c = new RotatingMnist(cfg, source, 6);
    expect(maxAbsDiff(a.batch(2, 4).frames, b.sequences(8, 4).frames)).toBe(0);
    expect(maxAbsDiff(a.batch(0, 3).frames, a.sequences(0, 3).frames)).toBe(0);
    expect(maxAbsDiff(a.batch(0, 8).frames, c.batch(0, 8).frames)).toBeGreaterThan(0.1);
  });

  it('a fixed angular velocity keeps the digits and initial angles of the stream (velocity generalisation sets)', () => {
    const gen = (omega: number) => new RotatingMnist({ imageSize: 12, seqLen: 3, angularVelocity: { kind: 'fixed', omega } }, source, 9).batch(0, 6);
    const [a, b] = [gen(-50), gen(30)];
    expect(Array.from(a.omegas)).toEqual(new Array(12).fill(-50));
    expect(Array.from(b.omegas)).toEqual(new Array(12).fill(30));
    expect(Array.from(a.digitIndices)).toEqual(Array.from(b.digitIndices));
    expect(Array.from(a.angles)).toEqual(Array.from(b.angles));
    // Frame 0 does not depend on the velocity; later frames do.
    expect(maxAbsDiff(frameOf(a, 2, 0), frameOf(b, 2, 0))).toBe(0);
    expect(maxAbsDiff(frameOf(a, 2, 1), frameOf(b, 2, 1))).toBeGreaterThan(0.1);
  });

  it('a single digit at 90 degrees per frame is the rotation flow applied to its previous frame (float32 round-off)', () => {
    const batch = new RotatingMnist({ numDigits: 1, imageSize: 14, seqLen: 5, angularVelocity: { kind: 'fixed', omega: 90 } }, source, 2).batch(0, 2);
    const frames = framesToTensor(batch);
    const flow = new RotationFlow(90);
    for (let t = 0; t + 1 < 5; t++) {
      const prev = tf.reshape(tf.slice(frames, [0, t, 0, 0, 0], [2, 1, 14, 14, 1]), [2, 14, 14, 1]) as tf.Tensor4D;
      const next = tf.slice(frames, [0, t + 1, 0, 0, 0], [2, 1, 14, 14, 1]);
      const moved = flow.applyToFrame(prev, 1);
      expect(maxAbsDiff(moved.dataSync(), next.dataSync())).toBeLessThan(TOL.roundOff);
      [prev, next, moved].forEach((x) => x.dispose());
    }
    frames.dispose();
  });

  it('downsamples 28x28 digits 2x for 16x16 frames, as Flowing MNIST', () => {
    const big = syntheticDigits(5, 28);
    const batch = new RotatingMnist({ numDigits: 1, imageSize: 16, seqLen: 2 }, { ...big, indices: allIndices(5) }, 4).batch(0, 2);
    for (let b = 0; b < 2; b++) expect(maxAbsDiff(frameOf(batch, b, 1), naiveFrame(batch, b, 1, big.images, 16, 2))).toBeLessThan(1e-5);
  });

  it('rejects bad configs and inputs with the field named', () => {
    const fieldOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (e instanceof InputError) return e.field;
        throw e;
      }
      throw new Error('did not throw');
    };
    expect(fieldOf(() => parseRotatingMnistConfig({ numDigits: 0 }))).toBe('numDigits');
    expect(fieldOf(() => parseRotatingMnistConfig({ angularVelocity: { kind: 'list', omegas: [] } }))).toBe('angularVelocity.omegas');
    expect(fieldOf(() => parseRotatingMnistConfig({ angularVelocity: { kind: 'fixed', omega: 400 } }))).toBe('angularVelocity.omega');
    expect(fieldOf(() => parseRotatingMnistConfig({ velocity: { kind: 'range', range: 1 } }))).toBe('velocity');
    expect(fieldOf(() => new RotatingMnist({}, { ...digits, indices: [] }, 1))).toBe('indices');
    expect(fieldOf(() => new RotatingMnist({}, source, 1.5))).toBe('seed');
    expect(fieldOf(() => new RotatingMnist({}, source, 1).batch(-1, 2))).toBe('index');
  });

  it('serves the existing evaluation: evaluateMse and the angular velocity sweep run on a rotation model', async () => {
    const split = splitTrainVal(40, 1);
    const test = new RotatingMnist({ numDigits: 1, imageSize: 8, seqLen: 4 }, { ...digits, indices: split.val }, 1);
    const m = createSeq2Seq(makeSeq2SeqConfig(makeRotationCellConfig({ kind: 'fernn-rot', group: 4, hidden: 1, omegas: [-90, 0, 90] })), 1);
    await evaluateMse(m, test, { sequences: 1, inputFrames: 2 }); // warm: rotation maps and filter rotations are kept
    const before = tf.memory().numTensors;
    const r = await evaluateMse(m, test, { sequences: 3, batchSize: 2, inputFrames: 2 });
    expect(r.perStep).toHaveLength(2);
    expect(r.mse).toBeGreaterThan(0);
    const sweep = await angularVelocityGeneralisation(
      m,
      { ...digits, indices: split.val },
      { sequences: 2, seed: 1, omegas: [30, -30], imageSize: 8, numDigits: 1, inputFrames: 2, predFrames: 1 },
    );
    expect(sweep.omegas).toEqual([-30, 30]);
    expect(sweep.mse.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    disposeModel(m);
  });
});
