import * as tf from '@tensorflow/tfjs-core';

/** PyTorch's `torch.optim.Adam` defaults, which the reference trains with. */
export const ADAM_DEFAULTS = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } as const;

/**
 * The optimizer of every training run: Adam with PyTorch's defaults. `tf.train.adam(lr)` alone would take its epsilon
 * from the backend (1e-7 on wasm and cpu, 1e-4 on float16 WebGL): ten times torch's on the first step of a weight with
 * a small gradient, where Adam's update is g / (|g| + eps). tfjs and torch then agree on the rest of the maths:
 * m / (1 - beta1^t) / (sqrt(v / (1 - beta2^t)) + eps), test/node/trainingParity.test.ts.
 */
export function createAdam(lr: number): tf.AdamOptimizer {
  return tf.train.adam(lr, ADAM_DEFAULTS.beta1, ADAM_DEFAULTS.beta2, ADAM_DEFAULTS.epsilon);
}
