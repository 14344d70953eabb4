import * as tf from '@tensorflow/tfjs-core';
import { circularPad } from './circular';
import { customOp } from './gradient';
import { gpuActGrad, gpuCircConv, gpuCircConvFilterGrad, gpuCircConvInputGrad, gpuKernelsActive } from './gpuKernels';

/**
 * Backends whose stock convolution gradients are fast. The wasm backend has no Conv2DBackpropFilter (training
 * would throw) and a slow Conv2DBackpropInput; the cpu backend's filter gradient is about 60x slower than its
 * forward conv (docs/compute.md). Elsewhere we compute both gradients with forward convolutions, which
 * every backend has and runs fast (XNNPACK on wasm): measured on wasm (B*V=144, 16x16, C=16) conv fwd+bwd went from
 * 600 ms to under 100 ms.
 */
const NATIVE_CONV_GRAD = new Set(['tensorflow', 'webgpu', 'webgl']);

/** Which gradient path the convolutions use on a backend. */
export function filterGradPath(backend: string = tf.getBackend()): 'native' | 'matmul' {
  return NATIVE_CONV_GRAD.has(backend) ? 'native' : 'matmul';
}

/**
 * Filter gradient of a stride-1 'valid' convolution, as one forward convolution: input channels play the batch,
 * the batch plays the input channels, and dy is the (H x W) kernel.
 *   dW[ky, kx, ci, co] = sum_{n,i,j} x[n, i+ky, j+kx, ci] * dy[n, i, j, co]
 * @param x [N, H+kh-1, W+kw-1, Cin] (the padded input)
 * @param dy [N, H, W, Cout]
 * @returns [kh, kw, Cin, Cout]; caller disposes.
 */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return convFilterGrads([x], dy)[0];
}

/**
 * `convFilterGrad` of several inputs against one dy (convolutions that are summed, as conv_u(u) + conv_h(h)): dy
 * is transposed and packed as a kernel once, and inputs of one padded size share one convolution, their channels
 * stacked along its batch.
 * @param xs each [N, Hp, Wp, Cin_i] (padded inputs)
 * @param dy [N, H, W, Cout]
 * @returns each [Hp-H+1, Wp-W+1, Cin_i, Cout]; caller disposes.
 */
export function convFilterGrads(xs: tf.Tensor4D[], dy: tf.Tensor4D): tf.Tensor4D[] {
  return tf.tidy(() => {
    const dt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, N, Cout]
    const out: tf.Tensor4D[] = new Array<tf.Tensor4D>(xs.length);
    const done = new Set<number>();
    xs.forEach((x, i) => {
      if (done.has(i)) return;
      const group = xs.map((_, j) => j).filter((j) => !done.has(j) && xs[j].shape[1] === x.shape[1] && xs[j].shape[2] === x.shape[2]);
      group.forEach((j) => done.add(j));
      const ts = group.map((j) => tf.transpose(xs[j], [3, 1, 2, 0])); // [Cin_j, Hp, Wp, N]
      const g = tf.conv2d((ts.length === 1 ? ts[0] : tf.concat(ts, 0)) as tf.Tensor4D, dt, 1, 'valid'); // [sum Cin, kh, kw, Cout]
      const parts =
        group.length === 1
          ? [g]
          : tf.split(
              g,
              group.map((j) => xs[j].shape[3]),
              0,
            );
      group.forEach((j, k) => (out[j] = tf.transpose(parts[k], [1, 2, 0, 3]) as tf.Tensor4D)); // [kh, kw, Cin, Cout]
    });
    return out;
  });
}

/**
 * Filter gradients of stride-1 'valid' convolutions against one dy, on the backend's best path: the backend's own
 * kernel where it is fast ('native'), else `convFilterGrads`.
 * @param xs each [N, H+kh-1, W+kw-1, Cin_i] (padded inputs)
 * @param dy [N, H, W, Cout]
 * @returns each [kh, kw, Cin_i, Cout]; caller disposes.
 */
