import type { Dataset, Task, TrainConfigInput } from '../core/protocol/run';
import { angularSpan } from './format';
import { CELL_KIND_FACTS, MODEL_LIMITS, ROTATION_CELL_KINDS, isCellKind, isRotationKind } from '../core/nn/modelKinds';
import { ACTIVATIONS, POOLS, TRAIN_DEFAULTS, TRAIN_LIMITS as L, TRAIN_STARTING_VALUES } from '../core/protocol/trainDefaults';
import { DATASETS, DATASET_FACTS, servesTask } from '../core/data/datasetKinds';

/** The tasks in the form's words. */
const TASK_WORDS: Record<Task, string> = { prediction: 'frame prediction', classification: 'classification' };
/** The rotating datasets' labels: "Rotating MNIST". */
const rotatingLabels = (): string =>
  DATASETS.filter((d) => DATASET_FACTS[d].motion === 'rotation')
    .map((d) => DATASET_FACTS[d].label)
    .join(' or ');

/**
 * Inline hints for the New run form: the numeric ranges of TrainConfig, so a wrong field is flagged as it is typed.
 * The service's schema stays the authority (it validates again and names the field); a unit test keeps these
 * ranges equal to the schema's.
 */
export interface NumberRule {
  key: keyof TrainConfigInput;
  label: string;
  min: number;
  /** Exclusive lower bound (lr > 0). */
  minExclusive?: boolean;
  max: number;
  int: boolean;
  help: string;
  /** The field belongs to this task only (the form hides it, and does not send it, for the other). */
  task?: Task;
  /** Blank is allowed and means "not sent" (the service's default applies). */
  optional?: boolean;
  /** Label and help of the field in a classification run's form, where they differ. */
  classification?: { label: string; help: string };
  /** The field belongs to rotation cells only (the form hides it, and does not send it, for the others). */
  rotationOnly?: boolean;
  /** Label and help of the field in a rotation cell's form (Rotating MNIST), where they differ. */
  rotation?: { label: string; help: string };
  /** The field belongs to datasets cut from clips into windows only (facts `clipWindows`: the form hides it otherwise). */
  clipWindowsOnly?: boolean;
}

