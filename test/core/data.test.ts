import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { useCpu } from '../helpers/backend';
import { TOL, maxAbsDiff } from '../helpers/close';
import { parseIdxImages, parseIdxLabels, type IdxImages } from '../../src/core/data/idx';
import {
  FlowingMnist,
  allIndices,
  digitClasses,
  parseFlowingMnistConfig,
  splitTrainVal,
  type FlowingMnistBatch,
  type FlowingMnistConfigInput,
} from '../../src/core/data/flowingMnist';
import { framesToTensor, labelsToTensor } from '../../src/core/data/tensor';
import { roll } from '../../src/core/nn/circular';
import { InputError } from '../../src/core/util/errors';

// ---- synthetic digits and an independent, deliberately naive model of the data -------------------------------

/** `count` asymmetric n x n "digits" (image k has a bright stroke whose place depends on k), labels k mod 10. */
function syntheticDigits(count: number, n: number): { images: IdxImages; labels: Uint8Array } {
  const pixels = new Uint8Array(count * n * n);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        // An L shape plus a k-dependent dot: no symmetry, so a wrong shift direction cannot pass unnoticed.
        const inL = (j === 1 && i >= 1 && i < n - 1) || (i === n - 2 && j >= 1 && j < n - 2);
        const dot = i === (k % (n - 2)) + 1 && j === n - 2;
        pixels[k * n * n + i * n + j] = inL ? 255 : dot ? 128 : (i * 7 + j * 3 + k) % 5 === 0 ? 40 : 0;
      }
    }
  }
  return { images: { count, rows: n, cols: n, pixels }, labels: Uint8Array.from({ length: count }, (_, k) => k % 10) };
}

/** torch.roll on an H x W array: out[i, j] = x[(i - dy) mod H, (j - dx) mod W]. */
function rollArray(x: ArrayLike<number>, h: number, w: number, dy: number, dx: number): Float64Array {
  const m = (a: number, n: number): number => ((a % n) + n) % n;
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out[i * w + j] = x[m(i - dy, h) * w + m(j - dx, w)];
  return out;
}

/** Digit k area-averaged by `f` and centred on an s x s zero canvas (extra padding right/bottom), values in [0, 1]. */
function canvasOf(images: IdxImages, k: number, s: number, f: number): Float64Array {
  const { rows, cols, pixels } = images;
  const dr = Math.ceil(rows / f);
  const dc = Math.ceil(cols / f);
  const top = Math.floor((s - dr) / 2);
  const left = Math.floor((s - dc) / 2);
  const out = new Float64Array(s * s);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[(top + Math.floor(i / f)) * s + left + Math.floor(j / f)] += pixels[k * rows * cols + i * cols + j] / 255 / (f * f);
  }
  return out;
}

/** Expected frames of sequence b from the batch's own metadata: sum of rolled canvases, clamped to [0, 1]. */
function expectedSequence(batch: FlowingMnistBatch, b: number, images: IdxImages, f: number): Float64Array {
  const [, t, s] = batch.shape;
  const out = new Float64Array(t * s * s);
  for (let n = 0; n < batch.numDigits; n++) {
    const m = b * batch.numDigits + n;
    const canvas = canvasOf(images, batch.digitIndices[m], s, f);
    const [vx, vy] = [batch.velocities[2 * m], batch.velocities[2 * m + 1]];
    const [x0, y0] = [batch.starts[2 * m], batch.starts[2 * m + 1]];
    for (let tt = 0; tt < t; tt++) {
      const moved = rollArray(canvas, s, s, y0 + vy * tt, x0 + vx * tt);
      for (let p = 0; p < s * s; p++) out[tt * s * s + p] += moved[p];
    }
  }
  return out.map((v) => Math.min(1, v));
}

function frameOf(batch: FlowingMnistBatch, b: number, t: number): Float32Array {
  const [, tt, h, w] = batch.shape;
  return batch.frames.subarray((b * tt + t) * h * w, (b * tt + t + 1) * h * w);
}

function sequenceOf(batch: FlowingMnistBatch, b: number): Float32Array {
  const [, t, h, w] = batch.shape;
  return batch.frames.subarray(b * t * h * w, (b + 1) * t * h * w);
}

