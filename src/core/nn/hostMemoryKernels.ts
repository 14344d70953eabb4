import * as tf from '@tensorflow/tfjs-core';

/**
 * Kernels for the backends whose tensors live in memory JavaScript can read (wasm: the module heap; cpu: typed
 * arrays), for the data movement of the FERNN that their stock kernels do slowly.
 *
 * Row copies: roll, circular padding and their adjoints re-index whole rows of C floats, mostly in runs of
 * consecutive rows. wasm's GatherV2 computes every element's coordinates with a heap-allocated vector (measured: 96 ms
 * for a [16, 7056, 16] gather, about 19 M floats/s), and its Slice copies row by row from JavaScript. Here one kernel
 * copies each run with one memmove (copyWithin on the heap). A plan is registered once and named by its id in the
 * kernel's attributes (attributes carry numbers, not arrays).
 *
 * Max over an axis and its gradient: the stock Max transposes the reduced axis to the end first, and its gradient
 * compares against a broadcast; one pass each here.
 */
export interface RowPlan {
  /** Rows of the input's middle axis. */
  readonly inRows: number;
  /** Rows of the output's middle axis. */
  readonly outRows: number;
  /** Runs as triples (src, dst, len): output rows dst..dst+len-1 are input rows src..src+len-1. */
  readonly runs: Int32Array;
}

const GATHER = 'FernnRowGather';
const SCATTER_ADD = 'FernnRowScatterAdd';
/** Kernel names of maxMid and its gradient (also registered for webgpu, nn/gpuKernels). */
export const MAX_MID = 'FernnMaxMid';
export const MAX_MID_GRAD = 'FernnMaxMidGrad';
const BACKENDS = ['wasm', 'cpu'] as const;

const plans = new Map<number, RowPlan>();
let nextPlanId = 1;

/** Run-length form of an index map: out row m = in row idx[m]. */
export function rowRuns(idx: Int32Array): Int32Array {
  const out: number[] = [];
  let m = 0;
  while (m < idx.length) {
    let len = 1;
    while (m + len < idx.length && idx[m + len] === idx[m] + len) len++;
    out.push(idx[m], m, len);
    m += len;
  }
  return Int32Array.from(out);
}

/** Registers a plan; the returned id names it in `rowGather` / `rowScatterAdd`. */
export function registerRowPlan(plan: RowPlan): number {
  const id = nextPlanId++;
  plans.set(id, plan);
  return id;
}

export function unregisterRowPlan(id: number): void {
  plans.delete(id);
}

/** Whether the active backend has these kernels (else use the stock ops, fast on GPU backends). */
export function hostMemoryKernelsActive(): boolean {
  return (BACKENDS as readonly string[]).includes(tf.getBackend());
}

/**
 * out[b, m, :] = x[b, idx[m], :].
 * @param x [B, inRows, C] float32
 * @returns [B, outRows, C]; caller disposes.
 */
export function rowGather(x: tf.Tensor3D, planId: number): tf.Tensor3D {
  return tf.engine().runKernel(GATHER, { x }, { planId }) as tf.Tensor3D;
}

/**
 * The adjoint of rowGather: out[b, n, :] = sum over m with idx[m] = n of dy[b, m, :] (zero where n is never read).
 * @param dy [B, outRows, C] float32
 * @returns [B, inRows, C]; caller disposes.
 */
export function rowScatterAdd(dy: tf.Tensor3D, planId: number): tf.Tensor3D {
  return tf.engine().runKernel(SCATTER_ADD, { dy }, { planId }) as tf.Tensor3D;
}

/**
 * Max over the middle axis: out[b, p] = max over v of x[b, v, p] (NaN wins, as in tf.max).
 * @param x [B, V, P] float32
 * @returns [B, P]; caller disposes.
 */
export function maxMid(x: tf.Tensor3D): tf.Tensor2D {
  return tf.engine().runKernel(MAX_MID, { x }, {}) as tf.Tensor2D;
}

/**
 * Gradient of maxMid: dx[b, v, p] = dy[b, p] where x[b, v, p] equals the max, else 0 (ties share, as in tfjs).
 * @param x [B, V, P]; m [B, P] = maxMid(x); dy [B, P]
 * @returns [B, V, P]; caller disposes.
 */
