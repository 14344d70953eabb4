import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel, type Seq2SeqModel } from '../../src/core/nn/seq2seq';
import { probeEquivariance, type EquivarianceReport } from '../../src/core/metrics/equivariance';
import { explainEquivariance, hiddenErrorText, type ProbeFacts } from '../../src/core/metrics/equivarianceNotes';
import { TranslationFlow } from '../../src/core/flows/translation';
import { RotationFlow } from '../../src/core/flows/rotation';
import { cellConfigFromSpec } from '../../src/core/nn/cellSpec';

const step = (hidden: number | null, output: number, constrained: number, total: number) => ({
  hidden_rel_err: hidden,
  output_rel_err: output,
  constrained_slices: constrained,
  total_slices: total,
});

describe('explainEquivariance (pure)', () => {
  it('names a truncated V when nu is in V, the hidden state is exact and the readout is not, and offers r + 1', () => {
    const f: ProbeFacts = { flow: 'translate:1,0', per_step: [step(1e-7, 0.2, 6, 9), step(2e-7, 0.3, 6, 9)], lifted: true, nu_in_v: true, v_range: 1 };
    const s = explainEquivariance(f);
    expect(s.max_hidden_rel_err).toBe(2e-7);
    expect(s.max_output_rel_err).toBe(0.3);
    expect(s.constrained_text).toBe('6/9 slices constrained');
    expect(s.output_above_hidden).toBe(true);
    expect(s.cause).toBe('truncated-v');
    expect(s.larger_r).toBe(2);
    expect(s.notes[0]).toMatch(/all 9 slices of V = \{−1..1\}², and the 3 whose partner v − ν lies outside it .* enter the max/);
    expect(s.notes[0]).toMatch(/probe at r = 2/);
  });

  it('offers no larger r beyond the probe limit, and no truncation note when the readout is exact too', () => {
    const top = explainEquivariance({ flow: 'translate:1,0', per_step: [step(0, 0.1, 72, 81)], lifted: true, nu_in_v: true, v_range: 4 }, { maxR: 4 });
    expect(top.cause).toBe('truncated-v');
    expect(top.larger_r).toBeNull();
    expect(top.notes[0]).not.toMatch(/probe at r/);
    const exact = explainEquivariance({ flow: 'translate:0,0', per_step: [step(1e-7, 3e-7, 9, 9)], lifted: true, nu_in_v: true, v_range: 1 });
    expect(exact.output_above_hidden).toBe(false);
    expect(exact.cause).toBeNull();
    expect(exact.notes).toEqual([]);
  });

  it('says a flow outside V is not equivariant, and never shows its hidden error bare', () => {
    const s = explainEquivariance({ flow: 'translate:2,0', per_step: [step(0, 0.4, 3, 9)], lifted: true, nu_in_v: false, v_range: 1 });
    expect(s.nu_in_v).toBe(false);
    expect(s.cause).toBe('flow-outside-v');
    expect(s.constrained_text).toBe('3/9 slices constrained');
    expect(s.notes[0]).toMatch(/lies outside V = \{−1..1\}²: .* not equivariant .* only the 3\/9 slices/);
    expect(hiddenErrorText(s, String)).toBe('0 (only 3/9 slices; ν outside V)');
    expect(s.larger_r).toBeNull();
  });

  it('no slice constrained: no hidden figure at all', () => {
    const s = explainEquivariance({ flow: 'translate:3,0', per_step: [step(null, 0.5, 0, 9)], lifted: true, nu_in_v: false, v_range: 1 });
    expect(s.max_hidden_rel_err).toBeNull();
    expect(s.cause).toBe('no-slice');
    expect(hiddenErrorText(s, String)).toBe('— (no slice constrained)');
  });

  it('an unlifted G-RNN: the whole state compared, nothing to blame on V', () => {
    const s = explainEquivariance({ flow: 'translate:1,0', per_step: [step(0.3, 0.5, 1, 1)], lifted: false, nu_in_v: null, v_range: 0 });
    expect(s.constrained_text).toBe('whole state compared');
    expect(s.cause).toBeNull();
    expect(hiddenErrorText(s, String)).toBe('0.3');
  });
});

describe('the probe reports the facts the explanation needs', () => {
  beforeAll(useCpu);
  const models: Seq2SeqModel[] = [];
  afterAll(() => models.forEach(disposeModel));
  const fernn = (vRange: number) => {
    const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange, hidden: 4 }), { decoderLayers: 1 }), 3);
    models.push(m);
    return m;
  };
  async function probe(m: Seq2SeqModel, flow: TranslationFlow | RotationFlow, size = 12): Promise<EquivarianceReport> {
    const x = tf.randomUniform([2, 5, size, size, m.config.cell.inChannels], 0, 1, 'float32', 5) as tf.Tensor5D;
    try {
      return await probeEquivariance(m, x, flow);
    } finally {
      x.dispose();
    }
  }

  it('FERNN-V1 under translate:1,0: nu in V, 6/9 slices, the output error explained by the truncated V; at r = 2 it is smaller', async () => {
    const r1 = await probe(fernn(1), new TranslationFlow({ vx: 1, vy: 0 }));
    expect(r1.lifted).toBe(true);
    expect(r1.nu_in_v).toBe(true);
    expect(r1.v_range).toBe(1);
    expect(r1.summary?.constrained_text).toBe('6/9 slices constrained');
    expect(r1.summary?.cause).toBe('truncated-v');
    expect(r1.summary?.larger_r).toBe(2);
    expect(r1.note).toMatch(/truncated velocity axis/);
    const r2 = await probe(fernn(2), new TranslationFlow({ vx: 1, vy: 0 }));
    expect(r2.summary?.constrained_text).toBe('20/25 slices constrained');
    expect(r2.summary!.max_output_rel_err).toBeLessThan(r1.summary!.max_output_rel_err);
  });

  it('FERNN-V1 under translate:2,0: nu outside V, 3/9 slices', async () => {
    const r = await probe(fernn(1), new TranslationFlow({ vx: 2, vy: 0 }));
    expect(r.nu_in_v).toBe(false);
    expect(r.summary?.cause).toBe('flow-outside-v');
    expect(r.summary?.constrained_text).toBe('3/9 slices constrained');
  });

  it('a rotation FERNN: nu in Omega or not, from its omegas', async () => {
    const m = createSeq2Seq(
      makeSeq2SeqConfig(cellConfigFromSpec({ kind: 'fernn-rot', vRange: 1, hidden: 1, group: 4, omegaStep: 90 }), { decoderLayers: 1 }),
      3,
    );
    models.push(m);
    const inside = await probe(m, new RotationFlow(90), 8);
    expect(inside.nu_in_v).toBe(true);
    expect(inside.v_range).toBe(1);
    const outside = await probe(m, new RotationFlow(180), 8);
    expect(outside.nu_in_v).toBe(false);
  });

  it('a G-RNN: not lifted, nu_in_v null', async () => {
    const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 4 }), { decoderLayers: 1 }), 3);
    models.push(m);
    const r = await probe(m, new TranslationFlow({ vx: 1, vy: 0 }));
    expect(r.lifted).toBe(false);
    expect(r.nu_in_v).toBeNull();
    expect(r.summary?.constrained_text).toBe('whole state compared');
  });
});
