import * as tf from '@tensorflow/tfjs-core';
import {
  describeCell,
  makeCnn3dConfig,
  shiftKernelSize,
  stateChannels,
  type CellConfig,
  type ClassifierConfig,
  type Cnn3dConfig,
  type EncoderConfig,
  type RecurrentClassifierConfig,
} from './config';
import { cellParamSpec, velocityShifts } from './cell';
import { circularPad, rollSlices, wrapShifts, type Shift2 } from './circular';
import { circularConv2d, conv2dValid, dataConv2dValid, depthwiseValid } from './conv';
import { cachedIndexMap } from './indexMap';
import { disposeParams, type ParamMap, type ParamSpec } from './params';
import { advance, coMoving, hiddenOf, initRun } from './runner';
import { cellKindFacts } from './modelKinds';
import { poolVelocities, frameAt } from './seq2seq';
import {
  addBatchNormSpec,
  batchNorm,
  cnn3dLogits,
  cnn3dSpec,
  cnn3dWidthForParams,
  emptyModelSpec,
  instantiate,
  stateShapes,
  trainableCount,
  type ModelSpec,
  type NormMode,
} from './cnn3d';
import { mod } from '../util/math';

/**
 * A sequence classifier, immutable config + parameters:
 * - arch 'classifier' (the paper's KTH head on a FERNN / G-RNN / G-RNN+): run the recurrent cell over the clip
 *   (optionally on the frames of a per-frame conv encoder), take the last hidden state, pool over V (max by
 *   default), average over space, then a linear layer;
 * - arch 'cnn3d': the 3D-CNN baseline (cnn3d.ts).
 * `params` also holds the BatchNorm running statistics as variables with trainable = false (see trainableParams).
 */
export interface ClassifierModel {
  readonly config: ClassifierConfig;
  readonly params: ParamMap;
}

/** Encoder layer i: conv at `encoder.${3i}.weight` [k, k, in, out], BatchNorm at `encoder.${3i+1}.*` (the
 *  reference's conv_u_first = Sequential(conv, bn, relu, conv, bn, relu, ...) numbering). */
const encoderConv = (i: number): string => `encoder.${3 * i}.weight`;
const encoderNorm = (i: number): string => `encoder.${3 * i + 1}.`;

function encoderWidths(c: RecurrentClassifierConfig, e: EncoderConfig): number[] {
  return [...e.channels, c.cell.hidden];
}

/**
 * Every tensor of a classifier by name. Recurrent: the cell's parameters (without `cell.conv_u.weight` when an
 * encoder replaces it), the encoder's, `head.weight` [C, classes] and `head.bias` [classes] (C: the channels of one
 * hidden slice, hidden * N for rotation cells). 3D-CNN: cnn3dSpec.
 */
export function classifierModelSpec(c: ClassifierConfig): ModelSpec {
  if (c.arch === 'cnn3d') return cnn3dSpec(c);
  const spec = emptyModelSpec();
  const cell = cellParamSpec(c.cell);
  if (c.encoder) {
    delete cell['cell.conv_u.weight'];
    let cin = c.cell.inChannels;
    encoderWidths(c, c.encoder).forEach((cout, i) => {
      const k = c.encoder!.kernels[i];
      spec.drawn[encoderConv(i)] = { shape: [k, k, cin, cout], fanIn: cin * k * k };
      if (c.encoder!.batchNorm) addBatchNormSpec(spec, encoderNorm(i), cout);
      cin = cout;
    });
  }
  Object.assign(spec.drawn, cell);
  const feat = stateChannels(c.cell);
  spec.drawn['head.weight'] = { shape: [feat, c.numClasses], fanIn: feat };
  spec.drawn['head.bias'] = { shape: [c.numClasses], fanIn: feat };
  return spec;
}

/** Shapes of every tensor a checkpoint of this classifier holds (parameters and BatchNorm running statistics). */
export function classifierStateShapes(c: ClassifierConfig): ParamSpec {
  return stateShapes(classifierModelSpec(c));
}

/** Names of the non-trainable tensors (BatchNorm running statistics). */
export function classifierBufferNames(c: ClassifierConfig): string[] {
  return Object.keys(classifierModelSpec(c).buffers).sort();
}

/** Fresh weights: convs and linear layers as torch's default init from `seed`, BatchNorm weight 1 / bias 0,
 *  running statistics 0 / 1. The caller disposes the model (disposeClassifier). */
