import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { maxAbsDiff, TOL } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel, forward, predict, seq2seqParamCount } from '../../src/core/nn/seq2seq';
import { cellStep, zeroHidden } from '../../src/core/nn/cell';
import { probeEquivariance } from '../../src/core/metrics/equivariance';
import { TranslationFlow } from '../../src/core/flows/translation';
import { trainStep } from '../../src/core/train/step';
import { createRng } from '../../src/core/util/rng';

beforeAll(useCpu);

describe('parameter counts equal the reference', () => {
  it('Seq2SeqFERNN hidden 128, decoder_conv_layers 4: 739,584 for any v_range', () => {
    for (const [kind, vRange] of [
      ['grnn', 0],
      ['fernn', 1],
      ['fernn', 2],
      ['fernn', 4],
    ] as const) {
      expect(seq2seqParamCount(makeSeq2SeqConfig(makeCellConfig({ kind, vRange, hidden: 128 }), { decoderLayers: 4 }))).toBe(739_584);
    }
  });

  it('G-RNN+ adds |V| depthwise kernels of size (2r+1)^2 per channel', () => {
    const base = seq2seqParamCount(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 16 })));
    const plus = seq2seqParamCount(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn-plus', vRange: 1, hidden: 16 })));
    expect(plus - base).toBe(9 * 9 * 16);
  });

  it('rejects a velocity range on a G-RNN with the field named', () => {
    expect(() => makeCellConfig({ kind: 'grnn', vRange: 2, hidden: 4 })).toThrow(/v_range/);
  });
});

describe('seq2seq model', () => {
  const cfg = makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 }), { decoderLayers: 2 });

  it('same seed, same weights; another seed, other weights', () => {
    const a = createSeq2Seq(cfg, 1);
    const b = createSeq2Seq(cfg, 1);
    const c = createSeq2Seq(cfg, 2);
    const w = (m: typeof a) => m.params['cell.conv_h.weight'].dataSync();
    expect(maxAbsDiff(w(a), w(b))).toBe(0);
    expect(maxAbsDiff(w(a), w(c))).toBeGreaterThan(0);
    [a, b, c].forEach(disposeModel);
  });

  it('predict (step-freed) equals the differentiable forward', () => {
    const m = createSeq2Seq(cfg, 3);
    const x = tf.randomUniform([2, 4, 8, 6, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
    const a = predict(m, x, 3);
    const b = forward(m, x, 3);
    expect(a.shape).toEqual([2, 3, 8, 6, 1]);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(TOL.roundOff);
    [a, b, x].forEach((t) => t.dispose());
    disposeModel(m);
  });

  it('leaks no tensor across repeated steps, predictions, probes and training steps', async () => {
    for (const kind of ['fernn', 'grnn', 'grnn-plus'] as const) {
      const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind, vRange: kind === 'grnn' ? 0 : 1, hidden: 3 })), 4);
      const x = tf.randomUniform([2, 3, 6, 6, 1], 0, 1, 'float32', 2) as tf.Tensor5D;
      const y = tf.randomUniform([2, 2, 6, 6, 1], 0, 1, 'float32', 3) as tf.Tensor5D;
      const opt = tf.train.adam(1e-3);
      const once = async () => {
        const h0 = zeroHidden(m.config.cell, 2, 6, 6);
        const u = tf.zeros([2, 6, 6, 1]) as tf.Tensor4D;
        const h1 = cellStep(m.config.cell, m.params, u, h0);
        [h0, u, h1].forEach((t) => t.dispose());
        predict(m, x, 2).dispose();
        await probeEquivariance(m, x, new TranslationFlow({ vx: 1, vy: 1 }), { predLen: 2 });
        const r = trainStep(m, opt, x, y, { clipNorm: 1 });
        r.loss.dispose();
        r.gradNorm.dispose();
      };
      await once(); // warm: index maps and optimizer slots are created once
      const before = tf.memory().numTensors;
      await once();
      await once();
      expect(tf.memory().numTensors, kind).toBe(before);
      [x, y].forEach((t) => t.dispose());
      opt.dispose();
      disposeModel(m);
    }
  });
});

describe('training step', () => {
  it('loss decreases over a few Adam steps with clipping and teacher forcing (cpu)', async () => {
    const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 })), 5);
    const x = tf.randomUniform([2, 3, 8, 8, 1], 0, 1, 'float32', 5) as tf.Tensor5D;
    const y = tf.randomUniform([2, 2, 8, 8, 1], 0, 1, 'float32', 6) as tf.Tensor5D;
    const opt = tf.train.adam(1e-2);
    const rng = createRng(1);
    const losses: number[] = [];
    for (let i = 0; i < 15; i++) {
      const r = trainStep(m, opt, x, y, { clipNorm: 1, teacherForcing: 0.5, rng });
      losses.push((await r.loss.data())[0]);
      r.loss.dispose();
      r.gradNorm.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.8);
    [x, y].forEach((t) => t.dispose());
    opt.dispose();
    disposeModel(m);
  });
});

describe('co-moving runner', () => {
  it('forward equals the reference recurrence (cellStep in fixed coordinates) at every step, past a full wrap', async () => {
    const { cellStep: step, zeroHidden: zero } = await import('../../src/core/nn/cell');
    for (const [kind, vRange, act] of [
      ['fernn', 1, 'relu'],
      ['fernn', 2, 'tanh'],
      ['grnn', 0, 'relu'],
      ['grnn-plus', 1, 'relu'],
    ] as const) {
      const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind, vRange, hidden: 3, activation: act })), 9);
      // 6x5 frames and 7 input frames: shifts v*t wrap around the torus (t = 5, 6 are full turns along one axis).
      const x = tf.randomUniform([2, 7, 6, 5, 1], 0, 1, 'float32', 3) as tf.Tensor5D;
      const seen: tf.Tensor5D[] = [];
      const preds = forward(m, x, 3, { onHidden: (h) => seen.push(tf.keep(h.clone())) });
      let h = zero(m.config.cell, 2, 6, 5);
      for (let t = 0; t < 7; t++) {
        const u = tf.tidy(() => tf.reshape(tf.slice(x, [0, t, 0, 0, 0], [2, 1, 6, 5, 1]), [2, 6, 5, 1])) as tf.Tensor4D;
        const next = step(m.config.cell, m.params, u, h);
        expect(maxAbsDiff(next.dataSync(), seen[t].dataSync()), `${kind} t=${t + 1}`).toBeLessThan(TOL.roundOff);
        [u, h].forEach((k) => k.dispose());
        h = next;
      }
      [h, x, preds, ...seen].forEach((k) => k.dispose());
      disposeModel(m);
    }
  });
});
