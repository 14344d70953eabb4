import * as tf from '@tensorflow/tfjs-core';
import type { Cnn3dConfig } from './config';
import { conv2dValid, dataConv2dValid, filterGradPath } from './conv';
import { customOp } from './gradient';
import { countParams, initParams, type ParamMap, type ParamSpec } from './params';

/**
 * The 3D-CNN baseline of the paper's KTH table (the reference's Video3DCNNClassifier), and the pieces it shares with
 * the recurrent classifiers' input encoder: BatchNorm with running statistics, strided convolutions and 3D
 * convolutions that train on every backend.
 *
 * tfjs has conv3d with gradients on cpu and wasm, but wasm's Conv3D kernels are naive loops (16 -> 16 channels on
 * [16, 4, 8, 8] took 200 ms forward, about 0.15 GFLOP/s); here a 3D convolution is one 2D convolution whose
 * input channels are the temporal taps stacked, which runs on each backend's fast conv2d (XNNPACK on wasm).
 */

/** torch's BatchNorm defaults. */
export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

/** 'train': BatchNorm uses batch statistics and reports new running statistics (torch's model.train());
 *  'eval': BatchNorm uses the running statistics (model.eval()). */
export type NormMode = 'train' | 'eval';

/** A constant-initialised tensor: its shape and fill value. */
export interface ConstantSpec {
  shape: number[];
  value: number;
}

/**
 * Everything a classifier holds, by state_dict-style name:
 * - `drawn`: trainable, initialised as torch's conv/linear default (initParams, seeded, in name order);
 * - `constant`: trainable, initialised to a constant (BatchNorm weight 1, bias 0);
 * - `buffers`: not trainable, updated by training steps (BatchNorm running_mean 0 and running_var 1).
 * A model's ParamMap holds all three; the buffers are variables with trainable = false.
 */
export interface ModelSpec {
  drawn: ParamSpec;
  constant: Record<string, ConstantSpec>;
  buffers: Record<string, ConstantSpec>;
}

export function emptyModelSpec(): ModelSpec {
  return { drawn: {}, constant: {}, buffers: {} };
}

/** Adds a BatchNorm over `channels` under `prefix` (e.g. 'st1.1.'): weight, bias, running_mean, running_var. */
export function addBatchNormSpec(spec: ModelSpec, prefix: string, channels: number): void {
  spec.constant[`${prefix}weight`] = { shape: [channels], value: 1 };
  spec.constant[`${prefix}bias`] = { shape: [channels], value: 0 };
  spec.buffers[`${prefix}running_mean`] = { shape: [channels], value: 0 };
  spec.buffers[`${prefix}running_var`] = { shape: [channels], value: 1 };
}

/** Number of trainable values (what torch's `sum(p.numel() for p in model.parameters())` counts). */
export function trainableCount(spec: ModelSpec): number {
  return countParams(spec.drawn) + Object.values(spec.constant).reduce((a, { shape }) => a + shape.reduce((x, y) => x * y, 1), 0);
}

/** Every tensor's shape, by name (what a checkpoint holds). */
export function stateShapes(spec: ModelSpec): ParamSpec {
  const out: ParamSpec = { ...spec.drawn };
  for (const [name, { shape }] of [...Object.entries(spec.constant), ...Object.entries(spec.buffers)]) out[name] = { shape, fanIn: 1 };
  return out;
}

/**
 * Creates the variables of a spec: drawn ones from `seed` (initParams), constants filled, buffers not trainable.
 * @returns variables; the caller disposes them (disposeParams / disposeModel).
 */
export function instantiate(spec: ModelSpec, seed: number): ParamMap {
  const out = initParams(spec.drawn, seed);
  for (const [name, { shape, value }] of Object.entries(spec.constant)) out[name] = tf.tidy(() => tf.variable(tf.fill(shape, value), true));
  for (const [name, { shape, value }] of Object.entries(spec.buffers)) out[name] = tf.tidy(() => tf.variable(tf.fill(shape, value), false));
  return out;
}

/**
 * BatchNorm over the last (channel) axis, torch semantics (eps 1e-5, momentum 0.1).
 * train: normalises with the batch statistics (biased variance) over every axis but the channels and `groupAxis`
 * (one set of statistics per index of groupAxis: the reference runs its per-frame encoder once per frame), and puts
 * the new running statistics (unbiased variance; the groups folded in order, as torch's successive calls) into
 * `updates` under `${prefix}running_mean` / `${prefix}running_var`.
 * eval: normalises with the running statistics: a per-channel affine map.
 * @param x [..., C]
 * @returns x's shape; caller disposes (updates too).
 */
