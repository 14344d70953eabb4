import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { FitState } from '../../core/train/fit';
import { InputError } from '../../core/util/errors';
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

/**
 * The training loop's own state at a resume point (core/train/fit.ts FitState less the step): saved in the metadata
 * of checkpoints/last.safetensors as `loop_state`, so it is always the state of those very weights, and a resumed
 * run's early-stop counter, divergence baseline and best score continue where they were.
 */
export type LoopState = Pick<FitState, 'bestScore' | 'bestStep' | 'staleValidations' | 'firstLoss'>;

const loopStateSchema = z
  .object({
    bestScore: z.number().nullable(),
    bestStep: z.number().int().min(0).nullable(),
    staleValidations: z.number().int().min(0),
    firstLoss: z.number().nullable(),
  })
  .strict();

export const LOOP_STATE_KEY = 'loop_state';

export function encodeLoopState(s: LoopState): string {
  return JSON.stringify({ bestScore: s.bestScore, bestStep: s.bestStep, staleValidations: s.staleValidations, firstLoss: s.firstLoss });
}

/**
 * The loop state of a checkpoint's metadata; null for checkpoints written before it was saved.
 * @throws InputError('checkpoint', ...) naming the field when it is there but malformed.
 */
export function decodeLoopState(metadata: Record<string, string>): LoopState | null {
  const text = metadata[LOOP_STATE_KEY];
  if (text === undefined) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InputError('checkpoint', `${LOOP_STATE_KEY} is not JSON`);
  }
  const r = loopStateSchema.safeParse(raw);
  if (!r.success) throw new InputError('checkpoint', `${LOOP_STATE_KEY}.${r.error.issues[0].path.map(String).join('.')}: ${r.error.issues[0].message}`);
  return r.data;
}
