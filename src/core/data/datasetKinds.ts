import type { FlowKind } from '../flows/flowGrammar';

/**
 * Every dataset kind and what the rest of the house needs to know of it without reading a byte: its label, the tasks
 * it serves, its class names, the kind of motion in its clips, whether it is generated or read from a path, its
 * default frame size, which evaluations apply. The one list behind the run schema (protocol/run.ts), the CLI's
 * `--dataset`, the node-side loaders (node/data/datasets.ts, mapped over this list: a kind without a loader is a
 * compile error) and the renderer's forms and labels.
 *
 * Dependency-free at run time (type imports only; eslint enforces it: PURE_CORE_MODULES), so the renderer may import
 * it. A users'-own-data kind (a folder of `.npy` arrays, videos, frames) is a `source: 'path'` entry here, one loader
 * file and one line in node/data/datasets.ts (docs/architecture.md, "A dataset kind, file by file").
 */

/** prediction: next-frame prediction (seq2seq, test MSE); classification: what moves (accuracy). */
export const TASKS = ['prediction', 'classification'] as const;
export type Task = (typeof TASKS)[number];

/** The reference's class order of KTH (its `_ACTION2IDX`): label i is KTH_ACTIONS[i]. */
export const KTH_ACTIONS = ['walking', 'jogging', 'running', 'boxing', 'handwaving', 'handclapping'] as const;
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

export interface DatasetFacts {
  /** For forms and tables: "Flowing MNIST". */
  readonly label: string;
  /** The tasks it serves, each with the form's hint (what a run of that task on it learns). */
  readonly tasks: { readonly [T in Task]?: string };
  /** The classification labels in label order (digits: their value; KTH: KTH_ACTIONS); empty where the data name
   *  them (users' class folders: the run records them, see runClassNames). */
  readonly classNames: readonly string[];
  /** The kind of motion in its clips: the flows its runs are probed with and the cells that fit it. */
  readonly motion: FlowKind;
  /** generated: built in (from the MNIST digits); path: read from `dataDir`, which the run must name. */
  readonly source: 'generated' | 'path';
  /** source 'path': what the folder is, for the form's label, hint and the schema's message. */
  readonly path?: { readonly label: string; readonly hint: string; readonly placeholder: string };
  /** The frame side it is usually trained at (the reference's). */
  readonly defaultImageSize: number;
  /** Its motion may be a list of velocities (saved flows; `dataVelocities`) instead of the range -D..D. */
  readonly listedVelocities: boolean;
  /** Evaluations that rebuild MNIST digits with the run's motion apply: the velocity (or angular) grid. */
  readonly velocityGrid: boolean;
  /** Length generalisation (longer Flowing-MNIST sequences) applies. */
  readonly lengthCurve: boolean;
  /**
   * A finite set of recorded sequences read from files: separate validation and test files (`dataVal`, `dataTest`)
   * or seeded held-out fractions of `dataDir`, and batches in file order (`batchOrder: 'file'`) are possible.
   */
  readonly sequenceFiles: boolean;
  /** Its clips are cut into windows of inputFrames + predFrames frames, `dataStride` frames apart (default: the window). */
  readonly clipWindows?: boolean;
}

export const DATASETS = ['flowing-mnist', 'rotating-mnist', 'kth', 'npy', 'frames', 'class-folders'] as const;
export type Dataset = (typeof DATASETS)[number];