export const NUMBER_RULES: NumberRule[] = [
  {
    key: 'vRange',
    label: 'Velocity range r (model)',
    min: MODEL_LIMITS.vRange.min,
    max: MODEL_LIMITS.vRange.max,
    int: true,
    help: 'V = {-r..r}²; 0 for the G-RNN',
    classification: { label: 'Velocity range r (model)', help: 'V = {-r..r}²; 0 for the G-RNN and the 3D-CNN' },
    rotation: { label: 'Angular velocity range r (model)', help: 'Ω = {-r..r} × omega step; 0 for the rotation G-RNN' },
  },
  {
    key: 'hidden',
    label: 'Hidden channels',
    min: MODEL_LIMITS.hidden.min,
    max: MODEL_LIMITS.hidden.max,
    int: true,
    help: 'C, channels per velocity slice',
    rotation: { label: 'Hidden fields', help: 'F, C_N fields per angular velocity (N orientation channels each)' },
  },
  {
    key: 'group',
    label: 'Group order N',
    min: MODEL_LIMITS.group.min,
    max: MODEL_LIMITS.group.max,
    int: true,
    help: 'C_N: N orientations of 360/N degrees; reference 36, tiny 8',
    rotationOnly: true,
  },
  {
    key: 'omegaStep',
    label: 'Omega step (deg/frame)',
    min: 0,
    minExclusive: true,
    max: MODEL_LIMITS.omegaStep.max,
    int: false,
    help: 'degrees per frame of one velocity step; reference 10',
    rotationOnly: true,
  },
  {
    key: 'dataVRange',
    label: 'Data velocity range',
    ...L.dataVRange,
    int: true,
    help: 'digits move with integer velocities in -D..D',
    classification: { label: 'Train velocity range', help: 'training and validation clips move with integer velocities in -D..D' },
    rotation: { label: 'Data angular velocity range D', help: 'digits turn with ω ∈ {-D..D} × omega step' },
  },
  {
    key: 'testDataVRange',
    label: 'Test velocity range',
    ...L.dataVRange,
    int: true,
    help: 'test clips move with velocities in -D..D; blank: as in training',
    task: 'classification',
    optional: true,
  },
  { key: 'steps', label: 'Training steps', ...L.steps, int: true, help: 'optimizer steps' },
  { key: 'batch', label: 'Batch', ...L.batch, int: true, help: 'sequences per step' },
  { key: 'seed', label: 'Seed', ...L.seed, int: true, help: 'same seed, same data, init and curve' },
  { key: 'imageSize', label: 'Frame size (px)', ...L.imageSize, int: true, help: 'square frames; 28 is MNIST size' },
  { key: 'lr', label: 'Learning rate', ...L.lr, minExclusive: true, int: false, help: 'Adam' },
  { key: 'clipNorm', label: 'Clip norm', ...L.clipNorm, int: false, help: 'global gradient-norm clip; reference 1, 0 = off' },
  {
    key: 'teacherForcing',
    label: 'Teacher forcing',
    ...L.teacherForcing,
    int: false,
    help: 'probability of feeding the true frame, not the prediction, to the decoder; reference 0',
    task: 'prediction',
  },
  { key: 'valEvery', label: 'Validate every', ...L.valEvery, int: true, help: 'steps between validations' },
  {
    key: 'earlyStopPatience',
    label: 'Early stop after',
    ...L.earlyStopPatience,
    int: true,
    help: 'validations without improvement before the run stops; 0 = never',
  },
  {
    key: 'divergenceFactor',
    label: 'Divergence factor',
    ...L.divergenceFactor,
    int: false,
    help: 'stop as diverged when the loss exceeds this multiple of its first value',
  },
  { key: 'decoderLayers', label: 'Decoder layers', ...L.decoderLayers, int: true, help: 'conv + relu layers before the readout', task: 'prediction' },
  {
    key: 'inputFrames',
    label: 'Input frames',
    ...L.inputFrames,
    int: true,
    help: 'frames encoded',
    classification: { label: 'Clip frames', help: 'frames per clip the model classifies' },
  },
  { key: 'predFrames', label: 'Predicted frames', ...L.predFrames, int: true, help: 'frames predicted', task: 'prediction' },
  {
    key: 'dataStride',
    label: 'Window stride',
    ...L.dataStride,
    int: true,
    help: 'frames between the starts of the windows cut from a clip; blank: the window, input + predicted frames',
    task: 'prediction',
    optional: true,
    clipWindowsOnly: true,
  },
  { key: 'numDigits', label: 'Digits per sequence', ...L.numDigits, int: true, help: 'summed and clamped', task: 'prediction' },
  {
    key: 'valSequences',
    label: 'Validation sequences',
    ...L.valSequences,
    int: true,
    help: 'per validation',
    classification: { label: 'Validation clips', help: 'per validation (accuracy)' },
  },
  {
    key: 'testSequences',
    label: 'Test sequences',
    ...L.testSequences,
    int: true,
    help: 'for the final test MSE',
    classification: { label: 'Test clips', help: 'for the final test accuracy' },
  },
];

/** A training setting chosen from a list (a select in the form). */
export interface ChoiceRule {
  key: 'pool' | 'activation' | 'encoder';
  label: string;
  options: readonly string[];
  help: string;
  /** Whether the setting means anything for the chosen task and model (the form hides it, and does not send it, otherwise). */
  applies: (task: Task, model: string) => boolean;
}

/** Lifted models: their state has a velocity axis to pool over (a G-RNN's has one slice; the 3D-CNN has none). */
const lifted = (model: string): boolean => isCellKind(model) && CELL_KIND_FACTS[model].lifted;

export const CHOICE_RULES: ChoiceRule[] = [
  {
    key: 'pool',
    label: 'Pooling over V',
    options: POOLS,
    help: 'how the velocity slices are combined before the readout; reference max',
    applies: (_task, model) => lifted(model),
  },
  {
    key: 'activation',
    label: 'Activation',
    options: ACTIVATIONS,
    help: "the recurrent cell's nonlinearity; reference relu",
    applies: (_task, model) => isCellKind(model),
  },
  {
    key: 'encoder',
    label: 'Input encoder',
    options: ['none', 'reference'],
    help: "none: frames enter through the cell's input conv; reference: per-frame conv encoder (5x5-32, 3x3-64, 3x3-hidden)",
    applies: (task, model) => task === 'classification' && isCellKind(model) && CELL_KIND_FACTS[model].encoder,
  },
];

/** The choice settings that apply to a task and model. */
export const choicesFor = (task: Task, model: string): ChoiceRule[] => CHOICE_RULES.filter((r) => r.applies(task, model));

/**
 * The form's starting values, as typed text: the one source of defaults (core/protocol/trainDefaults.ts) that the
 * run schema and the CLI's `train` read too; the fields a run must state start at TRAIN_STARTING_VALUES.
 */
