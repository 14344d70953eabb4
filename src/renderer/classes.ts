import type { Dataset } from '../core/protocol/run';

/**
 * Class names of each dataset's classification task, in label order: MNIST digits, and KTH actions in the order of
 * core/data/movingClips.ts KTH_ACTIONS (the reference's _ACTION2IDX). A unit test keeps both equal to core's lists.
 */
export const DATASET_CLASS_NAMES: Record<Dataset, readonly string[]> = {
  'flowing-mnist': ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  'rotating-mnist': ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  kth: ['walking', 'jogging', 'running', 'boxing', 'handwaving', 'handclapping'],
  npy: [],
};

export const DATASET_LABELS: Record<Dataset, string> = {
  'flowing-mnist': 'Flowing MNIST',
  'rotating-mnist': 'Rotating MNIST',
  kth: 'KTH actions',
  npy: 'Your .npy sequences',
};

/** The names for a confusion matrix of `n` classes: the dataset's, or the label numbers when they do not match. */
export function classNames(dataset: Dataset | undefined, n: number): string[] {
  const names = DATASET_CLASS_NAMES[dataset ?? 'flowing-mnist'];
  return names.length === n ? [...names] : Array.from({ length: n }, (_, i) => String(i));
}
