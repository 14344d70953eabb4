import { describe, expect, it } from 'vitest';
import { KTH_ACTIONS } from '../../src/core/data/movingClips';
import { ROTATION_CELL_KINDS } from '../../src/core/nn/config';
import { DATASET_CLASSES, DATASETS, trainConfigSchema, type TrainConfigInput } from '../../src/core/protocol/run';
import { DATASET_CLASS_NAMES, classNames } from '../../src/renderer/classes';
import {
  CHOICE_RULES,
  NUMBER_RULES,
  ROTATION_MODELS,
  UNLIFTED_MODELS,
  angularHint,
  checkConfigForm,
  checkNumber,
  choicesFor,
  formDefaults,
  rulesFor,
  type FormChoice,
} from '../../src/renderer/configRules';

const base = { model: 'fernn', vRange: 1, hidden: 4, steps: 10 };
const clsBase = { ...base, task: 'classification' };
const rotBase = { ...base, model: 'fernn-rot', dataset: 'rotating-mnist', group: 8 };
const issuesAt = (key: string, v: number, over: object = {}) => {
  const r = trainConfigSchema.safeParse({ ...base, ...over, [key]: v });
  return r.success ? [] : r.error.issues.filter((i) => i.path[0] === key);
};
/** Form values that pass every rule of the task (and of a rotation cell's fields). */
const okValues = (task: 'prediction' | 'classification', rotation = false) =>
  Object.fromEntries(rulesFor(task, rotation).map((r) => [r.key, String(r.min === 0 && r.minExclusive ? 0.001 : Math.max(r.min, 1))]));
/** What the service says about a config: the first path element of each issue. */
const schemaFields = (c: Record<string, unknown>) => {
  const r = trainConfigSchema.safeParse(c);
  return r.success ? [] : [...new Set(r.error.issues.map((i) => String(i.path[0])))].sort();
};
const formFields = (choice: FormChoice, values: Record<string, string>) => Object.keys(checkConfigForm(choice, values)).sort();