export function formDefaults(): Record<string, string> {
  const out: Record<string, string> = {};
  const known: Record<string, unknown> = { ...TRAIN_DEFAULTS, ...TRAIN_STARTING_VALUES };
  for (const r of NUMBER_RULES) out[r.key] = r.optional ? '' : String(known[r.key]);
  for (const c of CHOICE_RULES) out[c.key] = String(known[c.key]);
  return out;
}

/** The rotation cells (core ROTATION_CELL_KINDS): C_N group convolutions, an angular-velocity axis, Rotating MNIST only. */
export const ROTATION_MODELS: readonly string[] = ROTATION_CELL_KINDS;
export const isRotationModelId = (model: string): boolean => isRotationKind(model);

/**
 * The rules of the fields a run of `task` has, with that task's labels; `rotation`: the model is a rotation cell
 * (its group order and omega step are fields, and the velocity ranges are angular); `dataset`: its clips are cut
 * into windows (facts `clipWindows`: the window stride is a field).
 */
export function rulesFor(task: Task, rotation = false, dataset?: Dataset): NumberRule[] {
  const windows = dataset !== undefined && DATASET_FACTS[dataset].clipWindows === true;
  return NUMBER_RULES.filter((r) => (!r.task || r.task === task) && (!r.rotationOnly || rotation) && (!r.clipWindowsOnly || windows)).map((r) => {
    if (rotation && r.rotation) return { ...r, ...r.rotation };
    return task === 'classification' && r.classification ? { ...r, ...r.classification } : r;
  });
}

/**
 * A rotation run's velocity range in degrees per frame, as the form explains it: the model's "V2 = −20..20 deg/frame"
 * (vRange), the data's "ω ∈ −40..40 deg/frame" (dataVRange); '' while either number is not valid.
 */
export function angularHint(key: 'vRange' | 'dataVRange', values: Record<string, string | undefined>): string {
  const r = Number((values[key] ?? '').trim());
  const step = Number((values.omegaStep ?? '').trim());
  if ((values[key] ?? '').trim() === '' || !Number.isInteger(r) || r < 0 || !(step > 0) || step > 180) return '';
  const span = angularSpan(r, step);
  return key === 'vRange' ? `V${r} = ${span}` : `ω ∈ ${span}`;
}

/** The choices of the form that are not numbers. */
export interface FormChoice {
  model: string;
  /** Default: prediction. */
  task?: Task;
  /** Default: flowing-mnist. */
  dataset?: Dataset;
  /** The KTH folder or the .npy file as typed. */
  dataDir?: string;
  /** The data motion comes from saved flows (dataVelocities). */
  flowMotion?: boolean;
}

/** Models without a velocity axis: their velocity range must be 0. */
export const UNLIFTED_MODELS: Record<string, string> = {
  grnn: 'a G-RNN has V = {0}',
  cnn3d: 'a 3D-CNN has no velocity axis',
  'grnn-rot': 'a rotation G-RNN has Ω = {0}',
};
export const DATA_DIR_MAX = 4096;

/** The message for a value of a rule, or null when it is fine. `raw` is the input's text. */
export function checkNumber(rule: NumberRule, raw: string): string | null {
  const text = raw.trim();
  if (text === '') return `${rule.label} is required`;
  const v = Number(text);
  if (!Number.isFinite(v)) return `${rule.label} must be a number`;
  if (rule.int && !Number.isInteger(v)) return `${rule.label} must be a whole number`;
  const range = `${rule.minExclusive ? `> ${rule.min}` : `≥ ${rule.min}`} and ≤ ${rule.max}`;
  if ((rule.minExclusive ? v <= rule.min : v < rule.min) || v > rule.max) return `${rule.label} must be ${range}`;
  return null;
}

/**
 * Field -> message for every problem of the form: numbers as typed (the fields of the chosen task and model), and the
 * schema's cross-field rules (V = {0} for the G-RNN and the 3D-CNN, Ω = {0} for the rotation G-RNN, distinct lifted
 * angles for the rotation FERNN (velocity range × omega step < 180); the 3D-CNN and
 * KTH only for classification; KTH needs its folder and draws its motion from the velocity range; rotation cells and
 * Rotating MNIST only together, for frame prediction, with motion from the angular range).
 */
