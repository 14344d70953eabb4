import { createHash } from 'node:crypto';
import { extname } from 'node:path';
import type { Seq2SeqConfig } from '../../core/nn/config';
import { seq2seqParamSpec, type Seq2SeqModel } from '../../core/nn/seq2seq';
import { InputError } from '../../core/util/errors';
import { loadCheckpoint } from './load';
import { readTorchStateDict } from './pth';
import { decodeSafetensors, readCheckpointFile } from './safetensors';

/** What a run records of the checkpoint it started from (run.json `sources.init`). */
export interface InitSource {
  path: string;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
  format: 'safetensors' | 'pth';
}

/**
 * Checks that a checkpoint fits a run's model, without building the model (no tensors: the service calls this before
 * a run exists). Compares every parameter's shape in our layout ([kh, kw, in, out]; a .pth's torch [out, in, kh, kw]
 * weights are transposed first), in sorted name order.
 * @throws InputError(field, ...) for an unreadable file, or naming the first parameter that differs with both shapes.
 */
export async function inspectInitCheckpoint(path: string, model: Seq2SeqConfig, field: string): Promise<InitSource> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.pth' && ext !== '.pt')
    throw new InputError(field, `${path}: unknown extension '${ext}' (expected .safetensors, .pth or .pt)`);
  let bytes: Uint8Array;
  let shapes: Record<string, number[]>;
  try {
    bytes = await readCheckpointFile(path);
    if (ext === '.safetensors') {
      shapes = Object.fromEntries(Object.entries(decodeSafetensors(bytes).tensors).map(([k, t]) => [k, t.shape]));
    } else {
      const sd = readTorchStateDict(bytes);
      shapes = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.shape.length === 4 ? [t.shape[2], t.shape[3], t.shape[1], t.shape[0]] : t.shape]));
    }
  } catch (e) {
    if (e instanceof InputError) throw new InputError(field, e.message.replace(/^checkpoint: /, ''));
    throw e;
  }
  const mismatch = firstMismatch(shapes, seq2seqParamSpec(model));
  if (mismatch) throw new InputError(field, `${path} does not fit the run's model: ${mismatch}`);
  return { path, sha256: createHash('sha256').update(bytes).digest('hex'), format: ext === '.safetensors' ? 'safetensors' : 'pth' };
}

/** The first difference between a checkpoint's parameter shapes and a model's, in words; null when they match. */
export function firstMismatch(have: Record<string, number[]>, want: Record<string, { shape: readonly number[] }>): string | null {
  const names = [...new Set([...Object.keys(have), ...Object.keys(want)])].sort();
  const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;
  for (const n of names) {
    if (!want[n]) return `the checkpoint has ${n} ${fmt(have[n])}, which the run's model does not`;
    if (!have[n]) return `the checkpoint has no ${n} (the run's model needs ${fmt(want[n].shape)})`;
    const a = have[n];
    const b = want[n].shape;
    if (a.length !== b.length || a.some((d, i) => d !== b[i]))
      return `${n} is ${fmt(a)} in the checkpoint, ${fmt(b)} in the run's model (layout [kh, kw, in, out])`;
  }
  return null;
}

/**
 * The run's model with the checkpoint's weights (the run's config: pool, activation and the velocity set are the
 * run's; a .pth is read with the run's vRange, which its weights cannot reveal).
 * @returns new variables; the caller disposes them.
 */
export async function loadInitWeights(path: string, model: Seq2SeqConfig, vRange: number, field: string): Promise<Seq2SeqModel> {
  await inspectInitCheckpoint(path, model, field);
  const loaded = await loadCheckpoint(path, { vRange, pool: model.pool });
  return { config: model, params: loaded.params };
}