describe('New run form rules', () => {
  it.each(NUMBER_RULES.map((r) => [r.key, r] as const))('%s has the schema’s range', (key, rule) => {
    // The omega step's own range, at vRange 0 (at vRange r the lifted omegas also need r * step < 180: tested below).
    const over =
      rule.task === 'classification'
        ? { task: 'classification' }
        : rule.rotationOnly
          ? { ...rotBase, ...(key === 'omegaStep' ? { vRange: 0 } : {}) }
          : rule.clipWindowsOnly
            ? { dataset: 'frames', dataDir: '/clips' }
            : {};
    expect(issuesAt(key, rule.max, over)).toEqual([]);
    expect(issuesAt(key, rule.max + (rule.int ? 1 : 1e-6), over)).not.toEqual([]);
    if (rule.minExclusive) {
      expect(issuesAt(key, rule.min, over)).not.toEqual([]);
    } else {
      expect(issuesAt(key, rule.min, over)).toEqual([]);
      expect(issuesAt(key, rule.min - 1, over)).not.toEqual([]);
    }
    if (rule.int) expect(issuesAt(key, rule.min + 0.5, over)).not.toEqual([]);
    expect(checkNumber(rule, String(rule.max))).toBeNull();
    expect(checkNumber(rule, String(rule.max + 1))).toMatch(rule.label);
  });

  it('covers every numeric field of the config the form sends', () => {
    const numeric = Object.entries(trainConfigSchema.shape).filter(([, s]) => {
      const inner = 'unwrap' in s && typeof s.unwrap === 'function' ? (s.unwrap() as { type?: string }) : (s as { type?: string });
      return inner.type === 'number';
    });
    const covered = new Set(NUMBER_RULES.map((r) => r.key));
    // Every numeric training setting is in the form (clip norm, teacher forcing, early stop, divergence included).
    expect(numeric.map(([k]) => k).filter((k) => !covered.has(k as never))).toEqual([]);
  });

  it('flags the G-RNN with a velocity range and text in number fields', () => {
    const values = okValues('prediction');
    expect(checkConfigForm({ model: 'grnn' }, { ...values, vRange: '1' }).vRange).toMatch(/G-RNN/);
    expect(checkConfigForm({ model: 'fernn' }, { ...values, hidden: 'many' }).hidden).toMatch(/number/);
    expect(checkConfigForm({ model: 'fernn' }, { ...values, hidden: '' }).hidden).toMatch(/required/);
    expect(checkConfigForm({ model: 'fernn' }, values)).toEqual({});
  });

  it('has the fields of each task, named as the form shows them', () => {
    const pred = rulesFor('prediction').map((r) => r.key);
    const cls = rulesFor('classification').map((r) => r.key);
    expect(pred).toEqual(expect.arrayContaining(['predFrames', 'decoderLayers', 'numDigits']));
    expect(pred).not.toContain('testDataVRange');
    expect(cls).toEqual(expect.arrayContaining(['testDataVRange', 'inputFrames', 'dataVRange']));
    expect(cls).not.toEqual(expect.arrayContaining(['predFrames']));
    expect(cls.some((k) => ['predFrames', 'decoderLayers', 'numDigits'].includes(k))).toBe(false);
    const values = okValues('classification');
    expect(checkConfigForm({ model: 'fernn', task: 'classification' }, { ...values, inputFrames: '0' }).inputFrames).toMatch(/^Clip frames must be/);
    expect(checkConfigForm({ model: 'fernn', task: 'classification' }, { ...values, testDataVRange: '9' }).testDataVRange).toMatch(
      /^Test velocity range must be/,
    );
    // Blank test range: the service's default (the training range).
    expect(checkConfigForm({ model: 'fernn', task: 'classification' }, { ...values, testDataVRange: '' })).toEqual({});
    // A prediction form ignores the classification-only field.
    expect(checkConfigForm({ model: 'fernn' }, { ...okValues('prediction'), testDataVRange: 'x' })).toEqual({});
  });

  it('mirrors the schema’s task rules with field-named messages', () => {
    const pv = okValues('prediction');
    const cv = okValues('classification');
    const cases: { choice: FormChoice; values: Record<string, string>; config: Record<string, unknown>; fields: string[]; message?: RegExp }[] = [
      {
        choice: { model: 'cnn3d' },
        values: { ...pv, vRange: '0' },
        config: { ...base, model: 'cnn3d', vRange: 0 },
        fields: ['model'],
        message: /classification/,
      },
      {
        choice: { model: 'cnn3d', task: 'classification' },
        values: { ...cv, vRange: '1' },
        config: { ...clsBase, model: 'cnn3d' },
        fields: ['vRange'],
        message: /3D-CNN/,
      },
      { choice: { model: 'cnn3d', task: 'classification' }, values: { ...cv, vRange: '0' }, config: { ...clsBase, model: 'cnn3d', vRange: 0 }, fields: [] },
      {
        choice: { model: 'fernn', dataset: 'kth', dataDir: '/data/kth' },
        values: pv,
        config: { ...base, dataset: 'kth', dataDir: '/data/kth' },
        fields: ['dataset'],
        message: /classification/,
      },
      {
        choice: { model: 'fernn', dataset: 'npy', dataDir: ' ' },
        values: pv,
        config: { ...base, dataset: 'npy' },
        fields: ['dataDir'],
        message: /^\.npy file is required/,
      },
      { choice: { model: 'fernn', dataset: 'npy', dataDir: '/d/s.npy' }, values: pv, config: { ...base, dataset: 'npy', dataDir: '/d/s.npy' }, fields: [] },
      {
        choice: { model: 'fernn', task: 'classification', dataset: 'kth', dataDir: '  ' },
        values: cv,
        config: { ...clsBase, dataset: 'kth' },
        fields: ['dataDir'],
        message: /^KTH folder is required/,
      },
      {
        choice: { model: 'fernn', task: 'classification', dataset: 'kth', dataDir: '/data/kth' },
        values: cv,
        config: { ...clsBase, dataset: 'kth', dataDir: '/data/kth' },
        fields: [],
      },
      {
        choice: { model: 'fernn', task: 'classification', dataset: 'kth', dataDir: 'x'.repeat(4097) },
        values: cv,
        config: { ...clsBase, dataset: 'kth', dataDir: 'x'.repeat(4097) },
        fields: ['dataDir'],
      },
      {
        choice: { model: 'fernn', task: 'classification', dataset: 'kth', dataDir: '/k', flowMotion: true },
        values: cv,
        config: { ...clsBase, dataset: 'kth', dataDir: '/k', dataVelocities: [{ vx: 1, vy: 0 }] },
        fields: ['dataVelocities'],
      },
      {
        choice: { model: 'fernn', task: 'classification', flowMotion: true },
        values: cv,
        config: { ...clsBase, dataVelocities: [{ vx: 1, vy: 0 }] },
        fields: [],
      },
      { choice: { model: 'fernn', task: 'classification' }, values: { ...cv, testDataVRange: '3' }, config: { ...clsBase, testDataVRange: 3 }, fields: [] },
    ];
    for (const c of cases) {
      expect(formFields(c.choice, c.values), JSON.stringify(c.choice)).toEqual(c.fields);
      expect(schemaFields(c.config as TrainConfigInput), JSON.stringify(c.config)).toEqual(c.fields);
      if (c.message) expect(checkConfigForm(c.choice, c.values)[c.fields[0]]).toMatch(c.message);
    }
  });
});

