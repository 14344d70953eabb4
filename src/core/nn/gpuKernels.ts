import * as tf from '@tensorflow/tfjs-core';
import { MAX_MID, MAX_MID_GRAD } from './hostMemoryKernels';

/**
 * WGSL kernels for the webgpu backend: the FERNN's circular convolutions with the per-velocity roll and the
 * circular padding folded into their indexing, their gradients, and the re-indexing ops (row gather / scatter-add,
 * max over velocities), each one dispatch.
 *
 * Why: a tfjs graph of the FERNN step is dispatch-bound on a GPU (docs/compute.md: 8x the FLOPs took 2.1x
 * the time). The stock path of one co-moving step is about 7 dispatches forward (gather for roll+pad of the frame,
 * conv, gather for the state's circular pad, conv, add, relu) and 14 backward (relu gradient as three ops, two
 * pad gathers, their adjoints as concat + 4 gathers + 3 adds, the adjoint kernel's reverse and transpose, ...).
 * Here: 1 forward, 4 backward (activation gradient, input gradient, two filter gradients).
 *
 * The kernels are plain tfjs WebGPU programs (tfjs-backend-webgpu's `runWebGPUProgram`: it declares the bindings,
 * `result` for the output and one storage array per input name), typed structurally: core does not import the
 * backend package. Shapes are baked into the shader source (and its cache key), so each shape compiles once.
 * Tested against the cpu backend, values and gradients (test/node/gpuKernels.test.ts, on lavapipe in CI).
 */

/** Which kernels the FERNN ops use on the webgpu backend: our fused WGSL kernels, or tfjs's stock ops. */
export type GpuKernelMode = 'fused' | 'stock';

let mode: GpuKernelMode = 'fused';

/** Chooses the webgpu kernels (the bench compares both; tests check they agree). */
export function setGpuKernels(m: GpuKernelMode): void {
  mode = m;
}

export function gpuKernelMode(): GpuKernelMode {
  return mode;
}

/** Whether the fused WGSL kernels serve the current op: webgpu is active and the mode is 'fused'. */
export function gpuKernelsActive(): boolean {
  return mode === 'fused' && tf.getBackend() === 'webgpu';
}

export type Activation = 'none' | 'relu' | 'tanh';

// ---------------------------------------------------------------------------------------------------------------
// Ops

/** An operand of `gpuCircConv`: x convolved circularly with w, optionally each slice rolled first. */
export interface ConvOperand {
  /** [F, H, W, Cin]: F = N / slices frames. */
  x: tf.Tensor4D;
  /** [k, k, Cin, Cout] */
  w: tf.Tensor4D;
  /**
   * Output slice n reads frame floor(n / slices) rolled by shifts[n % slices] (roll(x)[i, j] = x[i - dy, j - dx]):
   * the per-velocity copies of one frame without making them. Absent: frame n, unrolled.
   */
  shifts?: readonly { dy: number; dx: number }[];
}

/**
 * act( sum over operands of circconv(roll_s(x), w) ): torch Conv2d with padding_mode='circular', padding k//2, no
 * bias, of every operand, summed, then the activation.
 * @param n output batch (each operand has n / slices frames)
 * @returns [n, H, W, Cout]; caller disposes.
 */
export function gpuCircConv(ops: ConvOperand[], n: number, act: Activation): tf.Tensor4D {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = {};
    ops.forEach((o, i) => {
      inputs[`x${i}`] = o.x;
      inputs[`w${i}`] = o.w;
      if (o.shifts) inputs[`s${i}`] = shiftTensor(o.shifts);
    });
    const attrs = { n, act, operands: ops.map((o) => (o.shifts ? o.shifts.length : 0)).join(',') };
    return tf.engine().runKernel(CIRC_CONV, inputs, attrs) as tf.Tensor4D;
  });
}

/**
 * dz = dy * act'(z), with act'(z) read off out = act(z) (relu: out > 0; tanh: 1 - out^2), as tfjs's own gradients.
 * @returns dy's shape; caller disposes.
 */
export function gpuActGrad(dy: tf.Tensor, out: tf.Tensor, act: Activation): tf.Tensor {
  if (act === 'none') return tf.clone(dy);
  return tf.engine().runKernel(ACT_GRAD, { dy, out }, { act }) as tf.Tensor;
}

