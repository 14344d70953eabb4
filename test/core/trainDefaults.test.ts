import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../../src/cli/commands/train';
import { trainConfigSchema } from '../../src/core/protocol/run';
import { TRAIN_DEFAULTS, TRAIN_STARTING_VALUES } from '../../src/core/protocol/trainDefaults';
import { CHOICE_RULES, NUMBER_RULES, formDefaults } from '../../src/renderer/configRules';
import { configFromForm, defaultForm, type NewRunForm } from '../../src/renderer/newRunForm';

/** What the app's New run form, untouched but for task/dataset/model, starts a run with. */
const fromForm = (over: Partial<NewRunForm> = {}) => trainConfigSchema.parse(configFromForm({ ...defaultForm(), ...over }, null));
/** What `fernn-lab train` starts with when only the required flags (and the same task/dataset/model) are given. */
const fromCli = (flags: Parameters<typeof configFromFlags>[0] = {}) =>
  configFromFlags({ model: 'fernn', hidden: TRAIN_STARTING_VALUES.hidden, steps: TRAIN_STARTING_VALUES.steps, ...flags });

describe('one source of training defaults for the app and the CLI', () => {
  it('the form and `train` start the same run (prediction, classification, a dataset read from disk, a rotation cell)', () => {
    expect(fromForm()).toEqual(fromCli());
    expect(fromForm({ task: 'classification' })).toEqual(fromCli({ task: 'classification' }));
    // A dataset's own frame size (KTH: 32) in both.
    const kthForm = defaultForm();
    kthForm.values.imageSize = '32';
    expect(fromForm({ ...kthForm, task: 'classification', dataset: 'kth', dataDir: '/data/kth' })).toEqual(
      fromCli({ task: 'classification', dataset: 'kth', data: '/data/kth' }),
    );
    expect(fromForm({ values: { ...defaultForm().values, pool: 'mean', activation: 'tanh' } })).toEqual(fromCli({ pool: 'mean', activation: 'tanh' }));
    expect(fromForm({ model: 'fernn-rot', dataset: 'rotating-mnist' })).toEqual(fromCli({ model: 'fernn-rot', group: TRAIN_STARTING_VALUES.group }));
  });

  it('are the schema defaults, field by field, as the form shows them', () => {
    const form = formDefaults();
    const schemaDefaults = trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 1, steps: 1 }) as Record<string, unknown>;
    for (const r of [...NUMBER_RULES, ...CHOICE_RULES]) {
      const d = (TRAIN_DEFAULTS as Record<string, unknown>)[r.key] ?? (TRAIN_STARTING_VALUES as Record<string, unknown>)[r.key];
      if ('optional' in r && r.optional)
        expect(form[r.key], r.key).toBe(''); // blank: the schema's rule applies (e.g. dataStride: the window)
      else expect(form[r.key], r.key).toBe(String(d));
      if (r.key in TRAIN_DEFAULTS) expect(schemaDefaults[r.key], r.key).toEqual(d);
    }
    // The reference protocol's data (fernn-notes.md): 28 px, velocities -2..2, clip 1, lr 1e-3; validation 100 / 256.
    expect(TRAIN_DEFAULTS).toMatchObject({ imageSize: 28, dataVRange: 2, clipNorm: 1, lr: 1e-3, valEvery: 100, valSequences: 256 });
  });
});
