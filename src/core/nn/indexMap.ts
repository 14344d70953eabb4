import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './gradient';

/**
 * A fixed re-indexing of the middle axis of a [B, N, C] tensor: out[b, m, c] = x[b, idx[m], c].
 *
 * Roll, circular padding and per-velocity shifts of every slice of a lifted hidden state are all such maps, so one
 * gather does all of them at once. Its gradient is a scatter-add, which tfjs implements with UnsortedSegmentSum —
 * a kernel the wasm backend does not have. Because the map is known in advance we precompute the adjoint as a
 * few gathers instead: the k-th "layer" collects, for each input position, its k-th occurrence in idx (or a zero
 * row). A circular pad of width 1 needs at most 4 layers (corners), a pure roll exactly 1.
 *
 * Index tensors are created once per map and kept (tf.keep); create maps through `cachedIndexMap`.
 */
export class IndexMap {
  readonly indices: tf.Tensor1D;
  /** Adjoint gathers over [dy, 0]: position `outSize` is the zero row. */
  readonly adjoint: tf.Tensor1D[];

  constructor(
    readonly inSize: number,
    idx: Int32Array,
  ) {
    for (let m = 0; m < idx.length; m++) {
      if (idx[m] < 0 || idx[m] >= inSize) throw new Error(`index map entry ${m} = ${idx[m]} is outside 0..${inSize - 1}`);
    }
    this.outSize = idx.length;
    const occurrences: number[][] = Array.from({ length: inSize }, () => []);
    for (let m = 0; m < idx.length; m++) occurrences[idx[m]].push(m);
    const layers = Math.max(0, ...occurrences.map((o) => o.length));
    this.indices = tf.keep(tf.tensor1d(idx, 'int32'));
    this.adjoint = [];
    for (let k = 0; k < layers; k++) {
      const layer = new Int32Array(inSize);
      for (let n = 0; n < inSize; n++) layer[n] = occurrences[n][k] ?? idx.length;
      this.adjoint.push(tf.keep(tf.tensor1d(layer, 'int32')));
    }
  }

  readonly outSize: number;

  /**
   * @param x [B, N, C] with N = inSize
   * @returns [B, M, C] with M = outSize; the caller disposes it (or runs inside tidy).
   */
  apply(x: tf.Tensor3D, opts: { data?: boolean } = {}): tf.Tensor3D {
    if (x.shape[1] !== this.inSize) throw new Error(`index map expects ${this.inSize} rows, got ${x.shape[1]}`);
    const op = customOp<tf.Tensor3D>(([xi]) => ({
      value: tf.gather(xi, this.indices, 1) as tf.Tensor3D,
      grad: (dy) => {
        // Data (input frames, detached predictions) needs no gradient: skip the adjoint gathers.
        if (opts.data) return [tf.zeros(x.shape)];
        const [b, , c] = dy.shape;
        const padded = tf.concat([dy, tf.zeros([b, 1, c])], 1);
        let acc: tf.Tensor = tf.gather(padded, this.adjoint[0], 1);
        for (let k = 1; k < this.adjoint.length; k++) acc = tf.add(acc, tf.gather(padded, this.adjoint[k], 1));
        return [acc];
      },
    }));
    return op(x);
  }
}

const cache = new Map<string, IndexMap>();

/** Returns the map stored under `key`, building it with `make` the first time. */
export function cachedIndexMap(key: string, inSize: number, make: () => Int32Array): IndexMap {
  let m = cache.get(key);
  if (!m) {
    m = new IndexMap(inSize, make());
    cache.set(key, m);
  }
  return m;
}

/** Disposes every cached map (tests; switching backends). */
export function clearIndexMapCache(): void {
  for (const m of cache.values()) {
    m.indices.dispose();
    m.adjoint.forEach((t) => t.dispose());
  }
  cache.clear();
}
