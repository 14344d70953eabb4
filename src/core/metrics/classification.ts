import * as tf from '@tensorflow/tfjs-core';
import type { DigitSource, VelocitySpec } from '../data/flowingMnist';
import { classificationSource, type ClassificationSource } from '../data/flowingMnistClassification';
import { framesToTensor } from '../data/tensor';
import { classifierInChannels, classify, type ClassifierModel } from '../nn/classifier';
import { InputError } from '../util/errors';
import { overVelocityGrid, planOf, Progress, velocityAxis, type EvalControl, type Plan } from './evaluate';

/**
 * Test-time evaluation of a sequence classifier (the paper's Table 2 protocol, here on single-digit Flowing MNIST):
 * - `evaluateClassifier`: accuracy and confusion matrix on the first N clips of a seeded source;
 * - `accuracyPerVelocity`: one fixed-velocity test set per cell of a (vx, vy) grid, the classification analogue of
 *   the velocity-generalisation heat-map.
 * As in evaluate.ts: one `tf.tidy` per batch, the read-back outside it, no tensor outlives a call, and `shouldStop`
 * rejects with `EvaluationStopped`.
 */

export interface ClassifierEvalOptions extends EvalControl {
  /** Clips 0 .. sequences-1 of the source are evaluated. */
  sequences: number;
  /** Clips per forward pass (default 64); the last batch may be smaller. Does not change the result. */
  batchSize?: number;
}

export interface ClassifierEvalResult {
  /** Fraction of clips whose argmax logit is the label. */
  accuracy: number;
  /** [classes][classes] counts: confusion[true][predicted]. */
  confusion: number[][];
  /** Clips evaluated. */
  sequences: number;
}

/**
 * Accuracy and confusion matrix of a classifier on the first `sequences` clips of a seeded source.
 * @param model only read, never disposed here
 * @param source batches of clips [B, T, H, W, Cin] (Cin = the model's input channels) with labels [B] in 0..classes-1
 * @returns plain numbers; no tensor outlives the call
 */
export async function evaluateClassifier(model: ClassifierModel, source: ClassificationSource, opts: ClassifierEvalOptions): Promise<ClassifierEvalResult> {
  const plan = planOf(opts.sequences, opts.batchSize);
  const progress = new Progress(plan.sequences, opts);
  const confusion = await confusionOf(model, source, plan, progress);
  return summarise(confusion, plan.sequences);
}

export interface AccuracyPerVelocityOptions extends EvalControl {
  /** R: the grid is vx, vy in -R..R, step 1 (default 2). */
  range?: number;
  /** Clips per grid cell. */
  sequences: number;
  /** Clips per forward pass (default 64). */
  batchSize?: number;
  /** Seed of the test stream: every cell uses it, so cells hold the same digits at the same starts. */
  seed: number;
  /** Square frame side (default 28). */
  imageSize?: number;
  /** Frames per clip (default 20). */
  seqLen?: number;
}

export interface AccuracyGrid {
  /** [2R+1]: the axis values -R..R, shared by vx and vy. */
  velocities: number[];
  /** [2R+1][2R+1]: accuracy[iy][ix] is the accuracy when every digit moves with (velocities[ix], velocities[iy]). */
  accuracy: number[][];
  /** Clips per cell. */
  sequences: number;
}

/**
 * Velocity generalisation of a classifier: one single-digit fixed-velocity Flowing-MNIST test set per grid cell,
 * all drawn with the same seed so cells differ only by motion (the generator draws digits and starts from a stream
 * independent of the velocity spec).
 * @param model a classifier with 1 input channel; only read, never disposed here
 * @param digits the digit images and the split to draw from (e.g. all of t10k)
 * @returns the accuracy heat-map; plain numbers, no tensor outlives the call
 */
export async function accuracyPerVelocity(model: ClassifierModel, digits: DigitSource, opts: AccuracyPerVelocityOptions): Promise<AccuracyGrid> {
  const plan = planOf(opts.sequences, opts.batchSize);
  const velocities = velocityAxis(opts.range);
  const range = velocities.length >> 1;
  const cin = classifierInChannels(model.config);
  if (cin !== 1) throw new InputError('model', `needs 1 input channel for Flowing-MNIST clips, has ${cin}`);
  const cell = (vx: number, vy: number): ClassificationSource => {
    const velocity: VelocitySpec = { kind: 'fixed', velocity: { vx, vy } };
    return classificationSource(digits, { imageSize: opts.imageSize, seqLen: opts.seqLen, velocity }, opts.seed);
  };
  // Validates the options (and the largest speeds) before the first forward pass.
  cell(range, -range);
  const progress = new Progress(plan.sequences * velocities.length ** 2, opts);
  const accuracy = await overVelocityGrid(
    velocities,
    async (vx, vy) => summarise(await confusionOf(model, cell(vx, vy), plan, progress), plan.sequences).accuracy,
  );
  return { velocities, accuracy, sequences: plan.sequences };
}

// ---- internals ---------------------------------------------------------------------------------------------------

/** Runs clips 0..plan.sequences-1 of `source` and counts (true, predicted) pairs, [classes * classes] row-major. */
async function confusionOf(model: ClassifierModel, source: ClassificationSource, plan: Plan, progress: Progress): Promise<Float64Array> {
  const k = model.config.numClasses;
  const counts = new Float64Array(k * k);
  const batches = Math.ceil(plan.sequences / plan.batchSize);
  for (let i = 0; i < batches; i++) {
    await progress.checkpoint();
    const count = Math.min(plan.batchSize, plan.sequences - i * plan.batchSize);
    // A short last batch is the head of a full one: batch(i, count) would be a different slice of the stream.
    const full = source.batch(i, plan.batchSize);
    const [, t, h, w, c] = full.shape;
    const cin = classifierInChannels(model.config);
    if (c !== cin) throw new InputError('model', `reads ${cin} input channels, the clips have ${c}`);
    const labels = full.labels.subarray(0, count);
    for (let b = 0; b < count; b++) {
      if (!(labels[b] >= 0 && labels[b] < k)) throw new InputError('labels', `clip ${i * plan.batchSize + b} has label ${labels[b]}, outside 0..${k - 1}`);
    }
    const clips = full.clips.subarray(0, count * t * h * w * c);
    const predicted = tf.tidy(() => tf.argMax(classify(model, framesToTensor({ frames: clips, shape: [count, t, h, w, c] })), 1));
    let values: Int32Array;
    try {
      values = (await predicted.data()) as Int32Array;
    } finally {
      predicted.dispose();
    }
    for (let b = 0; b < count; b++) counts[labels[b] * k + values[b]] += 1;
    progress.advance(count);
  }
  return counts;
}

function summarise(counts: Float64Array, sequences: number): ClassifierEvalResult {
  const k = Math.round(Math.sqrt(counts.length));
  const confusion: number[][] = [];
  let correct = 0;
  for (let r = 0; r < k; r++) {
    confusion.push(Array.from(counts.subarray(r * k, (r + 1) * k)));
    correct += counts[r * k + r];
  }
  return { accuracy: correct / sequences, confusion, sequences };
}
