import { describe, expect, it } from 'vitest';
import { estimateTrainingMemory } from '../../src/core/protocol/memory';
import { trainConfigSchema, type TrainConfigInput } from '../../src/core/protocol/run';

const cfg = (c: Partial<TrainConfigInput>) => trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 32, steps: 100, batch: 16, imageSize: 28, ...c });
const GiB = 2 ** 30;

describe('peak memory of a training step, before anything is allocated', () => {
  it('matches the measured FERNN-V1 C=32 28x28 batch-16 step on wasm (1.4 GB) within 10 %', () => {
    // The model is calibrated on this one figure (README, Backends): this guards it, it does not validate it.
    const e = estimateTrainingMemory(cfg({}), 'wasm');
    expect(e.fits).toBe(true);
    expect(e.peakBytes / 1.4e9).toBeGreaterThan(0.9);
    expect(e.peakBytes / 1.4e9).toBeLessThan(1.1);
  });

  it('grows with batch, frames and velocity slices; the G-RNN keeps one slice', () => {
    const base = estimateTrainingMemory(cfg({}), 'wasm').peakBytes;
    expect(estimateTrainingMemory(cfg({ batch: 32 }), 'wasm').peakBytes).toBeGreaterThan(1.9 * base - 1e9);
    expect(estimateTrainingMemory(cfg({ vRange: 2 }), 'wasm').peakBytes).toBeGreaterThan(2.5 * base);
    expect(estimateTrainingMemory(cfg({ model: 'grnn', vRange: 0 }), 'wasm').peakBytes).toBeLessThan(base / 4);
  });

  it('refuses the paper scale on wasm naming the 4 GiB limit and the largest batch that fits; no limit on a GPU backend', () => {
    const paper = cfg({ vRange: 2, hidden: 128, batch: 128, decoderLayers: 4 });
    const e = estimateTrainingMemory(paper, 'wasm', 739_584);
    expect(e.fits).toBe(false);
    expect(e.limitBytes).toBe(4 * GiB);
    const m = /batch (\d+) fits/.exec(e.message ?? '');
    expect(e.message).toMatch(/beyond its 4 GiB limit: batch \d+ fits .*GPU backend/);
    const batch = Number(m![1]);
    expect(estimateTrainingMemory({ ...paper, batch }, 'wasm', 739_584).fits).toBe(true);
    expect(estimateTrainingMemory({ ...paper, batch: batch + 1 }, 'wasm', 739_584).fits).toBe(false);
    expect(estimateTrainingMemory(paper, 'webgpu', 739_584)).toMatchObject({ fits: true, limitBytes: null });
  });
});
