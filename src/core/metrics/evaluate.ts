import * as tf from '@tensorflow/tfjs-core';
import { FlowingMnist, type DigitSource, type FlowingMnistBatch, type FlowingMnistConfigInput, type VelocitySpec } from '../data/flowingMnist';
import { framesToTensor } from '../data/tensor';
import { predict, type Seq2SeqModel } from '../nn/seq2seq';
import { InputError } from '../util/errors';

/**
 * Test-time evaluation of a seq2seq predictor, following the reference protocol (`moving_mnist_fp/train_eval_utils.py`):
 * - `evaluateMse`: the test MSE of `eval_epoch`, plus the MSE of each future step;
 * - `lengthGeneralisation`: `eval_len_generalization`, i.e. longer test sequences (40, 70 frames), 10 input frames,
 *   the rest predicted autoregressively; per future step the mean over sequences of the per-sequence MSE and its
 *   population standard deviation (the reference's sqrt(E[x^2] - E[x]^2), clamped at 0);
 * - `velocityGeneralisation`: `eval_velocity_generalization`, one fixed-velocity test set per cell of a grid
 *   (`FixedVelocityMovingMNIST`: every digit of every sequence moves with the cell's (vx, vy)), one MSE per cell,
 *   stored `mse[iy][ix]` as the reference's `err_mat[iy, ix]`.
 *
 * All functions run batch by batch: the synchronous tensor work of a batch is one `tf.tidy`, the read-back
 * (`await data()`) happens outside it, and no tensor outlives a call (results are plain numbers). Statistics are
 * accumulated in float64 on the JS side.
 */

/** Called after each batch. `done` and `total` count sequences (over all lengths / all grid cells). */
export type ProgressCallback = (done: number, total: number) => void;

export interface EvalControl {
  onProgress?: ProgressCallback;
  /**
   * Polled before every batch; returning true makes the call reject with `EvaluationStopped`. When it is given, the
   * loop also yields one macrotask per batch so that a flag set by a message handler (worker, IPC) can be seen.
   */
  shouldStop?: () => boolean;
}

/** The rejection of an evaluation whose `shouldStop` returned true; `done` of `total` sequences were evaluated. */
export class EvaluationStopped extends Error {
  constructor(
    readonly done: number,
    readonly total: number,
  ) {
    super(`evaluation stopped after ${done} of ${total} sequences`);
    this.name = 'EvaluationStopped';
  }
}

/** Anything that serves seeded batches: `batch(i, B)` is sequences i*B .. i*B+B-1 of a fixed stream (FlowingMnist,
 *  RotatingMnist). Only the frames are read. */
export interface BatchSource {
  /** @returns frames [size, T, H, W, 1] (see FlowingMnistBatch) */
  batch(index: number, size: number): Pick<FlowingMnistBatch, 'frames' | 'shape'>;
}

export const DEFAULT_BATCH_SIZE = 64;
/** Reference `--input_frames`. */
export const DEFAULT_INPUT_FRAMES = 10;
/** Reference `--seq_len 20` minus 10 input frames. */
export const DEFAULT_PRED_FRAMES = 10;
/** Reference `--gen_seq_len 40`; the notes add 70. */
export const DEFAULT_GEN_SEQ_LENS: readonly number[] = [40, 70];
/** Reference `--gen_vel_min -2 --gen_vel_max 2 --gen_vel_step 1`. */
export const DEFAULT_VELOCITY_RANGE = 2;

export interface EvaluateMseOptions extends EvalControl {
  /** Sequences 0 .. sequences-1 of the source are evaluated. */
  sequences: number;
  /** Sequences per forward pass (default 64); the last batch may be smaller. Does not change the result. */
  batchSize?: number;
  /** T_in: frames fed to the encoder (default 10). */
  inputFrames?: number;
  /** K: frames predicted after the input (default: every remaining frame of the source's sequences, T - T_in). */
  predFrames?: number;
}

export interface MseResult {
  /** Mean squared error over all predicted frames, pixels and sequences (the reference's test loss). */
  mse: number;
  /** [K]: perStep[k-1] is the MSE of future step k (the prediction of frame T_in + k - 1), k = 1..K. */
  perStep: number[];
  /** Sequences evaluated. */
  sequences: number;
}

