import type { ClassificationSource } from '../../../core/data/flowingMnistClassification';
import type { RunRecord, TrainConfig } from '../../../core/protocol/run';
import type { DecodedClip } from '../userFrames';

/**
 * What a dataset kind's loader gives a run, whatever the data are made of: seeded streams of sequences (prediction)
 * or of labelled clips (classification). A kind's loader file (this folder) implements the loaders of the tasks its
 * facts name (core/data/datasetKinds.ts); node/data/datasetRegistry.ts maps every kind to its loaders.
 */

/** A seeded stream of sequences [B, T, H, W, 1]: batch `index` of `size` is the same whenever it is asked for. */
export interface SequenceSource {
  batch(index: number, size: number): { frames: Float32Array; shape: readonly [number, number, number, number, 1] };
}

/** The three data streams of a prediction run (Flowing MNIST: train and val from the seeded 54k/6k split, test from t10k). */
export interface RunData {
  train: SequenceSource;
  val: SequenceSource;
  test: SequenceSource;
  epochSize: number;
  /** Sequences in the validation and test sets when they are finite (users' files); generated sets are endless. */
  valSize?: number;
  testSize?: number;
}

/** The labelled clip streams of a classification run. */
export interface ClassificationRunData {
  train: ClassificationSource;
  val: ClassificationSource;
  test: ClassificationSource;
  /** Clips per epoch (training digits; KTH: training segments). */
  epochSize: number;
  numClasses: number;
  /** Where the clips come from, for the run's log. */
  note: string;
}

export type Split = 'train' | 'val' | 'test';
export const SPLITS: readonly Split[] = ['train', 'val', 'test'];

/** How a classification loader is asked: the test motion range, load progress, and the splits needed. */
export interface ClassificationLoad {
  /** Velocity range -D..D of the test clips (the run's testDataVRange, else its dataVRange). */
  testRange: number;
  onLoad?: (done: number, total: number) => void;
  /** The splits to load (a reader from disk decodes only these; generated data are made on demand anyway). */
  splits: readonly Split[];
  /** Videos the run's inspect decoded (users' class folders, by class folder): not decoded again. */
  decoded?: DecodedFolders;
}

/**
 * Clips an inspect decoded, by folder path (users' clip folders: the folder; class folders: each class's folder), in
 * the folder's order, at the run's frame size: a loader running in the same process as the
 * inspect (the lab service's worker thread for the run it just created) takes them instead of decoding again.
 * Plain data (structured-cloneable; the frames' buffers transferable).
 */
export type DecodedFolders = Readonly<Record<string, readonly DecodedClip[]>>;

/** @param decoded clips the run's inspect decoded (users' clip folders); absent, the loader reads its files. */
export type PredictionLoader = (config: TrainConfig, dataSeed: number, decoded?: DecodedFolders) => Promise<RunData>;
export type ClassificationLoader = (config: TrainConfig, dataSeed: number, load: ClassificationLoad) => Promise<ClassificationRunData>;

/** What run.json records of the files a run's data are read from (`sources.data`). */
export type DataSources = NonNullable<NonNullable<RunRecord['sources']>['data']>;
/** What an inspect found: what run.json records of the files, and what it decoded that the run's loader may reuse. */
export interface DataInspection {
  sources: DataSources;
  decoded?: DecodedFolders;
}

/**
 * The check of a run's data files before the run exists, in two steps: the walk (this function: folders and names,
 * nothing decoded; what it learns, e.g. the classes of class folders, is there for the memory check) and `inspect`
 * (every file read and checked, and hashed). Both throw an InputError naming the config field and the file. Kinds
 * read from files have one.
 */
export type DataInspector = (config: TrainConfig) => Promise<DataWalk>;

export interface DataWalk {
  /** The classes the data name (users' class folders), when the kind's facts do not. */
  readonly classNames?: readonly string[];
  /**
   * @param keep.decoded keep what was decoded (`decoded` of the answer) for a loader in this process; otherwise
   *   nothing is kept (a check alone holds one clip at a time).
   */
  inspect(keep?: InspectKeep): Promise<DataInspection>;
}

export interface InspectKeep {
  decoded?: boolean;
}

/** A DataInspector for a kind with nothing to learn before reading its files: the walk is the inspect's first step. */
export const inspectOnly =
  (inspect: (config: TrainConfig, keep?: InspectKeep) => Promise<DataInspection>): DataInspector =>
  async (config) => ({ inspect: (keep) => inspect(config, keep) });

/** The class names a kind's data give (users' class folders), read without decoding; kinds whose facts name them have none. */
export type ClassNamer = (config: TrainConfig) => Promise<string[]>;

/** The loader of each task. */
export interface TaskLoaders {
  prediction: PredictionLoader;
  classification: ClassificationLoader;
}
