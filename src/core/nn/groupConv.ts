import * as tf from '@tensorflow/tfjs-core';
import { filterRotationMatrix } from '../flows/rotationGrid';
import { conv2dValid } from './conv';
import { cachedIndexMap } from './indexMap';

/**
 * Group convolutions for the rotation group C_N on the pixel grid (regular representation: N orientation channels per
 * field, channel n*F + f, orientation-major). Both layers are one ordinary convolution with a filter bank built from
 * rotated copies of a learned base filter:
 *
 * - lifting conv (trivial channels -> C_N fields): bank[n] = rot(n*360/N) W0, so output orientation n answers the
 *   pattern W0 turned by n*360/N. Then conv(rot_g u) = rho(g) conv(u) for g = m*360/N, where rho rotates the grid and
 *   shifts the orientation axis by m (out'[n] = rot_g out[n - m]).
 * - group conv (C_N fields -> C_N fields): bank[(m, g) -> (n, f)] = rot(n*360/N) W0[(m - n) mod N, g -> f], the
 *   discrete analogue of escnn's R2Conv between regular fields; the same rho on both sides.
 *
 * Filters are rotated about their centre with the grid convention of flows/rotationGrid.ts: exactly (a permutation)
 * for multiples of 90 degrees, bilinearly otherwise, so C_4 (and the quarter turns of any C_4k) is exact and other
 * angles are approximately equivariant. The bank is a fixed matrix times the flattened base filter (plus, for the
 * group conv, a fixed permutation of orientation pairs), so gradients reach the base filter through ordinary ops on
 * every backend. Convolutions are 'same' with zero padding, as the reference's R2Conv(padding=k//2): zero padding
 * commutes with rotations of a square grid, circular padding would not for non-quarter turns.
 */

const keep = new Map<string, tf.Tensor2D>();

/** [N*k^2, k^2]: the stacked matrices rotating a k x k filter by n*360/N, n = 0..N-1 (kept, created once). */
function rotationStack(k: number, n: number): tf.Tensor2D {
  const key = `${k}:${n}`;
  let t = keep.get(key);
  if (!t) {
    const kk = k * k;
    const data = new Float32Array(n * kk * kk);
    for (let r = 0; r < n; r++) data.set(filterRotationMatrix(k, (r * 360) / n), r * kk * kk);
    t = tf.keep(tf.tensor2d(data, [n * kk, kk]));
    keep.set(key, t);
  }
  return t;
}

/** Disposes the kept rotation matrices (tests; switching backends). */
export function clearGroupConvCache(): void {
  for (const t of keep.values()) t.dispose();
  keep.clear();
}

/**
 * The lifting filter bank.
 * @param w0 [k, k, Cin, F] base filter
 * @param n the group order N
 * @returns [k, k, Cin, N*F] (output channel n*F + f); caller disposes. Differentiable in w0.
 */
export function liftingFilterBank(w0: tf.Tensor4D, n: number): tf.Tensor4D {
  const [k, k2, cin, f] = w0.shape;
  if (k !== k2) throw new Error(`lifting conv needs a square filter, got ${k}x${k2}`);
  return tf.tidy(() => {
    const rotated = tf.matMul(rotationStack(k, n), tf.reshape(w0, [k * k, cin * f])); // [N*k*k, Cin*F]
    return tf.reshape(tf.transpose(tf.reshape(rotated, [n, k, k, cin, f]), [1, 2, 3, 0, 4]), [k, k, cin, n * f]) as tf.Tensor4D;
  });
}

/**
 * The group-conv filter bank.
 * @param w0 [k, k, N*Fin, Fout] base filter (input channel m*Fin + g)
 * @param n the group order N
 * @returns [k, k, N*Fin, N*Fout] (input channel m*Fin + g, output channel n*Fout + f); caller disposes.
 */
export function groupFilterBank(w0: tf.Tensor4D, n: number): tf.Tensor4D {
  const [k, k2, cin, fout] = w0.shape;
  if (k !== k2) throw new Error(`group conv needs a square filter, got ${k}x${k2}`);
  if (cin % n !== 0) throw new Error(`group conv input has ${cin} channels, not whole C_${n} fields`);
  const fin = cin / n;
  // (m, n) <- (n, (m - n) mod N): output orientation n reads the base filter's input orientation m - n.
  const pairs = cachedIndexMap(`gconv-pairs:${n}`, n * n, () => {
    const idx = new Int32Array(n * n);
    for (let m = 0; m < n; m++) for (let o = 0; o < n; o++) idx[m * n + o] = o * n + ((((m - o) % n) + n) % n);
    return idx;
  });
  return tf.tidy(() => {
    const rotated = tf.matMul(rotationStack(k, n), tf.reshape(w0, [k * k, n * fin * fout])); // [(o, kk), (m', g, f)]
    const byPair = tf.reshape(tf.transpose(tf.reshape(rotated, [n, k * k, n, fin * fout]), [1, 0, 2, 3]), [k * k, n * n, fin * fout]);
    const shifted = pairs.apply(byPair as tf.Tensor3D); // [kk, (m, o), (g, f)]
    return tf.reshape(tf.transpose(tf.reshape(shifted, [k * k, n, n, fin, fout]), [0, 1, 3, 2, 4]), [k, k, n * fin, n * fout]) as tf.Tensor4D;
  });
}

/**
 * 'same'-size convolution with zero padding (torch Conv2d(padding=k//2), no bias), differentiable on every backend.
 * @param x [B, H, W, Cin]
 * @param w [k, k, Cin, Cout], k odd
 * @returns [B, H, W, Cout]; caller disposes.
 */
export function zeroPadConv2d(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const k = w.shape[0];
  if (k % 2 !== 1 || w.shape[1] !== k) throw new Error(`same-size conv needs an odd square kernel, got ${w.shape[0]}x${w.shape[1]}`);
  const p = (k - 1) / 2;
  if (p === 0) return conv2dValid(x, w);
  return tf.tidy(() =>
    conv2dValid(
      tf.pad(x, [
        [0, 0],
        [p, p],
        [p, p],
        [0, 0],
      ]),
      w,
    ),
  );
}

/**
 * Lifting convolution: images (trivial channels) -> C_N fields.
 * @param x [B, H, W, Cin]
 * @param w0 [k, k, Cin, F]
 * @returns [B, H, W, N*F]; caller disposes.
 */
export function liftingConv(x: tf.Tensor4D, w0: tf.Tensor4D, n: number): tf.Tensor4D {
  return tf.tidy(() => zeroPadConv2d(x, liftingFilterBank(w0, n)));
}

/**
 * Group convolution: C_N fields -> C_N fields.
 * @param x [B, H, W, N*Fin]
 * @param w0 [k, k, N*Fin, Fout]
 * @returns [B, H, W, N*Fout]; caller disposes.
 */
export function groupConv(x: tf.Tensor4D, w0: tf.Tensor4D, n: number): tf.Tensor4D {
  if (x.shape[3] !== w0.shape[2]) throw new Error(`group conv: input has ${x.shape[3]} channels, the filter expects ${w0.shape[2]}`);
  return tf.tidy(() => zeroPadConv2d(x, groupFilterBank(w0, n)));
}
