import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { DATASETS, DATASET_FACTS, trainConfigSchema, type TrainConfigInput } from '../../core/protocol/run';
import { isDataset } from '../../core/data/datasetKinds';
import { ACTIVATIONS, POOLS, TRAIN_DEFAULTS as D, TRAIN_LIMITS as L, TRAIN_STARTING_VALUES } from '../../core/protocol/trainDefaults';
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
  data: z.string().min(1, 'must name a folder or a .npy file').optional(),
  dataVal: z.string().min(1, 'must name a .npy file or a folder').optional(),
  dataTest: z.string().min(1, 'must name a .npy file or a folder').optional(),
  batchOrder: z.enum(['shuffle', 'file'], { message: 'must be shuffle or file' }).optional(),
  dataStride: intFlag(L.dataStride.min, L.dataStride.max).optional(),
  init: z.string().min(1, 'must name a checkpoint').optional(),
  model: trainModelFlag.optional(),
  encoder: z.enum(['none', 'reference'], { message: 'must be none or reference' }).optional(),
  vRange: intFlag(MODEL_LIMITS.vRange.min, MODEL_LIMITS.vRange.max).optional(),
  group: intFlag(MODEL_LIMITS.group.min, MODEL_LIMITS.group.max).optional(),
  omegaStep: numFlag(1e-3, MODEL_LIMITS.omegaStep.max).optional(),
  hidden: intFlag(MODEL_LIMITS.hidden.min, MODEL_LIMITS.hidden.max).optional(),
  decoderLayers: intFlag(L.decoderLayers.min, L.decoderLayers.max).optional(),
  pool: z.enum(POOLS, { message: `must be one of ${POOLS.join(', ')}` }).optional(),
  activation: z.enum(ACTIVATIONS, { message: `must be one of ${ACTIVATIONS.join(', ')}` }).optional(),
  batch: intFlag(L.batch.min, L.batch.max).optional(),
  steps: intFlag(L.steps.min, L.steps.max).optional(),
  dataVRange: intFlag(L.dataVRange.min, L.dataVRange.max).optional(),
  testDataVRange: intFlag(L.dataVRange.min, L.dataVRange.max).optional(),
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
  imageSize: intFlag(L.imageSize.min, L.imageSize.max).optional(),
  inputFrames: intFlag(L.inputFrames.min, L.inputFrames.max).optional(),
  predFrames: intFlag(L.predFrames.min, L.predFrames.max).optional(),
  lr: numFlag(1e-8, L.lr.max).optional(),
  clipNorm: numFlag(L.clipNorm.min, L.clipNorm.max).optional(),
  teacherForcing: numFlag(L.teacherForcing.min, L.teacherForcing.max).optional(),
  seed: intFlag(L.seed.min, L.seed.max).optional(),
  valEvery: intFlag(L.valEvery.min, L.valEvery.max).optional(),
  valSequences: intFlag(L.valSequences.min, L.valSequences.max).optional(),
  testSequences: intFlag(L.testSequences.min, L.testSequences.max).optional(),
  earlyStop: intFlag(L.earlyStopPatience.min, L.earlyStopPatience.max).optional(),
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
const DATA_HELP = `the folder or file of a dataset read from disk (a path ending in .npy sets --dataset npy; any other path, for prediction, --dataset frames, and with --task classification, class-folders): ${DATASETS.filter(
  (d) => DATASET_FACTS[d].source === 'path',
)
  .map((d) => `${d}: ${DATASET_FACTS[d].path?.hint ?? 'a folder'}`)
  .join('; ')}`;
/** The default frame side of each dataset: "28 for flowing-mnist, …". */
const IMAGE_SIZES = DATASETS.map((d) => `${DATASET_FACTS[d].defaultImageSize} for ${d}`).join(', ');
/** The frame side a run on `dataset` (a kind, or not yet validated) defaults to. */
const defaultImageSize = (dataset: unknown): number =>
  typeof dataset === 'string' && isDataset(dataset) ? DATASET_FACTS[dataset].defaultImageSize : D.imageSize;
