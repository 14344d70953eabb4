import type { RunStatus } from '../core/protocol/run';
import type { RunSummary } from '../core/protocol/service';
import { isClassification, isRotating, modelLabel } from './format';

/**
 * The Runs view's list: search, filters, sort and sweep groups, as pure functions of the runs (unit-tested in
 * test/renderer/runList.test.ts); the view renders only the rows of the result that are in sight.
 */

/** What a run is for the list's task filter. */
export type RunTask = 'prediction' | 'rotating' | 'classification';
export const taskOf = (r: Pick<RunSummary, 'config'>): RunTask =>
  isClassification(r.config) ? 'classification' : isRotating(r.config) ? 'rotating' : 'prediction';
export const TASK_LABELS: Record<RunTask, string> = { prediction: 'prediction', rotating: 'prediction · Rotating MNIST', classification: 'classification' };

export const SORT_KEYS = ['testMse', 'testAccuracy', 'created', 'name', 'model', 'status', 'task', 'progress'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';
export const SORT_LABELS: Record<SortKey, string> = {
  testMse: 'test MSE',
  testAccuracy: 'test accuracy',
  created: 'created',
  name: 'name',
  model: 'model',
  status: 'status',
  task: 'task',
  progress: 'progress',
};
/** The direction a key sorts in when first chosen: the best first for the test figures, the newest first for dates. */
export const DEFAULT_DIR: Record<SortKey, SortDir> = {
  testMse: 'asc',
  testAccuracy: 'desc',
  created: 'desc',
  name: 'asc',
  model: 'asc',
  status: 'asc',
  task: 'asc',
  progress: 'desc',
};

/** Every run status, in the filter's order (the record keeps it complete: a status added to the protocol is a compile error here). */
const STATUS_ORDER: Record<RunStatus, number> = { running: 0, queued: 1, completed: 2, interrupted: 3, cancelled: 4, failed: 5 };
export const RUN_STATUS_CHOICES = (Object.keys(STATUS_ORDER) as RunStatus[]).sort((a, b) => STATUS_ORDER[a] - STATUS_ORDER[b]);

export interface RunListQuery {
  /** Words that must all occur (case-insensitive) in the run's name, id, model label or sweep id. */
  text: string;
  /** A model kind (config.model), or '' for any. */
  model: string;
  status: RunStatus | '';
  task: RunTask | '';
  /** A sweep id, NO_SWEEP for runs of no sweep, or '' for any. */
  sweep: string;
  sort: SortKey;
  dir: SortDir;
  /** Show each sweep as one row that opens to its runs. */
  group: boolean;
}
export const NO_SWEEP = '(none)';
export const DEFAULT_QUERY: RunListQuery = { text: '', model: '', status: '', task: '', sweep: '', sort: 'created', dir: 'desc', group: true };

/** Lower-case text a search looks in. */
const haystack = (r: RunSummary) => `${r.name ?? ''} ${r.id} ${modelLabel(r.config)} ${r.config.model} ${r.sweep?.id ?? ''}`.toLowerCase();

/** The runs that match every filter of the query, in the order given. */
export function filterRuns(runs: readonly RunSummary[], q: Pick<RunListQuery, 'text' | 'model' | 'status' | 'task' | 'sweep'>): RunSummary[] {
  const words = q.text.toLowerCase().split(/\s+/).filter(Boolean);
  return runs.filter((r) => {
    if (q.model && r.config.model !== q.model) return false;
    if (q.status && r.status !== q.status) return false;
    if (q.task && taskOf(r) !== q.task) return false;
    if (q.sweep && (q.sweep === NO_SWEEP ? r.sweep !== undefined : r.sweep?.id !== q.sweep)) return false;
    if (words.length) {
      const h = haystack(r);
      if (!words.every((w) => h.includes(w))) return false;
    }
    return true;
  });
}

/** The run's value for a sort key; null when it has none (no test figure yet): those sort last in either direction. */
function sortValue(r: RunSummary, key: SortKey): number | string | null {
  switch (key) {
    case 'testMse':
      return isClassification(r.config) ? null : (r.results?.testMse ?? null);
    case 'testAccuracy':
      return isClassification(r.config) ? (r.results?.testAccuracy ?? null) : null;
    case 'created':
      return r.createdAt;
    case 'name':
      return (r.name || modelLabel(r.config)).toLowerCase();
    case 'model':
      return modelLabel(r.config);
    case 'status':
      return r.status;
    case 'task':
      return taskOf(r);
    case 'progress':
      return r.progress.step / r.config.steps;
  }
}

/**
 * localeCompare's order for text, with one collator for the whole list (localeCompare finds one per call: 5,000 runs
 * felt it), made when a text column is first sorted: making one loads the browser's collation data, 20-80 ms that
 * the first open of the list, sorted by date, does not need (issue 16).
 */
let collate: ((a: string, b: string) => number) | null = null;
const compareText = (a: string, b: string): number => (collate ??= new Intl.Collator().compare)(a, b);
/** Creation times are ISO 8601 UTC timestamps of one format: their character order is their time order. */
const compareIso = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const compare = (key: SortKey, a: number | string, b: number | string): number =>
  typeof a === 'number' && typeof b === 'number' ? a - b : key === 'created' ? compareIso(String(a), String(b)) : compareText(String(a), String(b));

/** A sorted copy: by the key in the direction, runs without a value last, ties newest first (then by id). */
export function sortRuns(runs: readonly RunSummary[], key: SortKey, dir: SortDir): RunSummary[] {
  const sign = dir === 'asc' ? 1 : -1;
  const keyed = runs.map((r) => ({ r, v: sortValue(r, key) }));
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) {
      if (a.v !== b.v) return a.v === null ? 1 : -1;
    } else {
      const c = compare(key, a.v, b.v);
      if (c !== 0) return sign * c;
    }
    return a.r.createdAt === b.r.createdAt ? (a.r.id < b.r.id ? 1 : -1) : a.r.createdAt < b.r.createdAt ? 1 : -1;
  });
  return keyed.map((k) => k.r);
}

