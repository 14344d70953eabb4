import * as tf from '@tensorflow/tfjs-core';
import type { FlowingMnistBatch } from './flowingMnist';

/**
 * Batches stay typed arrays until the side that owns the tfjs backend turns them into tensors (tensors never cross
 * a process boundary). These are the only conversions.
 */

/**
 * @param batch frames [B, T, H, W, 1]
 * @returns a float32 tensor [B, T, H, W, 1]; caller disposes.
 */
export function framesToTensor(batch: Pick<FlowingMnistBatch, 'frames' | 'shape'>): tf.Tensor5D {
  const expected = batch.shape.reduce((a, b) => a * b, 1);
  if (batch.frames.length !== expected) {
    throw new Error(`frames has ${batch.frames.length} values, shape [${batch.shape.join(', ')}] needs ${expected}`);
  }
  return tf.tensor5d(batch.frames, [...batch.shape], 'float32');
}

/**
 * @param batch labels [B, numDigits]
 * @returns an int32 tensor [B, numDigits] of digit classes; caller disposes.
 */
export function labelsToTensor(batch: Pick<FlowingMnistBatch, 'labels' | 'numDigits' | 'shape'>): tf.Tensor2D {
  const b = batch.shape[0];
  if (batch.labels.length !== b * batch.numDigits) {
    throw new Error(`labels has ${batch.labels.length} values, expected ${b} x ${batch.numDigits}`);
  }
  return tf.tensor2d(Int32Array.from(batch.labels), [b, batch.numDigits], 'int32');
}
