import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/node/backend';
import { importReferencePth } from '../../src/node/checkpoint/pth';
import { npySequenceSource, readNpySequences } from '../../src/node/data/userNpy';
import { splitBatch } from '../../src/node/lab/data';
import { seq2seqHostStep } from '../../src/core/train/fit';
import { createAdam, ADAM_DEFAULTS } from '../../src/core/train/adam';
import { disposeModel } from '../../src/core/nn/seq2seq';
import { clearIndexMapCache } from '../../src/core/nn/indexMap';
import { maxAbsDiff } from '../helpers/close';

/**
 * Training parity with PyTorch: the fixture (scripts/make_training_parity_fixture.py, torch 1.13) trains the
 * reference's model from NAME.init.pth on NAME.data.npy, batches in file order, with Adam (torch defaults) and
 * global-norm clipping, and records each step's loss, each step's gradient norm before clipping and the final weights.
 * Here the same run goes through the code a run uses: the .pth importer, the user-data reader and its file-order
 * source, splitBatch, seq2seqHostStep (forward, MSE, gradients, clip) and createAdam.
 */
const DIR = 'test/fixtures/training-parity';

interface RunMeta {
  name: string;
  v_range: number;
  teacher_forcing: number;
  t_in: number;
  batch: number;
  steps: number;
  lr: number;
  clip: number;
  adam: { betas: [number, number]; eps: number };
  losses: number[];
  grad_norms: number[];
}

const RUNS = ['fernn_v1.tf0', 'fernn_v1.tf1', 'grnn.tf0', 'grnn.tf1'] as const;
const meta = (run: string): RunMeta => JSON.parse(readFileSync(join(DIR, `${run}.json`), 'utf8')) as RunMeta;

/**
 * Tolerances, for float32 on both sides with different summation orders (torch's mkldnn convs vs tfjs's kernels,
 * XNNPACK on wasm, WGSL on webgpu). Measured on cpu (torch 1.13 vs tfjs): step 1 agrees to 2e-7 relative (loss and
 * gradient norm); from there the runs drift apart, because Adam's step g / sqrt(v) hands round-off in small gradient
 * components a full lr-sized step: by step 8 losses differ by up to 9e-5 relative, gradient norms by up to 7e-4
 * (a step whose norm is 0.03 after one of 0.5), final weights by up to 1e-5 while they moved by 0.07.
 * - STEP1_REL = 1e-5 (50x the measured): step 1 is one forward/backward of identical weights and data, so any wrong
 *   gradient shows here before Adam can blur it.
 * - LOSS_REL = 1e-3, NORM_REL = 1e-2 over all steps (10x the measured drift).
 * - WEIGHT_ABS = 1e-4 on the final weights (10x the measured; 1/700 of how far they moved).
 * The 'can fail' block below checks that a wrong gradient, a missing clip and Adam's bias correction one step off
 * each fail these (and by how much).
 */
const STEP1_REL = 1e-5;
const LOSS_REL = 1e-3;
const NORM_REL = 1e-2;
const WEIGHT_ABS = 1e-4;

/** The criteria a run here fails against the fixture (empty: parity). */
function failures(got: Trained, s: RunMeta): string[] {
  const out: string[] = [];
  const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
  if (rel(got.losses[0], s.losses[0]) > STEP1_REL) out.push('step-1 loss');
  if (rel(got.norms[0], s.grad_norms[0]) > STEP1_REL) out.push('step-1 gradient norm');
  if (relDiffs(got.losses, s.losses) > LOSS_REL) out.push('losses');
  if (relDiffs(got.norms, s.grad_norms) > NORM_REL) out.push('gradient norms');
  if (got.weightErr > WEIGHT_ABS) out.push('final weights');
  return out;
}

type Tweak = { clip?: number; gradError?: { param: string; size: number }; accBetaPower?: number };

interface Trained {
  losses: number[];
  norms: number[];
  /** Largest |ours - torch| over every final weight. */
  weightErr: number;
  /** Largest |torch final - init|: how far the weights moved. */
  moved: number;
}

