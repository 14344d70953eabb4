import type { MetricRecord, RunRecord } from './run';
import type { EvaluationResults } from './service';

/**
 * Numbers for papers, in long format (one value per row, ready for pandas / R / a spreadsheet pivot), shared by the
 * app's exports (renderer) and `fernn-lab runs export --format curves|grids` (node). A pure module: it imports
 * nothing but types, so the renderer may import it (eslint PURE_CORE_MODULES).
 */

/** What one run contributes: its record, its metric lines, and the newest evaluation of each kind. */
export interface PaperRun {
  run: RunRecord;
  metrics: readonly MetricRecord[];
  evals: Pick<EvaluationResults, 'length' | 'velocity' | 'angular' | 'velocityAccuracy'>;
}

export type Cell = string | number | null;

/**
 * Curves: `run, name, step, metric, value`.
 * - train_loss, train_accuracy (classification), val_mse, val_accuracy (classification): step = training step;
 * - length_mse_T<L> (length generalisation rolled out to L frames): step = the predicted frame, 1..L.
 * A loss that was not a number (a NaN step) is an empty value. `name` is the run's name ('' when it has none).
 */
export const CURVE_COLUMNS = ['run', 'name', 'step', 'metric', 'value'] as const;

/**
 * Grids: `run, name, metric, vx, vy, value` — velocity_mse and velocity_accuracy per test velocity (vx, vy in
 * px/frame, +vy pointing down the frame, as the Flow designer draws it); angular_velocity_mse per angular velocity,
 * with vx = omega in degrees per frame (counterclockwise) and vy empty.
 */
export const GRID_COLUMNS = ['run', 'name', 'metric', 'vx', 'vy', 'value'] as const;

const nameOf = (r: RunRecord) => r.name ?? '';

/** Rows of CURVE_COLUMNS for every run, in the order given: training curves in file order, then length curves by L. */
export function curveRows(runs: readonly PaperRun[]): Cell[][] {
  const rows: Cell[][] = [];
  for (const { run, metrics, evals } of runs) {
    const row = (step: number, metric: string, value: number | null): Cell[] => [run.id, nameOf(run), step, metric, value];
    for (const m of metrics) {
      if (m.kind === 'train') {
        rows.push(row(m.step, 'train_loss', m.loss));
        if (m.accuracy !== undefined) rows.push(row(m.step, 'train_accuracy', m.accuracy));
      } else if (m.kind === 'val') rows.push(row(m.step, 'val_mse', m.mse));
      else if (m.kind === 'val-accuracy') rows.push(row(m.step, 'val_accuracy', m.accuracy));
    }
    const lengths = Object.entries(evals.length ?? {}).sort(([a], [b]) => Number(a) - Number(b));
    for (const [len, curve] of lengths) curve.mean.forEach((v, t) => rows.push(row(t + 1, `length_mse_T${len}`, v)));
  }
  return rows;
}

/** Rows of GRID_COLUMNS for every run, in the order given: vy then vx ascending within a grid. */
export function gridRows(runs: readonly PaperRun[]): Cell[][] {
  const rows: Cell[][] = [];
  for (const { run, evals } of runs) {
    const grid = (metric: string, g: { velocities: number[]; values: number[][] }) =>
      g.values.forEach((line, iy) => line.forEach((v, ix) => rows.push([run.id, nameOf(run), metric, g.velocities[ix], g.velocities[iy], v])));
    if (evals.velocity) grid('velocity_mse', { velocities: evals.velocity.velocities, values: evals.velocity.mse });
    if (evals.velocityAccuracy) grid('velocity_accuracy', { velocities: evals.velocityAccuracy.velocities, values: evals.velocityAccuracy.accuracy });
    evals.angular?.omegas.forEach((w, i) => rows.push([run.id, nameOf(run), 'angular_velocity_mse', w, null, evals.angular!.mse[i]]));
  }
  return rows;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const nums = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number');
const grid = (x: unknown): x is number[][] => Array.isArray(x) && x.every(nums);

/**
 * The exported kinds from the newest evaluation of each kind (RunDetail.evals, keyed by kind as stored). An entry of
 * another shape is left out, not trusted: the store is a folder users can edit.
 */
export function exportableEvals(raw: Record<string, unknown>): PaperRun['evals'] {
  const out: PaperRun['evals'] = {};
  const l = raw.length;
  if (isObj(l) && Object.values(l).every((c) => isObj(c) && nums(c.mean))) out.length = l as NonNullable<PaperRun['evals']['length']>;
  const v = raw.velocity;
  if (isObj(v) && nums(v.velocities) && grid(v.mse)) out.velocity = v as NonNullable<PaperRun['evals']['velocity']>;
  const a = raw['angular-velocity'];
  if (isObj(a) && nums(a.omegas) && nums(a.mse) && a.mse.length === a.omegas.length) out.angular = a as NonNullable<PaperRun['evals']['angular']>;
  const va = raw['velocity-accuracy'];
  if (isObj(va) && nums(va.velocities) && grid(va.accuracy)) out.velocityAccuracy = va as NonNullable<PaperRun['evals']['velocityAccuracy']>;
  return out;
}
