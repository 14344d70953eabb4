import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { TOL, maxAbsDiff } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel, predict, type Seq2SeqModel } from '../../src/core/nn/seq2seq';
import { FlowingMnist, allIndices, type DigitSource, type FlowingMnistConfigInput } from '../../src/core/data/flowingMnist';
import { EvaluationStopped, evaluateMse, lengthGeneralisation, velocityGeneralisation } from '../../src/core/metrics/evaluate';
import { InputError } from '../../src/core/util/errors';

beforeAll(useCpu);

// ---- fixtures: a few 28x28 synthetic "digits", a tiny FERNN, small frames ---------------------------------------

/** Four asymmetric 28x28 blobs (a bar, an L, a ring segment, a diagonal) so different digits give different errors. */
function syntheticDigits(): DigitSource {
  const n = 28;
  const count = 4;
  const pixels = new Uint8Array(count * n * n);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const on =
          k === 0
            ? j >= 12 && j < 16 && i >= 4 && i < 24
            : k === 1
              ? (j >= 6 && j < 10 && i >= 4 && i < 24) || (i >= 20 && i < 24 && j >= 6 && j < 22)
              : k === 2
                ? Math.abs(Math.hypot(i - 14, j - 14) - 8) < 2 && j < 20
                : Math.abs(i - j) < 3 && i > 3 && i < 25;
        pixels[k * n * n + i * n + j] = on ? 255 - 20 * k : 0;
      }
    }
  }
  return { images: { count, rows: n, cols: n, pixels }, labels: Uint8Array.from([1, 7, 0, 4]), indices: allIndices(count) };
}

const digits = syntheticDigits();
const SIZE = 12;

const models: Seq2SeqModel[] = [];
afterAll(() => models.forEach(disposeModel));

function tinyModel(seed = 3): Seq2SeqModel {
  const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 })), seed);
  models.push(m);
  return m;
}

function generator(config: FlowingMnistConfigInput, seed = 5): FlowingMnist {
  return new FlowingMnist({ numDigits: 2, imageSize: SIZE, ...config }, digits, seed);
}

// ---- an independent reference computation ------------------------------------------------------------------------

/**
 * Per-sequence, per-step MSE [n][K] of sequences 0..n-1 of `gen`, computed in one forward pass over all n sequences,
 * with the input/target split and the squared-error averaging done here in float64 JS loops.
 */
async function directPerSequence(model: Seq2SeqModel, gen: FlowingMnist, n: number, tIn: number, k: number): Promise<number[][]> {
  const batch = gen.sequences(0, n);
  const [, t, h, w] = batch.shape;
  const px = h * w;
  const inputs = new Float32Array(n * tIn * px);
  for (let b = 0; b < n; b++) inputs.set(batch.frames.subarray(b * t * px, (b * t + tIn) * px), b * tIn * px);
  const x = tf.tensor5d(inputs, [n, tIn, h, w, 1]);
  const preds = predict(model, x, k);
  const p = await preds.data();
  x.dispose();
  preds.dispose();
  const out: number[][] = [];
  for (let b = 0; b < n; b++) {
    const row: number[] = [];
    for (let s = 0; s < k; s++) {
      let sum = 0;
      for (let q = 0; q < px; q++) {
        const target = batch.frames[(b * t + tIn + s) * px + q];
        sum += (p[(b * k + s) * px + q] - target) ** 2;
      }
      row.push(sum / px);
    }
    out.push(row);
  }
  return out;
}

function columnMean(rows: number[][]): number[] {
  return rows[0].map((_, s) => rows.reduce((a, r) => a + r[s], 0) / rows.length);
}

function columnStd(rows: number[][]): number[] {
  const mean = columnMean(rows);
  return mean.map((m, s) => Math.sqrt(rows.reduce((a, r) => a + (r[s] - m) ** 2, 0) / rows.length));
}