function make(config: FlowingMnistConfigInput, seed = 7, count = 12, n = 8): { gen: FlowingMnist; images: IdxImages } {
  const { images, labels } = syntheticDigits(count, n);
  return { gen: new FlowingMnist(config, { images, labels, indices: allIndices(count) }, seed), images };
}

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e.field;
    throw e;
  }
  throw new Error('expected an InputError');
}

// ---- IDX ---------------------------------------------------------------------------------------------------------

function idxBytes(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

describe('IDX parsing', () => {
  const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 10);
  const imageFile = idxBytes(0x803, [2, 3, 4], pixels);
  const labelFile = idxBytes(0x801, [3], Uint8Array.from([7, 0, 9]));

  it('reads big-endian dims and the data of images and labels', () => {
    const im = parseIdxImages(imageFile);
    expect([im.count, im.rows, im.cols]).toEqual([2, 3, 4]);
    expect(Array.from(im.pixels)).toEqual(Array.from(pixels));
    expect(Array.from(parseIdxLabels(labelFile))).toEqual([7, 0, 9]);
  });

  it('honours the byteOffset of a view into a larger buffer (as Node Buffers often are)', () => {
    const big = new Uint8Array(imageFile.length + 13);
    big.set(imageFile, 13);
    const im = parseIdxImages(big.subarray(13));
    expect(Array.from(im.pixels)).toEqual(Array.from(pixels));
  });

  it('rejects swapped, gzipped, truncated, padded and short files with a message that says which', () => {
    expect(() => parseIdxImages(labelFile, 'a.idx')).toThrow(/a\.idx.*0x00000801.*label file/);
    expect(() => parseIdxLabels(imageFile)).toThrow(/image file/);
    expect(() => parseIdxImages(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]))).toThrow(/gzip/);
    expect(() => parseIdxImages(imageFile.subarray(0, imageFile.length - 1))).toThrow(/truncated/);
    expect(() => parseIdxLabels(Uint8Array.from([...labelFile, 1]))).toThrow(/trailing bytes/);
    expect(() => parseIdxLabels(Uint8Array.from([0, 0]))).toThrow(/too short/);
    expect(() => parseIdxImages(Uint8Array.from([0, 0, 8, 3, 0, 0]))).toThrow(/too short/);
    expect(() => parseIdxImages(Uint8Array.from([1, 2, 3, 4]))).toThrow(/not an IDX file/);
    expect(() => parseIdxImages(Uint8Array.from([0, 0, 0x0d, 3]))).toThrow(/element type 0xd/);
  });
});

// ---- motion --------------------------------------------------------------------------------------------------------

