import { z } from 'zod';
import { MODEL_KINDS, MODEL_LIMITS, isRotationKind, type ModelKind } from '../nn/modelKinds';
import { testSourceSchema } from './evaluation';
import { ACTIVATIONS, POOLS, TRAIN_DEFAULTS as D, TRAIN_LIMITS as L } from './trainDefaults';
import { DATASETS, DATASET_FACTS, TASKS, datasetClassCount, servesTask, type Dataset, type Task } from '../data/datasetKinds';

/**
 * The DTOs of a training run, shared by every transport (CLI, IPC, HTTP) and the run store. One schema per DTO;
 * boundaries validate with these and report the failing field.
 */
const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** Tasks and dataset kinds, with their facts, live in the pure core/data/datasetKinds.ts (the renderer shares it). */
export { DATASETS, DATASET_FACTS, TASKS, type Dataset, type Task };
/** The recurrent cells, plus the 3D-CNN baseline of the classification task. */
export { MODEL_KINDS, type ModelKind };
/** Classes of each dataset's classification task (digits; KTH actions): the length of its facts' class names. */
export const DATASET_CLASSES: { readonly [K in Dataset]: number } = Object.fromEntries(DATASETS.map((d) => [d, datasetClassCount(d)])) as {
  [K in Dataset]: number;
};
/** The order of training batches: 'shuffle' (a seeded permutation per epoch) or 'file' (the file's order, epoch after
 *  epoch, as a DataLoader with shuffle=False: what the training-parity test compares with PyTorch). */
export const BATCH_ORDERS = ['shuffle', 'file'] as const;
/** Rotation cells (C_N group convolutions, angular-velocity axis). */
export const isRotationModel = (m: ModelKind): boolean => isRotationKind(m);