/**
 * Test MSE of a seq2seq predictor on the first `sequences` sequences of a seeded source.
 * Each sequence of the source is split into inputs = frames [0, T_in) and targets = frames [T_in, T_in + K); the
 * model predicts K frames autoregressively from the inputs (`predict`, no teacher forcing, as the reference's eval).
 * @param model a seq2seq model with 1 input and 1 output channel; only read, never disposed here
 * @param source batches of frames [B, T, H, W, 1] with T >= T_in + K
 * @returns plain numbers; no tensor outlives the call
 */
export async function evaluateMse(model: Seq2SeqModel, source: BatchSource, opts: EvaluateMseOptions): Promise<MseResult> {
  const plan = planOf(opts.sequences, opts.batchSize);
  const inputFrames = positiveInt('inputFrames', opts.inputFrames ?? DEFAULT_INPUT_FRAMES);
  const predFrames = opts.predFrames === undefined ? undefined : positiveInt('predFrames', opts.predFrames);
  checkModel(model);
  const progress = new Progress(plan.sequences, opts);
  const stats = await accumulate(model, source, plan, inputFrames, predFrames, progress);
  const perStep = Array.from(stats.mean);
  return { mse: perStep.reduce((a, b) => a + b, 0) / perStep.length, perStep, sequences: stats.n };
}

/** Test-set generation shared by the generalisation protocols: which digits and how they are drawn. */
export interface TestSetOptions extends EvalControl {
  /** Sequences per test set (per sequence length, or per grid cell). */
  sequences: number;
  /** Sequences per forward pass (default 64). */
  batchSize?: number;
  /** Seed of the test stream: the same seed gives the same digits at the same start positions. */
  seed: number;
  /** Square frame side (default 28). */
  imageSize?: number;
  /** Digits per sequence (default 2, as the reference). */
  numDigits?: number;
  /** T_in: frames fed to the encoder (default 10). */
  inputFrames?: number;
}

export interface LengthGeneralisationOptions extends TestSetOptions {
  /** Total sequence lengths T to test, each > inputFrames (default [40, 70]); K = T - T_in frames are predicted. */
  seqLens?: readonly number[];
  /** Each digit's velocity components are uniform in -D..D, as in training (default 2, reference `data_v_range`). */
  dataVRange?: number;
}

export interface LengthCurve {
  /** [K]: mean over sequences of the per-sequence MSE of future step k = 1..K. */
  mean: number[];
  /** [K]: population standard deviation over sequences of that per-sequence MSE (0 for a single sequence). */
  std: number[];
  sequences: number;
  /** [K]: the MSE of predicting blank frames at step k (the targets' mean square): a model above it has diverged. */
  blank?: number[];
}

/**
 * Length generalisation: for each T in `seqLens`, a Flowing-MNIST test set of T-frame sequences built from `digits`
 * (the reference uses the t10k set), T_in input frames and K = T - T_in autoregressive predictions, reported per
 * future step. All lengths use the same seed, so the sequences of the longer set extend those of the shorter one.
 * @param model a seq2seq model with 1 input and 1 output channel; only read, never disposed here
 * @param digits the digit images and the split to draw from (copied into the generator; not retained)
 * @returns curves keyed by sequence length; plain numbers, no tensor outlives the call
 */
export async function lengthGeneralisation(model: Seq2SeqModel, digits: DigitSource, opts: LengthGeneralisationOptions): Promise<Record<number, LengthCurve>> {
  const plan = planOf(opts.sequences, opts.batchSize);
  const inputFrames = positiveInt('inputFrames', opts.inputFrames ?? DEFAULT_INPUT_FRAMES);
  const seqLens = opts.seqLens ?? DEFAULT_GEN_SEQ_LENS;
  if (seqLens.length === 0) throw new InputError('seqLens', 'needs at least one sequence length');
  for (const t of seqLens) {
    positiveInt('seqLens', t);
    if (t <= inputFrames) throw new InputError('seqLens', `every length must exceed inputFrames (${inputFrames}), got ${t}`);
  }
  if (new Set(seqLens).size !== seqLens.length) throw new InputError('seqLens', 'lengths must be distinct');
  checkModel(model);
  const velocity: VelocitySpec = { kind: 'range', range: opts.dataVRange ?? DEFAULT_VELOCITY_RANGE };
  // Build (and so validate) every generator before the first forward pass: a bad option fails fast.
  const sources = seqLens.map((seqLen) => new FlowingMnist(testSetConfig(opts, seqLen, velocity), digits, opts.seed));
  const progress = new Progress(plan.sequences * seqLens.length, opts);
  const out: Record<number, LengthCurve> = {};
  for (let i = 0; i < seqLens.length; i++) {
    const stats = await accumulate(model, sources[i], plan, inputFrames, seqLens[i] - inputFrames, progress);
    out[seqLens[i]] = {
      mean: Array.from(stats.mean),
      std: Array.from(stats.m2, (m2) => Math.sqrt(Math.max(m2 / stats.n, 0))),
      sequences: stats.n,
      blank: Array.from(stats.blank),
    };
  }
  return out;
}

