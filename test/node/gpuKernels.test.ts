import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/node/backend';
import { relErr, TOL } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig, type CellOptions } from '../../src/core/nn/config';
import type { ParamMap } from '../../src/core/nn/params';
import { createSeq2Seq, disposeModel, poolVelocities } from '../../src/core/nn/seq2seq';
import { advance, type RunState } from '../../src/core/nn/runner';
import { circularConv2d } from '../../src/core/nn/conv';
import { rollPad, rollSlices } from '../../src/core/nn/circular';
import { clearIndexMapCache } from '../../src/core/nn/indexMap';
import { gpuKernelMode, setGpuKernels } from '../../src/core/nn/gpuKernels';
import { trainStep } from '../../src/core/train/step';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLabService } from '../../src/node/lab/labService';

/**
 * The fused WGSL kernels (nn/gpuKernels) against the cpu backend's ops, values and gradients. WebGPU runs here on
 * whatever adapter Dawn finds: in CI, Mesa's lavapipe (software Vulkan, .ci/run installs it). Without any adapter
 * the suite is skipped, unless FERNN_REQUIRE_WEBGPU=1 (as CI sets), where that is a failure.
 */

type Case = () => tf.Tensor[];

/** Runs a case on a backend and returns its outputs as arrays (the case builds its inputs from seeds). */
async function on(backend: 'cpu' | 'webgpu', c: Case): Promise<Float32Array[]> {
  clearIndexMapCache();
  await selectBackend(backend);
  const outs = tf.tidy(c);
  const arrays = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  outs.forEach((t) => t.dispose());
  clearIndexMapCache();
  return arrays;
}

const rand = (shape: number[], seed: number, lo = -1, hi = 1) => tf.randomUniform(shape, lo, hi, 'float32', seed);

/** The value of f and its gradients against a fixed random cotangent, for every input. */
function withGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): tf.Tensor[] {
  const value = f(...xs);
  const dy = rand(value.shape, seed);
  const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(f(...ys), dy)))(xs);
  return [value, ...grads];
}

function stepCase(cellOpts: Omit<CellOptions, 'hidden'> & { kind: 'fernn' | 'grnn' }, t: number, zero: boolean): Case {
  return () => {
    const cell = makeCellConfig({ hidden: 8, ...cellOpts });
    const m = createSeq2Seq(makeSeq2SeqConfig(cell), 3);
    const nv = cellOpts.kind === 'grnn' ? 1 : (2 * (cellOpts.vRange ?? 1) + 1) ** 2;
    const g = zero ? tf.zeros([2, nv, 7, 9, 8]) : rand([2, nv, 7, 9, 8], 5, 0, 1);
    const u = rand([2, 7, 9, 1], 6, 0, 1) as tf.Tensor4D;
    const wu = m.params['cell.conv_u.weight'];
    const wh = m.params['cell.conv_h.weight'];
    const f = (gi: tf.Tensor, wui: tf.Tensor, whi: tf.Tensor) => {
      const s: RunState = { g: gi as tf.Tensor5D, t, zero };
      return advance(cell, { ...m.params, 'cell.conv_u.weight': wui, 'cell.conv_h.weight': whi } as unknown as ParamMap, s, u).g;
    };
    // From h_0 = 0 only conv_u's filter gets a gradient (the state is a constant, conv_h is not applied to it).
    const out = zero ? withGrads((wui) => f(g, wui, wh), [wu], 7) : withGrads(f, [g, wu, wh], 7);
    disposeModel(m);
    return out;
  };
}

const require = process.env.FERNN_REQUIRE_WEBGPU === '1';
let available = false;
let reason = '';

beforeAll(async () => {
  try {
    await selectBackend('webgpu');
    available = true;
  } catch (e) {
    reason = (e as Error).message;
  }
  await selectBackend('cpu');
});

afterAll(async () => {
  setGpuKernels('fused');
  clearIndexMapCache();
  await tf.setBackend('cpu');
});