/** Runs `fn` once to warm kernels and caches, then asserts that a second call leaves no tensor behind. */
async function expectNoLeak(fn: () => Promise<unknown>): Promise<void> {
  await fn();
  const before = tf.memory().numTensors;
  await fn();
  expect(tf.memory().numTensors).toBe(before);
}

// ---- evaluateMse -------------------------------------------------------------------------------------------------

describe('evaluateMse', () => {
  it('equals a direct MSE computation, per step and overall, whatever the batch size', async () => {
    const model = tinyModel();
    const gen = generator({ seqLen: 7, velocity: { kind: 'range', range: 1 } });
    const direct = await directPerSequence(model, gen, 5, 3, 4);
    const perStep = columnMean(direct);
    const overall = perStep.reduce((a, b) => a + b, 0) / perStep.length;
    for (const batchSize of [5, 2, 64]) {
      const r = await evaluateMse(model, gen, { sequences: 5, batchSize, inputFrames: 3, predFrames: 4 });
      expect(r.sequences).toBe(5);
      expect(r.perStep).toHaveLength(4);
      expect(maxAbsDiff(r.perStep, perStep), `batchSize ${batchSize}`).toBeLessThan(TOL.roundOff);
      expect(Math.abs(r.mse - overall)).toBeLessThan(TOL.roundOff);
    }
    expect(overall).toBeGreaterThan(0);
  });

  it('predicts every frame after the inputs by default, and fewer when asked', async () => {
    const model = tinyModel();
    const gen = generator({ seqLen: 6 });
    const all = await evaluateMse(model, gen, { sequences: 2, inputFrames: 3 });
    expect(all.perStep).toHaveLength(3);
    const two = await evaluateMse(model, gen, { sequences: 2, inputFrames: 3, predFrames: 2 });
    // Autoregressive: the first two predictions do not depend on how many come after them.
    expect(maxAbsDiff(two.perStep, all.perStep.slice(0, 2))).toBeLessThan(TOL.roundOff);
  });

  it('rejects options that do not fit the data or the model, naming the field', async () => {
    const model = tinyModel();
    const gen = generator({ seqLen: 6 });
    await expect(evaluateMse(model, gen, { sequences: 2, inputFrames: 3, predFrames: 4 })).rejects.toThrow(/predFrames/);
    await expect(evaluateMse(model, gen, { sequences: 2, inputFrames: 6 })).rejects.toThrow(InputError);
    await expect(evaluateMse(model, gen, { sequences: 0, inputFrames: 3 })).rejects.toThrow(/sequences/);
    await expect(evaluateMse(model, gen, { sequences: 2, batchSize: 1.5, inputFrames: 3 })).rejects.toThrow(/batchSize/);
    const twoChannels = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 2, inChannels: 2 })), 1);
    models.push(twoChannels);
    await expect(evaluateMse(twoChannels, gen, { sequences: 2, inputFrames: 3 })).rejects.toThrow(/model/);
  });

  it('leaks no tensor', async () => {
    const model = tinyModel();
    const gen = generator({ seqLen: 5 });
    await expectNoLeak(() => evaluateMse(model, gen, { sequences: 3, batchSize: 2, inputFrames: 3 }));
  });
});

// ---- length generalisation ---------------------------------------------------------------------------------------