export interface VelocityGeneralisationOptions extends TestSetOptions {
  /** R: the grid is vx, vy in -R..R, step 1 (default 2). */
  range?: number;
  /** K: frames predicted after the input (default 10). */
  predFrames?: number;
}

export interface VelocityGrid {
  /** [2R+1]: the axis values -R..R, shared by vx and vy. */
  velocities: number[];
  /** [2R+1][2R+1]: mse[iy][ix] is the test MSE when every digit moves with (vx, vy) = (velocities[ix], velocities[iy]). */
  mse: number[][];
  /** Sequences per cell. */
  sequences: number;
}

/**
 * Velocity generalisation: one fixed-velocity test set per grid cell, every digit of every sequence moving with the
 * cell's velocity (the reference's `FixedVelocityMovingMNIST`), T_in input frames and K predicted frames; the MSE over
 * all predicted frames per cell. Every cell uses the same seed, and the generator draws digits and start positions
 * from a stream that does not depend on velocity, so cells differ only by motion (the reference gets the same from
 * re-seeding its deterministic dataset per cell).
 * @param model a seq2seq model with 1 input and 1 output channel; only read, never disposed here
 * @param digits the digit images and the split to draw from (the reference uses the t10k set)
 * @returns the MSE heat-map; plain numbers, no tensor outlives the call
 */
export async function velocityGeneralisation(model: Seq2SeqModel, digits: DigitSource, opts: VelocityGeneralisationOptions): Promise<VelocityGrid> {
  const plan = planOf(opts.sequences, opts.batchSize);
  const inputFrames = positiveInt('inputFrames', opts.inputFrames ?? DEFAULT_INPUT_FRAMES);
  const predFrames = positiveInt('predFrames', opts.predFrames ?? DEFAULT_PRED_FRAMES);
  const velocities = velocityAxis(opts.range);
  const range = velocities.length >> 1;
  checkModel(model);
  const seqLen = inputFrames + predFrames;
  const cell = (vx: number, vy: number): FlowingMnist =>
    new FlowingMnist(testSetConfig(opts, seqLen, { kind: 'fixed', velocity: { vx, vy } }), digits, opts.seed);
  // Validates the options (and the largest speeds) before the first forward pass.
  cell(range, -range);
  const progress = new Progress(plan.sequences * velocities.length ** 2, opts);
  const mse = await overVelocityGrid(velocities, async (vx, vy) => {
    const stats = await accumulate(model, cell(vx, vy), plan, inputFrames, predFrames, progress);
    return stats.mean.reduce((a, b) => a + b, 0) / stats.mean.length;
  });
  return { velocities, mse, sequences: plan.sequences };
}

/** The axis -R..R of a velocity grid (default R = DEFAULT_VELOCITY_RANGE); R is checked, naming 'range'. */
export function velocityAxis(range: number = DEFAULT_VELOCITY_RANGE): number[] {
  if (!Number.isSafeInteger(range) || range < 0) throw new InputError('range', `must be an integer >= 0, got ${range}`);
  return Array.from({ length: 2 * range + 1 }, (_, i) => i - range);
}

/**
 * One value per cell of the (vx, vy) grid over `velocities`, cells evaluated in row order (vy outer, vx inner).
 * @returns values[iy][ix] for velocity (velocities[ix], velocities[iy])
 */
export async function overVelocityGrid(velocities: readonly number[], cell: (vx: number, vy: number) => Promise<number>): Promise<number[][]> {
  const grid: number[][] = [];
  for (const vy of velocities) {
    const row: number[] = [];
    for (const vx of velocities) row.push(await cell(vx, vy));
    grid.push(row);
  }
  return grid;
}

// ---- internals ---------------------------------------------------------------------------------------------------

/** How many sequences an evaluation reads, and how many per forward pass. */
export interface Plan {
  sequences: number;
  batchSize: number;
}

/** Welford accumulators of the per-sequence MSE of each future step: n sequences, mean [K], sum of squared deviations [K]. */
interface StepStats {
  n: number;
  mean: Float64Array;
  m2: Float64Array;
  /** [K]: mean over sequences of the target's mean square at step k: the MSE of predicting blank frames. */
  blank: Float64Array;
}