export function batchNorm(x: tf.Tensor, p: ParamMap, prefix: string, mode: NormMode, updates?: Record<string, tf.Tensor>, groupAxis?: number): tf.Tensor {
  const gamma = p[`${prefix}weight`];
  const beta = p[`${prefix}bias`];
  const runMean = p[`${prefix}running_mean`];
  const runVar = p[`${prefix}running_var`];
  if (!gamma || !beta || !runMean || !runVar) throw new Error(`batchNorm: no parameters under ${prefix}`);
  const c = x.shape[x.rank - 1];
  if (mode === 'eval') {
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(runVar, BN_EPS)));
    return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(runMean, scale)));
  }
  // As [A, G, M, C] (G: the groups, A and M: the axes before and after them): the statistics reduce axes 0 and 2 of
  // a rank-4 tensor. On wasm, reducing (and, in the gradient, broadcasting back over) rank-5 axes goes through a
  // rank-5 transpose that took 400 ms for [16, 8, 16, 16, 64]; the rank-4 one takes 16 ms.
  const dims = x.shape.slice(0, -1);
  const g = groupAxis === undefined ? -1 : groupAxis;
  const groups = g < 0 ? 1 : dims[g];
  const before = g < 0 ? 1 : dims.slice(0, g).reduce((a, d) => a * d, 1);
  const n = dims.reduce((a, d) => a * d, 1) / groups;
  const x4 = tf.reshape(x, [before, groups, n / before, c]);
  const { mean, variance } = tf.moments(x4, [0, 2], true); // [1, G, 1, C]
  // Folded into one scale and shift: two broadcasting ops over x instead of four.
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPS)));
  const y = tf.reshape(tf.add(tf.mul(x4, scale), tf.sub(beta, tf.mul(mean, scale))), x.shape);
  if (updates) {
    // r_G = (1-m)^G r_0 + sum_g m (1-m)^(G-1-g) s_g: G successive torch updates in one expression.
    const weights = tf.tensor2d(
      Array.from({ length: groups }, (_, k) => BN_MOMENTUM * (1 - BN_MOMENTUM) ** (groups - 1 - k)),
      [groups, 1],
    );
    const keep = (1 - BN_MOMENTUM) ** groups;
    const fold = (r: tf.Tensor, s: tf.Tensor) => tf.add(tf.mul(r, keep), tf.sum(tf.mul(tf.reshape(s, [groups, c]), weights), 0));
    updates[`${prefix}running_mean`] = fold(runMean, mean);
    updates[`${prefix}running_var`] = fold(runVar, n > 1 ? tf.mul(variance, n / (n - 1)) : variance);
  }
  return y;
}

/** Inserts s-1 zeros between the rows and between the columns: [N, H, W, C] -> [N, (H-1)s+1, (W-1)s+1, C]. */
function dilate(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const rows = tf.reshape(
    tf.pad(tf.reshape(x, [n * h, 1, w * c]), [
      [0, 0],
      [0, s - 1],
      [0, 0],
    ]),
    [n, h * s, w, c],
  );
  const h1 = (h - 1) * s + 1;
  const cut = tf.slice(rows, [0, 0, 0, 0], [n, h1, w, c]);
  const cols = tf.reshape(
    tf.pad(tf.reshape(cut, [n * h1 * w, 1, c]), [
      [0, 0],
      [0, s - 1],
      [0, 0],
    ]),
    [n, h1, w * s, c],
  );
  return tf.slice(cols, [0, 0, 0, 0], [n, h1, (w - 1) * s + 1, c]) as tf.Tensor4D;
}

/**
 * 'valid' cross-correlation with a spatial stride, differentiable on every backend (wasm has no conv filter
 * gradient kernel): the filter gradient is a forward convolution dilated by the stride, the input gradient a full
 * correlation of the zero-upsampled output gradient with the adjoint kernel.
 * @param x [N, H, W, Cin]
 * @param w [kh, kw, Cin, Cout]
 * @param opts.data x is data: no input gradient is computed (zeros are returned for it)
 * @returns [N, floor((H-kh)/s)+1, floor((W-kw)/s)+1, Cout]; caller disposes.
 */
