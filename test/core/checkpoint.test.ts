import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { maxAbsDiff, relErr, TOL } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig, type CellKind } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel, forward, frameAt, poolVelocities, readout, type Seq2SeqModel } from '../../src/core/nn/seq2seq';
import { advance, advanceRecomputed, hiddenOf, initRun, type RunState } from '../../src/core/nn/runner';
import { cellStep, zeroHidden } from '../../src/core/nn/cell';
import { checkpoint, stopGradient } from '../../src/core/nn/gradient';
import { IndexMap } from '../../src/core/nn/indexMap';
import { makeRotationCellConfig } from '../../src/core/nn/rotationCell';

beforeAll(useCpu);

type Step = (m: Seq2SeqModel, s: RunState, u: tf.Tensor4D) => RunState;
const plainStep: Step = (m, s, u) => advance(m.config.cell, m.params, s, u);
const recomputedStep: Step = (m, s, u) => advanceRecomputed(m.config.cell, m.params, s, u);

/**
 * The seq2seq loss with a chosen cell step: `forward`'s recurrence (encode, then decode feeding back detached
 * predictions), written out so that the step can be swapped.
 */
function lossWith(m: Seq2SeqModel, x: tf.Tensor5D, y: tf.Tensor5D, step: Step): tf.Scalar {
  const [b, tIn, h, w] = x.shape;
  const cell = m.config.cell;
  let s = initRun(cell, b, h, w);
  for (let t = 0; t < tIn; t++) s = step(m, s, frameAt(x, t));
  let prev = frameAt(x, tIn - 1);
  const outs: tf.Tensor4D[] = [];
  for (let k = 0; k < y.shape[1]; k++) {
    s = step(m, s, stopGradient(prev));
    const out = readout(m, hiddenOf(cell, s));
    outs.push(out);
    prev = out;
  }
  return tf.losses.meanSquaredError(y, tf.stack(outs, 1)) as tf.Scalar;
}

/** The reference recurrence in fixed coordinates (cell.ts cellStep: roll, then the stock ops' own gradients). */
function lossReference(m: Seq2SeqModel, x: tf.Tensor5D, y: tf.Tensor5D): tf.Scalar {
  const [b, tIn, h, w] = x.shape;
  const cell = m.config.cell;
  let hState = zeroHidden(cell, b, h, w);
  for (let t = 0; t < tIn; t++) hState = cellStep(cell, m.params, frameAt(x, t), hState);
  let prev = frameAt(x, tIn - 1);
  const outs: tf.Tensor4D[] = [];
  for (let k = 0; k < y.shape[1]; k++) {
    hState = cellStep(cell, m.params, stopGradient(prev), hState);
    const out = readout(m, hState);
    outs.push(out);
    prev = out;
  }
  return tf.losses.meanSquaredError(y, tf.stack(outs, 1)) as tf.Scalar;
}

/** Gradients of every parameter, in sorted name order, flattened. */
function grads(m: Seq2SeqModel, loss: () => tf.Scalar): { value: number; g: Float32Array[] } {
  const names = Object.keys(m.params).sort();
  const r = tf.variableGrads(
    loss,
    names.map((n) => m.params[n]),
  );
  const out = { value: r.value.dataSync()[0], g: names.map((n) => r.grads[m.params[n].name].dataSync() as Float32Array) };
  r.value.dispose();
  Object.values(r.grads).forEach((t) => t.dispose());
  return out;
}

/** The largest relative error over the parameters' gradients. */
function worstRelErr(a: Float32Array[], b: Float32Array[]): number {
  return Math.max(...a.map((ai, i) => relErr(ai, b[i])));
}

const KINDS: { kind: CellKind; vRange: number; activation: 'relu' | 'tanh' }[] = [
  { kind: 'fernn', vRange: 1, activation: 'relu' },
  { kind: 'fernn', vRange: 2, activation: 'tanh' },
  { kind: 'grnn', vRange: 0, activation: 'relu' },
  { kind: 'grnn-plus', vRange: 1, activation: 'relu' },
];