/** The dataset a rotation cell trains on when none is named: the first whose motion is rotation. */
const ROTATING_DATASET = DATASETS.find((d) => DATASET_FACTS[d].motion === 'rotation');

/** Declares the model/data flags on a command. */
export function addTrainFlags(cmd: Command): Command {
  return cmd
    .option('--task <task>', 'prediction (next frames, default) | classification (what moves)')
    .option('--dataset <name>', DATASET_HELP)
    .option('--data <path>', DATA_HELP)
    .option(
      '--data-val <path>',
      '.npy, frames or class folders: a separate validation file or folder (default: 10% of the sequences or clips of --data, seeded; class folders: of each class, by video)',
    )
    .option('--data-test <path>', '.npy, frames or class folders: a separate test file or folder (default: another 10% of --data, seeded)')
    .option(
      '--batch-order <order>',
      ".npy, frames or class folders: shuffle (a seeded permutation per epoch, default) | file (the file's order, epoch after epoch)",
    )
    .option('--data-stride <N>', 'frames data: frames between the starts of windows cut from a clip (default: the window, --input-frames + --pred-frames)')
    .option('--init <checkpoint>', 'start from these weights: a .safetensors of ours or a reference .pth (read with --v-range); recorded with its sha256')
    .option('--model <kind>', 'fernn | grnn | grnn-plus | fernn-rot | grnn-rot (rotation cells) | cnn3d (3D-CNN, classification only; --hidden is its width)')
    .option('--encoder <kind>', 'classification: none (frames into the cell, default) | reference (per-frame conv encoder 5x5-32, 3x3-64, 3x3-hidden)')
    .option('--v-range <R>', 'velocity set {-R..R}^2 of the FERNN / G-RNN+ (G-RNN: 0); rotation FERNN: omegas {-R..R} * omega step')
    .option('--group <N>', 'rotation cells (fernn-rot, grnn-rot): order N of the rotation group C_N (reference 36)')
    .option('--omega-step <deg>', `Rotating MNIST: degrees per frame of one velocity step (default ${D.omegaStep})`)
    .option('--hidden <C>', 'hidden channels')
    .option('--decoder-layers <K>', `decoder conv layers (default ${D.decoderLayers})`)
    .option('--pool <how>', `pooling over the velocity axis: ${POOLS.join(' | ')} (default ${D.pool})`)
    .option('--activation <fn>', `the cell's nonlinearity: ${ACTIVATIONS.join(' | ')} (default ${D.activation})`)
    .option('--batch <B>', `batch size (default ${D.batch})`)
    .option('--steps <N>', 'training steps')
    .option('--data-v-range <D>', `digit velocities drawn from -D..D per axis (default ${D.dataVRange})`)
    .option('--test-data-v-range <D>', 'classification: test clips move with velocities in -D..D (default: --data-v-range)')
    .option('--data-velocities <list>', 'instead: each digit moves with one of these, e.g. "1,0;0,-1" (vx,vy;…)')
    .option('--image-size <S>', `frame side in pixels (default: the dataset's, ${IMAGE_SIZES}; 16 downsamples digits 2x)`)
    .option('--input-frames <T>', `frames fed to the encoder (default ${D.inputFrames})`)
    .option('--pred-frames <K>', `frames predicted (default ${D.predFrames})`)
    .option('--lr <x>', `Adam learning rate (default ${D.lr})`)
    .option('--clip-norm <x>', `global grad-norm clip (default ${D.clipNorm}; 0 = off)`)
    .option('--teacher-forcing <p>', `teacher forcing ratio (default ${D.teacherForcing})`)
    .option('--seed <S>', `seed of weights and data (default ${D.seed})`)
    .option('--val-every <N>', `validate and checkpoint every N steps (default ${D.valEvery})`)
    .option('--val-sequences <N>', `validation sequences (default ${D.valSequences})`)
    .option('--test-sequences <N>', `test sequences (default ${D.testSequences})`)
    .option('--early-stop <N>', `stop after N validations without improvement (default ${D.earlyStopPatience} = never)`)
    .option('--backend <name>', `auto | tensorflow | webgpu | wasm | cpu (default ${D.backend})`);
}