export function createClassifier(config: ClassifierConfig, seed: number): ClassifierModel {
  return { config, params: instantiate(classifierModelSpec(config), seed) };
}

/** Trainable parameters (what torch's count_parameters counts; BatchNorm running statistics excluded). */
export function classifierParamCount(config: ClassifierConfig): number {
  return trainableCount(classifierModelSpec(config));
}

/** The parameters an optimizer updates (all but the BatchNorm running statistics); the same variables, not copies. */
export function trainableParams(m: ClassifierModel): ParamMap {
  return Object.fromEntries(Object.entries(m.params).filter(([, v]) => v.trainable));
}

export function disposeClassifier(m: ClassifierModel): void {
  disposeParams(m.params);
}

/** Input channels the classifier reads. */
export function classifierInChannels(c: ClassifierConfig): number {
  return c.arch === 'cnn3d' ? c.inChannels : c.cell.inChannels;
}

/** "FERNN-V1", "G-RNN + encoder", "3D-CNN (width 16)". */
export function describeClassifier(c: ClassifierConfig): string {
  if (c.arch === 'cnn3d') return `3D-CNN (width ${c.width})`;
  return c.encoder ? `${describeCell(c.cell)} + encoder` : describeCell(c.cell);
}

/**
 * A 3D-CNN with the parameter count nearest to the given recurrent classifier's (same classes and input channels,
 * temporal stride 2), for a fair baseline.
 */
export function matchedCnn3dConfig(c: RecurrentClassifierConfig): Cnn3dConfig {
  const width = cnn3dWidthForParams(classifierParamCount(c), { numClasses: c.numClasses, inChannels: c.cell.inChannels });
  return makeCnn3dConfig({ numClasses: c.numClasses, inChannels: c.cell.inChannels, width });
}

export interface ForwardResult {
  /** [B, classes]. */
  logits: tf.Tensor2D;
  /** Train mode: the new BatchNorm running statistics by name (apply them with applyBufferUpdates); eval: empty. */
  updates: Record<string, tf.Tensor>;
}

/**
 * Logits of a batch of clips, differentiable (call inside a gradient scope to train). Pure: BatchNorm running
 * statistics are read (eval) or their new values returned (train), never written here.
 * @param clips [B, T, H, W, Cin]
 * @returns tensors the caller disposes.
 */
export function classifierForward(m: ClassifierModel, clips: tf.Tensor5D, mode: NormMode): ForwardResult {
  const cin = classifierInChannels(m.config);
  if (clips.rank !== 5 || clips.shape[4] !== cin) throw new Error(`${describeClassifier(m.config)} reads clips [B, T, H, W, ${cin}], got [${clips.shape}]`);
  return tf.tidy(() => {
    const updates: Record<string, tf.Tensor> = {};
    const c = m.config;
    if (c.arch === 'cnn3d') return { logits: cnn3dLogits(c, m.params, clips, mode, updates), updates };
    const pooled = poolVelocities(recurrentLastHidden(c, m.params, clips, mode, updates), c.pool); // [B, H, W, C]
    const feat = tf.mean(pooled, [1, 2]) as tf.Tensor2D; // [B, C]
    const logits = tf.add(tf.matMul(feat, m.params['head.weight'] as tf.Tensor2D), m.params['head.bias']) as tf.Tensor2D;
    return { logits, updates };
  });
}

/**
 * Class logits at inference (BatchNorm on running statistics).
 * @param clips [B, T, H, W, Cin]
 * @returns [B, numClasses]; caller disposes.
 */
export function classify(m: ClassifierModel, clips: tf.Tensor5D): tf.Tensor2D {
  return classifierForward(m, clips, 'eval').logits;
}

/**
 * Writes new BatchNorm running statistics into the model's buffers and disposes the given tensors.
 * @param updates from classifierForward(..., 'train')
 */
export function applyBufferUpdates(m: ClassifierModel, updates: Record<string, tf.Tensor>): void {
  for (const [name, t] of Object.entries(updates)) {
    const v = m.params[name];
    if (!v || v.trainable) throw new Error(`no buffer ${name} in the model`);
    v.assign(t);
    t.dispose();
  }
}