export function maxMidGrad(x: tf.Tensor3D, m: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor3D {
  return tf.engine().runKernel(MAX_MID_GRAD, { x, m, dy }, {}) as tf.Tensor3D;
}

// ---------------------------------------------------------------------------------------------------------------
// Backend access. Typed structurally: core does not import the backend packages.

/** A backend's tensor record, as a kernel sees it. */
export interface Info {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}
interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(t: Info): Float32Array;
}
interface CpuLike {
  data: { get(id: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): Info;
}

function planOf(attrs: unknown): RowPlan {
  const id = (attrs as { planId?: number }).planId;
  const p = id === undefined ? undefined : plans.get(id);
  if (!p) throw new Error(`row kernel: no plan ${id} (was the index map cache cleared while in use?)`);
  return p;
}

function check(x: Info, rows: number, what: string): [number, number] {
  if (x.shape.length !== 3 || x.shape[1] !== rows) throw new Error(`${what}: expected [B, ${rows}, C], got [${x.shape}]`);
  return [x.shape[0], x.shape[2]];
}

/**
 * Views of the inputs and a new output on the wasm or cpu backend, for JS kernels (this file's, and sparseRows.ts's):
 * wasm views are taken after the allocation, which may grow (and move) the heap.
 */
export function io(backend: unknown, xs: Info[], shape: number[]): { out: Info; views: Float32Array[]; ov: Float32Array } {
  for (const x of xs) if (x.dtype !== 'float32') throw new Error(`heap kernel: float32 only, got ${x.dtype}`);
  if (typeof (backend as WasmLike).typedArrayFromHeap === 'function') {
    const b = backend as WasmLike;
    const out = b.makeOutput(shape, 'float32');
    return { out, views: xs.map((x) => b.typedArrayFromHeap(x)), ov: b.typedArrayFromHeap(out) };
  }
  const b = backend as CpuLike;
  const ov = new Float32Array(shape.reduce((a, d) => a * d, 1));
  return { out: b.makeTensorInfo(shape, 'float32', ov), views: xs.map((x) => b.data.get(x.dataId).values as Float32Array), ov };
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown };

function gatherKernel({ inputs, backend, attrs }: KernelArgs & { attrs?: unknown }): Info {
  const p = planOf(attrs);
  const x = inputs.x as unknown as Info;
  const [b, c] = check(x, p.inRows, 'rowGather');
  const {
    out,
    views: [xv],
    ov,
  } = io(backend, [x], [b, p.outRows, c]);
  const r = p.runs;
  if (xv.buffer === ov.buffer) {
    // One heap: memmove each run inside it, without allocating views.
    const heap = new Float32Array(xv.buffer);
    for (let bi = 0; bi < b; bi++) {
      const xo = xv.byteOffset / 4 + bi * p.inRows * c;
      const oo = ov.byteOffset / 4 + bi * p.outRows * c;
      for (let k = 0; k < r.length; k += 3) heap.copyWithin(oo + r[k + 1] * c, xo + r[k] * c, xo + (r[k] + r[k + 2]) * c);
    }
  } else {
    for (let bi = 0; bi < b; bi++) {
      const xo = bi * p.inRows * c;
      const oo = bi * p.outRows * c;
      for (let k = 0; k < r.length; k += 3) ov.set(xv.subarray(xo + r[k] * c, xo + (r[k] + r[k + 2]) * c), oo + r[k + 1] * c);
    }
  }
  return out;
}

function scatterAddKernel({ inputs, backend, attrs }: KernelArgs & { attrs?: unknown }): Info {
  const p = planOf(attrs);
  const dy = inputs.dy as unknown as Info;
  const [b, c] = check(dy, p.outRows, 'rowScatterAdd');
  const {
    out,
    views: [dv],
    ov,
  } = io(backend, [dy], [b, p.inRows, c]);
  ov.fill(0);
  const r = p.runs;
  for (let bi = 0; bi < b; bi++) {
    const dyo = bi * p.outRows * c;
    const oo = bi * p.inRows * c;
    for (let k = 0; k < r.length; k += 3) {
      const n = r[k + 2] * c;
      const s = dyo + r[k + 1] * c;
      const d = oo + r[k] * c;
      for (let e = 0; e < n; e++) ov[d + e] += dv[s + e];
    }
  }
  return out;
}

function maxMidKernel({ inputs, backend }: KernelArgs): Info {
  const x = inputs.x as unknown as Info;
  const [b, nv, p] = x.shape;
  const {
    out,
    views: [xv],
    ov,
  } = io(backend, [x], [b, p]);
  for (let bi = 0; bi < b; bi++) {
    const o = bi * p;
    const base = bi * nv * p;
    ov.set(xv.subarray(base, base + p), o);
    for (let v = 1; v < nv; v++) {
      const xo = base + v * p;
      for (let e = 0; e < p; e++) {
        const a = xv[xo + e];
        if (a > ov[o + e] || a !== a) ov[o + e] = a;
      }
    }
  }
  return out;
}

function maxMidGradKernel({ inputs, backend }: KernelArgs): Info {
  const x = inputs.x as unknown as Info;
  const [b, nv, p] = x.shape;
  const {
    out,
    views: [xv, mv, dv],
    ov,
  } = io(backend, [x, inputs.m as unknown as Info, inputs.dy as unknown as Info], [b, nv, p]);
  for (let bi = 0; bi < b; bi++) {
    for (let v = 0; v < nv; v++) {
      const xo = (bi * nv + v) * p;
      const o = bi * p;
      for (let e = 0; e < p; e++) ov[xo + e] = xv[xo + e] === mv[o + e] ? dv[o + e] : 0;
    }
  }
  return out;
}

for (const backendName of BACKENDS) {
  const kernels = [
    [GATHER, gatherKernel],
    [SCATTER_ADD, scatterAddKernel],
    [MAX_MID, maxMidKernel],
    [MAX_MID_GRAD, maxMidGradKernel],
  ] as const;
  for (const [kernelName, f] of kernels) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: f as unknown as tf.KernelFunc });
  }
}