/**
 * Input gradient of an unrolled circular convolution: a circular correlation of dz with the adjoint kernel.
 * @param dz [N, H, W, Cout]; w [k, k, Cin, Cout]
 * @returns [N, H, W, Cin]; caller disposes.
 */
export function gpuCircConvInputGrad(dz: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(CIRC_INPUT_GRAD, { dz, w }, {}) as tf.Tensor4D;
}

/**
 * Filter gradient of one operand of `gpuCircConv`: dW[ky,kx,ci,co] = sum over n,i,j of
 * roll_s(x)[n, i+ky-p, j+kx-p, ci] * dz[n, i, j, co] (indices on the torus), reduced in one dispatch.
 * @param dz [N, H, W, Cout]
 * @returns [k, k, Cin, Cout]; caller disposes.
 */
export function gpuCircConvFilterGrad(o: { x: tf.Tensor4D; shifts?: ConvOperand['shifts'] }, dz: tf.Tensor4D, k: number): tf.Tensor4D {
  return tf.tidy(() => {
    const inputs: tf.NamedTensorMap = { x: o.x, dz };
    if (o.shifts) inputs.s = shiftTensor(o.shifts);
    return tf.engine().runKernel(CIRC_FILTER_GRAD, inputs, { k, slices: o.shifts ? o.shifts.length : 0 }) as tf.Tensor4D;
  });
}

/**
 * out[b, m, :] = x[b, idx[m], :].
 * @param x [B, N, C]; idx int32 [M] with entries in 0..N-1
 * @returns [B, M, C]; caller disposes.
 */
export function gpuRowGather(x: tf.Tensor3D, idx: tf.Tensor1D): tf.Tensor3D {
  return tf.engine().runKernel(ROW_GATHER, { x, idx }, {}) as tf.Tensor3D;
}

/**
 * The adjoint of a row gather: out[b, n, :] = sum over layers l of dy[b, adj[l, n], :], skipping entries equal to M
 * (adj lists, per input row, the output rows that read it: IndexMap's adjoint layers).
 * @param dy [B, M, C]; adj int32 [L, N]
 * @returns [B, N, C]; caller disposes.
 */
export function gpuRowScatterAdd(dy: tf.Tensor3D, adj: tf.Tensor2D): tf.Tensor3D {
  return tf.engine().runKernel(ROW_SCATTER_ADD, { dy, adj }, {}) as tf.Tensor3D;
}

/** Shifts as an int32 tensor [S * 2] (dy, dx), reduced modulo nothing: the kernels wrap. */
function shiftTensor(shifts: readonly { dy: number; dx: number }[]): tf.Tensor1D {
  return tf.tensor1d(
    shifts.flatMap((s) => [s.dy, s.dx]),
    'int32',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Programs

const CIRC_CONV = 'FernnCircConv';
const ACT_GRAD = 'FernnActGrad';
const CIRC_INPUT_GRAD = 'FernnCircConvInputGrad';
const CIRC_FILTER_GRAD = 'FernnCircConvFilterGrad';
const ROW_GATHER = 'FernnGpuRowGather';
const ROW_SCATTER_ADD = 'FernnGpuRowScatterAdd';

interface Info {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}

/** What tfjs-backend-webgpu needs of a program (WebGPUProgram). */
interface Program {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  /** Declares uniforms.size (the output's size): every kernel reads it, since Dawn drops unused bindings. */
  size: true;
  /** Per input: 4 binds it as array<vec4<f32>> (one load per 4 floats), 1 as array<f32>/array<i32>. */
  variableComponents?: number[];
  getUserCode(): string;
}

interface WebGpuLike {
  runWebGPUProgram(program: Program, inputs: Info[], outputDtype: tf.DataType): Info;
}

const WG = 64;

/**
 * A program of `threads` invocations (flat), its source `code` defining `fn main(index : i32)`. The key names the
 * program and everything baked into `code`.
 */
function program(key: string, variableNames: string[], outputShape: number[], threads: number, code: string, components?: number[]): Program {
  return {
    outputShape,
    shaderKey: `fernn_${key}${components ? `_c${components.join('')}` : ''}`,
    variableNames,
    ...(components ? { variableComponents: components } : {}),
    workgroupSize: [WG, 1, 1],
    size: true,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(threads / WG), 1, 1],
    getUserCode: () => code,
  };
}

function run(backend: unknown, p: Program, inputs: Info[]): Info {
  for (const x of inputs) if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`${p.shaderKey}: unsupported dtype ${x.dtype}`);
  return (backend as WebGpuLike).runWebGPUProgram(p, inputs, 'float32');
}