export const trainConfigSchema = z
  .object({
    /** What the run learns; classification runs read clips of `inputFrames` frames and ignore `predFrames`. */
    task: z.enum(TASKS).default(D.task),
    dataset: z.enum(DATASETS).default(D.dataset),
    /** The folder or file a dataset read from disk (facts `source: 'path'`) is read from: KTH, one folder per action;
     *  npy, the .npy file of sequences; class-folders, one folder per class. */
    dataDir: z.string().min(1).max(4096).optional(),
    /** Datasets of sequence files (npy, frames, class-folders): separate validation and test files or folders (same
     *  format). Without them, seeded fractions of dataDir (10% each of the sequences, of the clips for frames, of each
     *  class's videos for class-folders; at least one; never overlapping) are held out. */
    dataVal: z.string().min(1).max(4096).optional(),
    dataTest: z.string().min(1).max(4096).optional(),
    /** Dataset 'npy': the order of training batches (generated datasets are a seeded stream: no file order). */
    batchOrder: z.enum(BATCH_ORDERS).default('shuffle'),
    /** Dataset 'frames' (facts `clipWindows`): frames between the starts of successive windows of a clip; absent: the
     *  window length inputFrames + predFrames (windows side by side, no frame in two windows). */
    dataStride: int(L.dataStride.min, L.dataStride.max).optional(),
    /** Start from these weights instead of a seeded init: a .safetensors of ours or a reference .pth (read with
     *  vRange); prediction runs. The run records its sha256 (`sources.init`). */
    init: z.string().min(1).max(4096).optional(),
    /** cnn3d: the 3D-CNN baseline (classification); its first-stage width is `hidden`. */
    model: z.enum(MODEL_KINDS),
    /** Classification with a recurrent model: frames enter through the cell's input conv ('none'), or through the
     *  reference's per-frame conv encoder (5x5 -> 32, 3x3 -> 64, 3x3 -> hidden, BatchNorm, relu). */
    encoder: z.enum(['none', 'reference']).default(D.encoder),
    /**
     * FERNN/G-RNN+ velocity set V = {-r..r}^2; must be 0 for the G-RNN. Rotation FERNN: angular velocities
     * {-r..r} * omegaStep (FERNN-V2 of the paper: r = 2, step 10 -> -20..20).
     */
    vRange: int(MODEL_LIMITS.vRange.min, MODEL_LIMITS.vRange.max),
    /** Rotation cells: the order N of C_N (reference 36: 10-degree orientations). */
    group: int(MODEL_LIMITS.group.min, MODEL_LIMITS.group.max).optional(),
    /** Rotating MNIST and rotation cells: degrees per frame of one velocity step (reference 10). */
    omegaStep: z.number().positive().max(MODEL_LIMITS.omegaStep.max).default(D.omegaStep),
    hidden: int(MODEL_LIMITS.hidden.min, MODEL_LIMITS.hidden.max),
    decoderLayers: int(L.decoderLayers.min, L.decoderLayers.max).default(D.decoderLayers),
    pool: z.enum(POOLS).default(D.pool),
    /** The recurrent cell's nonlinearity (reference relu). */
    activation: z.enum(ACTIVATIONS).default(D.activation),
    batch: int(L.batch.min, L.batch.max).default(D.batch),
    steps: int(L.steps.min, L.steps.max),
    lr: z.number().positive().max(L.lr.max).default(D.lr),
    /** Global grad-norm clip (reference 1.0); 0 disables. */
    clipNorm: z.number().min(L.clipNorm.min).max(L.clipNorm.max).default(D.clipNorm),
    teacherForcing: z.number().min(L.teacherForcing.min).max(L.teacherForcing.max).default(D.teacherForcing),
    /** Each digit's integer velocity components are drawn from -D..D (Rotating MNIST: omega from {-D..D} * omegaStep). */
    dataVRange: int(L.dataVRange.min, L.dataVRange.max).default(D.dataVRange),
    /**
     * Instead of the range: each digit moves with one of these velocities (e.g. saved flows of the flow designer),
     * drawn uniformly per digit. Test sequences use the same motions.
     */
    dataVelocities: z
      .array(z.object({ vx: z.number().int().min(-8).max(8), vy: z.number().int().min(-8).max(8) }).strict())
      .min(1)
      .max(64)
      .optional(),
    /**
     * Classification: each test clip's velocity components are drawn from -D..D (default: dataVRange), so training
     * and test motion can differ (velocity generalisation).
     */
    testDataVRange: int(L.dataVRange.min, L.dataVRange.max).optional(),
    imageSize: int(L.imageSize.min, L.imageSize.max).default(D.imageSize),
    numDigits: int(L.numDigits.min, L.numDigits.max).default(D.numDigits),
    inputFrames: int(L.inputFrames.min, L.inputFrames.max).default(D.inputFrames),
    predFrames: int(L.predFrames.min, L.predFrames.max).default(D.predFrames),
    seed: int(L.seed.min, L.seed.max).default(D.seed),
    /** Validate every N steps (and at the end). */
    valEvery: int(L.valEvery.min, L.valEvery.max).default(D.valEvery),
    /** Sequences in the validation and test sets used by the run. */
    valSequences: int(L.valSequences.min, L.valSequences.max).default(D.valSequences),
    testSequences: int(L.testSequences.min, L.testSequences.max).default(D.testSequences),
    /** Stop when validation has not improved for this many validations (0: never). */
    earlyStopPatience: int(L.earlyStopPatience.min, L.earlyStopPatience.max).default(D.earlyStopPatience),
    /** Stop with reason 'diverged' when the training loss exceeds this multiple of its first value. */
    divergenceFactor: z.number().min(L.divergenceFactor.min).max(L.divergenceFactor.max).default(D.divergenceFactor),
    backend: z.enum(BACKEND_CHOICES).default(D.backend),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.model === 'grnn' || c.model === 'cnn3d') && c.vRange !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['vRange'],
        message: `a ${c.model === 'grnn' ? 'G-RNN has V = {0}' : '3D-CNN has no velocity axis'}: vRange must be 0`,
      });
    if (c.task === 'prediction') {
      if (c.model === 'cnn3d') ctx.addIssue({ code: 'custom', path: ['model'], message: 'the 3D-CNN is a classification baseline: use task "classification"' });
      if (c.testDataVRange !== undefined)
        ctx.addIssue({ code: 'custom', path: ['testDataVRange'], message: 'only classification runs have a separate test motion' });
    }
    if (c.encoder !== 'none' && (c.task !== 'classification' || c.model === 'cnn3d' || isRotationModel(c.model))) {
      ctx.addIssue({
        code: 'custom',
        path: ['encoder'],
        message: 'the input encoder is for recurrent translation classifiers (task classification, model fernn, grnn or grnn-plus)',
      });
    }
    // The dataset's facts (core/data/datasetKinds.ts): its tasks, whether it is read from a folder, its motion.
    const data = DATASET_FACTS[c.dataset];
    if (!servesTask(c.dataset, c.task)) {
      const tasks = Object.keys(data.tasks).join(', ');
      const path = c.task === 'prediction' ? ['dataset'] : ['task'];
      ctx.addIssue({ code: 'custom', path, message: `${data.label} is a ${tasks} dataset: use task "${tasks}"` });
    }
    if (data.source === 'path' && !c.dataDir)
      ctx.addIssue({
        code: 'custom',
        path: ['dataDir'],
        message: `the ${c.dataset} dataset needs dataDir: the ${data.path?.label ?? 'folder'} (${data.path?.hint})`,
      });
    if (data.source !== 'path' && c.dataDir !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['dataDir'],
        message: `${data.label} is built in: only datasets read from disk (${DATASETS.filter((d) => DATASET_FACTS[d].source === 'path').join(', ')}) take a data folder`,
      });
    if (data.sequenceFiles) {
      if (c.dataVelocities)
        ctx.addIssue({ code: 'custom', path: ['dataVelocities'], message: `${data.label} move as they were recorded: no listed velocities` });
    } else {
      for (const k of ['dataVal', 'dataTest'] as const)
        if (c[k] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `only datasets of sequence files (${sequenceFileDatasets()}) read separate validation/test files`,
          });
      if (c.batchOrder === 'file')
        ctx.addIssue({
          code: 'custom',
          path: ['batchOrder'],
          message: `${data.label} is a seeded stream with no file order: file order is for datasets of sequence files (${sequenceFileDatasets()})`,
        });
    }
    if (c.dataStride !== undefined && !data.clipWindows)
      ctx.addIssue({
        code: 'custom',
        path: ['dataStride'],
        message: `a stride is for datasets cut from clips into windows (${DATASETS.filter((d) => DATASET_FACTS[d].clipWindows).join(', ')}), not ${data.label}`,
      });
    if (c.init !== undefined && c.task !== 'prediction')
      ctx.addIssue({ code: 'custom', path: ['init'], message: 'starting from a checkpoint is for prediction runs' });
    const rotation = isRotationModel(c.model);
    if (rotation && data.motion !== 'rotation')
      ctx.addIssue({ code: 'custom', path: ['dataset'], message: `${c.model} is a rotation cell: train it on ${rotatingDatasets()}` });
    if (!rotation && data.motion === 'rotation')
      ctx.addIssue({ code: 'custom', path: ['model'], message: `${data.label} is for rotation cells: fernn-rot or grnn-rot` });
    if (rotation && c.group === undefined)
      ctx.addIssue({ code: 'custom', path: ['group'], message: 'a rotation cell needs the group order N of C_N (reference: 36)' });
    if (!rotation && c.group !== undefined)
      ctx.addIssue({ code: 'custom', path: ['group'], message: 'only rotation cells (fernn-rot, grnn-rot) have a group order' });
    if (c.model === 'grnn-rot' && c.vRange !== 0)
      ctx.addIssue({ code: 'custom', path: ['vRange'], message: 'a rotation G-RNN has omegas = [0]: vRange must be 0' });
    if (c.model === 'fernn-rot' && c.vRange * c.omegaStep >= 180)
      ctx.addIssue({ code: 'custom', path: ['omegaStep'], message: DISTINCT_OMEGAS(c.vRange, c.omegaStep) });
    if (c.dataVelocities && !data.listedVelocities)
      ctx.addIssue({
        code: 'custom',
        path: ['dataVelocities'],
        message: `${data.label} draws its ${data.motion === 'rotation' ? 'angular velocities from dataVRange * omegaStep' : 'velocities from dataVRange'}`,
      });
  });