describe('lengthGeneralisation', () => {
  const base = { sequences: 5, batchSize: 2, seed: 9, imageSize: SIZE, numDigits: 2, inputFrames: 3, dataVRange: 1 };

  it('reports K = T - T_in steps per length, with the mean and population std over sequences', async () => {
    const model = tinyModel();
    const r = await lengthGeneralisation(model, digits, { ...base, seqLens: [6, 8] });
    expect(Object.keys(r).map(Number).sort()).toEqual([6, 8]);
    for (const t of [6, 8]) {
      const curve = r[t];
      expect(curve.sequences).toBe(5);
      expect(curve.mean).toHaveLength(t - 3);
      expect(curve.std).toHaveLength(t - 3);
      const direct = await directPerSequence(model, generator({ seqLen: t, velocity: { kind: 'range', range: 1 } }, 9), 5, 3, t - 3);
      expect(maxAbsDiff(curve.mean, columnMean(direct))).toBeLessThan(TOL.roundOff);
      expect(maxAbsDiff(curve.std, columnStd(direct))).toBeLessThan(TOL.roundOff);
      expect(curve.std.every((s) => s >= 0)).toBe(true);
      // Five different sequences do not all have the same error.
      expect(Math.max(...curve.std)).toBeGreaterThan(0);
    }
    // Same seed for every length: the longer set extends the shorter one, so the shared steps agree.
    expect(maxAbsDiff(r[8].mean.slice(0, 3), r[6].mean)).toBeLessThan(TOL.roundOff);
  });

  it("reports the MSE of predicting blank frames per step: the targets' mean square (the divergence baseline)", async () => {
    const r = await lengthGeneralisation(tinyModel(), digits, { ...base, seqLens: [6] });
    const batch = generator({ seqLen: 6, velocity: { kind: 'range', range: 1 } }, 9).sequences(0, 5);
    const [, t, h, w] = batch.shape;
    const px = h * w;
    const direct = Array.from({ length: 3 }, (_, s) => {
      let sum = 0;
      for (let b = 0; b < 5; b++) for (const v of batch.frames.subarray((b * t + 3 + s) * px, (b * t + 4 + s) * px)) sum += v * v;
      return sum / (5 * px);
    });
    expect(r[6].blank).toHaveLength(3);
    expect(maxAbsDiff(r[6].blank ?? [], direct)).toBeLessThan(TOL.roundOff);
  });

  it('has zero std for a single sequence', async () => {
    const r = await lengthGeneralisation(tinyModel(), digits, { ...base, sequences: 1, seqLens: [5] });
    expect(r[5].std).toEqual([0, 0]);
    expect(r[5].sequences).toBe(1);
  });

  it('rejects lengths that leave nothing to predict', async () => {
    await expect(lengthGeneralisation(tinyModel(), digits, { ...base, seqLens: [3] })).rejects.toThrow(/seqLens/);
    await expect(lengthGeneralisation(tinyModel(), digits, { ...base, seqLens: [] })).rejects.toThrow(/seqLens/);
  });

  it('leaks no tensor', async () => {
    const model = tinyModel();
    await expectNoLeak(() => lengthGeneralisation(model, digits, { ...base, sequences: 3, seqLens: [5, 6] }));
  });
});

// ---- velocity generalisation -------------------------------------------------------------------------------------