export function conv2dValidStrided(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, opts: { data?: boolean } = {}): tf.Tensor4D {
  if (stride === 1) return opts.data ? dataConv2dValid(x, w) : conv2dValid(x, w);
  if (filterGradPath() === 'native') return tf.conv2d(x, w, stride, 'valid');
  const op = customOp<tf.Tensor4D>(([xi, wi]) => ({
    value: tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, stride, 'valid'),
    save: [xi, wi],
    grad: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = dy as tf.Tensor4D;
      const [, hp, wp, ci] = xs.shape;
      const [kh, kw, , co] = ws.shape;
      const [, ho, wo] = g.shape;
      // dW[ky, kx, ci, co] = sum_{n,i,j} x[n, s*i+ky, s*j+kx, ci] dy[n, i, j, co]: dy is a kernel dilated by s.
      const full = tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid', 'NHWC', stride);
      const dw = tf.transpose(tf.slice(full, [0, 0, 0, 0], [ci, kh, kw, co]), [1, 2, 0, 3]);
      if (opts.data) return [tf.zeros(xs.shape), dw];
      const adjoint = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const up = tf.pad(dilate(g, stride), [
        [0, 0],
        [kh - 1, kh - 1],
        [kw - 1, kw - 1],
        [0, 0],
      ]);
      const dx = tf.conv2d(up, adjoint, 1, 'valid'); // [N, (ho-1)s+kh, (wo-1)s+kw, Cin]
      // Rows and columns past the last window get no gradient.
      return [
        tf.pad(dx, [
          [0, 0],
          [0, hp - ((ho - 1) * stride + kh)],
          [0, wp - ((wo - 1) * stride + kw)],
          [0, 0],
        ]),
        dw,
      ];
    },
  }));
  return op(x, w);
}

/**
 * 'valid' 3D cross-correlation (torch Conv3d after its zero padding) as one 2D convolution: output frame d' reads
 * input frames st*d' + kt, kt < kd; those kd frames are stacked on the channel axis (channel kt*Cin + ci) against the
 * kernel reshaped to [kh, kw, kd*Cin, Cout].
 * @param x [B, D, H, W, Cin] (already padded)
 * @param w [kd, kh, kw, Cin, Cout]
 * @param strides [time, space]
 * @param opts.data x is data: no input gradient
 * @returns [B, floor((D-kd)/st)+1, floor((H-kh)/ss)+1, floor((W-kw)/ss)+1, Cout]; caller disposes.
 */
export function conv3dValid(x: tf.Tensor5D, w: tf.Tensor5D, strides: readonly [number, number], opts: { data?: boolean } = {}): tf.Tensor5D {
  return tf.tidy(() => {
    const [b, d, h, wd, ci] = x.shape;
    const [kd, kh, kw, wci, co] = w.shape;
    if (wci !== ci) throw new Error(`conv3d: input has ${ci} channels, the kernel expects ${wci}`);
    const [st, ss] = strides;
    if (d < kd || h < kh || wd < kw) throw new Error(`conv3d: input [${x.shape}] is smaller than the kernel [${w.shape}]`);
    const dOut = Math.floor((d - kd) / st) + 1;
    const frame = h * wd * ci;
    // Frames as rows of [B, D, H*W*Cin] and taps as [B*D', H, W, Cin]: wasm's rank-5 slice is slow (3 slices of
    // [16, 4, 18, 18, 16]: 360 ms), its rank-3 and rank-4 ones are not (a concat's gradient is slices too).
    const rows = tf.reshape(x, [b, d, frame]);
    const taps: tf.Tensor4D[] = [];
    for (let kt = 0; kt < kd; kt++) {
      if (st === 1) {
        taps.push(tf.reshape(tf.slice(rows, [0, kt, 0], [b, dOut, frame]), [b * dOut, h, wd, ci]));
        continue;
      }
      // Frames kt, kt+st, ...: take st*dOut frames from kt (zero frames past the end never get read), keep every st-th.
      const avail = Math.min(st * dOut, d - kt);
      let run: tf.Tensor = tf.slice(rows, [0, kt, 0], [b, avail, frame]);
      if (avail < st * dOut)
        run = tf.pad(run, [
          [0, 0],
          [0, st * dOut - avail],
          [0, 0],
        ]);
      taps.push(tf.reshape(tf.slice(tf.reshape(run, [b, dOut, st, frame]), [0, 0, 0, 0], [b, dOut, 1, frame]), [b * dOut, h, wd, ci]));
    }
    const stacked = taps.length === 1 ? taps[0] : tf.concat(taps, 3);
    const kernel = tf.reshape(tf.transpose(w, [1, 2, 0, 3, 4]), [kh, kw, kd * ci, co]) as tf.Tensor4D;
    const y = conv2dValidStrided(stacked, kernel, ss, opts);
    return tf.reshape(y, [b, dOut, y.shape[1], y.shape[2], co]) as tf.Tensor5D;
  });
}

/** One conv3d + BatchNorm3d + relu block of the reference. */
export interface Cnn3dBlock {
  /** state_dict prefix: conv at `${name}.0.weight`, BatchNorm at `${name}.1.*`. */
  name: string;
  inChannels: number;
  outChannels: number;
  /** [time, space]. */
  strides: [number, number];
}

