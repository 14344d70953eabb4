import { DATASETS, DATASET_FACTS, runClassNames, type Dataset, type RunClassSource } from '../core/data/datasetKinds';

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

/**
 * The names for a run's confusion matrix of `n` classes: those its data recorded (users' class folders: run.json
 * `sources.data`), else its dataset's; the label numbers when they do not match.
 */
export function classNames(run: RunClassSource | undefined, n: number): string[] {
  const names = run ? runClassNames(run) : DATASET_CLASS_NAMES['flowing-mnist'];
  return names.length === n ? [...names] : Array.from({ length: n }, (_, i) => String(i));
}
