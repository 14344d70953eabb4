import * as tf from '@tensorflow/tfjs-core';
import { customOp } from './gradient';
import { io, type Info } from './hostMemoryKernels';

/**
 * A fixed sparse linear map on the middle axis of a [B, M, C] tensor, as one kernel on the backends whose tensors
 * JavaScript can read (wasm: the module heap; cpu: typed arrays):
 *   out[b, m, :] = sum_t weight[t*M + m] * x[b, index[t*M + m], :]      (index -1: no term)
 * Bilinear rotations of frames and lifted hidden states are such maps (4 taps, 8 with a fractional orientation
 * shift). wasm's GatherV2 costs about 100 ns per element and a dense [HW, HW] matMul wastes HW/4 multiplications per
 * output; this kernel does the T multiply-adds per output element and nothing else. The gradient is the same kernel
 * with the transposed map.
 */
export interface SparseRowPlan {
  readonly inRows: number;
  readonly outRows: number;
  /** Terms per output row (T); index and weight hold T * outRows entries, term-major. */
  readonly taps: number;
  readonly index: Int32Array;
  readonly weight: Float32Array;
}

const KERNEL = 'FernnSparseRows';
const BACKENDS = ['wasm', 'cpu'] as const;
const plans = new Map<number, SparseRowPlan>();
let nextPlanId = 1;

/** Whether the active backend has the kernel (else use gathers, fast on GPU backends). */
export function sparseRowKernelActive(): boolean {
  return (BACKENDS as readonly string[]).includes(tf.getBackend());
}

/** The adjoint map: in row n collects weight * dy row m for every term (m, n) of the plan. */
function transposePlan(p: SparseRowPlan): SparseRowPlan {
  const count = new Int32Array(p.inRows);
  for (let k = 0; k < p.index.length; k++) if (p.index[k] >= 0) count[p.index[k]]++;
  let taps = 1;
  for (let n = 0; n < p.inRows; n++) taps = Math.max(taps, count[n]);
  const index = new Int32Array(taps * p.inRows).fill(-1);
  const weight = new Float32Array(taps * p.inRows);
  count.fill(0);
  for (let k = 0; k < p.index.length; k++) {
    const n = p.index[k];
    if (n < 0) continue;
    const slot = count[n]++ * p.inRows + n;
    index[slot] = k % p.outRows;
    weight[slot] = p.weight[k];
  }
  return { inRows: p.outRows, outRows: p.inRows, taps, index, weight };
}

export class SparseRowMap {
  private readonly forwardId: number;
  private readonly adjointId: number;

  constructor(readonly plan: SparseRowPlan) {
    if (plan.index.length !== plan.taps * plan.outRows || plan.weight.length !== plan.index.length) {
      throw new Error(`sparse row plan: ${plan.index.length} indices and ${plan.weight.length} weights for ${plan.taps} x ${plan.outRows} terms`);
    }
    for (let k = 0; k < plan.index.length; k++) {
      if (plan.index[k] < -1 || plan.index[k] >= plan.inRows)
        throw new Error(`sparse row plan: entry ${k} = ${plan.index[k]} is outside -1..${plan.inRows - 1}`);
    }
    this.forwardId = nextPlanId++;
    plans.set(this.forwardId, plan);
    this.adjointId = nextPlanId++;
    plans.set(this.adjointId, transposePlan(plan));
  }

  /**
   * @param x [B, inRows, C] float32
   * @returns [B, outRows, C]; caller disposes. Differentiable in x.
   */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    if (x.shape[1] !== this.plan.inRows) throw new Error(`sparse row map expects ${this.plan.inRows} rows, got ${x.shape[1]}`);
    return customOp<tf.Tensor3D>(([xi]) => ({
      value: tf.engine().runKernel(KERNEL, { x: xi }, { planId: this.forwardId }) as tf.Tensor3D,
      grad: (dy) => [tf.engine().runKernel(KERNEL, { x: dy }, { planId: this.adjointId }) as tf.Tensor3D],
    }))(x);
  }

  dispose(): void {
    plans.delete(this.forwardId);
    plans.delete(this.adjointId);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The kernel, on the wasm heap or the cpu backend's arrays (hostMemoryKernels.ts `io`).

function sparseRowsKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: unknown }): Info {
  const id = (attrs as { planId?: number }).planId;
  const p = id === undefined ? undefined : plans.get(id);
  if (!p) throw new Error(`sparse row kernel: no plan ${id} (was the rotation cache cleared while in use?)`);
  const x = inputs.x as unknown as Info;
  if (x.shape.length !== 3 || x.shape[1] !== p.inRows) throw new Error(`sparse row kernel: expected [B, ${p.inRows}, C], got [${x.shape}]`);
  const [b, , c] = x.shape;
  const {
    out,
    views: [xv],
    ov,
  } = io(backend, [x], [b, p.outRows, c]);
  ov.fill(0);
  const { index, weight, taps, inRows, outRows } = p;
  const xStride = inRows * c;
  const oStride = outRows * c;
  // Each term's index and weight are read once and applied to every batch entry.
  for (let t = 0; t < taps; t++) {
    const base = t * outRows;
    for (let m = 0; m < outRows; m++) {
      const src = index[base + m];
      if (src < 0) continue;
      const wt = weight[base + m];
      if (c === 1) {
        for (let bi = 0, s = src, d = m; bi < b; bi++, s += xStride, d += oStride) ov[d] += wt * xv[s];
        continue;
      }
      for (let bi = 0; bi < b; bi++) {
        const s = bi * xStride + src * c;
        const d = bi * oStride + m * c;
        for (let e = 0; e < c; e++) ov[d + e] += wt * xv[s + e];
      }
    }
  }
  return out;
}

for (const backendName of BACKENDS) {
  if (!tf.getKernel(KERNEL, backendName)) tf.registerKernel({ kernelName: KERNEL, backendName, kernelFunc: sparseRowsKernel as unknown as tf.KernelFunc });
}
