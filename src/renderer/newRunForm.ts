import { DATASETS, DATASET_FACTS, TASKS, type Dataset, type Task } from '../core/data/datasetKinds';
import { MODEL_KINDS, isRotationKind } from '../core/nn/modelKinds';
import type { TrainConfig, TrainConfigInput } from '../core/protocol/run';
import { CHOICE_RULES, NUMBER_RULES, choicesFor, flowVelocity, formDefaults, rulesFor, type DataVelocity } from './configRules';

/**
 * The New run form's contents as one plain object: what it shows (from defaults, from a run's config for "New run
 * from this config", or as the user left it, kept in localStorage across views and reloads), and the config it sends.
 */
export interface NewRunForm {
  task: Task;
  dataset: Dataset;
  /** The folder of a dataset read from disk, as typed. */
  dataDir: string;
  model: string;
  backend: string;
  name: string;
  /** Every number and choice field, as typed (NUMBER_RULES and CHOICE_RULES keys). */
  values: Record<string, string>;
  /** Data motion: the velocity range, or the velocities of saved flows. */
  dataMotion: 'range' | 'flows';
  /** The saved flows chosen as data motion, by name. */
  flowNames: string[];
  /** Users' files, as typed: separate validation / test data and the batch order (kinds of sequence files), and the
   *  checkpoint a prediction run starts from ('' : none). */
  files: UserFiles;
}

export interface UserFiles {
  dataVal: string;
  dataTest: string;
  batchOrder: 'shuffle' | 'file';
  init: string;
}

const noFiles = (): UserFiles => ({ dataVal: '', dataTest: '', batchOrder: 'shuffle', init: '' });

export function defaultForm(): NewRunForm {
  return {
    task: 'prediction',
    dataset: 'flowing-mnist',
    dataDir: '',
    model: 'fernn',
    backend: 'auto',
    name: '',
    values: formDefaults(),
    dataMotion: 'range',
    flowNames: [],
    files: noFiles(),
  };
}

/**
 * The config the form sends: a Flowing-MNIST prediction run's without task and dataset (as before tasks existed);
 * the numbers and choices of the chosen task and model; the velocities of the chosen flows when they are the motion.
 * @param flows the saved flows chosen as data motion (null: none usable, the range applies)
 */
export function configFromForm(f: NewRunForm, flows: { flow: string }[] | null): TrainConfigInput {
  const facts = DATASET_FACTS[f.dataset];
  const c: Record<string, unknown> = { model: f.model, backend: f.backend };
  if (f.task === 'classification') c.task = 'classification';
  if (f.task === 'classification' || f.dataset !== 'flowing-mnist') c.dataset = f.dataset;
  if (facts.source === 'path') c.dataDir = f.dataDir.trim();
  if (facts.sequenceFiles) {
    if (f.files.dataVal.trim()) c.dataVal = f.files.dataVal.trim();
    if (f.files.dataTest.trim()) c.dataTest = f.files.dataTest.trim();
    if (f.files.batchOrder === 'file') c.batchOrder = 'file';
  }
  if (f.task === 'prediction' && f.files.init.trim()) c.init = f.files.init.trim();
  for (const r of rulesFor(f.task, isRotationKind(f.model), f.dataset)) {
    const text = (f.values[r.key] ?? '').trim();
    if (r.optional && text === '') continue;
    c[r.key] = Number(text);
  }
  for (const r of choicesFor(f.task, f.model)) c[r.key] = f.values[r.key];
  if (f.dataMotion === 'flows' && flows && facts.listedVelocities) c.dataVelocities = flows.map((x) => flowVelocity(x.flow) as DataVelocity);
  return c as unknown as TrainConfigInput;
}

/** A run's name for its copy: "<name or id> (copy)", within the 200 characters a name may have. */
export function copyName(source: { id: string; name?: string }): string {
  return `${(source.name || source.id).slice(0, 190)} (copy)`;
}

