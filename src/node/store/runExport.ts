import type { MetricRecord, RunRecord } from '../../core/protocol/run';
import { CURVE_COLUMNS, GRID_COLUMNS, curveRows, gridRows, type PaperRun } from '../../core/protocol/paperExport';

/** One exported run: its (effective) record and every valid metric line, in file order. */
export interface RunExport {
  run: RunRecord;
  metrics: MetricRecord[];
}

/**
 * CSV columns, one row per metric record. Columns that do not apply to a record's kind are empty (not 0), so a
 * spreadsheet does not average missing values in:
 * - run_id, model, v_range: which run (model and vRange from its config), repeated on every row for pivoting
 * - kind: 'train' | 'val' | 'val-accuracy' | 'event'
 * - step: the training step of the record
 * - epoch, loss, grad_norm, ms_per_step: train records (loss and grad_norm empty when null, e.g. a NaN step)
 * - mse, best: val records (best is true/false); accuracy: classification runs (train batch, validation), with
 *   loss and best on val-accuracy records
 * - event, message: event records
 * - t: ISO timestamp when the record was written
 */
export const CSV_COLUMNS = [
  'run_id',
  'model',
  'v_range',
  'kind',
  'step',
  'epoch',
  'loss',
  'grad_norm',
  'ms_per_step',
  'mse',
  'accuracy',
  'best',
  'event',
  'message',
  't',
] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

type Cell = string | number | boolean | null | undefined;

/**
 * RFC 4180 quoting: a cell with a comma, quote, CR or LF is wrapped in quotes with quotes doubled; null/undefined
 * is an empty cell.
 */
export function csvCell(v: Cell): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function metricRow(run: RunRecord, m: MetricRecord): Record<CsvColumn, Cell> {
  const base = { run_id: run.id, model: run.config.model, v_range: run.config.vRange, kind: m.kind, step: m.step, t: m.t };
  const empty = { epoch: null, loss: null, grad_norm: null, ms_per_step: null, mse: null, accuracy: null, best: null, event: null, message: null };
  switch (m.kind) {
    case 'train':
      return { ...base, ...empty, epoch: m.epoch, loss: m.loss, grad_norm: m.gradNorm, ms_per_step: m.msPerStep, accuracy: m.accuracy };
    case 'val':
      return { ...base, ...empty, mse: m.mse, best: m.best };
    case 'val-accuracy':
      return { ...base, ...empty, accuracy: m.accuracy, loss: m.loss, best: m.best };
    case 'event':
      return { ...base, ...empty, event: m.event, message: m.message };
  }
}

/** Header line plus one line per metric record of every run, in the order given; lines end with '\n'. */
export function runsToCsv(runs: RunExport[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const { run, metrics } of runs) {
    for (const m of metrics) {
      const row = metricRow(run, m);
      lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
    }
  }
  return lines.join('\n') + '\n';
}

/** Pretty-printed JSON array of {run, metrics}. */
export function runsToJson(runs: RunExport[]): string {
  return JSON.stringify(runs, null, 2) + '\n';
}

/**
 * Long-format CSV for papers (core/protocol/paperExport.ts): 'curves' — run, name, step, metric, value (training
 * curves and length-generalisation curves); 'grids' — run, name, metric, vx, vy, value (velocity grids, angular
 * curves). Header line first; lines end with '\n'.
 */
export function runsToLongCsv(kind: 'curves' | 'grids', runs: readonly PaperRun[]): string {
  const [header, rows] = kind === 'curves' ? [CURVE_COLUMNS, curveRows(runs)] : [GRID_COLUMNS, gridRows(runs)];
  return [header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}
