import * as tf from '@tensorflow/tfjs-core';
import type { Fibre } from '../flows/flow';
import { rotationTaps, type GridTaps } from '../flows/rotationGrid';
import { customOp } from './gradient';
import { SparseRowMap, sparseRowKernelActive, type SparseRowPlan } from './sparseRows';

/**
 * The GPU form of a fixed sparse linear map on the middle axis of a [B, M, C] tensor (sparseRows.ts is the wasm/cpu
 * form of the same map):
 *   out[b, m, c] = sum_t weight[t, m] * x[b, index[t, m], c]      (index -1: the term is zero)
 * The forward pass is one gather over x with a zero row appended; its gradient is precomputed as a few gathers (the
 * k-th "layer" collects, for every input row, its k-th use), without a scatter-add. Taps that fall outside the grid
 * point at the zero row and are left out of the adjoint, so the many outside taps of a rotation do not multiply the
 * number of adjoint gathers.
 */
class GatherMap {
  /** [T * M] gather indices into [x; 0] (row M is the zero row). */
  readonly indices: tf.Tensor1D;
  /** [1, T * M, 1] tap weights, or null when every tap has weight exactly 1 (quarter turns, integer shifts). */
  readonly weights: tf.Tensor3D | null;
  /** Adjoint gathers over [dy_taps; 0]: entry T*M is the zero row. */
  readonly adjoint: tf.Tensor1D[];

  constructor(
    readonly size: number,
    readonly taps: number,
    index: Int32Array,
    weight: Float32Array,
  ) {
    const total = taps * size;
    const gather = new Int32Array(total);
    const uses: number[][] = Array.from({ length: size }, () => []);
    let unit = true;
    for (let m = 0; m < total; m++) {
      const src = index[m];
      gather[m] = src < 0 ? size : src;
      if (src >= 0) uses[src].push(m);
      if (weight[m] !== (src < 0 ? 0 : 1)) unit = false;
    }
    this.indices = tf.keep(tf.tensor1d(gather, 'int32'));
    this.weights = unit ? null : tf.keep(tf.tensor3d(weight, [1, total, 1], 'float32'));
    let layers = 1;
    for (const u of uses) layers = Math.max(layers, u.length);
    this.adjoint = [];
    for (let k = 0; k < layers; k++) {
      const layer = new Int32Array(size);
      for (let n = 0; n < size; n++) layer[n] = uses[n][k] ?? total;
      this.adjoint.push(tf.keep(tf.tensor1d(layer, 'int32')));
    }
  }