/** Written `as const` so the tasks of each kind are types (TasksOf); read through DATASET_FACTS. */
const FACTS = {
  'flowing-mnist': {
    label: 'Flowing MNIST',
    tasks: {
      prediction: 'MNIST digits translating on a torus (wrap-around); predict the next frames',
      classification: 'one MNIST digit per clip, moving on a torus; the label is the digit',
    },
    classNames: DIGITS,
    motion: 'translation',
    source: 'generated',
    defaultImageSize: 28,
    listedVelocities: true,
    velocityGrid: true,
    lengthCurve: true,
    sequenceFiles: false,
  },
  'rotating-mnist': {
    label: 'Rotating MNIST',
    tasks: { prediction: 'MNIST digits turning about the frame centre at ω ∈ {−D..D} × omega step; rotation cells only' },
    classNames: DIGITS,
    motion: 'rotation',
    source: 'generated',
    defaultImageSize: 28,
    listedVelocities: false,
    velocityGrid: true,
    lengthCurve: false,
    sequenceFiles: false,
  },
  kth: {
    label: 'KTH actions',
    tasks: { classification: 'KTH videos (walking, jogging, running, boxing, hand waving, hand clapping) moved by random translations' },
    classNames: KTH_ACTIONS,
    motion: 'translation',
    source: 'path',
    path: { label: 'KTH folder', hint: 'one sub-folder per action: videos or extracted frames (docs/kth.md)', placeholder: '/data/kth' },
    defaultImageSize: 32,
    listedVelocities: false,
    velocityGrid: false,
    lengthCurve: false,
    sequenceFiles: false,
  },
  npy: {
    label: 'Your .npy sequences',
    tasks: { prediction: 'your own sequences, moving as they were recorded; predict the next frames (README "Your own data")' },
    classNames: [],
    // Recorded motion of any kind: runs are probed with translation flows, and only translation cells train on it.
    motion: 'translation',
    source: 'path',
    path: {
      label: '.npy file',
      hint: '[N, T, 1, H, W] or [N, T, H, W], float32 in [0, 1] or uint8; T = input + predicted frames; 10% each held out for validation and test (seeded)',
      placeholder: '/data/sequences.npy',
    },
    defaultImageSize: 28,
    listedVelocities: false,
    velocityGrid: false,
    lengthCurve: false,
    sequenceFiles: true,
  },
  frames: {
    label: 'Your videos or frame folders',
    tasks: { prediction: 'your own videos or PNG frame folders, moving as they were recorded; predict the next frames (README "Your own data")' },
    classNames: [],
    // As npy: recorded motion of any kind, probed with translation flows.
    motion: 'translation',
    source: 'path',
    path: {
      label: 'Clips folder',
      hint: 'one clip per entry: a video (ffmpeg) or a folder of PNG frames sorted by name; grey, resized, cut into windows of input + predicted frames; 10% of the clips each held out for validation and test (seeded)',
      placeholder: '/data/clips',
    },
    defaultImageSize: 32,
    listedVelocities: false,
    velocityGrid: false,
    lengthCurve: false,
    sequenceFiles: true,
    clipWindows: true,
  },
  'class-folders': {
    label: 'Your class folders',
    tasks: { classification: 'one folder per class (its name is the label) of your videos or PNG frame folders, moved by random translations' },
    // From the data: the folders' names in sorted order, recorded in run.json (runClassNames).
    classNames: [],
    motion: 'translation',
    source: 'path',
    path: {
      label: 'Class folders',
      hint: "one folder per class (the name is the label) of videos or folders of PNG frames; 10% of each class's videos each held out for validation and test (seeded)",
      placeholder: '/data/classes',
    },
    defaultImageSize: 32,
    listedVelocities: false,
    velocityGrid: false,
    lengthCurve: false,
    sequenceFiles: true,
  },
} as const satisfies { readonly [K in Dataset]: DatasetFacts };

/** The facts of every dataset kind. */
export const DATASET_FACTS: { readonly [K in Dataset]: DatasetFacts } = FACTS;

/** The tasks a dataset kind serves, as a type (the node loaders are required for exactly these). */
export type TasksOf<K extends Dataset> = keyof (typeof FACTS)[K]['tasks'] & Task;

/** A dataset kind that is not one of DATASETS (a config, a flag, a file from elsewhere). */
export class UnknownDatasetError extends Error {
  constructor(readonly kind: string) {
    super(`unknown dataset "${kind}": one of ${DATASETS.join(', ')}`);
    this.name = 'UnknownDatasetError';
  }
}

export const isDataset = (k: string): k is Dataset => Object.hasOwn(DATASET_FACTS, k);

/** The facts of a dataset kind; a string that is none throws UnknownDatasetError. */
export function datasetFacts(kind: string): DatasetFacts {
  if (!isDataset(kind)) throw new UnknownDatasetError(kind);
  return DATASET_FACTS[kind];
}

/** Whether a dataset kind serves a task. */
export const servesTask = (kind: Dataset, task: Task): boolean => Object.hasOwn(DATASET_FACTS[kind].tasks, task);

/** The dataset kinds of a task, in DATASETS order. */
export const datasetsOf = (task: Task): Dataset[] => DATASETS.filter((d) => servesTask(d, task));

/** The number of classes of a dataset's classification labels. */
export const datasetClassCount = (kind: Dataset): number => DATASET_FACTS[kind].classNames.length;

/** What runClassNames reads of a run record (a structural type: this module imports no schemas). */
export interface RunClassSource {
  readonly config: { readonly dataset: Dataset };
  readonly sources?: { readonly data?: readonly { readonly split: string; readonly classes?: readonly { readonly name: string }[] }[] };
}

/**
 * A run's class names in label order: those recorded from its data (users' class folders: the classes of
 * run.json `sources.data`, training source first), else its dataset's facts (digits, KTH actions).
 */
export function runClassNames(run: RunClassSource): readonly string[] {
  const recorded = run.sources?.data?.find((d) => d.classes !== undefined)?.classes;
  return recorded ? recorded.map((c) => c.name) : DATASET_FACTS[run.config.dataset].classNames;
}