/** The reference's five blocks: st1 (time stride), st2 = [halve the frame, keep], st3 = [halve the frame, keep]. */
export function cnn3dBlocks(c: Cnn3dConfig): Cnn3dBlock[] {
  const w = c.width;
  return [
    { name: 'st1', inChannels: c.inChannels, outChannels: w, strides: [c.temporalStride, 1] },
    { name: 'st2.0', inChannels: w, outChannels: 2 * w, strides: [1, 2] },
    { name: 'st2.1', inChannels: 2 * w, outChannels: 2 * w, strides: [1, 1] },
    { name: 'st3.0', inChannels: 2 * w, outChannels: 4 * w, strides: [1, 2] },
    { name: 'st3.1', inChannels: 4 * w, outChannels: 4 * w, strides: [1, 1] },
  ];
}

/**
 * Names and shapes as the reference's state_dict (`st1.0.weight`, `st1.1.running_mean`, `st2.0.0.weight`, ...,
 * `head.weight`), conv weights in tfjs layout [kd, kh, kw, in, out], `head.weight` [4w, classes] (torch: [classes, 4w]).
 * torch's BatchNorm num_batches_tracked counters are not kept (only used when momentum is None).
 */
export function cnn3dSpec(c: Cnn3dConfig): ModelSpec {
  const spec = emptyModelSpec();
  for (const blk of cnn3dBlocks(c)) {
    spec.drawn[`${blk.name}.0.weight`] = { shape: [3, 3, 3, blk.inChannels, blk.outChannels], fanIn: 27 * blk.inChannels };
    addBatchNormSpec(spec, `${blk.name}.1.`, blk.outChannels);
  }
  const feat = 4 * c.width;
  spec.drawn['head.weight'] = { shape: [feat, c.numClasses], fanIn: feat };
  spec.drawn['head.bias'] = { shape: [c.numClasses], fanIn: feat };
  return spec;
}

/**
 * Closed form of the 3D-CNN's trainable parameter count, for width w, Cin input channels and K classes:
 *   27 (Cin w + 2w^2 + 4w^2 + 8w^2 + 16w^2)  conv3d weights (no bias)
 * + 2 (w + 2w + 2w + 4w + 4w)               BatchNorm weight and bias
 * + 4w K + K                                linear head
 */
export function cnn3dParamCountFormula(c: Cnn3dConfig): number {
  const w = c.width;
  return 27 * (c.inChannels * w + 30 * w * w) + 26 * w + 4 * w * c.numClasses + c.numClasses;
}

export function cnn3dParamCount(c: Cnn3dConfig): number {
  return trainableCount(cnn3dSpec(c));
}

/**
 * The width whose 3D-CNN has the parameter count nearest to `target` (ties: the smaller width), for fair
 * comparisons with a recurrent classifier of `target` parameters.
 */
export function cnn3dWidthForParams(target: number, o: { numClasses: number; inChannels?: number; temporalStride?: number }): number {
  if (!(target > 0)) throw new Error(`target parameter count must be > 0, got ${target}`);
  const count = (width: number) =>
    cnn3dParamCountFormula({ arch: 'cnn3d', inChannels: o.inChannels ?? 1, width, numClasses: o.numClasses, temporalStride: o.temporalStride ?? 2 });
  let best = 1;
  for (let w = 2; w <= 512; w++) {
    if (Math.abs(count(w) - target) < Math.abs(count(best) - target)) best = w;
    if (count(w) > target) break;
  }
  return best;
}

/**
 * Logits of the 3D-CNN.
 * @param clips [B, T, H, W, Cin]
 * @param updates train mode only: receives the new BatchNorm running statistics (caller disposes them; without it
 *   they are dropped)
 * @returns [B, classes]; caller disposes.
 */
export function cnn3dLogits(c: Cnn3dConfig, p: ParamMap, clips: tf.Tensor5D, mode: NormMode, updates?: Record<string, tf.Tensor>): tf.Tensor2D {
  if (clips.shape[4] !== c.inChannels) throw new Error(`3D-CNN reads ${c.inChannels} input channels, the clips have ${clips.shape[4]}`);
  // The new statistics leave the tidy scope as part of its result (a record filled inside would be disposed).
  const out = tf.tidy(() => {
    const stats: Record<string, tf.Tensor> = {};
    let x: tf.Tensor5D = clips;
    cnn3dBlocks(c).forEach((blk, i) => {
      const padded = tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [1, 1],
        [0, 0],
      ]) as tf.Tensor5D;
      const y = conv3dValid(padded, p[`${blk.name}.0.weight`] as tf.Tensor as tf.Tensor5D, blk.strides, { data: i === 0 });
      x = tf.relu(batchNorm(y, p, `${blk.name}.1.`, mode, stats)) as tf.Tensor5D;
    });
    const feat = tf.mean(x, [1, 2, 3]) as tf.Tensor2D; // [B, 4w]
    return { logits: tf.add(tf.matMul(feat, p['head.weight'] as tf.Tensor as tf.Tensor2D), p['head.bias']) as tf.Tensor2D, stats };
  });
  if (updates) Object.assign(updates, out.stats);
  else tf.dispose(Object.values(out.stats));
  return out.logits;
}
