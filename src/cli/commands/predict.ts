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
import { openLab } from '../lab';
import { requireStoreFolder, resolveRun } from '../runRef';
import type { PredictionsDto } from '../../core/protocol/service';

const flagsSchema = z.object({
  checkpoint: z.string({ message: 'is required' }),
  vRange: intFlag(0, 8).optional(),
  input: z.string({ message: 'is required' }),
  predLen: intFlag(1, 1000),
  out: z.string({ message: 'is required' }),
  backend: backendFlag,
});

/** `predict RUN --data FILE`: a run's weights on a user's sequences, through the lab service. */
const runFlagsSchema = z.object({
  data: z.string({ message: 'is required with a run (a .npy of sequences [N, T, 1, H, W] or [N, T, H, W])' }).min(1, 'needs a path'),
  sequences: intFlag(1, 32).default(8),
  first: intFlag(0, 9999).default(0),
  weights: z.enum(['best', 'last'], { message: 'must be best or last' }).default('best'),
  out: z.string().optional(),
  store: z.string().optional(),
  json: z.boolean().default(false),
});
const FILE_ONLY = ['checkpoint', 'vRange', 'input', 'predLen', 'backend'] as const;
const RUN_ONLY = ['data', 'sequences', 'first', 'weights', 'store', 'json'] as const;

/** Where --out goes: a .npy in a folder that exists. */
async function checkOut(out: string): Promise<void> {
  if (!out.endsWith('.npy')) throw new InputError('--out', `must name a .npy file, got "${out}"`);
  const outDir = path.dirname(path.resolve(out));
  const dirStat = await fs.stat(outDir).catch(() => null);
  if (!dirStat?.isDirectory()) throw new InputError('--out', `folder ${outDir} does not exist`);
}

/** Writes `data` as a .npy (temporary file, then renamed: a reader never sees half a file). */
async function writeNpy(out: string, data: Float32Array, shape: number[]): Promise<void> {
  const tmp = `${out}.tmp-${process.pid}`;
  await fs.writeFile(tmp, encodeNpy(data, shape));
  await fs.rename(tmp, out);
}

/** The MSE of each sample's predicted frames against its targets. */
function sampleMses(d: PredictionsDto): number[] {
  const [n] = d.targets.shape;
  const size = d.targets.data.length / n;
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let j = i * size; j < (i + 1) * size; j++) s += (d.predictions.data[j] - d.targets.data[j]) ** 2;
    return s / size;
  });
}

async function predictRun(ref: string, raw: Record<string, unknown>): Promise<void> {
  for (const k of FILE_ONLY)
    if (raw[k] !== undefined)
      throw new InputError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, 'applies to predicting from a checkpoint file, not a run');
  const f = parseFlags(runFlagsSchema, raw);
  if (f.out !== undefined) await checkOut(f.out);
  requireStoreFolder(f.store);
  const lab = await openLab(f.store);
  try {
    const id = await resolveRun(lab.store, ref);
    const d = await lab.predictions({ id, count: f.sequences, first: f.first, checkpoint: f.weights, data: path.resolve(f.data) }).catch((e: unknown) => {
      // The service names its fields; the user typed flags.
      if (e instanceof InputError && ['data', 'first'].includes(e.field)) throw new InputError(`--${e.field}`, e.message.slice(e.field.length + 2));
      throw e;
    });
    const [n, k, h, w] = d.predictions.shape;
    const mses = sampleMses(d);
    if (f.out !== undefined) await writeNpy(f.out, Float32Array.from(d.predictions.data), [n, k, 1, h, w]);
    const src = d.source!;
    if (f.json) {
      const summary = { run_id: id, checkpoint: d.checkpoint, data: src, first: d.first, sequences: n, pred_frames: k, mse: mses, out: f.out ?? null };
      process.stdout.write(`${JSON.stringify(summary)}
`);
      return;
    }
    const ck = `${d.checkpoint.which}${d.checkpoint.step === null ? '' : ` @ step ${d.checkpoint.step}`}`;
    const lines = [
      `run ${id} (${ck}) on ${src.path} (${src.kind}, sha256 ${src.sha256.slice(0, 12)}, shape [${src.shape.join(', ')}])`,
      ...mses.map((m, i) => `sequence ${d.first + i}: MSE ${m.toFixed(5)} over ${k} predicted frames`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (f.out !== undefined) info(`wrote ${f.out}: [${n}, ${k}, 1, ${h}, ${w}] float32`);
  } finally {
    await lab.dispose();
  }
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description(
      'Predict future frames of sequences in a .npy file [B, T, C, H, W] float32 (the reference layout) with a checkpoint; or, with a RUN, of the sequences of --data with its weights',
    )
    .argument('[run]', "a run id, name or unique id prefix: predict with the run's weights on --data (instead of --checkpoint/--input)")
    .option('--data <file>', "with a run: a .npy of sequences [N, T, 1, H, W] or [N, T, H, W] (T = the run's input + predicted frames, its frame size)")
    .option('--sequences <N>', 'with a run: sequences predicted, 1..32 (default 8)')
    .option('--first <I>', 'with a run: index of the first sequence (default 0)')
    .option('--weights <which>', 'with a run: best (by validation, default) or last')
    .option('--store <dir>', 'with a run: run store folder')
    .option('--json', 'with a run: print one JSON summary (per-sequence MSE, the data file and its sha256)')
    .option('--checkpoint <file>', '.safetensors (ours) or .pth (reference state_dict; needs --v-range)')
    .option('--v-range <R>', 'velocity range of a .pth checkpoint (its weights do not reveal it)')
    .option('--input <file>', 'input sequences, .npy float32 [B, T, C, H, W]')
    .option('--pred-len <K>', 'frames to predict')
    .option('--out <file>', 'where to write predictions, .npy float32 [B, K, C, H, W]')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu (default auto)')
    .action(async (ref: string | undefined, raw: Record<string, unknown>) => {
      if (ref !== undefined) return predictRun(ref, raw);
      for (const k of RUN_ONLY)
        if (raw[k] !== undefined && raw[k] !== false) throw new InputError(`--${k}`, 'applies to predicting with a run: fernn-lab predict RUN --data FILE');
      const f = parseFlags(flagsSchema, raw);
      await checkOut(f.out);
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
        await writeNpy(f.out, data, [b, f.predLen, model.config.outChannels, h, w]);
        info(`wrote ${f.out}: [${b}, ${f.predLen}, ${model.config.outChannels}, ${h}, ${w}] float32`);
      } finally {
        disposeModel(model);
      }
    });
}