/** Progress of an evaluation in sequences, with cancellation between batches (`EvaluationStopped`). */
export class Progress {
  done = 0;
  constructor(
    readonly total: number,
    private readonly control: EvalControl,
  ) {}

  async checkpoint(): Promise<void> {
    if (!this.control.shouldStop) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (this.control.shouldStop()) throw new EvaluationStopped(this.done, this.total);
  }

  advance(n: number): void {
    this.done += n;
    this.control.onProgress?.(this.done, this.total);
  }
}

/**
 * Runs sequences 0..plan.sequences-1 of `source` through the model and accumulates per-step statistics.
 * @param predFrames K, or undefined for every frame after the inputs
 */
async function accumulate(
  model: Seq2SeqModel,
  source: BatchSource,
  plan: Plan,
  inputFrames: number,
  predFrames: number | undefined,
  progress: Progress,
): Promise<StepStats> {
  let stats: StepStats | null = null;
  const batches = Math.ceil(plan.sequences / plan.batchSize);
  for (let i = 0; i < batches; i++) {
    await progress.checkpoint();
    const count = Math.min(plan.batchSize, plan.sequences - i * plan.batchSize);
    // A short last batch is the head of a full one: batch(i, count) would be a different slice of the stream.
    const full = source.batch(i, plan.batchSize);
    const [, t, h, w, c] = full.shape;
    const k = predFrames ?? t - inputFrames;
    if (k < 1 || inputFrames + k > t) {
      throw new InputError('predFrames', `inputFrames (${inputFrames}) + predFrames (${k}) must be in ${inputFrames + 1}..${t}, the sequence length`);
    }
    const perSequence = t * h * w * c;
    const frames = full.frames.subarray(0, count * perSequence);
    const errs = tf.tidy(() => {
      const seq = framesToTensor({ frames, shape: [count, t, h, w, 1] });
      const inputs = tf.slice(seq, [0, 0, 0, 0, 0], [count, inputFrames, h, w, c]);
      const targets = tf.slice(seq, [0, inputFrames, 0, 0, 0], [count, k, h, w, c]);
      const preds = predict(model, inputs, k);
      // [2, B, K]: the MSE of each sequence at each future step (reference: mean over C, H, W), and that of blank frames.
      return tf.stack([tf.mean(tf.squaredDifference(preds, targets), [2, 3, 4]), tf.mean(tf.square(targets), [2, 3, 4])]);
    });
    let values: Float32Array;
    try {
      values = (await errs.data()) as Float32Array;
    } finally {
      errs.dispose();
    }
    if (stats === null) stats = { n: 0, mean: new Float64Array(k), m2: new Float64Array(k), blank: new Float64Array(k) };
    else if (stats.mean.length !== k) throw new Error(`batch ${i} has ${t} frames per sequence, unlike the batches before it`);
    for (let b = 0; b < count; b++) {
      stats.n += 1;
      for (let s = 0; s < k; s++) {
        const x = values[b * k + s];
        stats.blank[s] += (values[count * k + b * k + s] - stats.blank[s]) / stats.n;
        const delta = x - stats.mean[s];
        stats.mean[s] += delta / stats.n;
        stats.m2[s] += delta * (x - stats.mean[s]);
      }
    }
    progress.advance(count);
  }
  if (stats === null) throw new Error('no batch evaluated');
  return stats;
}

function testSetConfig(opts: TestSetOptions, seqLen: number, velocity: VelocitySpec): FlowingMnistConfigInput {
  return { numDigits: opts.numDigits ?? 2, imageSize: opts.imageSize ?? 28, seqLen, velocity };
}

/** Checked sequence and batch counts (InputErrors name the field); batch size defaults to DEFAULT_BATCH_SIZE. */
export function planOf(sequences: number, batchSize: number | undefined): Plan {
  return { sequences: positiveInt('sequences', sequences), batchSize: positiveInt('batchSize', batchSize ?? DEFAULT_BATCH_SIZE) };
}

function positiveInt(field: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new InputError(field, `must be an integer >= 1, got ${n}`);
  return n;
}

/** Flowing-MNIST frames have one channel; a model reading or writing more would broadcast silently in the MSE. */
function checkModel(model: Seq2SeqModel): void {
  const { cell, outChannels } = model.config;
  if (cell.inChannels !== 1 || outChannels !== 1) {
    throw new InputError('model', `needs 1 input and 1 output channel for Flowing-MNIST frames, has ${cell.inChannels} in and ${outChannels} out`);
  }
}
