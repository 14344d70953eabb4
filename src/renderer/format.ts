import type { RunRecord } from '../core/protocol/run';
import { MODEL_NAMES, isRotationKind } from '../core/nn/modelKinds';
import { DATASET_FACTS } from '../core/data/datasetKinds';

/** Family names of the model kinds (core nn/modelKinds.ts). */
export const MODEL_LABELS: Readonly<Record<string, string>> = MODEL_NAMES;

/** "FERNN-V1", "G-RNN", and for rotation cells as the core names them: "FERNN-V2 (rot, C8)", "G-RNN (rot, C4)", "FERNN-V1 (rot, C4, step 90)". */
export function modelLabel(c: Pick<RunRecord['config'], 'model' | 'vRange'> & Partial<Pick<RunRecord['config'], 'group' | 'omegaStep'>>): string {
  if (isRotationKind(c.model)) {
    const g = `C${c.group ?? '?'}`;
    if (c.model === 'grnn-rot') return `G-RNN (rot, ${g})`;
    const step = c.omegaStep ?? 10;
    return step === 10 || c.vRange === 0 ? `FERNN-V${c.vRange} (rot, ${g})` : `FERNN-V${c.vRange} (rot, ${g}, step ${step})`;
  }
  return c.model === 'grnn' || c.model === 'cnn3d' ? MODEL_LABELS[c.model] : `${MODEL_LABELS[c.model] ?? c.model}-V${c.vRange}`;
}

/** A run on a rotating dataset (Rotating MNIST: rotation cells, angular velocities): its dataset's motion. */
export function isRotating(c: Pick<RunRecord['config'], 'dataset'>): boolean {
  return DATASET_FACTS[c.dataset ?? 'flowing-mnist'].motion === 'rotation';
}

/** The angular velocities {-r..r} * step of a rotating run's range r, in words: "−40..40 deg/frame". */
export function angularSpan(r: number, step: number): string {
  const top = Number((r * step).toFixed(3));
  return top === 0 ? '0 deg/frame' : `−${top}..${top} deg/frame`;
}

/** A classification run (runs written before tasks existed are prediction runs). */
export function isClassification(c: Pick<RunRecord['config'], 'task'>): boolean {
  return c.task === 'classification';
}

export function runLabel(r: Pick<RunRecord, 'name' | 'id'> & { config: Pick<RunRecord['config'], 'model' | 'vRange' | 'group' | 'omegaStep'> }): string {
  return r.name ? `${r.name} (${modelLabel(r.config)})` : `${modelLabel(r.config)} · ${r.id}`;
}

export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : x.toPrecision(digits);
}

/** An accuracy in [0, 1] as a percentage. */
export function percent(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${(100 * x).toFixed(digits)} %`;
}

export function duration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '—';
  if (sec < 1) return `${Math.round(sec * 1000)} ms`;
  if (sec < 90) return `${sec.toFixed(sec < 10 ? 1 : 0)} s`;
  if (sec < 5400) return `${Math.round(sec / 60)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
