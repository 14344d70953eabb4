import * as tf from '@tensorflow/tfjs-core';
import { createRng, uniformArray, type Rng } from '../util/rng';

/**
 * Named parameters. Names follow the reference PyTorch state_dict keys (`cell.conv_u.weight`, ...) so checkpoints
 * map one to one; convolution weights are stored in tfjs layout [kh, kw, in, out] (torch: [out, in, kh, kw]).
 */
export type ParamMap = Record<string, tf.Variable>;

/** A parameter's shape, keyed by name, in tfjs layout. */
export type ParamSpec = Record<string, { shape: number[]; fanIn: number }>;

/**
 * Creates trainable variables initialised as torch's Conv2d/Linear default (kaiming_uniform with a = sqrt(5)):
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from a seeded stream in name order, so the same seed gives the
 * same weights on every backend.
 * @returns variables; the caller disposes them (disposeParams).
 */
export function initParams(spec: ParamSpec, seed: number): ParamMap {
  const rng: Rng = createRng(seed);
  const out: ParamMap = {};
  for (const name of Object.keys(spec).sort()) {
    const { shape, fanIn } = spec[name];
    const n = shape.reduce((a, b) => a * b, 1);
    const values = uniformArray(rng, n, 1 / Math.sqrt(fanIn));
    out[name] = tf.variable(tf.tensor(values, shape, 'float32'), true, undefined);
  }
  return out;
}

/** Variables from given tensors (copied), checked against the spec: unknown, missing or mis-shaped names throw. */
export function paramsFromTensors(spec: ParamSpec, tensors: Record<string, tf.Tensor>): ParamMap {
  const missing = Object.keys(spec).filter((k) => !(k in tensors));
  const extra = Object.keys(tensors).filter((k) => !(k in spec));
  if (missing.length) throw new Error(`missing parameters: ${missing.join(', ')}`);
  if (extra.length) throw new Error(`unexpected parameters: ${extra.join(', ')}`);
  const out: ParamMap = {};
  for (const [name, { shape }] of Object.entries(spec)) {
    const t = tensors[name];
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`parameter ${name}: expected shape [${shape}], got [${t.shape}]`);
    }
    out[name] = tf.variable(tf.cast(t, 'float32'), true, undefined);
  }
  return out;
}

export function countParams(spec: ParamSpec): number {
  return Object.values(spec).reduce((acc, { shape }) => acc + shape.reduce((a, b) => a * b, 1), 0);
}

export function disposeParams(params: ParamMap): void {
  for (const v of Object.values(params)) v.dispose();
}