describe('Flowing MNIST motion', () => {
  beforeAll(useCpu);

  it('moves a single bright pixel vx columns and vy rows per frame, wrapping around', () => {
    const pixels = new Uint8Array(8 * 8);
    pixels[2 * 8 + 5] = 255; // row 2, column 5 of the digit
    const images = { count: 1, rows: 8, cols: 8, pixels };
    const s = 12;
    const gen = new FlowingMnist(
      { numDigits: 1, imageSize: s, seqLen: 15, velocity: { kind: 'fixed', velocity: { vx: 2, vy: -1 } } },
      { images, labels: Uint8Array.of(3), indices: [0] },
      11,
    );
    const batch = gen.batch(0, 3);
    for (let b = 0; b < 3; b++) {
      const [x0, y0] = [batch.starts[2 * b], batch.starts[2 * b + 1]];
      for (let t = 0; t < 15; t++) {
        const frame = frameOf(batch, b, t);
        const lit = frame.findIndex((v) => v === 1);
        // Centred with top/left padding 2 on a 12 canvas; x is the column (width) axis, y the row axis.
        const row = (((2 + 2 + y0 - t) % s) + s) % s;
        const col = (2 + 5 + x0 + 2 * t) % s;
        expect([Math.floor(lit / s), lit % s]).toEqual([row, col]);
        expect(frame.reduce((a, v) => a + v, 0)).toBe(1);
      }
    }
  });

  it("frame t of a single digit is roll(frame 0, v*t) (torch.roll convention), also by the model's roll", () => {
    const { gen } = make({ numDigits: 1, imageSize: 12, seqLen: 9, velocity: { kind: 'range', range: 3 } }, 5);
    const batch = gen.batch(2, 6);
    const [, t, h, w] = batch.shape;
    let moving = 0;
    for (let b = 0; b < 6; b++) {
      const [vx, vy] = [batch.velocities[2 * b], batch.velocities[2 * b + 1]];
      if (vx !== 0 || vy !== 0) moving++;
      const first = frameOf(batch, b, 0);
      const frame0 = tf.tensor4d(first, [1, h, w, 1]);
      for (let tt = 1; tt < t; tt++) {
        expect(Array.from(frameOf(batch, b, tt))).toEqual(Array.from(rollArray(first, h, w, vy * tt, vx * tt)));
        const rolled = roll(frame0, { dy: vy * tt, dx: vx * tt });
        expect(maxAbsDiff(rolled.dataSync(), frameOf(batch, b, tt))).toBe(0);
        rolled.dispose();
      }
      frame0.dispose();
    }
    expect(moving).toBeGreaterThan(0);
  });

  it('sums the digits and clamps overlaps to 1', () => {
    // Two 8x8 squares on a 12-torus always overlap, so clamping is exercised in every sequence.
    const pixels = new Uint8Array(2 * 64).fill(200);
    const images = { count: 2, rows: 8, cols: 8, pixels };
    const gen = new FlowingMnist({ numDigits: 2, imageSize: 12, seqLen: 4 }, { images, labels: Uint8Array.of(1, 2), indices: [0, 1] }, 3);
    const batch = gen.batch(0, 4);
    const values = new Set(Array.from(batch.frames));
    expect(values).toEqual(new Set([0, Math.fround(200 / 255), 1]));
    for (let b = 0; b < 4; b++) expect(maxAbsDiff(sequenceOf(batch, b), expectedSequence(batch, b, images, 1))).toBeLessThanOrEqual(TOL.roundOff);
  });

  it('matches the naive model of the data (rolled canvases, summed, clamped) for 3 digits', () => {
    const { gen, images } = make({ numDigits: 3, imageSize: 10, seqLen: 7, velocity: { kind: 'range', range: 2 } }, 9);
    const batch = gen.batch(1, 5);
    expect(batch.shape).toEqual([5, 7, 10, 10, 1]);
    for (let b = 0; b < 5; b++) expect(maxAbsDiff(sequenceOf(batch, b), expectedSequence(batch, b, images, 1))).toBeLessThanOrEqual(TOL.roundOff);
    expect(Math.min(...batch.frames)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...batch.frames)).toBeLessThanOrEqual(1);
  });
});

// ---- sizes ---------------------------------------------------------------------------------------------------------

describe('Flowing MNIST frame sizes', () => {
  const mass = (a: ArrayLike<number>): number => Array.from(a).reduce((x, y) => x + y, 0);

  it('16x16 frames use 28x28 digits area-averaged 2x to 14x14', () => {
    const { gen, images } = make({ numDigits: 1, imageSize: 16, seqLen: 3 }, 4, 5, 28);
    const batch = gen.batch(0, 4);
    expect(batch.shape).toEqual([4, 3, 16, 16, 1]);
    for (let b = 0; b < 4; b++) {
      expect(maxAbsDiff(sequenceOf(batch, b), expectedSequence(batch, b, images, 2))).toBeLessThanOrEqual(TOL.roundOff);
      // Area averaging keeps the ink: a quarter of the digit's total, on every frame.
      const k = batch.digitIndices[b];
      const ink = mass(images.pixels.subarray(k * 784, (k + 1) * 784)) / 255 / 4;
      expect(Math.abs(mass(frameOf(batch, b, 2)) - ink)).toBeLessThanOrEqual(TOL.roundOff * 784);
    }
    // The 14x14 sprite: its 2x2 block averages appear verbatim somewhere in frame 0.
    const k = batch.digitIndices[0];
    const block =
      (images.pixels[k * 784 + 2 * 28 + 2] + images.pixels[k * 784 + 2 * 28 + 3] + images.pixels[k * 784 + 3 * 28 + 2] + images.pixels[k * 784 + 3 * 28 + 3]) /
      255 /
      4;
    const [x0, y0] = [batch.starts[0], batch.starts[1]];
    expect(frameOf(batch, 0, 0)[((1 + 1 + y0) % 16) * 16 + ((1 + 1 + x0) % 16)]).toBeCloseTo(block, 6);
  });

  it('larger frames place the full-size digit on a zero canvas', () => {
    const { gen, images } = make({ numDigits: 1, imageSize: 32, seqLen: 2 }, 4, 3, 28);
    const batch = gen.batch(0, 2);
    for (let b = 0; b < 2; b++) {
      expect(maxAbsDiff(sequenceOf(batch, b), expectedSequence(batch, b, images, 1))).toBeLessThanOrEqual(TOL.roundOff);
      const k = batch.digitIndices[b];
      expect(Math.abs(mass(frameOf(batch, b, 1)) - mass(images.pixels.subarray(k * 784, (k + 1) * 784)) / 255)).toBeLessThanOrEqual(TOL.roundOff * 784);
    }
  });
});

