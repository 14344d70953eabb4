import * as tf from '@tensorflow/tfjs-core';
import { clippedUpdate } from './clippedUpdate';
import { applyBufferUpdates, classifierForward, classifierInChannels, trainableParams, type ClassifierModel } from '../nn/classifier';
import { InputError } from '../util/errors';

export interface ClassifyStepOptions {
  /** Clip the global gradient norm to this value (reference: 1.0); 0 or undefined disables clipping. */
  clipNorm?: number;
}

export interface ClassifyStepResult {
  /** Mean softmax cross-entropy over the batch; a scalar the caller disposes (read it with await .data()). */
  loss: tf.Scalar;
  /** Global gradient norm before clipping; caller disposes. */
  gradNorm: tf.Scalar;
  /** Fraction of the batch whose argmax logit is the label, from the same forward pass (before the update);
   *  caller disposes. */
  accuracy: tf.Scalar;
}

/**
 * One optimisation step of any sequence classifier (recurrent or 3D-CNN): softmax cross-entropy of the logits in
 * training mode (BatchNorm on batch statistics, as torch's model.train()), global-norm gradient clipping, then the
 * optimizer's update of the trainable parameters, applied in sorted parameter-name order (as `trainStep`, so a
 * resumed optimizer matches its slots to the same variables); then the BatchNorm running statistics are updated.
 * No GPU->CPU read happens here.
 * @param clips [B, T, H, W, Cin]
 * @param labels [B] class ids in 0..numClasses-1: an Int32Array (checked here) or an int32 tensor (only its shape is
 *   checked, reading its values would sync; an out-of-range id would count as a zero target). Not disposed here.
 */
export function classifyTrainStep(
  model: ClassifierModel,
  optimizer: tf.Optimizer,
  clips: tf.Tensor5D,
  labels: Int32Array | tf.Tensor1D,
  opts: ClassifyStepOptions = {},
): ClassifyStepResult {
  const b = clips.shape[0];
  const numClasses = model.config.numClasses;
  const cin = classifierInChannels(model.config);
  if (clips.rank !== 5 || clips.shape[4] !== cin) throw new InputError('clips', `must be [B, T, H, W, ${cin}], got [${clips.shape.join(', ')}]`);
  checkLabels(labels, b, numClasses);
  if (opts.clipNorm !== undefined && !(opts.clipNorm >= 0)) throw new InputError('clipNorm', `must be >= 0, got ${opts.clipNorm}`);
  return tf.tidy(() => {
    const y = labels instanceof Int32Array ? tf.tensor1d(labels, 'int32') : labels;
    const out: { accuracy?: tf.Scalar; updates?: Record<string, tf.Tensor> } = {};
    const { loss, gradNorm } = clippedUpdate(
      trainableParams(model),
      optimizer,
      () => {
        const { logits, updates } = classifierForward(model, clips, 'train');
        // The gradient's forward pass runs in its own scope; keep the accuracy of these logits and the new running
        // statistics past it.
        out.accuracy = tf.keep(accuracyOf(logits, y));
        out.updates = Object.fromEntries(Object.entries(updates).map(([k, t]) => [k, tf.keep(t)]));
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses), logits) as tf.Scalar;
      },
      opts.clipNorm,
    );
    if (!out.accuracy || !out.updates) throw new Error('the forward pass did not run');
    applyBufferUpdates(model, out.updates);
    return { loss, gradNorm, accuracy: out.accuracy };
  });
}

/**
 * Fraction of rows whose largest logit is at the label (ties go to the lowest class, as tf.argMax).
 * @param logits [B, classes]
 * @param labels [B] int32
 * @returns a scalar in [0, 1]; caller disposes.
 */
export function accuracyOf(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'float32')) as tf.Scalar);
}

function checkLabels(labels: Int32Array | tf.Tensor1D, b: number, numClasses: number): void {
  if (labels instanceof Int32Array) {
    if (labels.length !== b) throw new InputError('labels', `has ${labels.length} entries for a batch of ${b} clips`);
    for (let i = 0; i < b; i++) {
      const k = labels[i];
      if (k < 0 || k >= numClasses) throw new InputError('labels', `entry ${i} is ${k}, outside 0..${numClasses - 1}`);
    }
    return;
  }
  if (labels.rank !== 1 || labels.shape[0] !== b) throw new InputError('labels', `has shape [${labels.shape.join(', ')}], expected [${b}]`);
  if (labels.dtype !== 'int32') throw new InputError('labels', `must be int32, got ${labels.dtype}`);
}
