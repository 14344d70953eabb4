import * as tf from '@tensorflow/tfjs-core';
import { isRotationCell, stateChannels, type Pool, type Seq2SeqConfig } from './config';
import { cellParamSpec } from './cell';
import { advance, advanceCheckpointed, hiddenOf, initRun } from './runner';
import { countParams, disposeParams, initParams, type ParamMap, type ParamSpec } from './params';
import { circularConv2d } from './conv';
import { zeroPadConv2d } from './groupConv';
import { customOp, stopGradient } from './gradient';
import { hostMemoryKernelsActive, maxMid, maxMidGrad } from './hostMemoryKernels';
import { gpuKernelsActive } from './gpuKernels';
import type { Rng } from '../util/rng';

/** A seq2seq next-frame predictor: immutable config + parameters (the reference's Seq2SeqFERNN). */
export interface Seq2SeqModel {
  readonly config: Seq2SeqConfig;
  readonly params: ParamMap;
}

/**
 * Parameter shapes; names match the reference state_dict (`decoder_conv.{0,2,..,2k}.weight`). The decoder reads all
 * channels of a velocity slice: hidden, or hidden * N for rotation cells (the reference's Seq2SeqRotationRNN pools
 * over the velocity axis only and feeds every orientation channel to ordinary convolutions).
 */
export function seq2seqParamSpec(c: Seq2SeqConfig): ParamSpec {
  const spec = cellParamSpec(c.cell);
  const ch = stateChannels(c.cell);
  for (let i = 0; i < c.decoderLayers; i++) spec[`decoder_conv.${2 * i}.weight`] = { shape: [3, 3, ch, ch], fanIn: ch * 9 };
  spec[`decoder_conv.${2 * c.decoderLayers}.weight`] = { shape: [3, 3, ch, c.outChannels], fanIn: ch * 9 };
  return spec;
}

export function createSeq2Seq(config: Seq2SeqConfig, seed: number): Seq2SeqModel {
  return { config, params: initParams(seq2seqParamSpec(config), seed) };
}

export function seq2seqParamCount(config: Seq2SeqConfig): number {
  return countParams(seq2seqParamSpec(config));
}

export function disposeModel(m: { params: ParamMap }): void {
  disposeParams(m.params);
}

/**
 * Pools the velocity axis away.
 * @param h [B, V, H, W, C]
 * @returns [B, H, W, C]; caller disposes.
 */
export function poolVelocities(h: tf.Tensor5D, pool: Pool): tf.Tensor4D {
  if (pool === 'mean') return tf.mean(h, 1);
  if (pool === 'sum') return tf.sum(h, 1);
  return maxOverVelocities(h);
}

/**
 * Max over the V axis. Its stock gradient compares h with the broadcast max, and broadcasting binary ops are slow
 * on wasm (1.1 s of a 4.3 s FERNN step). On wasm, cpu and webgpu one kernel each way (nn/hostMemoryKernels, nn/gpuKernels); elsewhere the max is
 * repeated to h's shape first. Ties share the gradient, as in tfjs (torch sends it to one index; ties are exact zeros
 * of relu, whose gradient is 0 either way).
 */
function maxOverVelocities(h: tf.Tensor5D): tf.Tensor4D {
  const [b, nv, height, width, ch] = h.shape;
  if ((hostMemoryKernelsActive() || gpuKernelsActive()) && h.dtype === 'float32') {
    const p = height * width * ch;
    return customOp<tf.Tensor4D>(([x]) => {
      const x3 = tf.reshape(x, [b, nv, p]) as tf.Tensor3D;
      const m = maxMid(x3);
      return {
        value: tf.reshape(m, [b, height, width, ch]),
        save: [x3, m],
        grad: (dy, [xs, ms]) => [tf.reshape(maxMidGrad(xs as tf.Tensor3D, ms as tf.Tensor2D, tf.reshape(dy, [b, p])), h.shape)],
      };
    })(h);
  }
  return customOp<tf.Tensor4D>(([x]) => {
    const value = tf.max(x, 1) as tf.Tensor4D;
    return {
      value,
      save: [x, value],
      grad: (dy, saved) => {
        const [xs, m] = saved;
        // Repeat along V with one concat (tf.tile is slower still than broadcasting on wasm).
        const tile = (t: tf.Tensor) => tf.reshape(tf.concat(new Array<tf.Tensor>(nv).fill(tf.reshape(t, [t.shape[0], 1, -1])), 1), xs.shape);
        return [tf.mul(tf.cast(tf.equal(xs, tile(m)), 'float32'), tile(dy))];
      },
    };
  })(h);
}

/**
 * Decoder readout of a hidden state: pool over V, then k x (3x3 circular conv + relu), then 3x3 circular conv -> out.
 * Rotation cells pad with zeros (the reference's nn.Conv2d(padding=1) in Seq2SeqRotationRNN), as their cell does.
 * @param h [B, V, H, W, C]
 * @returns [B, H, W, Cout]; caller disposes.
 */
export function readout(m: Seq2SeqModel, h: tf.Tensor5D): tf.Tensor4D {
  const reluConv = isRotationCell(m.config.cell)
    ? (x: tf.Tensor4D, w: tf.Tensor4D) => tf.relu(zeroPadConv2d(x, w))
    : (x: tf.Tensor4D, w: tf.Tensor4D) => circularConv2d(x, w, 'relu');
  const conv = isRotationCell(m.config.cell) ? zeroPadConv2d : circularConv2d;
  return tf.tidy(() => {
    let x = poolVelocities(h, m.config.pool);
    for (let i = 0; i < m.config.decoderLayers; i++) x = reluConv(x, m.params[`decoder_conv.${2 * i}.weight`] as tf.Tensor4D);
    return conv(x, m.params[`decoder_conv.${2 * m.config.decoderLayers}.weight`] as tf.Tensor4D);
  });
}

