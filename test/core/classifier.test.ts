import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { relErr, TOL } from '../helpers/close';
import { ourConfig, readKthCounts, torchName, torchToOursPerm } from '../helpers/kthReference';
import { barClips } from '../helpers/syntheticClips';
import {
  classifierConfigSchema,
  makeCellConfig,
  makeClassifierConfig,
  makeCnn3dConfig,
  makeEncoderConfig,
  modelConfigSchema,
  recurrentClassifierConfigSchema,
  type ClassifierConfig,
} from '../../src/core/nn/config';
import {
  classifierBufferNames,
  classifierForward,
  classifierModelSpec,
  classifierParamCount,
  classify,
  createClassifier,
  disposeClassifier,
  lastHidden,
  trainableParams,
  type ClassifierModel,
} from '../../src/core/nn/classifier';
import { disposeModel } from '../../src/core/nn/seq2seq';
import { roll } from '../../src/core/nn/circular';
import { VelocitySet, type Velocity2 } from '../../src/core/flows/velocity';
import { classifyTrainStep } from '../../src/core/train/classifyStep';

beforeAll(useCpu);

describe('sequence classifier head (pool over V, global average pool, linear)', () => {
  it('has the cell parameters plus a linear layer, for any V', () => {
    for (const [kind, vRange] of [
      ['grnn', 0],
      ['fernn', 1],
      ['fernn', 2],
    ] as const) {
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

// ---- issue 6: the input encoder, G-RNN+, parameter counts, flow invariance ----------------------------------------

/** max |t|, read back; temporaries disposed. */
async function maxAbs(t: tf.Tensor): Promise<number> {
  const m = tf.tidy(() => tf.max(tf.abs(t)));
  try {
    return (await m.data())[0];
  } finally {
    m.dispose();
  }
}

async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

/** Closed-form parameter count of a recurrent classifier (written out here, independently of the spec code). */
function recurrentCountFormula(o: {
  kind: 'fernn' | 'grnn' | 'grnn-plus';
  nv: number;
  r: number;
  hidden: number;
  classes: number;
  encoder?: { channels: number[]; kernels: number[]; batchNorm: boolean };
}): number {
  const c = o.hidden;
  const shift = o.kind === 'grnn-plus' ? (2 * o.r + 1) ** 2 * o.nv * c : 0;
  const head = c * o.classes + o.classes;
  if (!o.encoder) return 9 * 1 * c + 9 * c * c + shift + head;
  const widths = [1, ...o.encoder.channels, c];
  let enc = 0;
  for (let i = 0; i + 1 < widths.length; i++) enc += o.encoder.kernels[i] ** 2 * widths[i] * widths[i + 1] + (o.encoder.batchNorm ? 2 * widths[i + 1] : 0);
  return enc + 9 * c * c + shift + head;
}

describe('recurrent classifier parameters', () => {
  const kinds = [
    ['fernn', 1],
    ['fernn', 2],
    ['grnn', 0],
    ['grnn-plus', 1],
  ] as const;
  const encoders = [undefined, { channels: [32, 64], kernels: [5, 3, 3], batchNorm: true }, { channels: [3], kernels: [3, 1], batchNorm: false }];
  it.each(kinds)('%s (r = %i) counts as the formula, with and without an encoder', (kind, r) => {
    for (const hidden of [4, 8, 16]) {
      for (const encoder of encoders) {
        const config = makeClassifierConfig(makeCellConfig({ kind, vRange: r, hidden }), 6, { encoder: encoder ?? null });
        expect(classifierParamCount(config)).toBe(recurrentCountFormula({ kind, nv: (2 * r + 1) ** 2, r, hidden, classes: 6, encoder }));
      }
    }
  });

  it("matches the reference KTH models' parameters (names, shapes, count); G-RNN+ has a kernel per channel", () => {
    const fixture = readKthCounts();
    const recurrent = fixture.models.filter((m) => m.model !== '3dcnn');
    expect(recurrent.length).toBe(7);
    for (const ref of recurrent) {
      const c = ourConfig(ref, fixture.num_classes);
      const spec = classifierModelSpec(c);
      const params: Record<string, number[]> = {};
      for (const [n, { shape }] of [...Object.entries(spec.drawn), ...Object.entries(spec.constant)]) params[torchName(c, n)] = shape;
      expect(Object.keys(params).sort()).toEqual(Object.keys(ref.params).sort());
      // The reference's FERNN also registers its one-hot shift kernels as a buffer; ours are built in.
      const refBuffers = Object.keys(ref.buffers).filter((n) => n !== 'lstm.shift_kernels');
      expect(
        Object.keys(spec.buffers)
          .map((n) => torchName(c, n))
          .sort(),
      ).toEqual(refBuffers.sort());
      for (const [n, shape] of Object.entries(ref.params)) {
        if (n === 'lstm.learned_kernels') continue;
        expect(params[n], n).toEqual(torchToOursPerm(shape.length).map((i) => shape[i]));
      }
      if (ref.model === 'grnn_plus') {
        // The reference learns one kernel per velocity, shared by the C hidden channels ([V, 1, k, k]); our cell
        // (cell.ts) one per velocity and channel ([k, k, V*C, 1]): (C-1) V k^2 more parameters.
        const [nv, , k] = ref.params['lstm.learned_kernels'];
        expect(params['lstm.learned_kernels']).toEqual([k, k, nv * ref.hidden!, 1]);
        expect(classifierParamCount(c)).toBe(ref.n_params + (ref.hidden! - 1) * nv * k * k);
      } else {
        expect(classifierParamCount(c)).toBe(ref.n_params);
      }
    }
  });

  it('parses configs written before the encoder existed, as the same model (frames through conv_u)', () => {
    const old = { arch: 'classifier', cell: makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 8 }), pool: 'max', numClasses: 6 };
    for (const parsed of [classifierConfigSchema.parse(old), modelConfigSchema.parse(old)]) {
      expect(parsed).toEqual(old);
      expect(Object.keys(classifierModelSpec(parsed as ClassifierConfig).drawn).sort()).toEqual([
        'cell.conv_h.weight',
        'cell.conv_u.weight',
        'head.bias',
        'head.weight',
      ]);
    }
    expect(modelConfigSchema.parse(makeCnn3dConfig({ numClasses: 6 }))).toEqual({ arch: 'cnn3d', inChannels: 1, width: 16, numClasses: 6, temporalStride: 2 });
  });

  it('rejects bad encoder configs, naming the field', () => {
    const bad = (e: object) =>
      recurrentClassifierConfigSchema.safeParse({ ...makeClassifierConfig(makeCellConfig({ kind: 'grnn', hidden: 4 }), 2), encoder: e });
    const good = makeEncoderConfig();
    expect(good).toEqual({ channels: [32, 64], kernels: [5, 3, 3], padding: 'zeros', batchNorm: true });
    expect(bad(good).success).toBe(true);
    const wrongCount = bad({ ...good, kernels: [5, 3] });
    expect(wrongCount.error?.issues[0].path).toEqual(['encoder', 'kernels']);
    expect(bad({ ...good, kernels: [5, 4, 3] }).error?.issues[0].message).toMatch(/odd/);
    expect(bad({ ...good, padding: 'reflect' }).success).toBe(false);
  });
});

describe.each([
  ['fernn', 1, true],
  ['grnn', 0, true],
  ['grnn-plus', 1, true],
  ['grnn-plus', 1, false],
] as const)('%s (r = %i) classifier, encoder %s', (kind, vRange, withEncoder) => {
  const config = makeClassifierConfig(makeCellConfig({ kind, vRange, hidden: 4 }), 2, withEncoder ? { encoder: { channels: [4], kernels: [3, 3] } } : {});

  it('gives [B, classes] logits, passes a gradient to every parameter and to nothing else, and leaks nothing', async () => {
    const m = createClassifier(config, 3);
    const x = tf.randomUniform([2, 4, 6, 7, 1], 0, 1, 'float32', 4) as tf.Tensor5D;
    const before = tf.memory().numTensors;
    const logits = classify(m, x);
    expect(logits.shape).toEqual([2, 2]);
    logits.dispose();
    const trainable = Object.keys(trainableParams(m)).sort();
    const buffers = Object.keys(m.params)
      .filter((n) => !trainable.includes(n))
      .sort();
    expect(buffers).toEqual(classifierBufferNames(config));
    expect(buffers.length).toBe(withEncoder ? 4 : 0);
    expect(trainable.includes('cell.conv_u.weight')).toBe(!withEncoder);
    const w = tf.tensor1d([1, -0.5]);
    const { grads, value } = tf.variableGrads(
      () => {
        const r = classifierForward(m, x, 'train');
        tf.dispose(Object.values(r.updates));
        return tf.sum(tf.mul(r.logits, w)) as tf.Scalar;
      },
      trainable.map((n) => m.params[n]),
    );
    for (const n of trainable) expect(await maxAbs(grads[m.params[n].name]), n).toBeGreaterThan(0);
    tf.dispose([w, value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    disposeClassifier(m);
  });

  it('learns the bar-orientation task (moving bars) with classifyTrainStep', async () => {
    // Calibrated on the cpu backend (0.2-1.5 s/step; G-RNN+ is the slowest): with data seed 1 and init seed 1 every
    // kind fell below 0.25x its first loss within 12 steps (seeds 2, 3: all but one run too).
    const data = barClips({ batch: 8, frames: 4, size: 8, seed: 1, label: 'orientation' });
    const m = createClassifier(config, 1);
    const opt = tf.train.adam(0.03);
    const losses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = classifyTrainStep(m, opt, data.clips, data.labels);
      losses.push((await r.loss.data())[0]);
      tf.dispose([r.loss, r.gradNorm, r.accuracy]);
    }
    for (const n of classifierBufferNames(config)) {
      const init = n.endsWith('running_var') ? 1 : 0;
      expect(await maxAbs(tf.sub(m.params[n], init)), n).toBeGreaterThan(0);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(Math.min(...losses.slice(-3))).toBeLessThan(losses[0] * 0.5);
    data.clips.dispose();
    opt.dispose();
    disposeClassifier(m);
  });
});

/** The clip under a translation flow: frame t rolled by nu * t. Caller disposes. */
function flowClip(x: tf.Tensor5D, nu: Velocity2): tf.Tensor5D {
  return tf.tidy(
    () =>
      tf.stack(
        tf.unstack(x, 1).map((f, t) => roll(f as tf.Tensor4D, { dy: nu.vy * t, dx: nu.vx * t })),
        1,
      ) as tf.Tensor5D,
  );
}

/** Gives every BatchNorm non-trivial running statistics (eval mode then is a real per-channel affine map). */
function randomiseBuffers(m: ClassifierModel, seed: number): void {
  for (const n of classifierBufferNames(m.config)) {
    const v = m.params[n];
    v.assign(
      tf.tidy(() => (n.endsWith('running_var') ? tf.randomUniform(v.shape, 0.5, 2, 'float32', seed) : tf.randomNormal(v.shape, 0, 0.3, 'float32', seed))),
    );
  }
}

describe('flow invariance of the logits (eval mode)', () => {
  // On a 5x5 torus, velocities live in Z_5 x Z_5 and V2 = {-2..2}^2 is all of it: a flow by nu permutes the velocity
  // slices (no boundary truncation), so the max over V, and the logits after the spatial mean, are exactly invariant.
  // With a partial V (V1 on 8x8 below) only the slices with v - nu in V are constrained: the pooled logits are then
  // only approximately invariant (the paper's boundary truncation), the hidden state exactly equivariant.
  const encoders = [null, { channels: [3], kernels: [3, 3], padding: 'circular' as const }];
  const flows: Velocity2[] = [
    { vx: 1, vy: -2 },
    { vx: 2, vy: 2 },
    { vx: -1, vy: 0 },
  ];

  /** Clips [2, 4, 5, 5, 1]: random frames, or a still scene (a random binary image held for 4 frames), which the
   *  flow turns into the same scene moving. */
  const clips = {
    random: () => tf.randomUniform([2, 4, 5, 5, 1], 0, 1, 'float32', 7) as tf.Tensor5D,
    still: () =>
      tf.tidy(() => tf.tile(tf.cast(tf.greater(tf.randomUniform([2, 1, 5, 5, 1], 0, 1, 'float32', 8), 0.7), 'float32'), [1, 4, 1, 1, 1])) as tf.Tensor5D,
  };

  /** Relative change of the logits under each flow. */
  async function logitChange(
    kind: 'fernn' | 'grnn' | 'grnn-plus',
    vRange: number,
    encoder: (typeof encoders)[number],
    clip: keyof typeof clips,
    randomStats: boolean,
  ): Promise<number[]> {
    const m = createClassifier(makeClassifierConfig(makeCellConfig({ kind, vRange, hidden: 4 }), 3, { encoder }), 5);
    if (randomStats) randomiseBuffers(m, 6);
    m.params['head.bias'].assign(tf.zeros([3])); // compare what the clip decides, not a shared offset
    const x = clips[clip]();
    const base = classify(m, x);
    const out: number[] = [];
    for (const nu of flows) {
      const xf = flowClip(x, nu);
      const moved = classify(m, xf);
      out.push(relErr(await values(moved), await values(base)));
      tf.dispose([xf, moved]);
    }
    tf.dispose([x, base]);
    disposeClassifier(m);
    return out;
  }

  it.each(encoders)('FERNN with V = all velocities of the torus: exactly invariant (encoder %j)', async (encoder) => {
    for (const clip of ['random', 'still'] as const) for (const e of await logitChange('fernn', 2, encoder, clip, true)) expect(e).toBeLessThan(TOL.roundOff);
  });

  // At random init the change is small (0.5-4% over init seeds 1-6): the spatial mean commutes with circular
  // convolutions, so only the nonlinearity makes a G-RNN tell a still scene from the same scene moving (and random
  // BatchNorm statistics can silence the encoder altogether, so they stay at their init here). A G-RNN built with
  // the FERNN's shifts by mistake would be invariant and fail here; the hidden-state test below shows the large
  // effect.
  it.each(encoders)('G-RNN and G-RNN+ are not invariant: a still scene and the same scene moving differ (encoder %j)', async (encoder) => {
    for (const e of await logitChange('grnn', 0, encoder, 'still', false)) expect(e).toBeGreaterThan(TOL.aboveRoundOff);
    for (const e of await logitChange('grnn-plus', 2, encoder, 'still', false)) expect(e).toBeGreaterThan(TOL.aboveRoundOff);
  });

  it.each(encoders)('FERNN-V1 on 8x8: the last hidden state is exactly equivariant in every constrained slice (encoder %j)', async (encoder) => {
    const cell = makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 3 });
    const m = createClassifier(makeClassifierConfig(cell, 2, { encoder }), 8);
    randomiseBuffers(m, 9);
    const vs = VelocitySet.fromList(cell.velocities);
    const t = 4;
    const x = tf.randomUniform([2, t, 8, 8, 1], 0, 1, 'float32', 10) as tf.Tensor5D;
    const h = lastHidden(m, x);
    for (const nu of [
      { vx: 1, vy: 0 },
      { vx: -1, vy: 1 },
    ]) {
      const xf = flowClip(x, nu);
      const hf = lastHidden(m, xf);
      let compared = 0;
      for (let i = 0; i < vs.size; i++) {
        const v = vs.list[i];
        const j = vs.indexOf({ vx: v.vx - nu.vx, vy: v.vy - nu.vy });
        if (j < 0) continue;
        // h'_T[v] = roll(h_T[v - nu], nu (T-1))
        const [got, want] = tf.tidy(() => [
          tf.squeeze(tf.slice(hf, [0, i, 0, 0, 0], [2, 1, 8, 8, 3]), [1]),
          roll(tf.squeeze(tf.slice(h, [0, j, 0, 0, 0], [2, 1, 8, 8, 3]), [1]) as tf.Tensor4D, { dy: nu.vy * (t - 1), dx: nu.vx * (t - 1) }),
        ]);
        expect(relErr(await values(got), await values(want))).toBeLessThan(TOL.roundOff);
        tf.dispose([got, want]);
        compared++;
      }
      expect(compared).toBe(nu.vy === 0 ? 6 : 4);
      tf.dispose([xf, hf]);
    }
    tf.dispose([x, h]);
    disposeClassifier(m);
  });

  it.each(encoders)('G-RNN on 8x8: the last hidden state of a flowed clip is far from the rolled one (encoder %j)', async (encoder) => {
    const m = createClassifier(makeClassifierConfig(makeCellConfig({ kind: 'grnn', hidden: 3 }), 2, { encoder }), 8);
    const t = 4;
    const x = tf.randomUniform([2, t, 8, 8, 1], 0, 1, 'float32', 10) as tf.Tensor5D;
    const h = lastHidden(m, x);
    for (const nu of [
      { vx: 1, vy: 0 },
      { vx: -1, vy: 1 },
    ]) {
      const xf = flowClip(x, nu);
      const hf = lastHidden(m, xf);
      const want = tf.tidy(() => roll(tf.squeeze(h, [1]) as tf.Tensor4D, { dy: nu.vy * (t - 1), dx: nu.vx * (t - 1) }));
      const got = tf.squeeze(hf, [1]);
      expect(relErr(await values(got), await values(want))).toBeGreaterThan(TOL.visibleFailure);
      tf.dispose([xf, hf, want, got]);
    }
    tf.dispose([x, h]);
    disposeClassifier(m);
  });
});
