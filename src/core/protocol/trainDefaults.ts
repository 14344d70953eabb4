import type { Dataset, Task } from '../data/datasetKinds';

/**
 * The one source of a training run's defaults and ranges, read by the run schema (run.ts: what an omitted field
 * becomes, what a field may be), the CLI's `train` flags and help (cli/commands/train.ts) and the app's New run form
 * (renderer: NewRun.vue's starting values, configRules.ts's inline rules). A unit test fails if they diverge
 * (test/core/trainDefaults.test.ts).
 *
 * Dependency-free at run time (eslint: PURE_CORE_MODULES), so the renderer imports the values themselves.
 *
 * Which values: the data and the optimisation follow the reference protocol (/work/shared/docs/fernn-notes.md,
 * "Reference protocol", the reference's `moving_mnist_fp/train.py` defaults): MNIST at its own 28 x 28 px, each digit's
 * velocity components drawn from -2..2 (data_v_range 2), 2 digits, 10 input + 10 predicted frames, Adam lr 1e-3,
 * grad-norm clip 1.0, no teacher forcing, max pooling over V, relu. The sizes that set the cost of a step (hidden 128,
 * batch 128, 4 decoder layers, 50 epochs) are not defaults: at those a step takes seconds on a GPU and minutes on
 * wasm, so the defaults are laptop scale (batch 16, 1 decoder layer) and the paper's sizes are the "paper" presets.
 * Validation: every 100 steps on 256 sequences (256 test sequences, as the small-scale calibration of the notes).
 * Before this file the app's form started from another set (data velocities -1..1, 16 px frames, validation every 50
 * steps on 64 sequences), so the same "defaults" trained a different experiment in the app and in the CLI.
 */
export const TRAIN_DEFAULTS = {
  task: 'prediction' as Task,
  dataset: 'flowing-mnist' as Dataset,
  encoder: 'none' as 'none' | 'reference',
  omegaStep: 10,
  decoderLayers: 1,
  pool: 'max' as Pool,
  activation: 'relu' as Activation,
  batch: 16,
  lr: 1e-3,
  clipNorm: 1,
  teacherForcing: 0,
  dataVRange: 2,
  imageSize: 28,
  numDigits: 2,
  inputFrames: 10,
  predFrames: 10,
  seed: 0,
  valEvery: 100,
  valSequences: 256,
  testSequences: 256,
  earlyStopPatience: 0,
  divergenceFactor: 1e4,
  backend: 'auto' as const,
};

/**
 * Starting values of the fields a run must state (the schema has no default; the CLI requires --hidden and --steps,
 * and takes r = 1 for a lifted model when --v-range is not given): the New run form starts from these. A FERNN-V1 of
 * 16 hidden channels for 300 steps: the smallest setting at which the notes' calibration shows the FERNN effect.
 * Rotation cells start at C_8 (the tiny Rotating-MNIST preset; the reference's C_36 is the paper preset's).
 */
export const TRAIN_STARTING_VALUES = { vRange: 1, hidden: 16, steps: 300, group: 8 } as const;

/** Pooling over the velocity axis before the decoder or the classifier's head (the reference's max; mean and sum are options). */
export const POOLS = ['max', 'mean', 'sum'] as const;
export type Pool = (typeof POOLS)[number];
/** The recurrent cell's nonlinearity (the reference's relu; tanh is its option). */
export const ACTIVATIONS = ['relu', 'tanh'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/** Inclusive ranges of the numeric training settings (the model's own: MODEL_LIMITS in nn/modelKinds.ts). */
export const TRAIN_LIMITS = {
  decoderLayers: { min: 0, max: 8 },
  batch: { min: 1, max: 512 },
  steps: { min: 1, max: 10_000_000 },
  /** Exclusive of 0. */
  lr: { min: 0, max: 1 },
  clipNorm: { min: 0, max: 1e6 },
  teacherForcing: { min: 0, max: 1 },
  dataVRange: { min: 0, max: 8 },
  imageSize: { min: 8, max: 64 },
  numDigits: { min: 1, max: 4 },
  inputFrames: { min: 1, max: 50 },
  predFrames: { min: 1, max: 50 },
  /** Frames between windows cut from a clip (dataset 'frames'; default: the window length). */
  dataStride: { min: 1, max: 10_000 },
  seed: { min: 0, max: 2 ** 31 - 1 },
  valEvery: { min: 1, max: 1_000_000 },
  valSequences: { min: 1, max: 6000 },
  testSequences: { min: 1, max: 10000 },
  earlyStopPatience: { min: 0, max: 1000 },
  divergenceFactor: { min: 1, max: 1e9 },
} as const;