/** Flags -> validated TrainConfig; errors name the flag. */
export function configFromFlags(f: TrainFlags, base: Partial<TrainConfigInput> = {}): ReturnType<typeof trainConfigSchema.parse> {
  const { earlyStop, data, dataVal, dataTest, init, ...rest } = f;
  const merged: Record<string, unknown> = { ...base };
  const known = new Set(Object.keys(trainFlagsSchema.shape));
  for (const [k, v] of Object.entries(rest)) if (v !== undefined && known.has(k)) merged[k] = v;
  if (earlyStop !== undefined) merged.earlyStopPatience = earlyStop;
  if (data !== undefined) merged.dataDir = path.resolve(data);
  if (dataVal !== undefined) merged.dataVal = path.resolve(dataVal);
  if (dataTest !== undefined) merged.dataTest = path.resolve(dataTest);
  if (init !== undefined) merged.init = path.resolve(init);
  // A user's data: a .npy file is dataset npy; any other path a folder of clips (frames) for prediction, of class folders
  // (class-folders) for classification.
  if (data !== undefined && merged.dataset === undefined)
    merged.dataset = /\.npy$/i.test(data) ? 'npy' : merged.task === 'classification' ? 'class-folders' : 'frames';
  // The model kinds' facts (core/nn/modelKinds.ts): an unlifted cell or a non-cell model has r = 0; rotation cells
  // train on Rotating MNIST unless told otherwise.
  const model = typeof merged.model === 'string' ? merged.model : '';
  const noVelocityAxis = model !== '' && !(isCellKind(model) && CELL_KIND_FACTS[model].lifted);
  if (isRotationKind(model) && merged.dataset === undefined) merged.dataset = ROTATING_DATASET;
  if (noVelocityAxis && f.vRange === undefined) merged.vRange = 0;
  if (!noVelocityAxis && merged.vRange === undefined) merged.vRange = TRAIN_STARTING_VALUES.vRange;
  // Frames at the dataset's own size unless told (core/data/datasetKinds.ts: 28 for MNIST, 32 for KTH), as the form.
  if (merged.imageSize === undefined) merged.imageSize = defaultImageSize(merged.dataset);
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
    .description('Resume an interrupted or stopped run from its last checkpoint; with --steps, train a completed run longer')
    .argument('<run>', 'run id, name or unique id prefix')
    .option('--steps <N>', 'train longer: continue the completed run from its last checkpoint to N steps in all (above the steps it has trained)')
    .option('--store <dir>', 'run store folder')
    .option('--json', 'print one JSON summary on stdout')
    .action(async (ref: string, raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ steps: intFlag(1, 10_000_000).optional(), store: z.string().optional(), json: z.boolean().default(false) }), raw);
      requireStoreFolder(f.store);
      const lab = await openLab(f.store);
      try {
        const id = await resolveRun(lab.store, ref);
        const steps = f.steps;
        // The service names its fields (id, steps); the user typed <run> and --steps.
        await (steps === undefined ? lab.resumeRun({ id }) : lab.trainLonger({ id, steps })).catch((e: unknown) => {
          if (e instanceof InputError && (e.field === 'id' || e.field === 'steps')) {
            const field = e.field === 'id' ? '<run>' : '--steps';
            const hint = e.field === 'id' && steps === undefined && /has completed/.test(e.message) ? ` (fernn-lab resume ${ref} --steps N)` : '';
            throw new InputError(field, `${e.message.slice(e.field.length + 2)}${hint}`);
          }
          throw e;
        });
        if (steps !== undefined) info(`training ${id} longer: from step ${(await lab.store.get(id)).continuations?.at(-1)?.fromStep} to ${steps}`);
        const done = await followRun(lab, id, { quiet: f.json, label: id });
        if (f.json) process.stdout.write(`${JSON.stringify(runSummary(done, lab.store.root))}\n`);
        else process.stdout.write(`${describeRun(done)}\n`);
        if (done.status === 'failed') process.exitCode = 1;
      } finally {
        await lab.dispose();
      }
    });
}
