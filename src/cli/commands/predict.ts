import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { disposeModel, predict } from '../../core/nn/seq2seq';
import { InputError } from '../../core/util/errors';
import { backendLine, selectBackend } from '../../node/backend';
import { loadCheckpoint } from '../../node/checkpoint/load';
import { encodeNpy, parseNpy } from '../../node/npy';
import { info, parseFlags } from '../io';
import { backendFlag, intFlag } from '../options';

const flagsSchema = z.object({
  checkpoint: z.string({ message: 'is required' }),
  vRange: intFlag(0, 8).optional(),
  input: z.string({ message: 'is required' }),
  predLen: intFlag(1, 1000),
  out: z.string({ message: 'is required' }),
  backend: backendFlag,
});

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('Predict future frames of sequences in a .npy file [B, T, C, H, W] float32 (the reference layout)')
    .option('--checkpoint <file>', '.safetensors (ours) or .pth (reference state_dict; needs --v-range)')
    .option('--v-range <R>', 'velocity range of a .pth checkpoint (its weights do not reveal it)')
    .option('--input <file>', 'input sequences, .npy float32 [B, T, C, H, W]')
    .option('--pred-len <K>', 'frames to predict')
    .option('--out <file>', 'where to write predictions, .npy float32 [B, K, C, H, W]')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu (default auto)')
    .action(async (raw: Record<string, unknown>) => {
      const f = parseFlags(flagsSchema, raw);
      if (!f.out.endsWith('.npy')) throw new InputError('--out', `must name a .npy file, got "${f.out}"`);
      const outDir = path.dirname(path.resolve(f.out));
      const dirStat = await fs.stat(outDir).catch(() => null);
      if (!dirStat?.isDirectory()) throw new InputError('--out', `folder ${outDir} does not exist`);
      let bytes: Uint8Array;
      try {
        bytes = await fs.readFile(f.input);
      } catch {
        throw new InputError('--input', `cannot read ${f.input}`);
      }
      let arr: ReturnType<typeof parseNpy>;
      try {
        arr = parseNpy(bytes);
      } catch (e) {
        throw new InputError('--input', (e as Error).message);
      }
      if (arr.shape.length !== 5) throw new InputError('--input', `expected a 5-d array [B, T, C, H, W], got shape [${arr.shape}]`);
      const [b, t, c, h, w] = arr.shape;
      if (t < 1 || b < 1) throw new InputError('--input', `needs at least one sequence of one frame, got shape [${arr.shape}]`);
      if (!arr.data.every(Number.isFinite)) throw new InputError('--input', 'contains NaN or infinite values');
      const backend = await selectBackend(f.backend);
      info(`backend: ${backendLine(backend)}${backend.warning ? `\nnote: ${backend.warning}` : ''}`);
      const model = await loadCheckpoint(f.checkpoint, { vRange: f.vRange });
      try {
        if (c !== model.config.cell.inChannels) throw new InputError('--input', `has ${c} channels, the model expects ${model.config.cell.inChannels}`);
        // [B, T, C, H, W] (reference) -> [B, T, H, W, C] (ours) and back.
        const x = tf.tidy(() => tf.transpose(tf.tensor5d(arr.data, [b, t, c, h, w]), [0, 1, 3, 4, 2]) as tf.Tensor5D);
        const y = predict(model, x, f.predLen);
        const yRef = tf.transpose(y, [0, 1, 4, 2, 3]);
        const data = (await yRef.data()) as Float32Array;
        [x, y, yRef].forEach((k) => k.dispose());
        const tmp = `${f.out}.tmp-${process.pid}`;
        await fs.writeFile(tmp, encodeNpy(data, [b, f.predLen, model.config.outChannels, h, w]));
        await fs.rename(tmp, f.out);
        info(`wrote ${f.out}: [${b}, ${f.predLen}, ${model.config.outChannels}, ${h}, ${w}] float32`);
      } finally {
        disposeModel(model);
      }
    });
}
