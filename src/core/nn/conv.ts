import * as tf from '@tensorflow/tfjs-core';
import { circularPad } from './circular';
import { customOp } from './gradient';

/**
 * Backends whose stock Conv2DBackpropFilter is fast. The wasm backend has none (training would throw) and the cpu
 * backend's is about 60x slower than its forward conv (../shared/docs/compute.md), so elsewhere the filter gradient
 * is computed as k*k matrix products of shifted input windows with dy, which every backend has.
 */
const NATIVE_FILTER_GRAD = new Set(['tensorflow', 'webgpu', 'webgl']);

/** Which filter-gradient path `conv2dValid` uses on the active backend. */
export function filterGradPath(backend: string = tf.getBackend()): 'native' | 'matmul' {
  return NATIVE_FILTER_GRAD.has(backend) ? 'native' : 'matmul';
}

/**
 * Filter gradient of a stride-1 'valid' convolution as k*k matmuls.
 * @param x [N, H+k-1, W+k-1, Cin] (the already padded input)
 * @param dy [N, H, W, Cout]
 * @returns [k, k, Cin, Cout]
 */
function filterGradMatmul(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, cout] = dy.shape;
    const cin = x.shape[3];
    const dyFlat = tf.reshape(dy, [n * h * w, cout]);
    const taps: tf.Tensor2D[] = [];
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const win = tf.reshape(tf.slice(x, [0, ky, kx, 0], [n, h, w, cin]), [n * h * w, cin]);
        taps.push(tf.matMul(win, dyFlat, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, cin, cout]);
  });
}

/**
 * Stride-1 'valid' cross-correlation (what torch's Conv2d computes), differentiable on every backend.
 * @param x [N, H+k-1, W+k-1, Cin]
 * @param w [k, k, Cin, Cout]
 * @returns [N, H, W, Cout]; caller disposes.
 */
export function conv2dValid(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (filterGradPath() === 'native') return tf.conv2d(x, w, 1, 'valid');
  const op = customOp<tf.Tensor4D>(([xi, wi]) => ({
    value: tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'valid'),
    save: [xi, wi],
    grad: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = dy as tf.Tensor4D;
      const dx = tf.conv2dTranspose(g, ws, xs.shape, 1, 'valid');
      return [dx, filterGradMatmul(xs, g, ws.shape[0], ws.shape[1])];
    },
  }));
  return op(x, w);
}

/**
 * 'same'-size convolution on the torus (torch Conv2d with padding_mode='circular', padding=k//2, no bias).
 * @param x [N, H, W, Cin]
 * @param w [k, k, Cin, Cout], k odd
 * @returns [N, H, W, Cout]; caller disposes.
 */
export function circularConv2d(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const k = w.shape[0];
  if (k % 2 !== 1 || w.shape[1] !== k) throw new Error(`circular conv needs an odd square kernel, got ${w.shape[0]}x${w.shape[1]}`);
  return tf.tidy(() => conv2dValid(circularPad(x, (k - 1) / 2), w));
}

/**
 * Stride-1 'valid' depthwise cross-correlation with channel multiplier 1, differentiable on every backend (wasm has
 * no depthwise backprop kernels): dx is the depthwise correlation of zero-padded dy with the flipped filter, and
 * the filter gradient a sum over k*k shifted windows.
 * @param x [N, H+k-1, W+k-1, C]
 * @param f [k, k, C, 1]
 * @returns [N, H, W, C]; caller disposes.
 */
export function depthwiseValid(x: tf.Tensor4D, f: tf.Tensor4D): tf.Tensor4D {
  const op = customOp<tf.Tensor4D>(([xi, fi]) => ({
    value: tf.depthwiseConv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, 1, 'valid'),
    save: [xi, fi],
    grad: (dy, saved) => {
      const [xs, fs] = saved as [tf.Tensor4D, tf.Tensor4D];
      const d = dy as tf.Tensor4D;
      const [kh, kw] = fs.shape;
      const [n, h, w, c] = d.shape;
      const dyPad = tf.pad(d, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]]);
      const dx = tf.depthwiseConv2d(dyPad, tf.reverse(fs, [0, 1]) as tf.Tensor4D, 1, 'valid');
      const taps: tf.Tensor[] = [];
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) taps.push(tf.sum(tf.mul(tf.slice(xs, [0, ky, kx, 0], [n, h, w, c]), d), [0, 1, 2]));
      }
      return [dx, tf.reshape(tf.stack(taps), [kh, kw, c, 1])];
    },
  }));
  return op(x, f);
}
