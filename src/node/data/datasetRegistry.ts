import { DATASET_FACTS, isDataset, UnknownDatasetError, type Dataset, type Task, type TasksOf } from '../../core/data/datasetKinds';
import { InputError } from '../../core/util/errors';
import { flowingMnistClassification, flowingMnistPrediction } from './datasets/flowingMnist';
import { classFolderNames, classFoldersClassification, walkClassFolders } from './datasets/classFolders';
import { framesPrediction, inspectFramesData } from './datasets/frames';
import { kthClassification } from './datasets/kth';
import type { TrainConfig } from '../../core/protocol/run';
import { inspectOnly, type ClassNamer, type DataInspector, type DataWalk, type TaskLoaders } from './datasets/loader';
import { inspectNpyData, npyPrediction } from './datasets/npy';
import { rotatingMnistPrediction } from './datasets/rotatingMnist';

/**
 * The loaders of every dataset kind: one line per kind, mapped over core/data/datasetKinds.ts DATASET_FACTS, and for
 * each kind exactly the tasks its facts name. A kind added there without a line here, or a task in its facts without
 * a loader, is a compile error. A kind's loaders live in their own file in ./datasets/ (docs/architecture.md). A kind
 * read from files also names its `inspect`: the check of its files before a run exists and what run.json records; a
 * kind whose classes come from its data (facts without classNames) its `classNames`.
 */
export const DATASET_LOADERS: {
  readonly [K in Dataset]: Pick<TaskLoaders, TasksOf<K>> & { readonly inspect?: DataInspector; readonly classNames?: ClassNamer };
} = {
  'flowing-mnist': { prediction: flowingMnistPrediction, classification: flowingMnistClassification },
  'rotating-mnist': { prediction: rotatingMnistPrediction },
  kth: { classification: kthClassification },
  npy: { prediction: npyPrediction, inspect: inspectOnly(async (config) => ({ sources: await inspectNpyData(config) })) },
  'class-folders': { classification: classFoldersClassification, inspect: walkClassFolders, classNames: classFolderNames },
  frames: { prediction: framesPrediction, inspect: inspectOnly(inspectFramesData) },
};

/**
 * The loader of `dataset` for `task`. An unknown kind (a run.json or flag from elsewhere) is an UnknownDatasetError;
 * a task the kind does not serve an InputError naming `dataset` (the run schema refuses both before a run exists).
 */
export function datasetLoader<T extends Task>(dataset: string, task: T): TaskLoaders[T] {
  if (!isDataset(dataset)) throw new UnknownDatasetError(dataset);
  const loaders: Partial<TaskLoaders> = DATASET_LOADERS[dataset];
  const loader = loaders[task] as TaskLoaders[T] | undefined;
  if (!loader)
    throw new InputError('dataset', `${DATASET_FACTS[dataset].label} has no ${task} data: it serves ${Object.keys(DATASET_FACTS[dataset].tasks).join(', ')}`);
  return loader;
}

/**
 * The first step of checking a run's data files before the run exists: the walk of its folders (names only; class
 * folders: the classes). Undefined for data a kind generates. `inspect()` on it reads and checks every file.
 */
export async function walkRunData(config: TrainConfig): Promise<DataWalk | undefined> {
  const loaders: { readonly inspect?: DataInspector } = DATASET_LOADERS[config.dataset];
  return loaders.inspect?.(config);
}

/**
 * The number of classes of a classification config: its dataset's facts, or (users' class folders) its data's folders
 * (from `walk` when the caller has walked them, else walked here).
 */
export async function dataClassCount(config: TrainConfig, walk?: DataWalk): Promise<number> {
  if (walk?.classNames) return walk.classNames.length;
  const loaders: { readonly classNames?: ClassNamer } = DATASET_LOADERS[config.dataset];
  return loaders.classNames ? (await loaders.classNames(config)).length : DATASET_FACTS[config.dataset].classNames.length;
}