/**
 * The recurrent classifier's last hidden state h_T, in the reference's coordinates (inference mode).
 * @param clips [B, T, H, W, Cin]
 * @returns [B, V, H, W, C]; caller disposes.
 */
export function lastHidden(m: ClassifierModel, clips: tf.Tensor5D): tf.Tensor5D {
  if (m.config.arch !== 'classifier') throw new Error('lastHidden: a 3D-CNN has no hidden state');
  return recurrentLastHidden(m.config, m.params, clips, 'eval', {});
}

/** @param updates receives the encoder's new BatchNorm running statistics in train mode (caller disposes them). */
function recurrentLastHidden(c: RecurrentClassifierConfig, p: ParamMap, clips: tf.Tensor5D, mode: NormMode, updates: Record<string, tf.Tensor>): tf.Tensor5D {
  const [b, t, height, width] = clips.shape;
  if (t < 1) throw new Error('a clip needs at least one frame');
  if (c.encoder) {
    const { encoded, stats } = encodeFrames(c, c.encoder, p, clips, mode);
    Object.assign(updates, stats);
    try {
      return runEncoded(c.cell, p, encoded);
    } finally {
      encoded.dispose();
    }
  }
  return tf.tidy(() => {
    let s = initRun(c.cell, b, height, width);
    for (let i = 0; i < t; i++) s = advance(c.cell, p, s, frameAt(clips, i));
    return hiddenOf(c.cell, s);
  });
}

/**
 * The per-frame encoder over every frame at once.
 * @param clips [B, T, H, W, Cin]
 * @returns encoded [B, T, H, W, C] and, in train mode, the new BatchNorm running statistics; caller disposes all.
 */
function encodeFrames(
  c: RecurrentClassifierConfig,
  e: EncoderConfig,
  p: ParamMap,
  clips: tf.Tensor5D,
  mode: NormMode,
): { encoded: tf.Tensor5D; stats: Record<string, tf.Tensor> } {
  const [b, t, h, w, cin] = clips.shape;
  // The statistics leave the tidy scope as part of its result (a record filled inside would be disposed).
  return tf.tidy(() => {
    const stats: Record<string, tf.Tensor> = {};
    let x = tf.reshape(clips, [b * t, h, w, cin]) as tf.Tensor4D;
    encoderWidths(c, e).forEach((cout, i) => {
      const wt = p[encoderConv(i)] as tf.Tensor as tf.Tensor4D;
      const pad = (e.kernels[i] - 1) / 2;
      let y: tf.Tensor4D;
      if (e.padding === 'circular') y = i === 0 ? dataConv2dValid(circularPad(x, pad), wt) : circularConv2d(x, wt);
      else {
        const xp = tf.pad(x, [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ]);
        y = i === 0 ? dataConv2dValid(xp, wt) : conv2dValid(xp, wt);
      }
      if (e.batchNorm) {
        // Statistics per frame (axis 1), as the reference, which calls its encoder once per time step.
        y = tf.reshape(batchNorm(tf.reshape(y, [b, t, h, w, cout]), p, encoderNorm(i), mode, stats, 1), [b * t, h, w, cout]) as tf.Tensor4D;
      }
      x = tf.relu(y);
    });
    return { encoded: tf.reshape(x, [b, t, h, w, c.cell.hidden]) as tf.Tensor5D, stats };
  });
}

/**
 * Copies every encoded frame into the V velocity slices, slice v of frame t rolled by -v(t+1) (co-moving
 * coordinates) or not at all (G-RNN+), in one gather over the whole clip.
 * @param e [B, T, H, W, C]
 * @returns [B, T, V*H*W*C] (slice-major within a frame); caller disposes.
 */
function liftFrames(cell: CellConfig, e: tf.Tensor5D): tf.Tensor3D {
  const [b, t, h, w, ch] = e.shape;
  const shifts: Shift2[] = coMoving(cell) ? velocityShifts(cell) : cell.velocities.map(() => ({ dy: 0, dx: 0 }));
  const nv = shifts.length;
  if (nv === 1 && shifts[0].dy === 0 && shifts[0].dx === 0) return tf.reshape(e, [b, t, h * w * ch]) as tf.Tensor3D;
  const key = `lift:${t}x${h}x${w}:${shifts.map((s) => `${s.dy},${s.dx}`).join(';')}:${coMoving(cell) ? 'co' : 'fixed'}`;
  const map = cachedIndexMap(key, t * h * w, () => {
    const idx = new Int32Array(t * nv * h * w);
    let m = 0;
    for (let f = 0; f < t; f++) {
      const k = coMoving(cell) ? f + 1 : 0;
      for (const s of shifts) {
        // roll(x, -s*k)[i, j] = x[i + dy*k, j + dx*k]
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) idx[m++] = f * h * w + mod(i + s.dy * k, h) * w + mod(j + s.dx * k, w);
      }
    }
    return idx;
  });
  return tf.tidy(() => tf.reshape(map.apply(tf.reshape(e, [b, t * h * w, ch]) as tf.Tensor3D), [b, t, nv * h * w * ch]) as tf.Tensor3D);
}

