import { DATASETS, DATASET_FACTS, type Dataset } from '../core/data/datasetKinds';

/**
 * Class names of each dataset's classification task, in label order (MNIST digits; KTH actions in the reference's
 * _ACTION2IDX order): the dataset kinds' facts (core/data/datasetKinds.ts).
 */
export const DATASET_CLASS_NAMES: { readonly [K in Dataset]: readonly string[] } = Object.fromEntries(
  DATASETS.map((d) => [d, DATASET_FACTS[d].classNames]),
) as { [K in Dataset]: readonly string[] };

export const DATASET_LABELS: { readonly [K in Dataset]: string } = Object.fromEntries(DATASETS.map((d) => [d, DATASET_FACTS[d].label])) as {
  [K in Dataset]: string;
};

/** The names for a confusion matrix of `n` classes: the dataset's, or the label numbers when they do not match. */
export function classNames(dataset: Dataset | undefined, n: number): string[] {
  const names = DATASET_CLASS_NAMES[dataset ?? 'flowing-mnist'];
  return names.length === n ? [...names] : Array.from({ length: n }, (_, i) => String(i));
}