export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** The datasets whose motion is rotation, in words. */
const rotatingDatasets = (): string => DATASETS.filter((d) => DATASET_FACTS[d].motion === 'rotation').join(' or ');
const sequenceFileDatasets = (): string => DATASETS.filter((d) => DATASET_FACTS[d].sequenceFiles).join(', ');

/** A rotation FERNN lifts over omega in {-r..r} * step: distinct angles only while r * step < 180 degrees. */
export const DISTINCT_OMEGAS = (r: number, step: number): string =>
  `the lifted angular velocities -${r * step}..${r * step} (vRange ${r} x omegaStep ${step}) must be distinct angles: vRange * omegaStep must be under 180 degrees`;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

export const RUN_STATUSES = ['queued', 'running', 'completed', 'cancelled', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Why a run ended, when it did not simply complete. */
export const END_REASONS = ['cancelled', 'early_stop', 'nan_loss', 'diverged', 'out_of_memory', 'worker_died', 'error', 'interrupted'] as const;
export type EndReason = (typeof END_REASONS)[number];

/** run.json */
export const runRecordSchema = z.object({
  format: z.literal('fernn-lab-run'),
  formatVersion: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/),
  name: z.string().max(200).optional(),
  /** Runs made by a sweep: the sweep's id and the member's index (optional: runs of older stores have none). */
  sweep: z.object({ id: z.string().min(1).max(128), index: z.number().int().nonnegative() }).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  status: z.enum(RUN_STATUSES),
  /** Set when the run ended other than by completing. */
  endReason: z.enum(END_REASONS).optional(),
  endMessage: z.string().optional(),
  config: trainConfigSchema,
  /** Where a run's weights and data came from, with their sha256 (user datasets and --init; absent otherwise). */
  sources: z
    .object({
      init: z.object({ path: z.string(), sha256: z.string(), format: z.enum(['safetensors', 'pth']) }).optional(),
      data: z
        .array(
          z.object({
            split: z.enum(['all', 'train', 'val', 'test']),
            path: z.string(),
            sha256: z.string(),
            shape: z.array(z.number().int()),
            dtype: z.string(),
            /** Users' class folders: each class (folder name, in label order) and its videos in this source. The
             *  run's class names are those of its first source (runClassNames, core/data/datasetKinds.ts). */
            classes: z.array(z.object({ name: z.string(), videos: z.number().int().nonnegative() })).optional(),
            /** Dataset 'frames': the clips (videos, frame folders) the windows of `shape` [windows, T, H, W] are cut from. */
            clips: z.number().int().nonnegative().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  /** Seeds actually used: weights and data streams. */
  seeds: z.object({ init: z.number().int(), data: z.number().int() }),
  /** The backend the run trained on; `gpu`: on a GPU device (absent in runs recorded before it was kept). */
  backend: z.object({ name: z.string(), detail: z.string(), gpu: z.boolean().optional() }).nullable(),
  versions: z.record(z.string(), z.string()),
  params: z.number().int().nonnegative(),
  /** Process that owns a running run: a running run whose process is gone is reported as interrupted. */
  owner: z.object({ pid: z.number().int(), host: z.string(), heartbeatAt: z.string() }).nullable(),
  progress: z.object({
    step: z.number().int().nonnegative(),
    epoch: z.number().nonnegative(),
    lastTrainLoss: z.number().nullable(),
    bestValMse: z.number().nullable(),
    /** Classification runs: best validation accuracy (bestValMse stays null). */
    bestValAccuracy: z.number().nullable().optional(),
    bestStep: z.number().int().nullable(),
    /** Step of checkpoints/last.safetensors, the resume point. */
    checkpointStep: z.number().int().nullable(),
  }),
  timings: z.object({
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    /** Training wall time summed over sessions (resumes add to it). */
    trainMs: z.number().nonnegative(),
    msPerStepMedian: z.number().nullable(),
  }),
  /**
   * "Train longer": each time the completed run was continued from its last checkpoint (`fromStep`, the steps it had
   * trained) to a new total (`toStep`, then config.steps), when, and whether the early-stop counter was reset (a run
   * that had stopped early). The weights continue exactly as one uninterrupted run of toStep steps would.
   */
  continuations: z
    .array(
      z
        .object({
          fromStep: z.number().int().nonnegative(),
          toStep: z.number().int().positive(),
          at: z.string(),
          earlyStopReset: z.boolean().optional(),
        })
        .strict(),
    )
    .optional(),
  results: z
    .object({
      valMse: z.number().nullable(),
      testMse: z.number().nullable(),
      valAccuracy: z.number().nullable(),
      testAccuracy: z.number().nullable(),
      /** Which evaluation testMse / testAccuracy come from (the headline: end of training, best checkpoint). */
      testSource: testSourceSchema.nullable(),
    })
    .partial()
    .optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/** One line of metrics.jsonl. */
export const metricRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('train'),
    step: z.number().int(),
    epoch: z.number(),
    loss: z.number().nullable(),
    gradNorm: z.number().nullable(),
    msPerStep: z.number(),
    /** Classification: accuracy of the training batch (before the step's update). */
    accuracy: z.number().optional(),
    t: z.string(),
  }),
  z.object({ kind: z.literal('val'), step: z.number().int(), mse: z.number(), best: z.boolean(), t: z.string() }),
  /** Validation of a classification run: accuracy (the best-checkpoint criterion, as the reference) and loss. */
  z.object({ kind: z.literal('val-accuracy'), step: z.number().int(), accuracy: z.number(), loss: z.number().nullable(), best: z.boolean(), t: z.string() }),
  z.object({ kind: z.literal('event'), step: z.number().int(), event: z.string(), message: z.string().optional(), t: z.string() }),
]);
export type MetricRecord = z.infer<typeof metricRecordSchema>;

/** Progress event from a training run (worker -> service -> transports). */
export interface ProgressEvent {
  runId: string;
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number | null;
  valMse: number | null;
  bestValMse: number | null;
  /** Classification runs: last and best validation accuracy. */
  valAccuracy?: number | null;
  bestValAccuracy?: number | null;
  stepsPerSec: number;
  etaSec: number | null;
  status: RunStatus;
  /** A sweep member's run: which sweep and member (set by the service that runs the sweep). */
  sweep?: { id: string; index: number };
}