const WRAP = `fn fernnWrap(a : i32, n : i32) -> i32 { return ((a % n) + n) % n; }`;

/** Accumulator type and a load of `q` consecutive floats of `arr` at `base` with stride `stride`. */
function vecOf(q: number): { t: string; zero: string; load: (arr: string, base: string, stride?: string) => string; comp: (v: string, k: number) => string } {
  if (q === 1) return { t: 'f32', zero: '0.0', load: (a, b) => `${a}[${b}]`, comp: (v) => v };
  const xyzw = ['x', 'y', 'z', 'w'];
  return {
    t: 'vec4<f32>',
    zero: 'vec4<f32>(0.0)',
    load: (a, b, s = '1') => `vec4<f32>(${[0, 1, 2, 3].map((k) => `${a}[${b} + ${k} * ${s}]`).join(', ')})`,
    comp: (v, k) => `${v}.${xyzw[k]}`,
  };
}

/** The activation of v (zero: v's type's zero); relu keeps NaN, as tfjs's relu. */
const actOf = (act: string, v: string, zero: string): string => (act === 'relu' ? `select(${v}, ${zero}, ${v} < ${zero})` : act === 'tanh' ? `tanh(${v})` : v);

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function circConvKernel({ inputs, backend, attrs }: KernelArgs): Info {
  const n = attrs!.n as number;
  const act = attrs!.act as string;
  const slices = String(attrs!.operands).split(',').map(Number);
  const xs = slices.map((_, i) => inputs[`x${i}`] as unknown as Info);
  const ws = slices.map((_, i) => inputs[`w${i}`] as unknown as Info);
  const [, h, w] = xs[0].shape;
  const k = ws[0].shape[0];
  const co = ws[0].shape[3];
  const q = co % 4 === 0 ? 4 : 1;
  const v = vecOf(q);
  const names: string[] = [];
  const infos: Info[] = [];
  const components: number[] = [];
  const body: string[] = [];
  const cq = co / q;
  slices.forEach((s, i) => {
    const [f, xh, xw, ci] = xs[i].shape;
    const [kh, kw, wci, wco] = ws[i].shape;
    if (xh !== h || xw !== w || kh !== k || kw !== k || wci !== ci || wco !== co)
      throw new Error(`circConv: operand ${i} shapes [${xs[i].shape}] [${ws[i].shape}] do not fit`);
    if (f * Math.max(1, s) !== n) throw new Error(`circConv: operand ${i} has ${f} frames for ${n} outputs and ${s} slices`);
    // vec4 loads: weights by 4 output channels (co % 4 = 0), the input by 4 channels as well when ci % 4 = 0.
    const xq = q === 4 && ci % 4 === 0 ? 4 : 1;
    names.push(`X${i}`, `Wt${i}`);
    infos.push(xs[i], ws[i]);
    components.push(xq, q);
    if (s > 0) {
      names.push(`S${i}`);
      infos.push(inputs[`s${i}`] as unknown as Info);
      components.push(1);
    }
    const inner =
      q === 1
        ? `let xb = ((f * ${h} + yi) * ${w} + xj) * ${ci};
            for (var c = 0; c < ${ci}; c++) { acc += X${i}[xb + c] * Wt${i}[(wb + c) * ${co} + c0]; }`
        : xq === 1
          ? `let xb = ((f * ${h} + yi) * ${w} + xj) * ${ci};
            for (var c = 0; c < ${ci}; c++) { acc += X${i}[xb + c] * Wt${i}[(wb + c) * ${cq} + cq]; }`
          : `let xb = ((f * ${h} + yi) * ${w} + xj) * ${ci / 4};
            for (var c = 0; c < ${ci / 4}; c++) {
              let xv = X${i}[xb + c];
              let r = (wb + 4 * c) * ${cq} + cq;
              acc += xv.x * Wt${i}[r] + xv.y * Wt${i}[r + ${cq}] + xv.z * Wt${i}[r + ${2 * cq}] + xv.w * Wt${i}[r + ${3 * cq}];
            }`;
    const frame = s > 0 ? `n / ${s}` : 'n';
    const sy = s > 0 ? `S${i}[2 * (n % ${s})]` : '0';
    const sx = s > 0 ? `S${i}[2 * (n % ${s}) + 1]` : '0';
    body.push(`
      {
        let f = ${frame};
        let sy = ${sy};
        let sx = ${sx};
        for (var ky = 0; ky < ${k}; ky++) {
          let yi = fernnWrap(i + ky - ${(k - 1) / 2} - sy, ${h});
          for (var kx = 0; kx < ${k}; kx++) {
            let xj = fernnWrap(j + kx - ${(k - 1) / 2} - sx, ${w});
            let wb = (ky * ${k} + kx) * ${ci};
            ${inner}
          }
        }
      }`);
  });
  const total = n * h * w * cq;
  const code = perPixel(total, cq, q, h, w, body.join('\n'), store(q, co, actOf(act, 'acc', v.zero)));
  const key = `circconv_${n}_${h}_${w}_${k}_${co}_${act}_${slices.map((s, i) => `${s}x${xs[i].shape[3]}`).join('_')}`;
  return run(backend, program(key, names, [n, h, w, co], total, code, components), infos);
}

