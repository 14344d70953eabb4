import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Pool } from '../../core/nn/config';
import type { Seq2SeqModel } from '../../core/nn/seq2seq';
import { InputError } from '../../core/util/errors';
import { importReferencePth } from './pth';
import { loadModelSafetensors } from './safetensors';

export interface LoadCheckpointOptions {
  /** The reference's v_range; required for .pth (the weights do not reveal the velocity set), ignored otherwise. */
  vRange?: number;
  /** .pth only: the pooling over V (default 'max', the reference's). */
  pool?: Pool;
  /** .pth only: the cell activation (default 'relu', the reference's). */
  activation?: 'relu' | 'tanh';
}

/**
 * Loads a seq2seq model by file extension: `.safetensors` (ours) or `.pth` / `.pt` (a reference state_dict).
 * @returns params as new variables; the caller disposes them (disposeModel).
 * @throws InputError('checkpoint', ...) for a missing, unknown or bad file; InputError('v-range', ...) when a .pth
 *   comes without vRange.
 */
export async function loadCheckpoint(path: string, opts: LoadCheckpointOptions = {}): Promise<Seq2SeqModel> {
  const ext = extname(path).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.pth' && ext !== '.pt') {
    throw new InputError('checkpoint', `${path}: unknown extension '${ext}' (expected .safetensors, .pth or .pt)`);
  }
  try {
    if (!(await stat(path)).isFile()) throw new InputError('checkpoint', `${path} is not a file`);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('checkpoint', `no such file: ${path}`);
  }
  if (ext === '.safetensors') {
    const { config, params } = await loadModelSafetensors(path);
    if (config.arch !== 'seq2seq') throw new InputError('checkpoint', `arch '${config.arch}' is not a seq2seq model`);
    return { config, params };
  }
  if (opts.vRange === undefined) throw new InputError('v-range', 'required for .pth checkpoints: the weights do not reveal the velocity set');
  return importReferencePth(path, { vRange: opts.vRange, pool: opts.pool, activation: opts.activation });
}