describe('webgpu fused kernels', () => {
  it('a WebGPU adapter is available (required in CI)', (ctx) => {
    if (!available && !require) ctx.skip();
    expect(available, reason).toBe(true);
  });

  const cases: [string, Case][] = [
    ['FERNN step, relu, V=9, t=3', stepCase({ kind: 'fernn', vRange: 1 }, 3, false)],
    ['FERNN step from h_0 = 0', stepCase({ kind: 'fernn', vRange: 1 }, 1, true)],
    ['FERNN step, tanh, V=25, t=5 (shifts wrap the 7x9 grid)', stepCase({ kind: 'fernn', vRange: 2, activation: 'tanh' }, 5, false)],
    ['G-RNN step', stepCase({ kind: 'grnn' }, 2, false)],
    [
      'circular conv 3x3, C 8 -> 8, relu',
      () => withGrads((x, w) => circularConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 'relu'), [rand([3, 6, 5, 8], 1), rand([3, 3, 8, 8], 2)], 3),
    ],
    [
      'circular conv 3x3, C 8 -> 1 (decoder output)',
      () => withGrads((x, w) => circularConv2d(x as tf.Tensor4D, w as tf.Tensor4D), [rand([3, 6, 5, 8], 1), rand([3, 3, 8, 1], 2)], 3),
    ],
    [
      'circular conv 5x5, C 3 -> 4',
      () => withGrads((x, w) => circularConv2d(x as tf.Tensor4D, w as tf.Tensor4D), [rand([2, 6, 7, 3], 1), rand([5, 5, 3, 4], 2)], 3),
    ],
    [
      'roll + circular pad of every slice (row gather and its adjoint)',
      () =>
        withGrads(
          (x) =>
            rollPad(
              x as tf.Tensor5D,
              [
                { dy: 1, dx: -2 },
                { dy: 0, dx: 3 },
                { dy: -4, dx: 1 },
              ],
              1,
            ),
          [rand([2, 3, 5, 6, 4], 1)],
          3,
        ),
    ],
    [
      'roll of every slice',
      () =>
        withGrads(
          (x) =>
            rollSlices(x as tf.Tensor5D, [
              { dy: 2, dx: 1 },
              { dy: -1, dx: 0 },
            ]),
          [rand([2, 2, 4, 5, 3], 1)],
          3,
        ),
    ],
    ['max over velocities', () => withGrads((h) => poolVelocities(h as tf.Tensor5D, 'max'), [rand([2, 9, 4, 5, 3], 1)], 3)],
    // Rounded values tie; tied maxima share the gradient on both backends.
    ['max over velocities, with ties', () => withGrads((h) => poolVelocities(h as tf.Tensor5D, 'max'), [tf.round(rand([2, 9, 4, 5, 3], 1, -2, 2))], 3)],
  ];

  for (const [name, c] of cases) {
    it(`${name}: values and gradients equal the cpu backend's`, async (ctx) => {
      if (!available) {
        if (require) throw new Error(`no WebGPU: ${reason}`);
        ctx.skip();
      }
      expect(gpuKernelMode()).toBe('fused');
      const want = await on('cpu', c);
      const got = await on('webgpu', c);
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(relErr(g, want[i]), `output ${i}`).toBeLessThan(TOL.parity));
    });
  }

  it('a training step gives the same loss and parameters on fused webgpu, stock webgpu and cpu', async (ctx) => {
    if (!available) {
      if (require) throw new Error(`no WebGPU: ${reason}`);
      ctx.skip();
    }
    const train = async (backend: 'cpu' | 'webgpu', kernels: 'fused' | 'stock') => {
      clearIndexMapCache();
      await selectBackend(backend); // sets the kernels from FERNN_WEBGPU_KERNELS: choose after it
      setGpuKernels(kernels);
      const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 })), 9);
      const x = rand([2, 3, 8, 8, 1], 1, 0, 1) as tf.Tensor5D;
      const y = rand([2, 2, 8, 8, 1], 2, 0, 1) as tf.Tensor5D;
      const opt = tf.train.adam(1e-2);
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = trainStep(m, opt, x, y, { clipNorm: 1 });
        losses.push((await r.loss.data())[0]);
        r.loss.dispose();
        r.gradNorm.dispose();
      }
      const ran = gpuKernelMode();
      const params = await Promise.all(
        Object.keys(m.params)
          .sort()
          .map((k) => m.params[k].data() as Promise<Float32Array>),
      );
      [x, y].forEach((t) => t.dispose());
      opt.dispose();
      disposeModel(m);
      setGpuKernels('fused');
      return { losses, params, ran };
    };
    const cpu = await train('cpu', 'fused');
    const fused = await train('webgpu', 'fused');
    const stock = await train('webgpu', 'stock');
    expect([fused.ran, stock.ran]).toEqual(['fused', 'stock']);
    for (const r of [fused, stock]) {
      expect(relErr(r.losses, cpu.losses)).toBeLessThan(TOL.parity);
      r.params.forEach((p, i) => expect(relErr(p, cpu.params[i])).toBeLessThan(TOL.parity));
    }
  });

  it('a tiny run through the lab service completes on webgpu: training, checkpoints, resume point, validation, test', async (ctx) => {
    if (!available) {
      if (require) throw new Error(`no WebGPU: ${reason}`);
      ctx.skip();
    }
    // The whole job path in the training worker, where a synchronous GPU read (impossible under Node on webgpu)
    // once failed the run at its first checkpoint.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fernn-lab-webgpu-'));
    const lab = await createLabService({
      storeRoot: path.join(dir, 'runs'),
      shell: { kind: 'web' },
      workerPath: path.resolve('dist/labWorker.js'),
      flowsFile: path.join(dir, 'flows.json'),
    });
    try {
      const config = {
        model: 'fernn',
        vRange: 1,
        hidden: 2,
        dataVRange: 1,
        steps: 4,
        batch: 2,
        imageSize: 8,
        inputFrames: 2,
        predFrames: 2,
        valEvery: 2,
        valSequences: 4,
        testSequences: 4,
        backend: 'webgpu',
      } as const;
      const rec = await lab.startRun({ config });
      await lab.whenIdle(rec.id);
      const d = await lab.getRun({ id: rec.id });
      expect(d.run.status, d.run.endMessage).toBe('completed');
      expect(d.run.results?.testMse).toBeGreaterThan(0);
    } finally {
      await lab.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a co-moving step is one dispatch forward on webgpu (the stock path takes several)', async (ctx) => {
    if (!available) {
      if (require) throw new Error(`no WebGPU: ${reason}`);
      ctx.skip();
    }
    const count = async (kernels: 'fused' | 'stock') => {
      clearIndexMapCache();
      await selectBackend('webgpu');
      setGpuKernels(kernels);
      const be = tf.backend() as unknown as { runWebGPUProgram: (...a: unknown[]) => unknown };
      const cell = makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 });
      const m = createSeq2Seq(makeSeq2SeqConfig(cell), 3);
      const g = rand([1, 9, 6, 6, 4], 1);
      const u = rand([1, 6, 6, 1], 2) as tf.Tensor4D;
      const orig = be.runWebGPUProgram;
      let n = 0;
      be.runWebGPUProgram = (...a: unknown[]) => {
        n++;
        return orig.apply(be, a);
      };
      try {
        const s = advance(cell, m.params, { g: g as tf.Tensor5D, t: 2 }, u);
        await s.g.data();
        s.g.dispose();
      } finally {
        be.runWebGPUProgram = orig;
        [g, u].forEach((t) => t.dispose());
        disposeModel(m);
        setGpuKernels('fused');
      }
      return n;
    };
    expect(await count('fused')).toBe(1);
    expect(await count('stock')).toBeGreaterThan(3);
  });
});
