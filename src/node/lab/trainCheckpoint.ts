import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../../core/nn/params';
import { decodeSafetensors, encodeSafetensors, type HostTensor } from '../checkpoint/safetensors';
import { readCheckpointFile } from '../checkpoint/safetensors';

/**
 * The optimizer half of a resume point, written next to checkpoints/last.safetensors as
 * last.optimizer.safetensors. tfjs optimizers match their slots to variables by position in the gradient list, and
 * trainStep always applies gradients in the model's parameter order, so positions are stable across processes.
 */
export async function encodeOptimizerState(optimizer: tf.Optimizer, step: number): Promise<Uint8Array> {
  // Asynchronous reads only: the webgpu backend cannot read synchronously under Node (its readSync needs an
  // OffscreenCanvas).
  const weights = await optimizer.getWeights();
  const tensors: Record<string, HostTensor> = {};
  const values = await Promise.all(weights.map((w) => w.tensor.data()));
  weights.forEach((w, i) => {
    tensors[`slot.${String(i).padStart(4, '0')}`] = { shape: [...w.tensor.shape], data: Float32Array.from(values[i]) };
  });
  const acc = adamAccumulators(optimizer);
  const meta: Record<string, string> = { format: 'fernn-lab-optimizer', step: String(step), names: JSON.stringify(weights.map((w) => w.name)) };
  if (acc) meta.adam_acc_betas = JSON.stringify([(await acc.accBeta1.data())[0], (await acc.accBeta2.data())[0]]);
  return encodeSafetensors(tensors, meta);
}

/**
 * tfjs's Adam keeps beta1^t and beta2^t as running products, which getWeights() does not save; setWeights()
 * recomputes them with pow(), which differs from the running product in the last float32 bit. Saving and restoring
 * the products themselves makes a resumed run bit-identical to an uninterrupted one.
 */
function adamAccumulators(o: tf.Optimizer): { accBeta1: tf.Variable; accBeta2: tf.Variable } | null {
  const a = o as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  return a.accBeta1 instanceof tf.Variable && a.accBeta2 instanceof tf.Variable ? { accBeta1: a.accBeta1, accBeta2: a.accBeta2 } : null;
}

/**
 * Restores optimizer slots saved by encodeOptimizerState when they belong to `step`.
 * @returns false (and leaves the optimizer fresh) when the file is missing or from another step.
 */
export async function restoreOptimizerState(optimizer: tf.Optimizer, path: string, step: number): Promise<boolean> {
  let contents;
  try {
    contents = decodeSafetensors(await readCheckpointFile(path));
  } catch {
    return false;
  }
  if (contents.metadata.format !== 'fernn-lab-optimizer' || contents.metadata.step !== String(step)) return false;
  const names = JSON.parse(contents.metadata.names ?? '[]') as string[];
  const keys = Object.keys(contents.tensors).sort();
  if (keys.length !== names.length) return false;
  const slots = keys.map((k, i) => ({ name: names[i], tensor: tf.tensor(contents.tensors[k].data, contents.tensors[k].shape) }));
  await optimizer.setWeights(slots);
  slots.forEach((s) => s.tensor.dispose()); // setWeights copies them into its own variables
  const acc = adamAccumulators(optimizer);
  if (acc && contents.metadata.adam_acc_betas) {
    const [b1, b2] = JSON.parse(contents.metadata.adam_acc_betas) as [number, number];
    tf.tidy(() => {
      acc.accBeta1.assign(tf.scalar(b1));
      acc.accBeta2.assign(tf.scalar(b2));
    });
  }
  return true;
}

/** Host copies of a model's parameters (for a checkpoint written off the training path). */
export async function paramsToHost(model: { readonly params: ParamMap }): Promise<Record<string, HostTensor>> {
  const out: Record<string, HostTensor> = {};
  for (const [name, v] of Object.entries(model.params)) out[name] = { shape: [...v.shape], data: Float32Array.from(await v.data()) };
  return out;
}