  /**
   * @param x [B, M, C]
   * @returns [B, M, C]; the caller disposes it (or runs inside tidy). Differentiable in x.
   */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    const [b, m, c] = x.shape;
    if (m !== this.size) throw new Error(`sparse map expects ${this.size} rows, got ${m}`);
    const gatherTaps = customOp<tf.Tensor3D>(([xi]) => ({
      value: tf.gather(tf.concat([xi, tf.zeros([b, 1, c])], 1), this.indices, 1) as tf.Tensor3D,
      grad: (dy) => {
        const padded = tf.concat([dy, tf.zeros([b, 1, c])], 1);
        let acc: tf.Tensor = tf.gather(padded, this.adjoint[0], 1);
        for (let k = 1; k < this.adjoint.length; k++) acc = tf.add(acc, tf.gather(padded, this.adjoint[k], 1));
        return [acc];
      },
    }));
    return tf.tidy(() => {
      let g: tf.Tensor = gatherTaps(x); // [B, T*M, C]
      if (this.weights) g = tf.mul(g, this.weights);
      if (this.taps === 1) return g as tf.Tensor3D;
      return tf.sum(tf.reshape(g, [b, this.taps, m, c]), 1) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.indices.dispose();
    this.weights?.dispose();
    this.adjoint.forEach((t) => t.dispose());
  }
}

/** Angles in [0, 360), so that equivalent rotations share one map. */
function normalise(degrees: number): number {
  const a = degrees % 360;
  return a < 0 ? a + 360 : a === 0 ? 0 : a;
}

/** Orientations of a fibre: N for regular C_N fields, 1 for trivial channels. */
export function orientationsOf(fibre: Fibre): number {
  return fibre.kind === 'regular' ? fibre.orientations : 1;
}

/**
 * The taps of rotating S slices of an H x W grid with N orientation channels each: slice s by angles[s] degrees in
 * space and by angles[s] * N / 360 orientation steps (cyclic; fractional steps interpolate linearly between the two
 * nearest orientations). Middle-axis element (s, p, n) is (s*H*W + p)*N + n.
 */
function buildRotationPlan(h: number, w: number, n: number, angles: readonly number[]): SparseRowPlan {
  const hw = h * w;
  const size = angles.length * hw * n;
  const maxTaps = 8;
  const idx = new Int32Array(maxTaps * size).fill(-1);
  const wt = new Float32Array(maxTaps * size);
  const count = new Uint8Array(size);
  const spatial = new Map<number, GridTaps>();
  angles.forEach((angle, s) => {
    let grid = spatial.get(angle);
    if (!grid) {
      grid = rotationTaps(h, w, angle);
      spatial.set(angle, grid);
    }
    const shift = (angle * n) / 360;
    const r0 = Math.floor(shift + 1e-9);
    const beta = Math.abs(shift - r0) < 1e-9 ? 0 : shift - r0;
    const orient: [number, number][] =
      beta === 0
        ? [[r0, 1]]
        : [
            [r0, 1 - beta],
            [r0 + 1, beta],
          ];
    for (let p = 0; p < hw; p++) {
      for (let o = 0; o < n; o++) {
        const m = (s * hw + p) * n + o;
        for (let t = 0; t < 4; t++) {
          const q = grid.index[4 * p + t];
          if (q < 0) continue;
          for (const [r, bw] of orient) {
            const src = (s * hw + q) * n + ((((o - r) % n) + n) % n);
            idx[count[m] * size + m] = src;
            wt[count[m] * size + m] = grid.weight[4 * p + t] * bw;
            count[m]++;
          }
        }
      }
    }
  });
  let taps = 1;
  for (let m = 0; m < size; m++) taps = Math.max(taps, count[m]);
  return { inRows: size, outRows: size, taps, index: idx.slice(0, taps * size), weight: wt.slice(0, taps * size) };
}

/** How rotations are computed: 'kernel' (one JavaScript kernel over the tensor's memory: wasm and cpu, whose gathers
 *  cost ~100 ns per element) or 'gather' (GPU and native backends). */
export type RotationPath = 'kernel' | 'gather';

export function rotationPath(): RotationPath {
  return sparseRowKernelActive() ? 'kernel' : 'gather';
}

const cache = new Map<string, GatherMap | SparseRowMap>();

function rotationMap(h: number, w: number, n: number, angles: readonly number[], path: RotationPath): GatherMap | SparseRowMap {
  const norm = angles.map(normalise);
  const key = `${path}:${h}x${w}:${n}:${norm.join(',')}`;
  let m = cache.get(key);
  if (!m) {
    const p = buildRotationPlan(h, w, n, norm);
    m = path === 'kernel' ? new SparseRowMap(p) : new GatherMap(p.outRows, p.taps, p.index, p.weight);
    cache.set(key, m);
  }
  return m;
}

/** Disposes every cached rotation map (tests; switching backends). */
export function clearRotationCache(): void {
  for (const m of cache.values()) m.dispose();
  cache.clear();
}

/**
 * Rotates slice s of x by angles[s] degrees (counterclockwise as displayed, about the grid centre; bilinear, zero
 * outside; see flows/rotationGrid.ts). On regular C_N fields (channel n*F + f: orientation-major) the orientation axis
 * is also shifted cyclically by angles[s] * N / 360 steps, out[n] = in[n - shift], which makes this the action of
 * the rotation on the fields. Exact permutations for quarter turns of a square grid with integer orientation shifts.
 * Both paths compute the same map (to float32 round-off).
 * @param x [B, S, H, W, C], C a multiple of N for regular fields
 * @returns [B, S, H, W, C]; caller disposes. Differentiable in x.
 */
export function rotateSlices(x: tf.Tensor5D, angles: readonly number[], fibre: Fibre, path: RotationPath = rotationPath()): tf.Tensor5D {
  const [b, s, h, w, c] = x.shape;
  if (angles.length !== s) throw new Error(`rotateSlices: ${angles.length} angles for ${s} slices`);
  const n = orientationsOf(fibre);
  if (c % n !== 0) throw new Error(`rotateSlices: ${c} channels are not ${n} orientations of whole fields`);
  if (angles.every((a) => normalise(a) === 0)) return tf.clone(x);
  const map = rotationMap(h, w, n, angles, path);
  const rows = s * h * w * n;
  const f = c / n;
  return tf.tidy(() => {
    if (path === 'gather') return tf.reshape(map.apply(tf.reshape(x, [b, rows, f])), x.shape) as tf.Tensor5D;
    // The kernel's inner loop runs along a row: make rows long (B*F floats) with one 3D transpose each way.
    const long = tf.reshape(tf.transpose(tf.reshape(x, [b, rows, f]), [1, 0, 2]), [1, rows, b * f]) as tf.Tensor3D;
    return tf.reshape(tf.transpose(tf.reshape(map.apply(long), [rows, b, f]), [1, 0, 2]), x.shape) as tf.Tensor5D;
  });
}

/**
 * Rotates a batch of images or fields by one angle (see rotateSlices).
 * @param x [B, H, W, C]
 * @returns [B, H, W, C]; caller disposes.
 */
export function rotate(x: tf.Tensor4D, degrees: number, fibre: Fibre, path: RotationPath = rotationPath()): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => tf.reshape(rotateSlices(tf.reshape(x, [b, 1, h, w, c]), [degrees], fibre, path), x.shape) as tf.Tensor4D);
}
