import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../nn/params';

/**
 * One optimizer update of `params` on the scalar `loss()`: gradients by autodiff, their global norm, clipping to
 * `clipNorm` (0 or undefined: no clipping), then `optimizer.applyGradients`. Parameters are visited in sorted name
 * order: optimizers match their slots to variables by position, so the order must not depend on how the map was
 * built (fresh or loaded from a checkpoint) for a resumed run to continue exactly.
 * Call inside tf.tidy.
 * @returns the loss and the gradient norm before clipping (scalars; the caller's tidy owns them).
 */
export function clippedUpdate(params: ParamMap, optimizer: tf.Optimizer, loss: () => tf.Scalar, clipNorm?: number): { loss: tf.Scalar; gradNorm: tf.Scalar } {
  const names = Object.keys(params).sort();
  const { value, grads } = tf.variableGrads(
    loss,
    names.map((n) => params[n]),
  );
  const list = names.map((n) => grads[params[n].name]);
  const gradNorm = tf.sqrt(tf.addN(list.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
  let applied = list;
  if (clipNorm && clipNorm > 0) {
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(clipNorm), tf.add(gradNorm, tf.scalar(1e-6))));
    applied = list.map((g) => tf.mul(g, scale));
  }
  optimizer.applyGradients(names.map((n, i) => ({ name: params[n].name, tensor: applied[i] })));
  return { loss: value, gradNorm };
}
