import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { TOL } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig, type CellKind } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel, type Seq2SeqModel } from '../../src/core/nn/seq2seq';
import { probeEquivariance, type EquivarianceReport } from '../../src/core/metrics/equivariance';
import { TranslationFlow } from '../../src/core/flows/translation';
import { VelocitySet } from '../../src/core/flows/velocity';

beforeAll(useCpu);

const models: Seq2SeqModel[] = [];
afterAll(() => models.forEach(disposeModel));

function model(kind: CellKind, vRange: number, hidden: number, opts: { activation?: 'relu' | 'tanh'; seed?: number } = {}): Seq2SeqModel {
  const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind, vRange, hidden, activation: opts.activation }), { decoderLayers: 1 }), opts.seed ?? 7);
  models.push(m);
  return m;
}

async function probe(m: Seq2SeqModel, h: number, w: number, nu: { vx: number; vy: number }, steps = 5, timeOffset = 0): Promise<EquivarianceReport> {
  const x = tf.randomUniform([2, steps, h, w, 1], 0, 1, 'float32', 11) as tf.Tensor5D;
  try {
    return await probeEquivariance(m, x, new TranslationFlow(nu), { timeOffset });
  } finally {
    x.dispose();
  }
}

/** Largest hidden-state error over t >= 1; fails the test if any step had nothing to compare. */
function worstHidden(r: EquivarianceReport): number {
  return Math.max(
    ...r.per_step.map((s) => {
      if (s.hidden_rel_err === null) throw new Error(`step ${s.t}: no constrained slice`);
      return s.hidden_rel_err;
    }),
  );
}

describe('FERNN hidden-state flow equivariance (exact up to float32 round-off)', () => {
  const cases = [
    { vRange: 1, h: 8, w: 8, hidden: 4 },
    { vRange: 1, h: 12, w: 10, hidden: 8 },
    { vRange: 2, h: 9, w: 13, hidden: 3 },
  ];
  for (const c of cases) {
    it(`holds at every timestep for every nu in V (V${c.vRange}, ${c.h}x${c.w}, C=${c.hidden})`, async () => {
      const m = model('fernn', c.vRange, c.hidden);
      for (const nu of VelocitySet.grid(c.vRange).list) {
        const r = await probe(m, c.h, c.w, nu);
        expect(r.per_step.map((s) => s.t)).toEqual([1, 2, 3, 4, 5]);
        expect(worstHidden(r), `nu=(${nu.vx},${nu.vy})`).toBeLessThan(TOL.roundOff);
        // The statement constrains exactly the slices with v - nu in V.
        const expectedSlices = VelocitySet.grid(c.vRange).list.filter((v) => Math.abs(v.vx - nu.vx) <= c.vRange && Math.abs(v.vy - nu.vy) <= c.vRange).length;
        expect(r.per_step[0].constrained_slices).toBe(expectedSlices);
      }
    });
  }

  it('holds with tanh and with more timesteps', async () => {
    const r = await probe(model('fernn', 1, 5, { activation: 'tanh' }), 10, 10, { vx: -1, vy: 1 }, 9);
    expect(worstHidden(r)).toBeLessThan(TOL.roundOff);
  });

  it('holds on the slices still constrained when nu lies outside V', async () => {
    const r = await probe(model('fernn', 1, 4), 10, 8, { vx: 2, vy: 0 });
    expect(r.per_step[0].constrained_slices).toBe(3); // v = (1, -1..1)
    expect(worstHidden(r)).toBeLessThan(TOL.roundOff);
  });

  it('reports, rather than invents, a number when no slice is constrained', async () => {
    const r = await probe(model('fernn', 1, 4), 10, 8, { vx: 3, vy: 0 });
    expect(r.per_step.every((s) => s.hidden_rel_err === null && s.constrained_slices === 0)).toBe(true);
    expect(r.note).toMatch(/no slice of V is constrained/);
  });

  it('fails visibly when the expected transformation is wrong (shift off by one step)', async () => {
    const r = await probe(model('fernn', 1, 4), 10, 10, { vx: 1, vy: 0 }, 5, 1);
    for (const s of r.per_step) expect(s.hidden_rel_err).toBeGreaterThan(TOL.visibleFailure);
  });
});

describe('models that must not be flow equivariant', () => {
  it('G-RNN: the plain spatial comparison fails under a moving flow but holds for nu = 0', async () => {
    const m = model('grnn', 0, 6);
    const moving = await probe(m, 10, 10, { vx: 1, vy: 0 });
    expect(moving.per_step[0].hidden_rel_err).toBeLessThan(TOL.roundOff); // one frame: nothing has moved yet
    for (const s of moving.per_step.slice(1)) expect(s.hidden_rel_err).toBeGreaterThan(TOL.visibleFailure);
    const still = await probe(m, 10, 10, { vx: 0, vy: 0 });
    expect(worstHidden(still)).toBeLessThan(TOL.roundOff);
  });

  it('G-RNN+: learned depthwise shifts have no built-in equivariance', async () => {
    const m = model('grnn-plus', 1, 6);
    const r = await probe(m, 10, 10, { vx: 1, vy: 0 });
    for (const s of r.per_step.slice(1)) expect(s.hidden_rel_err).toBeGreaterThan(TOL.visibleFailure);
  });
});

describe('prediction-level comparison', () => {
  it('reports one error per predicted frame, and the FERNN stays far below the G-RNN', async () => {
    const x = tf.randomUniform([2, 5, 10, 10, 1], 0, 1, 'float32', 3) as tf.Tensor5D;
    const flow = new TranslationFlow({ vx: 1, vy: 0 });
    const f = await probeEquivariance(model('fernn', 1, 6), x, flow, { predLen: 3 });
    const g = await probeEquivariance(model('grnn', 0, 6), x, flow, { predLen: 3 });
    x.dispose();
    expect(f.predictions.map((p) => p.k)).toEqual([1, 2, 3]);
    expect(g.predictions.map((p) => p.k)).toEqual([1, 2, 3]);
    const fernnHidden = Math.max(...f.per_step.map((s) => s.hidden_rel_err ?? Infinity));
    const grnnHidden = Math.max(...g.per_step.map((s) => s.hidden_rel_err ?? 0));
    expect(fernnHidden * 1000).toBeLessThan(grnnHidden);
  });
});