describe('class names', () => {
  it('match the datasets’ class counts and the KTH label order', () => {
    for (const d of DATASETS) expect(DATASET_CLASS_NAMES[d]).toHaveLength(DATASET_CLASSES[d]);
    expect(DATASET_CLASS_NAMES.kth).toEqual([...KTH_ACTIONS]);
    const kth = { config: { dataset: 'kth' as const } };
    expect(classNames(kth, 6)[5]).toBe('handclapping');
    expect(classNames(kth, 3)).toEqual(['0', '1', '2']);
  });

  it('of a run on users’ class folders are the names its data recorded (run.json sources.data)', () => {
    const classes = [
      { name: 'drift', videos: 3 },
      { name: 'spin', videos: 4 },
    ];
    const run = { config: { dataset: 'class-folders' as const }, sources: { data: [{ split: 'all', classes }] } };
    expect(classNames(run, 2)).toEqual(['drift', 'spin']);
    expect(classNames({ config: run.config }, 2)).toEqual(['0', '1']);
  });
});

describe('New run form rules for rotation cells (Rotating MNIST)', () => {
  const rv = okValues('prediction', true);
  const rot: FormChoice = { model: 'fernn-rot', dataset: 'rotating-mnist' };

  it('knows the core’s rotation cells; group order and omega step are their fields only', () => {
    expect([...ROTATION_MODELS]).toEqual([...ROTATION_CELL_KINDS]);
    expect(rulesFor('prediction').map((r) => r.key)).not.toEqual(expect.arrayContaining(['group']));
    expect(rulesFor('prediction').map((r) => r.key)).not.toContain('omegaStep');
    const keys = rulesFor('prediction', true).map((r) => r.key);
    expect(keys).toEqual(expect.arrayContaining(['group', 'omegaStep', 'vRange', 'dataVRange']));
    const label = (k: string) => rulesFor('prediction', true).find((r) => r.key === k)?.label;
    expect(label('vRange')).toMatch(/^Angular velocity range/);
    expect(label('dataVRange')).toMatch(/^Data angular velocity range/);
    expect(label('hidden')).toBe('Hidden fields');
    expect(checkConfigForm(rot, rv)).toEqual({});
  });

  it('explains the velocity ranges in degrees per frame', () => {
    expect(angularHint('vRange', { vRange: '2', omegaStep: '10' })).toBe('V2 = −20..20 deg/frame');
    expect(angularHint('dataVRange', { dataVRange: '4', omegaStep: '10' })).toBe('ω ∈ −40..40 deg/frame');
    expect(angularHint('vRange', { vRange: '1', omegaStep: '22.5' })).toBe('V1 = −22.5..22.5 deg/frame');
    expect(angularHint('vRange', { vRange: '0', omegaStep: '10' })).toBe('V0 = 0 deg/frame');
    expect(angularHint('vRange', { vRange: 'x', omegaStep: '10' })).toBe('');
    expect(angularHint('vRange', { vRange: '2', omegaStep: '0' })).toBe('');
  });

  it('checks the group order and the omega step as typed', () => {
    expect(checkConfigForm(rot, { ...rv, group: '' }).group).toMatch(/^Group order N is required/);
    expect(checkConfigForm(rot, { ...rv, group: '73' }).group).toMatch(/^Group order N must be ≥ 1 and ≤ 72/);
    expect(checkConfigForm(rot, { ...rv, group: '4.5' }).group).toMatch(/whole number/);
    expect(checkConfigForm(rot, { ...rv, omegaStep: '0' }).omegaStep).toMatch(/^Omega step \(deg\/frame\) must be > 0 and ≤ 180/);
    expect(checkConfigForm(rot, { ...rv, omegaStep: '22.5' })).toEqual({});
    expect(UNLIFTED_MODELS['grnn-rot']).toMatch(/rotation G-RNN/);
  });

  it('mirrors the schema’s rotation rules with field-named messages', () => {
    const pv = okValues('prediction');
    const cases: { choice: FormChoice; values: Record<string, string>; config: Record<string, unknown>; fields: string[]; message?: RegExp }[] = [
      { choice: rot, values: rv, config: { ...rotBase, omegaStep: 10 }, fields: [] },
      {
        choice: { model: 'grnn-rot', dataset: 'rotating-mnist' },
        values: { ...rv, vRange: '0' },
        config: { ...rotBase, model: 'grnn-rot', vRange: 0 },
        fields: [],
      },
      {
        choice: { model: 'grnn-rot', dataset: 'rotating-mnist' },
        values: { ...rv, vRange: '2' },
        config: { ...rotBase, model: 'grnn-rot', vRange: 2 },
        fields: ['vRange'],
        message: /rotation G-RNN/,
      },
      // A rotation cell on Flowing MNIST: the form sends its group (a rotation cell's field), the schema flags the dataset only.
      {
        choice: { model: 'fernn-rot' },
        values: rv,
        config: { ...base, model: 'fernn-rot', group: 1 },
        fields: ['dataset'],
        message: /rotation cell: train it on Rotating MNIST/,
      },
      // A translation cell on Rotating MNIST: no group is sent.
      {
        choice: { model: 'fernn', dataset: 'rotating-mnist' },
        values: pv,
        config: { ...base, dataset: 'rotating-mnist' },
        fields: ['model'],
        message: /fernn-rot or grnn-rot/,
      },
      { choice: rot, values: { ...rv, group: '' }, config: { ...base, model: 'fernn-rot', dataset: 'rotating-mnist' }, fields: ['group'] },
      {
        choice: { ...rot, task: 'classification' },
        values: { ...okValues('classification', true) },
        config: { ...rotBase, task: 'classification' },
        fields: ['task'],
        message: /frame prediction/,
      },
      {
        choice: { ...rot, flowMotion: true },
        values: rv,
        config: { ...rotBase, dataVelocities: [{ vx: 1, vy: 0 }] },
        fields: ['dataVelocities'],
        message: /^Rotating MNIST draws/,
      },
      // -180..180 in quarter turns: -180 and 180 are one angle.
      {
        choice: rot,
        values: { ...rv, vRange: '2', omegaStep: '90' },
        config: { ...rotBase, vRange: 2, omegaStep: 90 },
        fields: ['omegaStep'],
        message: /under 180 degrees/,
      },
      { choice: rot, values: { ...rv, vRange: '1', omegaStep: '90' }, config: { ...rotBase, vRange: 1, omegaStep: 90 }, fields: [] },
    ];
    for (const c of cases) {
      expect(formFields(c.choice, c.values), JSON.stringify(c.choice)).toEqual(c.fields);
      expect(schemaFields(c.config as TrainConfigInput), JSON.stringify(c.config)).toEqual(c.fields);
      if (c.message) expect(checkConfigForm(c.choice, c.values)[c.fields[0]]).toMatch(c.message);
    }
  });
});

describe('choice settings of the form (pooling, activation, encoder)', () => {
  it('apply where they mean something and are checked by name', () => {
    const keys = (task: 'prediction' | 'classification', model: string) => choicesFor(task, model).map((r) => r.key);
    expect(keys('prediction', 'fernn')).toEqual(['pool', 'activation']);
    expect(keys('prediction', 'grnn')).toEqual(['activation']);
    expect(keys('classification', 'grnn-plus')).toEqual(['pool', 'activation', 'encoder']);
    expect(keys('classification', 'cnn3d')).toEqual([]);
    expect(keys('prediction', 'fernn-rot')).toEqual(['pool', 'activation']);
    const values = { ...formDefaults(), pool: 'median', activation: 'tanh' };
    expect(checkConfigForm({ model: 'fernn' }, values)).toEqual({ pool: 'Pooling over V must be one of max, mean, sum' });
    expect(checkConfigForm({ model: 'fernn' }, { ...values, pool: 'sum', activation: 'gelu' })).toEqual({ activation: 'Activation must be one of relu, tanh' });
    for (const r of CHOICE_RULES) for (const o of r.options) expect(schemaFields({ ...clsBase, model: 'fernn', [r.key]: o })).toEqual([]);
  });
});