/**
 * The form showing a run's config ("New run from this config"): every setting as the run had it; listed velocities
 * become the saved flows of the same velocities (by name), when there are such flows.
 */
export function formFromConfig(config: TrainConfig, name: string, savedFlows: { name: string; flow: string }[]): NewRunForm {
  const f = defaultForm();
  f.task = config.task;
  f.dataset = config.dataset;
  f.dataDir = config.dataDir ?? '';
  f.files = { dataVal: config.dataVal ?? '', dataTest: config.dataTest ?? '', batchOrder: config.batchOrder, init: config.init ?? '' };
  f.model = config.model;
  f.backend = config.backend;
  f.name = name;
  const source = config as unknown as Record<string, unknown>;
  for (const r of [...NUMBER_RULES, ...CHOICE_RULES]) {
    const v = source[r.key];
    if (v !== undefined && v !== null) f.values[r.key] = String(v);
  }
  if (config.dataVelocities) {
    const names = config.dataVelocities.map((v) => savedFlows.find((s) => flowVelocity(s.flow)?.vx === v.vx && flowVelocity(s.flow)?.vy === v.vy)?.name);
    f.dataMotion = 'flows';
    f.flowNames = [...new Set(names.filter((n): n is string => n !== undefined))];
  }
  return f;
}

const STORAGE_KEY = 'fernn-lab:new-run-form';

/** The part of the Web Storage API used here (the browser's localStorage; tests pass their own). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}
/** The browser's localStorage, or a store that keeps nothing where there is none. */
const browserStore = (): KeyValueStore =>
  (globalThis as { localStorage?: KeyValueStore }).localStorage ?? { getItem: () => null, setItem: () => undefined, removeItem: () => undefined };

/** The form as last left (localStorage), every field checked: anything unreadable falls back to its default. */
export function loadForm(storage: Pick<KeyValueStore, 'getItem'> = browserStore()): NewRunForm {
  const f = defaultForm();
  let raw: unknown;
  try {
    raw = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return f;
  }
  if (!raw || typeof raw !== 'object') return f;
  const o = raw as Record<string, unknown>;
  const str = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
  if (str(o.task) && (TASKS as readonly string[]).includes(o.task)) f.task = o.task as Task;
  if (str(o.dataset) && (DATASETS as readonly string[]).includes(o.dataset)) f.dataset = o.dataset as Dataset;
  if (str(o.model) && (MODEL_KINDS as readonly string[]).includes(o.model)) f.model = o.model;
  if (str(o.dataDir)) f.dataDir = o.dataDir;
  if (str(o.backend, 64)) f.backend = o.backend;
  if (str(o.name, 200)) f.name = o.name;
  if (o.dataMotion === 'range' || o.dataMotion === 'flows') f.dataMotion = o.dataMotion;
  if (Array.isArray(o.flowNames)) f.flowNames = o.flowNames.filter((n): n is string => str(n, 200)).slice(0, 64);
  if (o.files && typeof o.files === 'object') {
    const files = o.files as Record<string, unknown>;
    for (const key of ['dataVal', 'dataTest', 'init'] as const) if (str(files[key])) f.files[key] = files[key];
    if (files.batchOrder === 'shuffle' || files.batchOrder === 'file') f.files.batchOrder = files.batchOrder;
  }
  if (o.values && typeof o.values === 'object') {
    const values = o.values as Record<string, unknown>;
    for (const key of Object.keys(f.values)) {
      const v = values[key];
      if (str(v, 64)) f.values[key] = v;
    }
  }
  return f;
}

export function saveForm(f: NewRunForm, storage: Pick<KeyValueStore, 'setItem'> = browserStore()): void {
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(f));
  } catch {
    // Storage full or disabled: the form still works, it only forgets.
  }
}

export function clearForm(storage: Pick<KeyValueStore, 'removeItem'> = browserStore()): void {
  storage.removeItem(STORAGE_KEY);
}
