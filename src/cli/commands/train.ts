import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { DATASETS, DATASET_FACTS, trainConfigSchema, type TrainConfigInput } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { CELL_KIND_FACTS, MODEL_LIMITS, isCellKind, isRotationKind } from '../../core/nn/modelKinds';
import { describeRun, followRun, openLab, runSummary } from '../lab';
import { flagName, info, parseFlags } from '../io';
import { requireStoreFolder, resolveRun } from '../runRef';
import { backendFlag, datasetFlag, intFlag, taskFlag, trainModelFlag } from '../options';

const numFlag = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? (v.trim() === '' ? Number.NaN : Number(v)) : v),
    z
      .number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number') })
      .min(min, `must be >= ${min}`)
      .max(max, `must be <= ${max}`),
  );

/** Model and data flags shared by train and reproduce overrides (camelCase keys = TrainConfig fields). */
export const trainFlagsSchema = z.object({
  task: taskFlag.optional(),
  dataset: datasetFlag.optional(),
  data: z.string().min(1, 'must name a folder').optional(),
  model: trainModelFlag.optional(),
  encoder: z.enum(['none', 'reference'], { message: 'must be none or reference' }).optional(),
  vRange: intFlag(0, 4).optional(),
  group: intFlag(1, 72).optional(),
  omegaStep: numFlag(1e-3, 180).optional(),
  hidden: intFlag(MODEL_LIMITS.hidden.min, MODEL_LIMITS.hidden.max).optional(),
  decoderLayers: intFlag(0, 8).optional(),
  batch: intFlag(1, 512).optional(),
  steps: intFlag(1, 10_000_000).optional(),
  dataVRange: intFlag(0, 8).optional(),
  testDataVRange: intFlag(0, 8).optional(),
  dataVelocities: z
    .string()
    .regex(/^\s*-?\d+\s*,\s*-?\d+\s*(;\s*-?\d+\s*,\s*-?\d+\s*)*$/, 'must be a list like "1,0;0,-1" (vx,vy pairs separated by ;)')
    .transform((t) =>
      t.split(';').map((p) => {
        const [vx, vy] = p.split(',').map(Number);
        return { vx, vy };
      }),
    )
    .optional(),
  imageSize: intFlag(8, 64).optional(),
  inputFrames: intFlag(1, 50).optional(),
  predFrames: intFlag(1, 50).optional(),
  lr: numFlag(1e-8, 1).optional(),
  clipNorm: numFlag(0, 1e6).optional(),
  teacherForcing: numFlag(0, 1).optional(),
  seed: intFlag(0, 2 ** 31 - 1).optional(),
  valEvery: intFlag(1, 1_000_000).optional(),
  valSequences: intFlag(1, 6000).optional(),
  testSequences: intFlag(1, 10000).optional(),
  earlyStop: intFlag(0, 1000).optional(),
  backend: backendFlag.optional(),
});
export type TrainFlags = z.infer<typeof trainFlagsSchema>;

/** The dataset kinds in words, from their facts (core/data/datasetKinds.ts): "flowing-mnist (built in, default) | …". */
const DATASET_HELP = DATASETS.map((d) => {
  const f = DATASET_FACTS[d];
  const notes = [
    f.source === 'path' ? 'needs --data' : 'built in',
    ...(d === 'flowing-mnist' ? ['default'] : []),
    ...(f.motion === 'rotation' ? ['rotation cells'] : []),
    ...(Object.keys(f.tasks).length === 1 ? Object.keys(f.tasks) : []),
  ];
  return `${d} (${notes.join('; ')})`;
}).join(' | ');
const DATA_HELP = `the folder of a dataset read from disk: ${DATASETS.filter((d) => DATASET_FACTS[d].source === 'path')
  .map((d) => `${d}: ${DATASET_FACTS[d].path?.hint ?? 'a folder'}`)
  .join('; ')}`;
/** The dataset a rotation cell trains on when none is named: the first whose motion is rotation. */
const ROTATING_DATASET = DATASETS.find((d) => DATASET_FACTS[d].motion === 'rotation');

/** Declares the model/data flags on a command. */
export function addTrainFlags(cmd: Command): Command {
  return cmd
    .option('--task <task>', 'prediction (next frames, default) | classification (what moves)')
    .option('--dataset <name>', DATASET_HELP)
    .option('--data <dir>', DATA_HELP)
    .option('--model <kind>', 'fernn | grnn | grnn-plus | fernn-rot | grnn-rot (rotation cells) | cnn3d (3D-CNN, classification only; --hidden is its width)')
    .option('--encoder <kind>', 'classification: none (frames into the cell, default) | reference (per-frame conv encoder 5x5-32, 3x3-64, 3x3-hidden)')
    .option('--v-range <R>', 'velocity set {-R..R}^2 of the FERNN / G-RNN+ (G-RNN: 0); rotation FERNN: omegas {-R..R} * omega step')
    .option('--group <N>', 'rotation cells (fernn-rot, grnn-rot): order N of the rotation group C_N (reference 36)')
    .option('--omega-step <deg>', 'Rotating MNIST: degrees per frame of one velocity step (default 10)')
    .option('--hidden <C>', 'hidden channels')
    .option('--decoder-layers <K>', 'decoder conv layers (default 1)')
    .option('--batch <B>', 'batch size (default 16)')
    .option('--steps <N>', 'training steps')
    .option('--data-v-range <D>', 'digit velocities drawn from -D..D per axis (default 2)')
    .option('--test-data-v-range <D>', 'classification: test clips move with velocities in -D..D (default: --data-v-range)')
    .option('--data-velocities <list>', 'instead: each digit moves with one of these, e.g. "1,0;0,-1" (vx,vy;…)')
    .option('--image-size <S>', 'frame side in pixels (default 28; 16 downsamples digits 2x)')
    .option('--input-frames <T>', 'frames fed to the encoder (default 10)')
    .option('--pred-frames <K>', 'frames predicted (default 10)')
    .option('--lr <x>', 'Adam learning rate (default 1e-3)')
    .option('--clip-norm <x>', 'global grad-norm clip (default 1; 0 = off)')
    .option('--teacher-forcing <p>', 'teacher forcing ratio (default 0)')
    .option('--seed <S>', 'seed of weights and data (default 0)')
    .option('--val-every <N>', 'validate and checkpoint every N steps (default 100)')
    .option('--val-sequences <N>', 'validation sequences (default 256)')
    .option('--test-sequences <N>', 'test sequences (default 256)')
    .option('--early-stop <N>', 'stop after N validations without improvement (default 0 = never)')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu (default auto)');
}