/**
 * A kernel with one invocation per output pixel and group of q channels (c0..c0+q-1): declares n, i, j, pix, c0 and
 * a zero accumulator `acc` (f32 or vec4), runs `body`, then `storeCode`.
 */
function perPixel(total: number, cq: number, q: number, h: number, w: number, body: string, storeCode: string): string {
  const v = vecOf(q);
  return `
    ${WRAP}
    fn main(index : i32) {
      if (index >= ${total} || uniforms.size == 0) { return; }
      let cq = index % ${cq};
      let pix = index / ${cq};
      let j = pix % ${w};
      let i = (pix / ${w}) % ${h};
      let n = pix / ${w * h};
      let c0 = cq * ${q};
      var acc : ${v.t} = ${v.zero};
      ${body}
      ${storeCode}
    }`;
}

/** Stores `expr` (f32, or vec4 for q = 4) as channels c0.. of pixel pix of an output with c channels. */
function store(q: number, c: number, expr: string): string {
  if (q === 1) return `result[index] = ${expr};`;
  return `let o = ${expr};\n      ${[0, 1, 2, 3].map((k) => `result[pix * ${c} + c0 + ${k}] = ${vecOf(4).comp('o', k)};`).join('\n      ')}`;
}

function actGradKernel({ inputs, backend, attrs }: KernelArgs): Info {
  const dy = inputs.dy as unknown as Info;
  const out = inputs.out as unknown as Info;
  const act = attrs!.act as string;
  const size = dy.shape.reduce((a, b) => a * b, 1);
  const expr = act === 'relu' ? 'select(0.0, Dy[index], Y[index] > 0.0)' : '(1.0 - Y[index] * Y[index]) * Dy[index]';
  const code = `
    fn main(index : i32) {
      if (index < ${size} && uniforms.size > 0) { result[index] = ${expr}; }
    }`;
  return run(backend, program(`actgrad_${act}_${size}`, ['Dy', 'Y'], dy.shape, size, code), [dy, out]);
}