export function checkConfigForm(choice: FormChoice, values: Record<string, string>): Record<string, string> {
  const task = choice.task ?? 'prediction';
  const dataset = choice.dataset ?? 'flowing-mnist';
  const rotation = isRotationModelId(choice.model);
  const errors: Record<string, string> = {};
  for (const rule of rulesFor(task, rotation, dataset)) {
    if (!(rule.key in values)) continue;
    if (rule.optional && values[rule.key].trim() === '') continue;
    const msg = checkNumber(rule, values[rule.key]);
    if (msg) errors[rule.key] = msg;
  }
  for (const rule of choicesFor(task, choice.model)) {
    const v = values[rule.key];
    if (v !== undefined && !rule.options.includes(v)) errors[rule.key] = `${rule.label} must be one of ${rule.options.join(', ')}`;
  }
  // The lifted omegas -r*step..r*step must be distinct angles (the schema's DISTINCT_OMEGAS rule).
  if (choice.model === 'fernn-rot' && !errors.vRange && !errors.omegaStep && Number(values.vRange) * Number(values.omegaStep) >= 180) {
    errors.omegaStep = `velocity range × omega step must be under 180 degrees: the lifted angular velocities ±${Number(values.vRange) * Number(values.omegaStep)} would coincide`;
  }
  const unlifted = UNLIFTED_MODELS[choice.model];
  if (unlifted && !errors.vRange && Number(values.vRange) !== 0) errors.vRange = `${unlifted}: the velocity range must be 0`;
  if (task === 'prediction' && choice.model === 'cnn3d') errors.model = 'the 3D-CNN is a classification baseline: choose the classification task';
  // The dataset's facts (core/data/datasetKinds.ts): the tasks it serves, a folder it is read from, its motion.
  const data = DATASET_FACTS[dataset];
  if (!servesTask(dataset, task)) {
    const served = Object.keys(data.tasks) as Task[];
    const words = served.map((t) => TASK_WORDS[t]).join(' or ');
    if (task === 'prediction') errors.dataset = `${data.label} is a ${words} dataset: choose the ${words} task`;
    else errors.task = `${data.label} runs are ${words}: choose the ${words} task`;
  }
  if (data.source === 'path') {
    const dir = (choice.dataDir ?? '').trim();
    const label = data.path?.label ?? 'Data folder';
    if (!dir) errors.dataDir = `${label} is required: ${data.path?.hint ?? 'the folder the dataset is read from'}`;
    else if (dir.length > DATA_DIR_MAX) errors.dataDir = `${label} must be at most ${DATA_DIR_MAX} characters`;
  }
  if (rotation && data.motion !== 'rotation') errors.dataset = `${choice.model} is a rotation cell: train it on ${rotatingLabels()}`;
  if (!rotation && data.motion === 'rotation' && !errors.model) errors.model = `${data.label} is for rotation cells: choose fernn-rot or grnn-rot`;
  if (choice.flowMotion && !data.listedVelocities)
    errors.dataVelocities =
      data.motion === 'rotation'
        ? `${data.label} draws its angular velocities from the data range × omega step: saved flows are for Flowing MNIST`
        : data.sequenceFiles
          ? `${data.label} move as they were recorded: saved flows are for Flowing MNIST`
          : `${data.label} draws its motion from the velocity range: saved flows are for Flowing MNIST`;
  return errors;
}

/** A training data velocity (the service's `dataVelocities` entries: whole pixels per frame in -8..8). */
export interface DataVelocity {
  vx: number;
  vy: number;
}
export const DATA_VELOCITY_MAX = 8;
export const DATA_VELOCITIES_MAX_COUNT = 64;

/** The velocity of a saved flow's text (`translate:VX,VY`), or null when it is not a translation. */
export function flowVelocity(flow: string): DataVelocity | null {
  const m = /^translate:(-?\d+),(-?\d+)$/.exec(flow);
  return m ? { vx: Number(m[1]), vy: Number(m[2]) } : null;
}

/**
 * The message for the flows chosen as data motion, or null when they can be sent as `dataVelocities`:
 * at least one, at most 64, each a translation within -8..8 px per frame.
 */
export function checkDataFlows(flows: { name: string; flow: string }[]): string | null {
  if (!flows.length) return 'choose at least one saved flow';
  if (flows.length > DATA_VELOCITIES_MAX_COUNT) return `choose at most ${DATA_VELOCITIES_MAX_COUNT} flows`;
  for (const f of flows) {
    const v = flowVelocity(f.flow);
    if (!v) return `flow "${f.name}" (${f.flow}) is not a translation`;
    if (Math.abs(v.vx) > DATA_VELOCITY_MAX || Math.abs(v.vy) > DATA_VELOCITY_MAX) {
      return `flow "${f.name}" (${f.flow}) is too fast for training data: each component must be within -${DATA_VELOCITY_MAX}..${DATA_VELOCITY_MAX}`;
    }
  }
  return null;
}