/** Flags -> validated TrainConfig; errors name the flag. */
export function configFromFlags(f: TrainFlags, base: Partial<TrainConfigInput> = {}): ReturnType<typeof trainConfigSchema.parse> {
  const { earlyStop, data, ...rest } = f;
  const merged: Record<string, unknown> = { ...base };
  const known = new Set(Object.keys(trainFlagsSchema.shape));
  for (const [k, v] of Object.entries(rest)) if (v !== undefined && known.has(k)) merged[k] = v;
  if (earlyStop !== undefined) merged.earlyStopPatience = earlyStop;
  if (data !== undefined) merged.dataDir = path.resolve(data);
  // The model kinds' facts (core/nn/modelKinds.ts): an unlifted cell or a non-cell model has r = 0; rotation cells
  // train on Rotating MNIST unless told otherwise.
  const model = typeof merged.model === 'string' ? merged.model : '';
  const noVelocityAxis = model !== '' && !(isCellKind(model) && CELL_KIND_FACTS[model].lifted);
  if (isRotationKind(model) && merged.dataset === undefined) merged.dataset = ROTATING_DATASET;
  if (noVelocityAxis && f.vRange === undefined) merged.vRange = 0;
  if (!noVelocityAxis && merged.vRange === undefined) merged.vRange = 1;
  const r = trainConfigSchema.safeParse(merged);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new InputError(configFlag(String(issue.path[0] ?? 'arguments')), issue.message);
}

/** The `train` flag that sets a TrainConfig field (two fields have shorter flags). */
export function configFlag(field: string): string {
  return flagName(field.replace('earlyStopPatience', 'earlyStop').replace('dataDir', 'data'));
}

export function registerTrain(program: Command): void {
  addTrainFlags(program.command('train').description('Train a frame predictor or a sequence classifier (runs in a worker; Ctrl-C stops with a checkpoint)'))
    .option('--name <text>', 'a name for the run')
    .option('--store <dir>', 'run store folder (default ~/.fernn-lab/runs or $FERNN_LAB_STORE)')
    .option('--json', 'print one JSON summary on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const f = parseFlags(
        trainFlagsSchema.extend({ name: z.string().max(200).optional(), store: z.string().optional(), json: z.boolean().default(false) }),
        raw,
      );
      if (!f.model) throw new InputError('--model', 'is required (fernn, grnn, grnn-plus; cnn3d for classification)');
      if (!f.hidden) throw new InputError('--hidden', 'is required');
      if (!f.steps) throw new InputError('--steps', 'is required');
      const config = configFromFlags(f);
      const lab = await openLab(f.store);
      try {
        const rec = await lab.startRun({ config, name: f.name }).catch((e: unknown) => {
          // The service names config fields; the user typed flags.
          if (e instanceof InputError && e.field.startsWith('config.')) {
            throw new InputError(configFlag(e.field.slice('config.'.length)), e.message.slice(e.field.length + 2));
          }
          throw e;
        });
        info(`run ${rec.id} in ${lab.store.root}`);
        const done = await followRun(lab, rec.id, { quiet: f.json, label: rec.id });
        if (f.json) process.stdout.write(`${JSON.stringify(runSummary(done, lab.store.root))}\n`);
        else process.stdout.write(`${describeRun(done)}\n`);
        if (done.status === 'failed') process.exitCode = 1;
      } finally {
        await lab.dispose();
      }
    });

  program
    .command('resume')
    .description('Resume an interrupted or stopped run from its last checkpoint')
    .argument('<run>', 'run id, name or unique id prefix')
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print one JSON summary on stdout')
    .action(async (ref: string, raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional(), json: z.boolean().default(false) }), raw);
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        const id = await resolveRun(lab.store, ref);
        await lab.resumeRun({ id });
        const done = await followRun(lab, id, { quiet: f.json, label: id });
        if (f.json) process.stdout.write(`${JSON.stringify(runSummary(done, lab.store.root))}\n`);
        else process.stdout.write(`${describeRun(done)}\n`);
        if (done.status === 'failed') process.exitCode = 1;
      } finally {
        await lab.dispose();
      }
    });
}
