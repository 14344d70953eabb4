import { describe, expect, it } from 'vitest';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { configFromForm, copyName, defaultForm, formFromConfig, loadForm, saveForm, type KeyValueStore } from '../../src/renderer/newRunForm';

const memoryStore = (): KeyValueStore & { map: Map<string, string> } => {
  const map = new Map<string, string>();
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => void map.set(k, v), removeItem: (k) => void map.delete(k) };
};

describe('New run form contents', () => {
  it('come back as they were saved; anything unreadable falls back to its default', () => {
    const store = memoryStore();
    const f = {
      ...defaultForm(),
      task: 'classification' as const,
      name: 'mine',
      values: { ...defaultForm().values, clipNorm: '0.5', pool: 'sum' },
      files: { dataVal: '/v.npy', dataTest: '', batchOrder: 'file' as const, init: '/w.pth' },
    };
    saveForm(f, store);
    expect(loadForm(store)).toEqual(f);
    store.setItem('fernn-lab:new-run-form', '{not json');
    expect(loadForm(store)).toEqual(defaultForm());
    store.setItem('fernn-lab:new-run-form', JSON.stringify({ task: 'dance', model: 'transformer', values: { hidden: 7, steps: '12' }, flowNames: [1, 'a'] }));
    const back = loadForm(store);
    expect([back.task, back.model, back.values.hidden, back.values.steps, back.flowNames]).toEqual(['prediction', 'fernn', '16', '12', ['a']]);
  });

  it('"New run from this config": the form sends back every setting of the run, under another name', () => {
    const configs = [
      trainConfigSchema.parse({
        model: 'fernn',
        vRange: 2,
        hidden: 5,
        steps: 7,
        clipNorm: 0.25,
        teacherForcing: 0.5,
        earlyStopPatience: 3,
        pool: 'mean',
        activation: 'tanh',
        imageSize: 12,
      }),
      trainConfigSchema.parse({
        model: 'grnn-plus',
        task: 'classification',
        encoder: 'reference',
        vRange: 1,
        hidden: 3,
        steps: 9,
        testDataVRange: 3,
        divergenceFactor: 50,
      }),
      trainConfigSchema.parse({ model: 'cnn3d', task: 'classification', dataset: 'kth', dataDir: '/k', vRange: 0, hidden: 3, steps: 9, imageSize: 32 }),
      trainConfigSchema.parse({ model: 'fernn-rot', dataset: 'rotating-mnist', group: 4, omegaStep: 20, vRange: 2, hidden: 2, steps: 3, backend: 'wasm' }),
      trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 4, steps: 5, dataVelocities: [{ vx: 2, vy: 1 }] }),
      // Users' files: separate validation and test data, file order, a start checkpoint; a clips folder's stride.
      trainConfigSchema.parse({
        model: 'grnn',
        dataset: 'npy',
        dataDir: '/d/train.npy',
        dataVal: '/d/val.npy',
        dataTest: '/d/test.npy',
        batchOrder: 'file',
        init: '/w/start.pth',
        vRange: 0,
        hidden: 3,
        steps: 4,
      }),
      trainConfigSchema.parse({ model: 'fernn', dataset: 'frames', dataDir: '/clips', dataStride: 3, vRange: 1, hidden: 2, steps: 2, imageSize: 16 }),
      trainConfigSchema.parse({
        model: 'grnn',
        task: 'classification',
        dataset: 'class-folders',
        dataDir: '/c',
        dataTest: '/c-test',
        vRange: 0,
        hidden: 2,
        steps: 2,
      }),
    ];
    const flows = [{ name: 'diagonal', flow: 'translate:2,1' }];
    for (const c of configs) {
      const f = formFromConfig(c, 'copy', flows);
      const chosen = flows.filter((x) => f.flowNames.includes(x.name));
      expect(trainConfigSchema.parse(configFromForm(f, chosen)), c.model).toEqual(c);
    }
    expect(copyName({ id: 'abc', name: 'tiny' })).toBe('tiny (copy)');
    expect(copyName({ id: 'abc' })).toBe('abc (copy)');
  });
});
