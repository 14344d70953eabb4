import { describe, expect, it } from 'vitest';
import { DATASETS, DATASET_FACTS, TASKS, UnknownDatasetError, datasetFacts, datasetsOf, servesTask } from '../../src/core/data/datasetKinds';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { InputError } from '../../src/core/util/errors';
import { DATASET_LOADERS, datasetLoader } from '../../src/node/data/datasetRegistry';
import { runData } from '../../src/node/lab/data';

describe('dataset registry', () => {
  it('has, for every dataset kind, a loader for exactly the tasks its facts name', () => {
    expect(Object.keys(DATASET_LOADERS).sort()).toEqual([...DATASETS].sort());
    for (const d of DATASETS) {
      const loaders: Partial<Record<string, unknown>> = DATASET_LOADERS[d];
      for (const t of TASKS) {
        expect(typeof loaders[t] === 'function', `${d} ${t}`).toBe(servesTask(d, t));
        if (servesTask(d, t)) expect(datasetLoader(d, t)).toBe(loaders[t]);
      }
      // A kind read from disk says what its folder is (the form's label, the schema's message).
      expect(DATASET_FACTS[d].source === 'path', d).toBe(DATASET_FACTS[d].path !== undefined);
      // A kind of sequence files checks them before a run exists (its inspect), and only such a kind has one.
      const inspect = (DATASET_LOADERS[d] as { inspect?: unknown }).inspect;
      expect(typeof inspect === 'function', `${d} inspect`).toBe(DATASET_FACTS[d].sequenceFiles);
    }
    expect(datasetsOf('prediction')).toEqual(['flowing-mnist', 'rotating-mnist', 'npy', 'frames']);
    expect(datasetsOf('classification')).toEqual(['flowing-mnist', 'kth', 'class-folders']);
  });

  it('a kind that is not registered is a named error, never a fallback to Flowing MNIST', async () => {
    expect(() => datasetLoader('moving-cifar', 'prediction')).toThrow(UnknownDatasetError);
    expect(() => datasetLoader('moving-cifar', 'prediction')).toThrow(/unknown dataset "moving-cifar": one of flowing-mnist, rotating-mnist, kth/);
    expect(() => datasetFacts('moving-cifar')).toThrow(UnknownDatasetError);
    // A config that got past no schema (an old or hand-edited run.json): the loader names the kind.
    const config = { ...trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 4, steps: 1 }), dataset: 'moving-cifar' };
    await expect(runData(config as unknown as Parameters<typeof runData>[0], 0)).rejects.toThrow(UnknownDatasetError);
    // A task the kind does not serve names the field.
    const e = (() => {
      try {
        datasetLoader('kth', 'prediction');
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).field).toBe('dataset');
  });

  it('the schema reads the dataset facts: a kind read from disk needs dataDir, a built-in one refuses it, tasks follow', () => {
    const base = { model: 'fernn', vRange: 1, hidden: 4, steps: 1, task: 'classification' } as const;
    const path = (r: ReturnType<typeof trainConfigSchema.safeParse>) => (r.success ? null : r.error.issues.map((i) => i.path.join('.')));
    expect(path(trainConfigSchema.safeParse({ ...base, dataset: 'kth' }))).toEqual(['dataDir']);
    expect(path(trainConfigSchema.safeParse({ ...base, dataset: 'kth', dataDir: '/k' }))).toBeNull();
    expect(path(trainConfigSchema.safeParse({ ...base, dataDir: '/k' }))).toEqual(['dataDir']);
    expect(path(trainConfigSchema.safeParse({ ...base, task: 'prediction', dataset: 'kth', dataDir: '/k' }))).toEqual(['dataset']);
    expect(path(trainConfigSchema.safeParse({ ...base, model: 'fernn-rot', group: 4, dataset: 'rotating-mnist' }))).toEqual(['task']);
  });
});

// @ts-expect-error a dataset kind without its loaders is a compile error (the registry is mapped over DATASETS)
export const missingKind: typeof DATASET_LOADERS = { 'flowing-mnist': DATASET_LOADERS['flowing-mnist'], kth: DATASET_LOADERS.kth };
// @ts-expect-error a task in a kind's facts without its loader is a compile error
export const missingTask: typeof DATASET_LOADERS = { ...DATASET_LOADERS, 'flowing-mnist': { prediction: DATASET_LOADERS['flowing-mnist'].prediction } };
