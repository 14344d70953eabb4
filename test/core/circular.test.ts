import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { maxAbsDiff, TOL } from '../helpers/close';
import { circularPad, roll, rollPad } from '../../src/core/nn/circular';
import { conv2dValid, depthwiseValid, filterGradPath, filterGrads } from '../../src/core/nn/conv';

beforeAll(useCpu);

/** torch.roll reference: out[i, j] = x[(i - dy) mod H, (j - dx) mod W] on a [H, W] grid. */
function rollRef(x: number[][], dy: number, dx: number): number[][] {
  const h = x.length;
  const w = x[0].length;
  const m = (a: number, n: number) => ((a % n) + n) % n;
  return x.map((row, i) => row.map((_, j) => x[m(i - dy, h)][m(j - dx, w)]));
}

describe('roll and circular padding', () => {
  it('roll follows torch.roll semantics, for shifts larger than the grid too', () => {
    const h = 5;
    const w = 7;
    const grid = Array.from({ length: h }, (_, i) => Array.from({ length: w }, (_, j) => i * 10 + j));
    for (const [dy, dx] of [
      [1, 0],
      [0, 1],
      [-2, 3],
      [6, -9],
    ]) {
      const out = roll(tf.tensor4d(grid.flat(), [1, h, w, 1]), { dy, dx });
      expect(Array.from(out.dataSync())).toEqual(rollRef(grid, dy, dx).flat());
      out.dispose();
    }
  });

  it('circular pad wraps rows and columns, corners included', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 2, 3, 1]);
    const p = circularPad(x, 1);
    expect(p.shape).toEqual([1, 4, 5, 1]);
    expect(Array.from(p.dataSync())).toEqual([6, 4, 5, 6, 4, 3, 1, 2, 3, 1, 6, 4, 5, 6, 4, 3, 1, 2, 3, 1]);
  });

  it('rollPad gradient is the exact adjoint of the map (<Ax, y> = <x, A^T y>)', () => {
    const x = tf.randomNormal([2, 3, 4, 5, 2], 0, 1, 'float32', 1) as tf.Tensor5D;
    const shifts = [
      { dy: 1, dx: -1 },
      { dy: 0, dx: 2 },
      { dy: -3, dx: 0 },
    ];
    const y = tf.randomNormal([6, 6, 7, 2], 0, 1, 'float32', 2);
    const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(rollPad(xi as tf.Tensor5D, shifts, 1), y)))(x);
    const lhs = tf.sum(tf.mul(rollPad(x, shifts, 1), y)).dataSync()[0];
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0];
    expect(Math.abs(lhs - rhs) / Math.abs(lhs)).toBeLessThan(TOL.roundOff);
  });
});

describe('convolutions with their own gradients', () => {
  it('uses the matmul filter gradient on cpu and wasm, native on webgpu/tensorflow', () => {
    expect(filterGradPath('cpu')).toBe('matmul');
    expect(filterGradPath('wasm')).toBe('matmul');
    expect(filterGradPath('webgpu')).toBe('native');
    expect(filterGradPath('tensorflow')).toBe('native');
  });

  it('conv2dValid value and gradients equal the stock conv2d', () => {
    const x = tf.randomNormal([3, 7, 6, 4], 0, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 4, 5], 0, 1, 'float32', 4) as tf.Tensor4D;
    const dy = tf.randomNormal([3, 5, 4, 5], 0, 1, 'float32', 5);
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dValid(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, w]);
    const stock = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'), dy)))([x, w]);
    expect(maxAbsDiff(conv2dValid(x, w).dataSync(), tf.conv2d(x, w, 1, 'valid').dataSync())).toBeLessThan(TOL.roundOff);
    expect(maxAbsDiff(ours[0].dataSync(), stock[0].dataSync())).toBeLessThan(TOL.parity);
    expect(maxAbsDiff(ours[1].dataSync(), stock[1].dataSync())).toBeLessThan(TOL.parity);
  });

  it('filter gradients of several inputs against one dy: the shared convolution equals the backend kernel', () => {
    const dy = tf.randomNormal([3, 5, 4, 6], 0, 1, 'float32', 11) as tf.Tensor4D;
    const xs = [
      tf.randomNormal([3, 7, 6, 1], 0, 1, 'float32', 12),
      tf.randomNormal([3, 7, 6, 4], 0, 1, 'float32', 13),
      tf.randomNormal([3, 9, 8, 2], 0, 1, 'float32', 14),
    ] as tf.Tensor4D[];
    const shared = filterGrads(xs, dy, 'matmul');
    const native = filterGrads(xs, dy, 'native');
    expect(shared.map((g) => g.shape)).toEqual([
      [3, 3, 1, 6],
      [3, 3, 4, 6],
      [5, 5, 2, 6],
    ]);
    shared.forEach((g, i) => expect(maxAbsDiff(g.dataSync(), native[i].dataSync()), `input ${i}`).toBeLessThan(TOL.parity));
  });

  it('depthwiseValid value and gradients equal the stock depthwise conv', () => {
    const x = tf.randomNormal([2, 8, 7, 6], 0, 1, 'float32', 6) as tf.Tensor4D;
    const f = tf.randomNormal([5, 5, 6, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
    const dy = tf.randomNormal([2, 4, 3, 6], 0, 1, 'float32', 8);
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(depthwiseValid(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, f]);
    const stock = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'), dy)))([x, f]);
    expect(maxAbsDiff(ours[0].dataSync(), stock[0].dataSync())).toBeLessThan(TOL.parity);
    expect(maxAbsDiff(ours[1].dataSync(), stock[1].dataSync())).toBeLessThan(TOL.parity);
  });
});