/**
 * The recurrence on encoded frames, h_0 = 0:
 *   h_{t+1}[v] = act( e_t + conv_h(move_v(h_t[v])) )
 * FERNN / G-RNN in co-moving coordinates g_t[v] = roll(h_t[v], -v t), where move_v disappears (runner.ts):
 *   g_{t+1}[v] = act( roll(e_t, -v(t+1)) + conv_h(g_t[v]) ).
 * @param e [B, T, H, W, C] encoded frames (differentiable)
 * @returns h_T [B, V, H, W, C] in the reference's coordinates; caller disposes.
 */
function runEncoded(cell: CellConfig, p: ParamMap, e: tf.Tensor5D): tf.Tensor5D {
  const [b, t, h, w, ch] = e.shape;
  const nv = cell.velocities.length;
  return tf.tidy(() => {
    const frames = tf.unstack(liftFrames(cell, e), 1).map((f) => tf.reshape(f, [b * nv, h, w, ch]) as tf.Tensor4D);
    const act = (z: tf.Tensor4D): tf.Tensor4D => (cell.activation === 'tanh' ? tf.tanh(z) : tf.relu(z));
    const wh = p['cell.conv_h.weight'] as tf.Tensor as tf.Tensor4D;
    let g = act(frames[0]); // conv_h(h_0) = 0
    for (let i = 1; i < t; i++) {
      const moved = coMoving(cell) ? g : moveEncoded(cell, p, g, b);
      g = act(tf.add(frames[i], circularConv2d(moved, wh)));
    }
    const hT = tf.reshape(g, [b, nv, h, w, ch]) as tf.Tensor5D;
    if (!coMoving(cell)) return hT;
    const shifts = wrapShifts(
      velocityShifts(cell).map((s) => ({ dy: s.dy * t, dx: s.dx * t })),
      h,
      w,
    );
    return shifts.every((s) => s.dy === 0 && s.dx === 0) ? hT : rollSlices(hT, shifts);
  });
}

/** The move of a cell that is not co-moving, on the encoder path: only G-RNN+ has one (the encoder is refused for
 *  rotation cells by the config schema; a kind that slips through is named, not run as a G-RNN+). */
function moveEncoded(cell: CellConfig, p: ParamMap, h: tf.Tensor4D, b: number): tf.Tensor4D {
  if (cell.kind !== 'grnn-plus' || !cellKindFacts(cell.kind).encoder) throw new Error(`the classifier's input encoder does not run ${cell.kind} cells`);
  return moveGrnnPlus(cell, p, h, b);
}

/**
 * G-RNN+'s learned per-velocity depthwise kernels in place of the shifts (as cellStep).
 * @param h [B*V, H, W, C], row b*V + v
 * @returns [B*V, H, W, C]; caller disposes.
 */
function moveGrnnPlus(cell: CellConfig, p: ParamMap, h: tf.Tensor4D, b: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, height, width, ch] = h.shape;
    const nv = cell.velocities.length;
    const r = (shiftKernelSize(cell) - 1) / 2;
    const stacked = tf.reshape(tf.transpose(tf.reshape(h, [b, nv, height, width, ch]), [0, 2, 3, 1, 4]), [b, height, width, nv * ch]) as tf.Tensor4D;
    const shifted = depthwiseValid(circularPad(stacked, r), p['cell.shift.weight'] as tf.Tensor as tf.Tensor4D);
    return tf.reshape(tf.transpose(tf.reshape(shifted, [b, height, width, nv, ch]), [0, 3, 1, 2, 4]), [b * nv, height, width, ch]) as tf.Tensor4D;
  });
}