export function filterGrads(xs: tf.Tensor4D[], dy: tf.Tensor4D, path: 'native' | 'matmul' = filterGradPath()): tf.Tensor4D[] {
  if (path === 'matmul') return convFilterGrads(xs, dy);
  return xs.map((x) => {
    const filterShape = [x.shape[1] - dy.shape[1] + 1, x.shape[2] - dy.shape[2] + 1, x.shape[3], dy.shape[3]];
    const attrs = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
    return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}

/** The kernel of the adjoint correlation: spatially flipped, in/out channels swapped. [k,k,Ci,Co] -> [k,k,Co,Ci]. */
function adjointKernel(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
}

/**
 * Input gradient of `circularConv2d`: again a circular correlation, of dy with the adjoint kernel (one forward conv).
 * @param dy [N, H, W, Cout]
 * @param w [k, k, Cin, Cout], k odd
 * @returns [N, H, W, Cin]; caller disposes.
 */
export function circularConvInputGrad(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.conv2d(circularPad(dy, (w.shape[0] - 1) / 2), adjointKernel(w), 1, 'valid'));
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
      const [kh, kw] = ws.shape;
      // dx is the 'full' correlation of dy with the adjoint kernel.
      const dx = tf.conv2d(
        tf.pad(g, [
          [0, 0],
          [kh - 1, kh - 1],
          [kw - 1, kw - 1],
          [0, 0],
        ]),
        adjointKernel(ws),
        1,
        'valid',
      );
      return [dx, convFilterGrad(xs, g)];
    },
  }));
  return op(x, w);
}

/**
 * Stride-1 'valid' convolution of data that needs no gradient (input frames: data, teacher-forced targets or
 * detached predictions): only the filter gradient is computed, saving a convolution per step in the backward pass.
 * @param x [N, H+k-1, W+k-1, Cin] (padded)
 * @param w [k, k, Cin, Cout]
 * @returns [N, H, W, Cout]; caller disposes.
 */
export function dataConv2dValid(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  if (filterGradPath() === 'native') return tf.conv2d(x, w, 1, 'valid');
  const op = customOp<tf.Tensor4D>(([xi, wi]) => ({
    value: tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 1, 'valid'),
    save: [xi],
    grad: (dy, saved) => [tf.zerosLike(saved[0]), convFilterGrad(saved[0] as tf.Tensor4D, dy as tf.Tensor4D)],
  }));
  return op(x, w);
}

/**
 * 'same'-size convolution on the torus (torch Conv2d with padding_mode='circular', padding=k//2, no bias), then
 * the activation. Its input gradient is again a circular correlation (with the adjoint kernel), so no padding is
 * differentiated. On webgpu one fused kernel each way (nn/gpuKernels).
 * @param x [N, H, W, Cin]
 * @param w [k, k, Cin, Cout], k odd
 * @returns [N, H, W, Cout]; caller disposes.
 */
export function circularConv2d(x: tf.Tensor4D, w: tf.Tensor4D, act: 'none' | 'relu' = 'none'): tf.Tensor4D {
  const k = w.shape[0];
  if (k % 2 !== 1 || w.shape[1] !== k) throw new Error(`circular conv needs an odd square kernel, got ${w.shape[0]}x${w.shape[1]}`);
  if (gpuKernelsActive()) return gpuCircularConv2d(x, w, act);
  if (act === 'relu') return tf.tidy(() => tf.relu(circularConv2d(x, w)));
  const p = (k - 1) / 2;
  if (filterGradPath() === 'native') return tf.tidy(() => tf.conv2d(circularPad(x, p), w, 1, 'valid'));
  const op = customOp<tf.Tensor4D>(([xi, wi]) => {
    const xp = circularPad(xi as tf.Tensor4D, p);
    return {
      value: tf.conv2d(xp, wi as tf.Tensor4D, 1, 'valid'),
      save: [xp, wi],
      grad: (dy, saved) => {
        const [xps, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [circularConvInputGrad(dy as tf.Tensor4D, ws), convFilterGrad(xps, dy as tf.Tensor4D)];
      },
    };
  });
  return op(x, w);
}

function gpuCircularConv2d(x: tf.Tensor4D, w: tf.Tensor4D, act: 'none' | 'relu'): tf.Tensor4D {
  const op = customOp<tf.Tensor4D>(([xi, wi]) => {
    const value = gpuCircConv([{ x: xi as tf.Tensor4D, w: wi as tf.Tensor4D }], x.shape[0], act);
    return {
      value,
      save: [xi, wi, value],
      grad: (dy, [xs, ws, out]) => {
        const dz = gpuActGrad(dy, out, act) as tf.Tensor4D;
        return [gpuCircConvInputGrad(dz, ws as tf.Tensor4D), gpuCircConvFilterGrad({ x: xs as tf.Tensor4D }, dz, w.shape[0])];
      },
    };
  });
  return op(x, w);
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
      const dyPad = tf.pad(d, [
        [0, 0],
        [kh - 1, kh - 1],
        [kw - 1, kw - 1],
        [0, 0],
      ]);
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
