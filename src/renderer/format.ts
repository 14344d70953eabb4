import type { RunRecord } from '../core/protocol/run';

export const MODEL_LABELS: Record<string, string> = { fernn: 'FERNN', grnn: 'G-RNN', 'grnn-plus': 'G-RNN+' };

export function modelLabel(c: Pick<RunRecord['config'], 'model' | 'vRange'>): string {
  return c.model === 'grnn' ? 'G-RNN' : `${MODEL_LABELS[c.model]}-V${c.vRange}`;
}

export function runLabel(r: RunRecord): string {
  return r.name ? `${r.name} (${modelLabel(r.config)})` : `${modelLabel(r.config)} · ${r.id}`;
}

export function num(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a < 1e-3 || a >= 1e5 ? x.toExponential(2) : x.toPrecision(digits);
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
