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
    // tfjs calls gradient functions outside any tidy of their own: without this one, every intermediate of every
    // gradient function would live until the whole backward pass ends.
    return { value: r.value, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.tidy(() => r.grad(dy as tf.Tensor, saved)) };
  });
  return (...xs: tf.Tensor[]) => op(...xs) as T;
}

/** Identity in the forward pass, zero gradient (torch's .detach()). tfjs-core has no stop-gradient op. */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return customOp<T>(([xi]) => ({ value: tf.clone(xi) as T, grad: (dy) => [tf.zerosLike(dy)] }))(x);
}

/**
 * Gradient checkpointing (recompute in backward): `f` runs without recording anything for the backward pass but
 * its inputs; its gradient runs `f` again under a nested tape and backpropagates the incoming gradient through
 * that copy. A recurrence wrapped step by step keeps one state per step instead of every intermediate of every step,
 * for the price of a second forward pass per step.
 *
 * Inputs that are tf.Variables (parameters) are not copied: they are read again at backward time, which is exact
 * because an optimizer changes them only after the backward pass. Pass the parameters `f` uses as inputs, so that
 * the tape routes their gradients; `f` may read them through `xs` or through the same variables elsewhere.
 * @param f a pure function of its inputs
 * @param noGrad positions of inputs that are data (frames): their gradient is zero and is not computed
 */
export function checkpoint<T extends tf.Tensor>(f: (xs: tf.Tensor[]) => T, noGrad: readonly number[] = []): (...xs: tf.Tensor[]) => T {
  return (...xs: tf.Tensor[]) => {
    const isVar = xs.map((x) => x instanceof tf.Variable);
    const op = customOp<T>((inputs) => ({
      value: f(inputs),
      save: inputs.filter((_, i) => !isVar[i]),
      grad: (dy, saved) => {
        let k = 0;
        const again = xs.map((x, i) => (isVar[i] ? x : saved[k++]));
        const want = again.map((_, i) => i).filter((i) => !noGrad.includes(i));
        const grads = nestedGradients(
          () => f(again),
          want.map((i) => again[i]),
          dy,
        );
        return again.map((x, i) => {
          const j = want.indexOf(i);
          return j >= 0 && grads[j] ? grads[j]! : tf.zerosLike(x);
        });
      },
    }));
    return op(...xs);
  };
}

/**
 * tf.engine().gradients called from inside a gradient function. The engine keeps one tape: a gradient computation
 * at depth 0 starts a fresh one and clears it when done, which would drop the tape of the backward pass that is
 * running. Keep the outer tape and put it back.
 * @returns d<f, dy>/dxs, null where f does not depend on an x.
 */
function nestedGradients(f: () => tf.Tensor, xs: tf.Tensor[], dy: tf.Tensor): (tf.Tensor | null)[] {
  const engine = tf.engine();
  const outer = engine.state.activeTape;
  try {
    const { value, grads } = engine.gradients(f, xs, dy, true);
    value.dispose();
    return grads;
  } finally {
    engine.state.activeTape = outer;
  }
}