export interface ForwardOptions {
  /** Probability of feeding the ground-truth frame instead of the model's previous prediction (training only). */
  teacherForcing?: number;
  /** [B, K, H, W, C] ground truth for teacher forcing. */
  targets?: tf.Tensor5D;
  /** Draws the teacher-forcing coin; required when teacherForcing > 0. */
  rng?: Rng;
  /** Called with the hidden state h_t (reference coordinates) after each cell step; must not dispose it. */
  onHidden?: (h: tf.Tensor5D, phase: 'encode' | 'decode', step: number) => void;
  /**
   * Recompute each cell step in the backward pass instead of keeping its intermediates (default true; runner.ts
   * `advanceCheckpointed`). The values and gradients are the same either way; false keeps more memory.
   */
  checkpoint?: boolean;
}

/**
 * The reference forward pass: encode the T_in input frames, then decode `predLen` frames autoregressively. The
 * first decoder step re-reads the last input frame; each prediction is fed back (detached) as the next input.
 * Differentiable: call inside a gradient scope for training. For inference use `predict`, which frees per step.
 * @param inputs [B, T_in, H, W, Cin]
 * @returns predictions [B, K, H, W, Cout]; caller disposes.
 */
export function forward(m: Seq2SeqModel, inputs: tf.Tensor5D, predLen: number, opts: ForwardOptions = {}): tf.Tensor5D {
  const [b, tIn, height, width] = inputs.shape;
  const tfRatio = opts.teacherForcing ?? 0;
  if (tfRatio > 0 && (!opts.targets || !opts.rng)) throw new Error('teacher forcing needs targets and an rng');
  const cell = m.config.cell;
  const step = opts.checkpoint === false ? advance : advanceCheckpointed;
  return tf.tidy(() => {
    let s = initRun(cell, b, height, width);
    for (let t = 0; t < tIn; t++) {
      s = step(cell, m.params, s, frameAt(inputs, t));
      if (opts.onHidden) opts.onHidden(hiddenOf(cell, s), 'encode', t + 1);
    }
    let prev: tf.Tensor4D = frameAt(inputs, tIn - 1);
    const outs: tf.Tensor4D[] = [];
    for (let k = 0; k < predLen; k++) {
      const useTruth = tfRatio > 0 && opts.rng!.next() < tfRatio;
      const frame = useTruth ? frameAt(opts.targets!, k) : stopGradient(prev);
      s = step(cell, m.params, s, frame);
      const h = hiddenOf(cell, s);
      opts.onHidden?.(h, 'decode', k + 1);
      const out = readout(m, h);
      outs.push(out);
      prev = out;
    }
    return stackFrames(outs);
  });
}

/**
 * Inference forward pass that frees intermediate tensors step by step (memory stays O(one step)).
 * @param inputs [B, T_in, H, W, Cin]
 * @returns [B, K, H, W, Cout]; caller disposes.
 */
export function predict(m: Seq2SeqModel, inputs: tf.Tensor5D, predLen: number): tf.Tensor5D {
  const [b, tIn, height, width] = inputs.shape;
  const cell = m.config.cell;
  let s = initRun(cell, b, height, width);
  const consume = (frame: tf.Tensor4D): void => {
    const next = advance(cell, m.params, s, frame);
    s.g.dispose();
    s = next;
  };
  for (let t = 0; t < tIn; t++) {
    const u = frameAt(inputs, t);
    consume(u);
    u.dispose();
  }
  let prev = frameAt(inputs, tIn - 1);
  const outs: tf.Tensor4D[] = [];
  for (let k = 0; k < predLen; k++) {
    consume(prev);
    if (k === 0) prev.dispose();
    const h = hiddenOf(cell, s);
    const out = readout(m, h);
    h.dispose();
    outs.push(out);
    prev = out;
  }
  if (predLen === 0) prev.dispose();
  s.g.dispose();
  const res = tf.stack(outs, 1) as tf.Tensor5D;
  outs.forEach((o) => o.dispose());
  return res;
}

/**
 * Stacks frames along a new time axis (tf.stack(frames, 1)) as a concat of rank-3 views: its gradient is then rank-3
 * slices, which wasm copies in blocks (tf.stack's gradient unstacks with rank-5 slices, wasm's slow generic path).
 * @param frames K x [B, H, W, C]
 * @returns [B, K, H, W, C]; caller disposes.
 */
function stackFrames(frames: tf.Tensor4D[]): tf.Tensor5D {
  const [b, h, w, c] = frames[0].shape;
  return tf.tidy(
    () =>
      tf.reshape(
        tf.concat(
          frames.map((f) => tf.reshape(f, [b, 1, h * w * c])),
          1,
        ),
        [b, frames.length, h, w, c],
      ) as tf.Tensor5D,
  );
}

/**
 * Frame t of a sequence.
 * @param seq [B, T, H, W, C]
 * @returns [B, H, W, C]; caller disposes.
 */
export function frameAt(seq: tf.Tensor5D, t: number): tf.Tensor4D {
  const [b, n, h, w, c] = seq.shape;
  // A rank-3 slice: wasm copies it in b blocks (rank 5 takes its slow generic path).
  return tf.tidy(() => tf.reshape(tf.slice(tf.reshape(seq, [b, n, h * w * c]), [0, t, 0], [b, 1, h * w * c]), [b, h, w, c]));
}
