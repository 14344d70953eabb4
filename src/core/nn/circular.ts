import * as tf from '@tensorflow/tfjs-core';
import { cachedIndexMap } from './indexMap';
import { mod } from '../util/math';

/** A spatial shift in (rows, columns): torch.roll(x, shifts=(dy, dx), dims=(H, W)) semantics. */
export interface Shift2 {
  readonly dy: number;
  readonly dx: number;
}

/**
 * Index map for S slices of an H x W grid: slice s is rolled by shifts[s] (roll(x)[i, j] = x[i - dy, j - dx] on the
 * torus) and then circularly padded by `pad` on every side. Input rows are s*H*W + i*W + j.
 */
function rollPadIndices(h: number, w: number, pad: number, shifts: readonly Shift2[], sharedSource = false): Int32Array {
  const hp = h + 2 * pad;
  const wp = w + 2 * pad;
  const out = new Int32Array(shifts.length * hp * wp);
  let m = 0;
  shifts.forEach((s, si) => {
    for (let a = 0; a < hp; a++) {
      const srcI = mod(a - pad - s.dy, h);
      for (let b = 0; b < wp; b++) {
        const srcJ = mod(b - pad - s.dx, w);
        out[m++] = (sharedSource ? 0 : si * h * w) + srcI * w + srcJ;
      }
    }
  });
  return out;
}

function shiftsKey(shifts: readonly Shift2[]): string {
  return shifts.map((s) => `${s.dy},${s.dx}`).join(';');
}

/**
 * Rolls every slice of x by its own shift and pads it circularly, in one gather.
 * @param x [B, S, H, W, C]
 * @param shifts S shifts, one per slice
 * @param pad circular padding on each side (0 for a pure roll)
 * @returns [B*S, H+2p, W+2p, C]; caller disposes.
 */
export function rollPad(x: tf.Tensor5D, shifts: readonly Shift2[], pad: number): tf.Tensor4D {
  const [b, s, h, w, c] = x.shape;
  if (shifts.length !== s) throw new Error(`rollPad: ${shifts.length} shifts for ${s} slices`);
  const map = cachedIndexMap(`rp:${h}x${w}p${pad}:${shiftsKey(shifts)}`, s * h * w, () => rollPadIndices(h, w, pad, shifts));
  return tf.tidy(() => tf.reshape(map.apply(tf.reshape(x, [b, s * h * w, c])), [b * s, h + 2 * pad, w + 2 * pad, c]));
}

/**
 * Circular (wrap-around) padding of an NHWC batch, as one row gather (nn/indexMap: row-copy kernels on wasm and cpu,
 * where six slices and concats cost about 10x more; tf.gather elsewhere).
 * @param x [N, H, W, C]
 * @returns [N, H+2p, W+2p, C]; caller disposes.
 */
export function circularPad(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  if (pad === 0) return tf.clone(x);
  const [n, h, w, c] = x.shape;
  return rollPad(tf.reshape(x, [n, 1, h, w, c]) as tf.Tensor5D, [{ dy: 0, dx: 0 }], pad);
}

/**
 * torch.roll over the two spatial axes: roll(x, (dy, dx))[i, j] = x[i - dy mod H, j - dx mod W].
 * @param x [N, H, W, C]
 * @returns [N, H, W, C]; caller disposes.
 */
export function roll(x: tf.Tensor4D, shift: Shift2): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return rollPad(tf.reshape(x, [n, 1, h, w, c]) as tf.Tensor5D, [shift], 0);
}

/**
 * Rolls slice s of a lifted tensor by shifts[s].
 * @param x [B, S, H, W, C]
 * @returns [B, S, H, W, C]; caller disposes.
 */
export function rollSlices(x: tf.Tensor5D, shifts: readonly Shift2[]): tf.Tensor5D {
  return tf.tidy(() => tf.reshape(rollPad(x, shifts, 0), x.shape));
}

/**
 * Copies one frame batch into S slices, slice s rolled by shifts[s] and circularly padded, in one gather. For data:
 * no gradient flows back into x.
 * @param x [B, H, W, C]
 * @returns [B*S, H+2p, W+2p, C] (batch-major: row b*S + s); caller disposes.
 */
export function rollPadToSlices(x: tf.Tensor4D, shifts: readonly Shift2[], pad: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const map = cachedIndexMap(`rs:${h}x${w}p${pad}:${shiftsKey(shifts)}`, h * w, () => rollPadIndices(h, w, pad, shifts, true));
  return tf.tidy(() => tf.reshape(map.apply(tf.reshape(x, [b, h * w, c]), { data: true }), [b * shifts.length, h + 2 * pad, w + 2 * pad, c]));
}

/** Shifts reduced modulo the grid, so that index maps are shared between equivalent shifts. */
export function wrapShifts(shifts: readonly Shift2[], h: number, w: number): Shift2[] {
  return shifts.map((s) => ({ dy: mod(s.dy, h), dx: mod(s.dx, w) }));
}