// ---- randomness ----------------------------------------------------------------------------------------------------

describe('Flowing MNIST randomness', () => {
  it('the same seed gives the same bytes; another seed differs', () => {
    const a = make({}, 42).gen.batch(3, 4);
    const b = make({}, 42).gen.batch(3, 4);
    const c = make({}, 43).gen.batch(3, 4);
    expect(Buffer.from(a.frames.buffer).equals(Buffer.from(b.frames.buffer))).toBe(true);
    expect(Array.from(a.velocities)).toEqual(Array.from(b.velocities));
    expect(Array.from(a.starts)).toEqual(Array.from(b.starts));
    expect(Buffer.from(a.frames.buffer).equals(Buffer.from(c.frames.buffer))).toBe(false);
  });

  it('batch i is sequences i*B..i*B+B-1 whatever the call order or batch size', () => {
    const { gen } = make({ seqLen: 4 }, 1);
    const late = gen.batch(5, 2);
    const early = gen.batch(0, 2);
    const asFour = gen.batch(2, 4); // sequences 8..11
    expect(Array.from(gen.batch(0, 2).frames)).toEqual(Array.from(early.frames));
    expect(Array.from(gen.sequences(10, 2).frames)).toEqual(Array.from(late.frames));
    expect(Array.from(asFour.frames.subarray(asFour.frames.length / 2))).toEqual(Array.from(late.frames));
  });

  it('defaults follow the reference: 2 digits, 28x28, 20 frames, velocities uniform in -2..2, starts over the torus', () => {
    const { gen } = make({}, 8, 12, 28);
    expect(gen.config).toEqual({ numDigits: 2, imageSize: 28, seqLen: 20, velocity: { kind: 'range', range: 2 } });
    const batch = gen.batch(0, 200);
    expect(batch.shape).toEqual([200, 20, 28, 28, 1]);
    const vs = new Set<string>();
    for (let m = 0; m < 400; m++) vs.add(`${batch.velocities[2 * m]},${batch.velocities[2 * m + 1]}`);
    expect(vs.size).toBe(25);
    expect(Math.min(...batch.velocities)).toBe(-2);
    expect(Math.max(...batch.velocities)).toBe(2);
    expect(Math.min(...batch.starts)).toBe(0);
    expect(Math.max(...batch.starts)).toBe(27);
  });

  it('an explicit velocity list is sampled from and only from', () => {
    const list = [
      { vx: 3, vy: 0 },
      { vx: -1, vy: 2 },
    ];
    const batch = make({ velocity: { kind: 'list', velocities: list }, seqLen: 2 }).gen.batch(0, 40);
    const seen = new Set<string>();
    for (let m = 0; m < 80; m++) seen.add(`${batch.velocities[2 * m]},${batch.velocities[2 * m + 1]}`);
    expect(seen).toEqual(new Set(['3,0', '-1,2']));
  });

  it('a fixed velocity moves every digit alike and keeps the digits and starts of the same seed', () => {
    const fixed = make({ velocity: { kind: 'fixed', velocity: { vx: -2, vy: 1 } }, seqLen: 3 }, 21).gen.batch(0, 8);
    const ranged = make({ velocity: { kind: 'range', range: 1 }, seqLen: 3 }, 21).gen.batch(0, 8);
    for (let m = 0; m < 16; m++) expect([fixed.velocities[2 * m], fixed.velocities[2 * m + 1]]).toEqual([-2, 1]);
    // So a velocity-generalisation grid compares the same digits at the same places, only the motion differs.
    expect(Array.from(fixed.digitIndices)).toEqual(Array.from(ranged.digitIndices));
    expect(Array.from(fixed.starts)).toEqual(Array.from(ranged.starts));
  });

  it('draws digits only from the split, with their labels; single-digit batches give classes', () => {
    const { images, labels } = syntheticDigits(20, 8);
    const split = [3, 4, 17];
    const gen = new FlowingMnist({ numDigits: 1, seqLen: 2, imageSize: 8 }, { images, labels, indices: split }, 2);
    const batch = gen.batch(0, 30);
    expect(new Set(batch.digitIndices)).toEqual(new Set(split));
    const classes = digitClasses(batch);
    for (let b = 0; b < 30; b++) expect(classes[b]).toBe(labels[batch.digitIndices[b]]);
    expect(() => digitClasses(make({}).gen.batch(0, 1))).toThrow(/single-digit/);
  });
});