function inputGradKernel({ inputs, backend }: KernelArgs): Info {
  const dz = inputs.dz as unknown as Info;
  const wt = inputs.w as unknown as Info;
  const [n, h, w, co] = dz.shape;
  const [k, , ci] = wt.shape;
  const q = ci % 4 === 0 ? 4 : 1;
  const v = vecOf(q);
  const cq = ci / q;
  const total = n * h * w * cq;
  const p = (k - 1) / 2;
  // vec4 loads when both channel counts are multiples of 4: dz by 4 output channels, and for each of the 4 input
  // channels c0..c0+3 its 4 weights of those output channels (consecutive in [k, k, ci, co]), one dot product each.
  const vec = q === 4 && co % 4 === 0;
  const oq = co / 4;
  const inner = vec
    ? `let db = ((n * ${h} + yi) * ${w} + xj) * ${oq};
          let r = ((ky * ${k} + kx) * ${ci} + c0) * ${oq};
          for (var o = 0; o < ${oq}; o++) {
            let d = Dz[db + o];
            acc += vec4<f32>(dot(d, Wt[r + o]), dot(d, Wt[r + ${oq} + o]), dot(d, Wt[r + ${2 * oq} + o]), dot(d, Wt[r + ${3 * oq} + o]));
          }`
    : `let db = ((n * ${h} + yi) * ${w} + xj) * ${co};
          let wb = ((ky * ${k} + kx) * ${ci} + c0) * ${co};
          for (var o = 0; o < ${co}; o++) {
            acc += Dz[db + o] * ${v.load('Wt', 'wb + o', String(co))};
          }`;
  const code = perPixel(
    total,
    cq,
    q,
    h,
    w,
    `
      for (var ky = 0; ky < ${k}; ky++) {
        let yi = fernnWrap(i - ky + ${p}, ${h});
        for (var kx = 0; kx < ${k}; kx++) {
          let xj = fernnWrap(j - kx + ${p}, ${w});
          ${inner}
        }
      }`,
    store(q, ci, 'acc'),
  );
  return run(backend, program(`inputgrad_${n}_${h}_${w}_${k}_${ci}_${co}`, ['Dz', 'Wt'], [n, h, w, ci], total, code, vec ? [4, 4] : undefined), [dz, wt]);
}

function filterGradKernel({ inputs, backend, attrs }: KernelArgs): Info {
  const x = inputs.x as unknown as Info;
  const dz = inputs.dz as unknown as Info;
  const k = attrs!.k as number;
  const slices = attrs!.slices as number;
  const [n, h, w, co] = dz.shape;
  const [f, , , ci] = x.shape;
  if (f * Math.max(1, slices) !== n) throw new Error(`circConvFilterGrad: ${f} frames for ${n} rows and ${slices} slices`);
  const q = co % 4 === 0 ? 4 : 1;
  const v = vecOf(q);
  const cq = co / q;
  const groups = k * k * ci * cq;
  const p = (k - 1) / 2;
  const names = ['X', 'Dz', ...(slices > 0 ? ['S'] : [])];
  const infos = [x, dz, ...(slices > 0 ? [inputs.s as unknown as Info] : [])];
  const store = [0, 1, 2, 3]
    .slice(0, q)
    .map((kk) => `result[(tap * ${ci} + c) * ${co} + cq * ${q} + ${kk}] = ${v.comp('part[0]', kk)};`)
    .join('\n        ');
  // One workgroup per (tap, input channel, output quad): its threads stride over the pixels, each pixel's source
  // (rolled, wrapped) found once per slice and read for every batch entry (no integer division in the inner loop),
  // then the workgroup reduces.
  const ns = Math.max(1, slices);
  const code = `
    ${WRAP}
    var<workgroup> part : array<${v.t}, ${WG}>;
    fn main(index : i32) {
      let g = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
      let lid = i32(localIndex);
      let cq = g % ${cq};
      let c = (g / ${cq}) % ${ci};
      let tap = g / ${cq * ci};
      let ky = tap / ${k};
      let kx = tap % ${k};
      var acc : ${v.t} = ${v.zero};
      let valid = g < ${groups} && uniforms.size > 0;
      if (valid) {
        for (var px = lid; px < ${h * w}; px += ${WG}) {
          let i = px / ${w};
          let j = px % ${w};
          for (var s = 0; s < ${ns}; s++) {
            ${slices > 0 ? 'let sy = S[2 * s]; let sx = S[2 * s + 1];' : 'let sy = 0; let sx = 0;'}
            let src = (fernnWrap(i + ky - ${p} - sy, ${h}) * ${w} + fernnWrap(j + kx - ${p} - sx, ${w})) * ${ci} + c;
            for (var b = 0; b < ${n / ns}; b++) {
              let row = (b * ${ns} + s) * ${h * w} + px;
              acc += X[b * ${h * w * ci} + src] * ${q === 4 ? `Dz[row * ${cq} + cq]` : `Dz[row * ${co} + cq]`};
            }
          }
        }
      }
      part[lid] = acc;
      workgroupBarrier();
      for (var half = ${WG / 2}; half > 0; half = half >> 1u) {
        if (lid < half) { part[lid] += part[lid + half]; }
        workgroupBarrier();
      }
      if (lid == 0 && valid) {
        ${store}
      }
    }`;
  const prog = program(`filtergrad_${n}_${h}_${w}_${k}_${ci}_${co}_${slices}`, names, [k, k, ci, co], groups * WG, code, [1, q, ...(slices > 0 ? [1] : [])]);
  return run(backend, prog, infos);
}

