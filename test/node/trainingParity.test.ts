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
import { DIR, RUNS, WEIGHT_ABS, failures, meta, type Trained } from '../helpers/trainingParity';

/**
 * Training parity with PyTorch: the fixture (scripts/make_training_parity_fixture.py, torch 1.13) trains the
 * reference's model from NAME.init.pth on NAME.data.npy, batches in file order, with Adam (torch defaults) and
 * global-norm clipping, and records each step's loss, each step's gradient norm before clipping and the final weights.
 * Here the same run goes through the code a run uses: the .pth importer, the user-data reader and its file-order
 * source, splitBatch, seq2seqHostStep (forward, MSE, gradients, clip) and createAdam.
 */
type Tweak = { clip?: number; gradError?: { param: string; size: number }; accBetaPower?: number };

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