// ---- validation ----------------------------------------------------------------------------------------------------

describe('Flowing MNIST validation', () => {
  it('names the offending config field', () => {
    expect(fieldOf(() => parseFlowingMnistConfig({ numDigits: 0 }))).toBe('numDigits');
    expect(fieldOf(() => parseFlowingMnistConfig({ imageSize: 2.5 }))).toBe('imageSize');
    expect(fieldOf(() => parseFlowingMnistConfig({ seqLen: -1 }))).toBe('seqLen');
    expect(fieldOf(() => parseFlowingMnistConfig({ velocity: { kind: 'range', range: -1 } }))).toBe('velocity.range');
    expect(fieldOf(() => parseFlowingMnistConfig({ velocity: { kind: 'fixed', velocity: { vx: 0.5, vy: 0 } } }))).toBe('velocity.velocity.vx');
    expect(fieldOf(() => parseFlowingMnistConfig({ velocity: { kind: 'list', velocities: [] } }))).toBe('velocity.velocities');
    expect(fieldOf(() => parseFlowingMnistConfig({ velocity: { kind: 'spiral' } }))).toMatch(/^velocity/);
    expect(fieldOf(() => parseFlowingMnistConfig({ numDigit: 2 }))).toBe('numDigit');
    expect(() => parseFlowingMnistConfig({ numDigits: 11 })).toThrow(/numDigits: .*10/);
  });

  it('rejects bad seeds, splits, label counts and batch arguments by name', () => {
    const { images, labels } = syntheticDigits(4, 8);
    const ok = { images, labels, indices: [0, 1] };
    expect(fieldOf(() => new FlowingMnist({}, ok, 1.5))).toBe('seed');
    expect(fieldOf(() => new FlowingMnist({}, { ...ok, indices: [0, 4] }, 1))).toBe('indices');
    expect(fieldOf(() => new FlowingMnist({}, { ...ok, indices: [] }, 1))).toBe('indices');
    expect(fieldOf(() => new FlowingMnist({}, { ...ok, labels: labels.subarray(1) }, 1))).toBe('labels');
    expect(fieldOf(() => new FlowingMnist({}, { ...ok, images: { ...images, count: 5 } }, 1))).toBe('images.pixels');
    const gen = new FlowingMnist({}, ok, 1);
    expect(fieldOf(() => gen.batch(-1, 2))).toBe('index');
    expect(fieldOf(() => gen.batch(0, 0))).toBe('batchSize');
    expect(fieldOf(() => gen.batch(0, 1e6))).toBe('batchSize');
  });
});

// ---- splits and tensors --------------------------------------------------------------------------------------------

describe('splits and tensors', () => {
  beforeAll(useCpu);

  it('splitTrainVal is a seeded, disjoint 90/10 split', () => {
    const a = splitTrainVal(1000, 42);
    expect([a.train.length, a.val.length]).toEqual([900, 100]);
    expect(new Set([...a.train, ...a.val]).size).toBe(1000);
    expect(Array.from(splitTrainVal(1000, 42).val)).toEqual(Array.from(a.val));
    expect(Array.from(splitTrainVal(1000, 43).val)).not.toEqual(Array.from(a.val));
    expect(fieldOf(() => splitTrainVal(1000, 0.5))).toBe('seed');
  });

  it('turns a batch into tensors [B, T, H, W, 1] and [B, numDigits] without leaking', () => {
    const batch = make({ seqLen: 3, imageSize: 9 }).gen.batch(0, 2);
    const before = tf.memory().numTensors;
    const x = framesToTensor(batch);
    const y = labelsToTensor(batch);
    expect(x.shape).toEqual([2, 3, 9, 9, 1]);
    expect(y.shape).toEqual([2, 2]);
    expect(y.dtype).toBe('int32');
    expect(maxAbsDiff(x.dataSync(), batch.frames)).toBe(0);
    expect(Array.from(y.dataSync())).toEqual(Array.from(batch.labels));
    x.dispose();
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