function rowGatherKernel({ inputs, backend }: KernelArgs): Info {
  const x = inputs.x as unknown as Info;
  const idx = inputs.idx as unknown as Info;
  const [b, nIn, c] = x.shape;
  const m = idx.shape[0];
  const total = b * m * c;
  const code = `
    fn main(index : i32) {
      if (index >= ${total} || uniforms.size == 0) { return; }
      let c = index % ${c};
      let m = (index / ${c}) % ${m};
      let b = index / ${c * m};
      result[index] = X[(b * ${nIn} + Idx[m]) * ${c} + c];
    }`;
  return run(backend, program(`rowgather_${b}_${nIn}_${m}_${c}`, ['X', 'Idx'], [b, m, c], total, code), [x, idx]);
}

function rowScatterAddKernel({ inputs, backend }: KernelArgs): Info {
  const dy = inputs.dy as unknown as Info;
  const adj = inputs.adj as unknown as Info;
  const [b, m, c] = dy.shape;
  const [layers, nIn] = adj.shape;
  const total = b * nIn * c;
  const code = `
    fn main(index : i32) {
      if (index >= ${total} || uniforms.size == 0) { return; }
      let c = index % ${c};
      let r = (index / ${c}) % ${nIn};
      let b = index / ${c * nIn};
      var acc = 0.0;
      for (var l = 0; l < ${layers}; l++) {
        let a = Adj[l * ${nIn} + r];
        if (a < ${m}) { acc += Dy[(b * ${m} + a) * ${c} + c]; }
      }
      result[index] = acc;
    }`;
  return run(backend, program(`rowscatter_${b}_${nIn}_${m}_${c}_${layers}`, ['Dy', 'Adj'], [b, nIn, c], total, code), [dy, adj]);
}

function maxMidKernel({ inputs, backend }: KernelArgs): Info {
  const x = inputs.x as unknown as Info;
  const [b, nv, p] = x.shape;
  const total = b * p;
  // NaN wins, as in tf.max (and the wasm/cpu kernel): tested by its bits, which no compiler folds away.
  const code = `
    fn main(index : i32) {
      if (index >= ${total} || uniforms.size == 0) { return; }
      let p = index % ${p};
      let b = index / ${p};
      var m = X[b * ${nv * p} + p];
      for (var v = 1; v < ${nv}; v++) {
        let a = X[(b * ${nv} + v) * ${p} + p];
        if (a > m || (bitcast<u32>(a) & 0x7fffffffu) > 0x7f800000u) { m = a; }
      }
      result[index] = m;
    }`;
  return run(backend, program(`maxmid_${b}_${nv}_${p}`, ['X'], [b, p], total, code), [x]);
}

function maxMidGradKernel({ inputs, backend }: KernelArgs): Info {
  const x = inputs.x as unknown as Info;
  const [b, nv, p] = x.shape;
  const total = b * nv * p;
  const code = `
    fn main(index : i32) {
      if (index >= ${total} || uniforms.size == 0) { return; }
      let p = index % ${p};
      let b = index / ${nv * p};
      result[index] = select(0.0, Dy[b * ${p} + p], X[index] == M[b * ${p} + p]);
    }`;
  return run(backend, program(`maxmidgrad_${b}_${nv}_${p}`, ['X', 'M', 'Dy'], [b, nv, p], total, code), [
    x,
    inputs.m as unknown as Info,
    inputs.dy as unknown as Info,
  ]);
}

const KERNELS: [string, (a: KernelArgs) => Info][] = [
  [CIRC_CONV, circConvKernel],
  [ACT_GRAD, actGradKernel],
  [CIRC_INPUT_GRAD, inputGradKernel],
  [CIRC_FILTER_GRAD, filterGradKernel],
  [ROW_GATHER, rowGatherKernel],
  [ROW_SCATTER_ADD, rowScatterAddKernel],
  [MAX_MID, maxMidKernel],
  [MAX_MID_GRAD, maxMidGradKernel],
];
for (const [kernelName, f] of KERNELS) {
  if (!tf.getKernel(kernelName, 'webgpu')) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: f as unknown as tf.KernelFunc });
}