function model(kind: CellKind, vRange: number, activation: 'relu' | 'tanh', seed: number): Seq2SeqModel {
  return createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind, vRange, hidden: 3, activation })), seed);
}

describe('training gradients with less memory', () => {
  // 6x5 frames, 6 input + 3 predicted frames: the co-moving shifts wrap around the torus.
  const x = () => tf.randomUniform([2, 6, 6, 5, 1], 0, 1, 'float32', 11) as tf.Tensor5D;
  const y = () => tf.randomUniform([2, 3, 6, 5, 1], 0, 1, 'float32', 12) as tf.Tensor5D;

  it('the co-moving step (one op, its own gradient) gives the gradients of the reference recurrence', () => {
    for (const { kind, vRange, activation } of KINDS.filter((k) => k.kind !== 'grnn-plus')) {
      const m = model(kind, vRange, activation, 21);
      const [xi, yi] = [x(), y()];
      const ours = grads(m, () => lossWith(m, xi, yi, plainStep));
      const ref = grads(m, () => lossReference(m, xi, yi));
      expect(Math.abs(ours.value - ref.value), `${kind} ${activation} loss`).toBeLessThan(TOL.roundOff);
      expect(worstRelErr(ours.g, ref.g), `${kind} ${activation}`).toBeLessThan(TOL.roundOff);
      [xi, yi].forEach((t) => t.dispose());
      disposeModel(m);
    }
  });

  it('recomputing each step in the backward pass (checkpointing) gives the same gradients, every cell kind', () => {
    for (const { kind, vRange, activation } of KINDS) {
      const m = model(kind, vRange, activation, 22);
      const [xi, yi] = [x(), y()];
      const plain = grads(m, () => lossWith(m, xi, yi, plainStep));
      const recomputed = grads(m, () => lossWith(m, xi, yi, recomputedStep));
      expect(plain.value, kind).toBe(recomputed.value);
      expect(worstRelErr(recomputed.g, plain.g), kind).toBeLessThan(TOL.roundOff);
      [xi, yi].forEach((t) => t.dispose());
      disposeModel(m);
    }
  });

  it('checkpointing is generic: a rotation cell (C_4 fields, three angular velocities) gets the same gradients', () => {
    const cell = makeRotationCellConfig({ kind: 'fernn-rot', group: 4, omegas: [-90, 0, 90], hidden: 2, activation: 'tanh' });
    const m = createSeq2Seq(makeSeq2SeqConfig(cell), 25);
    const xi = tf.randomUniform([2, 4, 6, 6, 1], 0, 1, 'float32', 15) as tf.Tensor5D;
    const yi = tf.randomUniform([2, 2, 6, 6, 1], 0, 1, 'float32', 16) as tf.Tensor5D;
    const plain = grads(m, () => lossWith(m, xi, yi, plainStep));
    const recomputed = grads(m, () => lossWith(m, xi, yi, recomputedStep));
    expect(plain.value).toBe(recomputed.value);
    expect(worstRelErr(recomputed.g, plain.g)).toBeLessThan(TOL.roundOff);
    [xi, yi].forEach((t) => t.dispose());
    disposeModel(m);
  });

  it('forward (the training path) equals both, with checkpointing on and off', () => {
    const m = model('grnn-plus', 1, 'relu', 23);
    const [xi, yi] = [x(), y()];
    const loss = (checkpoint: boolean) => () => tf.losses.meanSquaredError(yi, forward(m, xi, 3, { checkpoint })) as tf.Scalar;
    const on = grads(m, loss(true));
    const off = grads(m, loss(false));
    const ref = grads(m, () => lossReference(m, xi, yi));
    expect(worstRelErr(on.g, off.g)).toBeLessThan(TOL.roundOff);
    expect(worstRelErr(on.g, ref.g)).toBeLessThan(TOL.roundOff);
    [xi, yi].forEach((t) => t.dispose());
    disposeModel(m);
  });

  it('the comparison fails when the recomputation differs from the forward pass', () => {
    // A "checkpoint" whose recomputation sees another weight scale than its forward pass did: its gradient is wrong,
    // and the same comparison as above must say so.
    const w = tf.variable(tf.randomNormal([4, 4], 0, 1, 'float32', 5));
    const x0 = tf.randomNormal([3, 4], 0, 1, 'float32', 6);
    let scale = 1;
    const f = ([xi, wi]: tf.Tensor[]) => tf.tanh(tf.matMul(xi as tf.Tensor2D, tf.mul(wi, scale) as tf.Tensor2D));
    const honest = tf.variableGrads(() => tf.sum(f([x0, w])) as tf.Scalar, [w]).grads[w.name].dataSync() as Float32Array;
    const faithful = tf.variableGrads(() => tf.sum(checkpoint(f)(x0, w)) as tf.Scalar, [w]).grads[w.name].dataSync() as Float32Array;
    const drifting = tf
      .variableGrads(() => {
        const out = checkpoint((xs) => {
          const r = f(xs);
          scale = 1.5; // the backward pass recomputes with a changed closure: not a pure function
          return r;
        })(x0, w);
        return tf.sum(out) as tf.Scalar;
      }, [w])
      .grads[w.name].dataSync() as Float32Array;
    expect(relErr(faithful, honest)).toBeLessThan(TOL.roundOff);
    expect(relErr(drifting, honest)).toBeGreaterThan(TOL.visibleFailure);
    [w, x0].forEach((t) => t.dispose());
  });

  it('keeps much less tensor memory through the backward pass than the reference recurrence', async () => {
    const m = model('fernn', 1, 'relu', 24);
    const xi = tf.randomUniform([2, 10, 12, 12, 1], 0, 1, 'float32', 13) as tf.Tensor5D;
    const yi = tf.randomUniform([2, 10, 12, 12, 1], 0, 1, 'float32', 14) as tf.Tensor5D;
    const peak = async (loss: () => tf.Scalar) => (await tf.profile(() => void grads(m, loss))).peakBytes;
    const ours = await peak(() => tf.losses.meanSquaredError(yi, forward(m, xi, 10)) as tf.Scalar);
    const ref = await peak(() => lossReference(m, xi, yi));
    expect(ours).toBeLessThan(0.5 * ref);
    [xi, yi].forEach((t) => t.dispose());
    disposeModel(m);
  });
});

