import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './gradient';
import { gpuKernelsActive, gpuRowGather, gpuRowScatterAdd } from './gpuKernels';
import { registerRowPlan, rowGather, hostMemoryKernelsActive, rowRuns, rowScatterAdd, unregisterRowPlan } from './hostMemoryKernels';

/**
 * A fixed re-indexing of the middle axis of a [B, N, C] tensor: out[b, m, c] = x[b, idx[m], c].
 *
 * Roll, circular padding and per-velocity shifts of every slice of a lifted hidden state are all such maps, so one
 * gather does all of them at once. Its gradient is a scatter-add.
 * - On wasm and cpu both directions are row-copy kernels over runs of consecutive rows (nn/hostMemoryKernels): the stock
 *   GatherV2 is slow there, and wasm has no UnsortedSegmentSum.
 * - Elsewhere (GPU backends) the map is one tf.gather, and the adjoint a few gathers precomputed from the map: the
 *   k-th "layer" collects, for each input position, its k-th occurrence in idx (or a zero row). A circular pad of
 *   width 1 needs at most 4 layers (corners), a pure roll exactly 1. Those index tensors are created on first use
 *   and kept (tf.keep); create maps through `cachedIndexMap`.
 */
export class IndexMap {
  readonly outSize: number;
  private readonly idx: Int32Array;
  private readonly planId: number;
  private indexTensor: tf.Tensor1D | null = null;
  private adjointTensors: tf.Tensor1D[] | null = null;
  private adjointStack: tf.Tensor2D | null = null;

  constructor(
    readonly inSize: number,
    idx: Int32Array,
  ) {
    for (let m = 0; m < idx.length; m++) {
      if (idx[m] < 0 || idx[m] >= inSize) throw new Error(`index map entry ${m} = ${idx[m]} is outside 0..${inSize - 1}`);
    }
    this.outSize = idx.length;
    this.idx = idx;
    this.planId = registerRowPlan({ inRows: inSize, outRows: idx.length, runs: rowRuns(idx) });
  }

  /** The map as an index tensor, for tf.gather. */
  get indices(): tf.Tensor1D {
    this.indexTensor ??= tf.keep(tf.tensor1d(this.idx, 'int32'));
    return this.indexTensor;
  }

  /** Adjoint gathers over [dy, 0]: position `outSize` is the zero row. */
  get adjoint(): tf.Tensor1D[] {
    if (!this.adjointTensors) {
      const occurrences: number[][] = Array.from({ length: this.inSize }, () => []);
      for (let m = 0; m < this.idx.length; m++) occurrences[this.idx[m]].push(m);
      const layers = Math.max(0, ...occurrences.map((o) => o.length));
      this.adjointTensors = [];
      for (let k = 0; k < layers; k++) {
        const layer = new Int32Array(this.inSize);
        for (let n = 0; n < this.inSize; n++) layer[n] = occurrences[n][k] ?? this.idx.length;
        this.adjointTensors.push(tf.keep(tf.tensor1d(layer, 'int32')));
      }
    }
    return this.adjointTensors;
  }

  /** The adjoint layers as one [layers, inSize] tensor, for the webgpu scatter-add kernel. */
  get adjointLayers(): tf.Tensor2D {
    this.adjointStack ??= tf.keep(tf.tidy(() => tf.stack(this.adjoint) as tf.Tensor2D));
    return this.adjointStack;
  }

  /**
   * @param x [B, N, C] with N = inSize
   * @returns [B, M, C] with M = outSize; the caller disposes it (or runs inside tidy).
   */
  apply(x: tf.Tensor3D, opts: { data?: boolean } = {}): tf.Tensor3D {
    if (x.shape[1] !== this.inSize) throw new Error(`index map expects ${this.inSize} rows, got ${x.shape[1]}`);
    const rows = hostMemoryKernelsActive() && x.dtype === 'float32';
    const gpu = gpuKernelsActive() && x.dtype === 'float32';
    const op = customOp<tf.Tensor3D>(([xi]) => ({
      value: rows
        ? rowGather(xi as tf.Tensor3D, this.planId)
        : gpu
          ? gpuRowGather(xi as tf.Tensor3D, this.indices)
          : (tf.gather(xi, this.indices, 1) as tf.Tensor3D),
      grad: (dy) => {
        // Data (input frames, detached predictions) needs no gradient: skip the adjoint.
        if (opts.data) return [tf.zeros(x.shape)];
        if (rows) return [rowScatterAdd(dy as tf.Tensor3D, this.planId)];
        if (gpu) return [gpuRowScatterAdd(dy as tf.Tensor3D, this.adjointLayers)];
        const [b, , c] = dy.shape;
        const padded = tf.concat([dy, tf.zeros([b, 1, c])], 1);
        let acc: tf.Tensor = tf.gather(padded, this.adjoint[0], 1);
        for (let k = 1; k < this.adjoint.length; k++) acc = tf.add(acc, tf.gather(padded, this.adjoint[k], 1));
        return [acc];
      },
    }));
    return op(x);
  }

  /** Frees the index tensors and the row plan. */
  dispose(): void {
    this.indexTensor?.dispose();
    this.adjointTensors?.forEach((t) => t.dispose());
    this.adjointStack?.dispose();
    this.indexTensor = null;
    this.adjointTensors = null;
    this.adjointStack = null;
    unregisterRowPlan(this.planId);
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
  for (const m of cache.values()) m.dispose();
  cache.clear();
}