/** A row of the list: a run (indented when it belongs to an open sweep group), or a sweep's group row. */
export type RunListItem =
  | { kind: 'run'; key: string; run: RunSummary; inSweep: boolean }
  | { kind: 'sweep'; key: string; sweep: string; runs: number; open: boolean; best: RunSummary | null };

/**
 * The rows to show: filtered, sorted, and (with `group`) each sweep as one row at the place of its first run in the
 * sort order, followed by its runs (in the same order) when the sweep is open.
 */
export function listItems(runs: readonly RunSummary[], q: RunListQuery, open: ReadonlySet<string>): RunListItem[] {
  const sorted = sortRuns(filterRuns(runs, q), q.sort, q.dir);
  if (!q.group) return sorted.map((run) => ({ kind: 'run', key: run.id, run, inSweep: false }));
  const members = new Map<string, RunSummary[]>();
  for (const r of sorted) {
    if (!r.sweep) continue;
    const list = members.get(r.sweep.id);
    if (list) list.push(r);
    else members.set(r.sweep.id, [r]);
  }
  const items: RunListItem[] = [];
  const seen = new Set<string>();
  for (const r of sorted) {
    if (!r.sweep) {
      items.push({ kind: 'run', key: r.id, run: r, inSweep: false });
      continue;
    }
    const id = r.sweep.id;
    if (seen.has(id)) continue;
    seen.add(id);
    const list = members.get(id) ?? [];
    // A sweep filtered down to one sweep is shown open: there is nothing else to see.
    const isOpen = open.has(id) || q.sweep === id;
    items.push({ kind: 'sweep', key: `sweep:${id}`, sweep: id, runs: list.length, open: isOpen, best: bestOf(list) });
    if (isOpen) for (const m of list) items.push({ kind: 'run', key: m.id, run: m, inSweep: true });
  }
  return items;
}

/** The sweep's best run by its test figure (lowest test MSE, else highest test accuracy), or null when none has one. */
export function bestOf(runs: readonly RunSummary[]): RunSummary | null {
  const mse = sortRuns(runs, 'testMse', 'asc')[0];
  if (mse && sortValue(mse, 'testMse') !== null) return mse;
  const acc = sortRuns(runs, 'testAccuracy', 'desc')[0];
  return acc && sortValue(acc, 'testAccuracy') !== null ? acc : null;
}

/** The sweeps in the runs, sorted, for the sweep filter. */
export function sweepIds(runs: readonly RunSummary[]): string[] {
  return [...new Set(runs.flatMap((r) => (r.sweep ? [r.sweep.id] : [])))].sort();
}

/**
 * Windowing for rows of one fixed height: the first and last (exclusive) row to render for a scroll position, with
 * `overscan` rows beyond each edge so a fast scroll does not show blank rows.
 */
export function visibleWindow(total: number, rowHeight: number, scrollTop: number, viewHeight: number, overscan = 6): { start: number; end: number } {
  const inView = Math.ceil(Math.max(0, viewHeight) / rowHeight) + 1;
  // A scroll position past the end (the list just got shorter) shows the last rows, not none.
  const first = Math.min(Math.floor(Math.max(0, scrollTop) / rowHeight), Math.max(0, total - inView));
  const start = Math.max(0, first - overscan);
  const end = Math.min(total, first + inView + overscan);
  return { start: Math.min(start, end), end };
}