describe('kernels of the cpu and wasm backends', () => {
  it('an index map and its gradient equal tf.gather and its stock gradient (scatter-add)', () => {
    const idx = Int32Array.from([4, 5, 6, 0, 0, 1, 2, 3, 6, 6, 5]);
    const map = new IndexMap(7, idx);
    const x = tf.randomNormal([3, 7, 2], 0, 1, 'float32', 7) as tf.Tensor3D;
    const dy = tf.randomNormal([3, idx.length, 2], 0, 1, 'float32', 8);
    const ours = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(map.apply(xi as tf.Tensor3D), dy)))(x);
    const stock = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.gather(xi, tf.tensor1d(idx, 'int32'), 1), dy)))(x);
    expect(maxAbsDiff(map.apply(x).dataSync(), tf.gather(x, tf.tensor1d(idx, 'int32'), 1).dataSync())).toBe(0);
    expect(maxAbsDiff(ours.dataSync(), stock.dataSync())).toBeLessThan(TOL.roundOff);
    map.dispose();
  });

  it('max over velocities and its gradient equal tf.max and its stock gradient, ties included', () => {
    // Rounded values make ties; ties share the gradient in both.
    const h = tf.round(tf.mul(tf.randomNormal([2, 5, 3, 4, 2], 0, 1, 'float32', 9), 2)) as tf.Tensor5D;
    const dy = tf.randomNormal([2, 3, 4, 2], 0, 1, 'float32', 10);
    const ours = tf.grad((hi: tf.Tensor) => tf.sum(tf.mul(poolVelocities(hi as tf.Tensor5D, 'max'), dy)))(h);
    const stock = tf.grad((hi: tf.Tensor) => tf.sum(tf.mul(tf.max(hi, 1), dy)))(h);
    expect(maxAbsDiff(poolVelocities(h, 'max').dataSync(), tf.max(h, 1).dataSync())).toBe(0);
    expect(maxAbsDiff(ours.dataSync(), stock.dataSync())).toBe(0);
  });
});
