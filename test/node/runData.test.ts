import { describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import type { FlowingMnistBatch } from '../../src/core/data/flowingMnist';
import { runData, splitBatch } from '../../src/node/lab/data';

describe('run data', () => {
  it('moves every digit with one of the listed velocities when dataVelocities is set (saved flows as data motion)', async () => {
    const config = trainConfigSchema.parse({
      model: 'fernn',
      vRange: 1,
      hidden: 4,
      steps: 1,
      imageSize: 16,
      dataVRange: 2,
      dataVelocities: [
        { vx: 1, vy: 0 },
        { vx: 0, vy: -1 },
      ],
    });
    const data = await runData(config, 5);
    for (const gen of [data.train, data.val, data.test]) {
      const b = gen.batch(0, 16) as FlowingMnistBatch;
      const pairs = new Set<string>();
      for (let i = 0; i < b.velocities.length; i += 2) pairs.add(`${b.velocities[i]},${b.velocities[i + 1]}`);
      expect([...pairs].every((p) => p === '1,0' || p === '0,-1')).toBe(true);
      expect(pairs.size).toBe(2);
    }
  });

  it('draws from -D..D otherwise, and splits batches into input and target frames', async () => {
    const config = trainConfigSchema.parse({ model: 'grnn', vRange: 0, hidden: 4, steps: 1, imageSize: 16, dataVRange: 1, inputFrames: 3, predFrames: 2 });
    const data = await runData(config, 5);
    const b = data.train.batch(0, 32) as FlowingMnistBatch;
    expect(Array.from(b.velocities).every((v) => Math.abs(v) <= 1)).toBe(true);
    const s = splitBatch(b, 3);
    expect(s.inputShape).toEqual([32, 3, 16, 16, 1]);
    expect(s.targetShape).toEqual([32, 2, 16, 16, 1]);
    const frame = 16 * 16;
    // Sequence 1's first target frame is its 4th frame.
    expect(Array.from(s.targets.subarray(2 * frame, 3 * frame))).toEqual(Array.from(b.frames.subarray((5 + 3) * frame, (5 + 4) * frame)));
  });
});