describe('velocityGeneralisation', () => {
  const base = { range: 1, sequences: 3, batchSize: 2, seed: 4, imageSize: SIZE, numDigits: 2, inputFrames: 3, predFrames: 2 };

  it('returns a (2R+1) x (2R+1) grid indexed mse[iy][ix], deterministic, with cells that differ', async () => {
    const model = tinyModel();
    const r = await velocityGeneralisation(model, digits, base);
    expect(r.velocities).toEqual([-1, 0, 1]);
    expect(r.sequences).toBe(3);
    expect(r.mse).toHaveLength(3);
    r.mse.forEach((row) => expect(row).toHaveLength(3));
    const flat = r.mse.flat();
    expect(flat.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(new Set(flat).size).toBeGreaterThan(1);
    // The same cell twice gives the same number, bit for bit.
    const again = await velocityGeneralisation(model, digits, base);
    expect(again.mse).toEqual(r.mse);
    // Orientation: cell [iy][ix] is the test set where every digit moves with (velocities[ix], velocities[iy]).
    const [iy, ix] = [0, 2];
    const gen = generator({ seqLen: 5, velocity: { kind: 'fixed', velocity: { vx: r.velocities[ix], vy: r.velocities[iy] } } }, 4);
    const direct = await directPerSequence(model, gen, 3, 3, 2);
    const mean = columnMean(direct);
    expect(Math.abs(r.mse[iy][ix] - (mean[0] + mean[1]) / 2)).toBeLessThan(TOL.roundOff);
  });

  it('moves every digit with the cell velocity, and keeps digits and starts across cells', () => {
    const cell = (vx: number, vy: number) => generator({ seqLen: 5, velocity: { kind: 'fixed', velocity: { vx, vy } } }, 4).batch(0, 3);
    const a = cell(-1, 1);
    const b = cell(1, 0);
    expect(Array.from(a.velocities)).toEqual(Array.from({ length: 6 }, () => [-1, 1]).flat());
    expect(Array.from(a.digitIndices)).toEqual(Array.from(b.digitIndices));
    expect(Array.from(a.starts)).toEqual(Array.from(b.starts));
  });

  it('leaks no tensor', async () => {
    const model = tinyModel();
    await expectNoLeak(() => velocityGeneralisation(model, digits, { ...base, range: 0, sequences: 2 }));
  });
});

// ---- progress and cancel -----------------------------------------------------------------------------------------

describe('progress and cancel', () => {
  it('reports increasing progress up to the total, in sequences', async () => {
    const calls: [number, number][] = [];
    await evaluateMse(tinyModel(), generator({ seqLen: 5 }), { sequences: 5, batchSize: 2, inputFrames: 3, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);

    const vcalls: [number, number][] = [];
    await velocityGeneralisation(tinyModel(), digits, {
      range: 1,
      sequences: 1,
      seed: 1,
      imageSize: SIZE,
      inputFrames: 2,
      predFrames: 1,
      onProgress: (d, t) => vcalls.push([d, t]),
    });
    expect(vcalls.map(([d]) => d)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(vcalls.every(([, t]) => t === 9)).toBe(true);

    const lcalls: number[] = [];
    await lengthGeneralisation(tinyModel(), digits, {
      seqLens: [4, 5],
      sequences: 3,
      batchSize: 2,
      seed: 1,
      imageSize: SIZE,
      inputFrames: 3,
      onProgress: (d, t) => lcalls.push(d / t),
    });
    expect(lcalls).toEqual([2 / 6, 3 / 6, 5 / 6, 1]);
  });

  it('stops early when shouldStop turns true, rejecting with EvaluationStopped and leaking nothing', async () => {
    const model = tinyModel();
    const gen = generator({ seqLen: 5 });
    await evaluateMse(model, gen, { sequences: 2, inputFrames: 3 });
    const before = tf.memory().numTensors;
    let batches = 0;
    const run = evaluateMse(model, gen, {
      sequences: 10,
      batchSize: 2,
      inputFrames: 3,
      onProgress: () => batches++,
      shouldStop: () => batches >= 2,
    });
    await expect(run).rejects.toBeInstanceOf(EvaluationStopped);
    await run.catch((e: EvaluationStopped) => expect([e.done, e.total]).toEqual([4, 10]));
    expect(batches).toBe(2);
    expect(tf.memory().numTensors).toBe(before);

    let cells = 0;
    const grid = velocityGeneralisation(model, digits, {
      range: 1,
      sequences: 1,
      seed: 1,
      imageSize: SIZE,
      inputFrames: 2,
      predFrames: 1,
      onProgress: () => cells++,
      shouldStop: () => cells >= 3,
    });
    await expect(grid).rejects.toBeInstanceOf(EvaluationStopped);
    expect(cells).toBe(3);

    // A stop requested before the start evaluates nothing.
    let seen = 0;
    await expect(
      lengthGeneralisation(model, digits, {
        seqLens: [5],
        sequences: 4,
        seed: 1,
        imageSize: SIZE,
        inputFrames: 3,
        onProgress: () => seen++,
        shouldStop: () => true,
      }),
    ).rejects.toThrow(/stopped after 0 of 4/);
    expect(seen).toBe(0);
  });
});
