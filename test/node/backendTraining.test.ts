import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend, webgpuKernelsFromEnv } from '../../src/node/backend';
import { TOL } from '../helpers/close';
import { makeCellConfig, makeSeq2SeqConfig, type CellKind } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { trainStep } from '../../src/core/train/step';
import { probeEquivariance } from '../../src/core/metrics/equivariance';
import { TranslationFlow } from '../../src/core/flows/translation';
import { clearIndexMapCache } from '../../src/core/nn/indexMap';
import { encodeOptimizerState } from '../../src/node/lab/trainCheckpoint';
import { decodeSafetensors } from '../../src/node/checkpoint/safetensors';

afterAll(async () => {
  clearIndexMapCache();
  await tf.setBackend('cpu');
});

async function trains(kind: CellKind): Promise<number[]> {
  const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind, vRange: kind === 'grnn' ? 0 : 1, hidden: 4 })), 3);
  const x = tf.randomUniform([2, 3, 8, 8, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
  const y = tf.randomUniform([2, 2, 8, 8, 1], 0, 1, 'float32', 2) as tf.Tensor5D;
  const opt = tf.train.adam(1e-2);
  const losses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const r = trainStep(m, opt, x, y, { clipNorm: 1 });
    losses.push((await r.loss.data())[0]);
    r.loss.dispose();
    r.gradNorm.dispose();
  }
  [x, y].forEach((t) => t.dispose());
  opt.dispose();
  disposeModel(m);
  return losses;
}

/**
 * WebGPU runs on whatever adapter Dawn finds (in CI Mesa's lavapipe, which .ci/run installs); without one its suite is
 * skipped, unless FERNN_REQUIRE_WEBGPU=1 (CI), where that fails.
 */
const webgpu = await selectBackend('webgpu').then(
  () => ({ ok: true, reason: '' }),
  (e: Error) => ({ ok: false, reason: e.message }),
);
await tf.setBackend('cpu');
const requireWebgpu = process.env.FERNN_REQUIRE_WEBGPU === '1';

// The wasm backend has no Conv2DBackpropFilter, UnsortedSegmentSum or depthwise backprop kernels: training works
// only because our ops bring their own gradients. On webgpu the FERNN ops run our fused WGSL kernels.
for (const backend of ['wasm', 'cpu', 'webgpu'] as const) {
  describe.skipIf(backend === 'webgpu' && !webgpu.ok && !requireWebgpu)(`training on ${backend}`, () => {
    it('selects the backend and reports it', async () => {
      clearIndexMapCache();
      const r = await selectBackend(backend);
      expect(r.name).toBe(backend);
      expect(tf.getBackend()).toBe(backend);
    });

    for (const kind of ['fernn', 'grnn', 'grnn-plus'] as const) {
      it(`${kind}: loss is finite and decreases`, async () => {
        const losses = await trains(kind);
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.9);
      });
    }

    it('FERNN equivariance holds to round-off on this backend', async () => {
      const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 4 })), 1);
      const x = tf.randomUniform([1, 5, 9, 7, 1], 0, 1, 'float32', 4) as tf.Tensor5D;
      const r = await probeEquivariance(m, x, new TranslationFlow({ vx: -1, vy: 1 }));
      for (const s of r.per_step) expect(s.hidden_rel_err).toBeLessThan(TOL.roundOff);
      x.dispose();
      disposeModel(m);
    });

    it('saves the optimizer state of a resume point (reads asynchronously: webgpu has no synchronous read in Node)', async () => {
      const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 4 })), 1);
      const opt = tf.train.adam(1e-2);
      const x = tf.randomUniform([1, 2, 6, 6, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
      const r = trainStep(m, opt, x, x, { clipNorm: 1 });
      [r.loss, r.gradNorm, x].forEach((t) => t.dispose());
      const saved = decodeSafetensors(await encodeOptimizerState(opt, 1));
      expect(saved.metadata.step).toBe('1');
      expect(Object.keys(saved.tensors).length).toBeGreaterThan(0);
      opt.dispose();
      disposeModel(m);
    });

    it('a G-RNN is not flow-equivariant on this backend (the probe sees it)', async () => {
      const m = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 4 })), 1);
      const x = tf.randomUniform([1, 5, 9, 7, 1], 0, 1, 'float32', 4) as tf.Tensor5D;
      const r = await probeEquivariance(m, x, new TranslationFlow({ vx: -1, vy: 1 }));
      for (const s of r.per_step.slice(1)) expect(s.hidden_rel_err).toBeGreaterThan(TOL.visibleFailure);
      x.dispose();
      disposeModel(m);
    });
  });
}

describe('FERNN_WEBGPU_KERNELS', () => {
  it('chooses fused (default) or stock kernels and rejects anything else, naming the variable', () => {
    const before = process.env.FERNN_WEBGPU_KERNELS;
    try {
      delete process.env.FERNN_WEBGPU_KERNELS;
      expect(webgpuKernelsFromEnv()).toBe('fused');
      process.env.FERNN_WEBGPU_KERNELS = 'stock';
      expect(webgpuKernelsFromEnv()).toBe('stock');
      process.env.FERNN_WEBGPU_KERNELS = 'fast';
      expect(() => webgpuKernelsFromEnv()).toThrow(/FERNN_WEBGPU_KERNELS.*'fast'/);
    } finally {
      if (before === undefined) delete process.env.FERNN_WEBGPU_KERNELS;
      else process.env.FERNN_WEBGPU_KERNELS = before;
    }
  });
});

describe('auto selection', () => {
  it('falls back past missing tensorflow (tfjs-node) and says why', async () => {
    clearIndexMapCache();
    const r = await selectBackend('auto');
    const tfNodeInstalled = r.name === 'tensorflow';
    if (!tfNodeInstalled) {
      const tfSkip = r.skipped.find((s) => s.name === 'tensorflow');
      expect(tfSkip?.reason).toMatch(/tfjs-node/);
      expect(['webgpu', 'wasm', 'cpu']).toContain(r.name);
    }
    expect(r.detail.length).toBeGreaterThan(0);
  });
});
