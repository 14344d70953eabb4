import * as tf from '@tensorflow/tfjs-core';
// Gradients of the stock ops are registered by this side-effect import (tfjs-core alone has none).
import '@tensorflow/tfjs-core/dist/register_all_gradients';

/** Gradient of a custom op: returns one gradient per input, in input order. */
export type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

/**
 * A typed front to tf.customGrad: `fn` gets the inputs and returns the forward value, the tensors the gradient
 * needs (saved by tfjs) and the gradient function.
 */
export function customOp<T extends tf.Tensor>(fn: (inputs: tf.Tensor[]) => { value: T; save?: tf.Tensor[]; grad: GradFn }): (...xs: tf.Tensor[]) => T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const r = fn(args.slice(0, -1) as tf.Tensor[]);
    if (r.save) save(r.save);
    return { value: r.value, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => r.grad(dy as tf.Tensor, saved) };
  });
  return (...xs: tf.Tensor[]) => op(...xs) as T;
}

/** Identity in the forward pass, zero gradient (torch's .detach()). tfjs-core has no stop-gradient op. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return customOp<T>(([xi]) => ({ value: tf.clone(xi) as T, grad: (dy) => [tf.zerosLike(dy)] }))(x);
}
