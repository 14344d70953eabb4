import * as tf from '@tensorflow/tfjs-core';
import { clippedUpdate } from './clippedUpdate';
import type { Seq2SeqModel } from '../nn/seq2seq';
import { forward } from '../nn/seq2seq';
import type { Rng } from '../util/rng';

export interface StepOptions {
  /** Clip the global gradient norm to this value (reference: 1.0); 0 or undefined disables clipping. */
  clipNorm?: number;
  /** Teacher forcing ratio in [0, 1] (reference default 0). */
  teacherForcing?: number;
  rng?: Rng;
  /** Recompute cell steps in the backward pass to save memory (default true; see ForwardOptions.checkpoint). */
  checkpoint?: boolean;
}

export interface StepResult {
  /** MSE over the predicted frames; a scalar tensor the caller disposes (read it with await .data()). */
  loss: tf.Scalar;
  /** Global gradient norm before clipping; caller disposes. */
  gradNorm: tf.Scalar;
}

/**
 * One optimisation step of the seq2seq predictor: MSE over the K predicted frames, global-norm gradient clipping,
 * then the optimizer's update. No GPU->CPU read happens here; the caller decides when to read the loss.
 * @param inputs [B, T_in, H, W, C]
 * @param targets [B, K, H, W, C]
 */
export function trainStep(model: Seq2SeqModel, optimizer: tf.Optimizer, inputs: tf.Tensor5D, targets: tf.Tensor5D, opts: StepOptions = {}): StepResult {
  return tf.tidy(() =>
    clippedUpdate(
      model.params,
      optimizer,
      () => {
        const preds = forward(model, inputs, targets.shape[1], { teacherForcing: opts.teacherForcing, targets, rng: opts.rng, checkpoint: opts.checkpoint });
        return tf.losses.meanSquaredError(targets, preds) as tf.Scalar;
      },
      opts.clipNorm,
    ),
  );
}

/**
 * Test-time MSE of a prediction batch (no gradients kept).
 * @param preds [B, K, H, W, C]
 * @param targets [B, K, H, W, C]
 */
export function mse(preds: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(preds, targets)) as tf.Scalar);
}