/** Trains the fixture's run here (optionally broken by `tweak`) and compares its final weights with torch's. */
async function trainHere(run: string, tweak: Tweak = {}): Promise<Trained> {
  const s = meta(run);
  const model = await importReferencePth(join(DIR, `${s.name}.init.pth`), { vRange: s.v_range });
  const data = await readNpySequences(join(DIR, `${s.name}.data.npy`));
  const source = npySequenceSource(
    data,
    Array.from({ length: data.shape[0] }, (_, i) => i),
    'file',
    0,
  );
  const opt = createAdam(s.lr);
  expect([ADAM_DEFAULTS.beta1, ADAM_DEFAULTS.beta2, ADAM_DEFAULTS.epsilon]).toEqual([...s.adam.betas, s.adam.eps]);
  const acc = opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
  if (tweak.accBetaPower !== undefined) {
    acc.accBeta1.assign(tf.scalar(ADAM_DEFAULTS.beta1 ** tweak.accBetaPower));
    acc.accBeta2.assign(tf.scalar(ADAM_DEFAULTS.beta2 ** tweak.accBetaPower));
  }
  if (tweak.gradError) {
    // g + size * reverse(g): an error of relative size `size` that is not a multiple of g (Adam cancels a constant
    // factor per tensor), as a kernel flipped or transposed in a backward pass would give.
    const { param, size } = tweak.gradError;
    const target = model.params[param].name;
    const apply = opt.applyGradients.bind(opt);
    opt.applyGradients = (grads) => {
      const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
      apply(list.map((g) => (g.name === target ? { name: g.name, tensor: tf.add(g.tensor, tf.mul(tf.reverse(g.tensor), size)) } : g)));
    };
  }
  const losses: number[] = [];
  const norms: number[] = [];
  for (let step = 1; step <= s.steps; step++) {
    const batch = splitBatch(source.batch(step - 1, s.batch), s.t_in);
    const r = await seq2seqHostStep(model, opt, batch, step, { clipNorm: tweak.clip ?? s.clip, teacherForcing: s.teacher_forcing, seed: 1 });
    losses.push(r.loss);
    norms.push(r.gradNorm);
  }
  const want = await importReferencePth(join(DIR, `${run}.final.pth`), { vRange: s.v_range });
  const init = await importReferencePth(join(DIR, `${s.name}.init.pth`), { vRange: s.v_range });
  let weightErr = 0;
  let moved = 0;
  for (const [k, v] of Object.entries(want.params)) {
    const w = await v.data();
    weightErr = Math.max(weightErr, maxAbsDiff(await model.params[k].data(), w));
    moved = Math.max(moved, maxAbsDiff(await init.params[k].data(), w));
  }
  [model, want, init].forEach(disposeModel);
  opt.dispose();
  return { losses, norms, weightErr, moved };
}

const relDiffs = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));

/** WebGPU where Dawn finds an adapter (CI: lavapipe), as test/node/backendTraining.test.ts. */
const webgpu = await selectBackend('webgpu').then(
  () => true,
  () => false,
);
await tf.setBackend('cpu');
const requireWebgpu = process.env.FERNN_REQUIRE_WEBGPU === '1';

afterAll(async () => {
  clearIndexMapCache();
  await tf.setBackend('cpu');
});

for (const backend of ['wasm', 'cpu', 'webgpu'] as const) {
  describe.skipIf(backend === 'webgpu' && !webgpu && !requireWebgpu)(`training parity with PyTorch on ${backend}`, () => {
    it.each(RUNS)('%s: per-step losses, gradient norms and final weights match', async (run) => {
      clearIndexMapCache();
      await selectBackend(backend);
      const s = meta(run);
      const got = await trainHere(run);
      expect(failures(got, s)).toEqual([]);
      // The comparison means something only if the weights moved far beyond the tolerance.
      expect(got.moved).toBeGreaterThan(100 * WEIGHT_ABS);
    });
  });
}

describe('the training-parity check can fail (cpu)', () => {
  it('the fixture clips: its gradient norms straddle the clip, so clipping changes Adam steps', () => {
    for (const run of RUNS) {
      const s = meta(run);
      expect(Math.max(...s.grad_norms)).toBeGreaterThan(s.clip);
      expect(Math.min(...s.grad_norms)).toBeLessThan(s.clip);
    }
  });

  it.each(RUNS)('%s: a gradient off by 1 percent in one tensor fails the final weights', async (run) => {
    await selectBackend('cpu');
    const got = await trainHere(run, { gradError: { param: 'cell.conv_h.weight', size: 0.01 } });
    expect(failures(got, meta(run))).toContain('final weights');
  });

  it.each(RUNS)('%s: without the clip, the losses and the final weights fail', async (run) => {
    await selectBackend('cpu');
    const got = await trainHere(run, { clip: 0 });
    expect(failures(got, meta(run))).toEqual(expect.arrayContaining(['losses', 'final weights']));
  });

  it.each(RUNS)("%s: Adam's bias correction one step off fails the losses and the final weights", async (run) => {
    await selectBackend('cpu');
    const got = await trainHere(run, { accBetaPower: 2 });
    expect(failures(got, meta(run))).toEqual(expect.arrayContaining(['losses', 'final weights']));
  });
});
