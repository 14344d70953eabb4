import type { CheckpointRef, EvaluationRecord, UserDataSource } from '../core/protocol/evaluation';
import type { RunRecord } from '../core/protocol/run';
import type { EvaluationResults } from '../core/protocol/service';

/**
 * A run's stored evaluations (RunDetail.evals: one entry per kind, as the service wrote them) as EvaluationResults.
 * Entries of an unexpected shape are skipped, not trusted: the store is a folder users can edit.
 */
export function readEvals(raw: Record<string, unknown>, runId: string): EvaluationResults {
  const out: EvaluationResults = { runId };
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const nums = (x: unknown): x is number[] => Array.isArray(x) && x.every((v) => typeof v === 'number');
  const t = raw.test;
  if (isObj(t) && typeof t.mse === 'number' && nums(t.perStep)) out.test = t as EvaluationResults['test'];
  const l = raw.length;
  if (isObj(l) && Object.values(l).every((c) => isObj(c) && nums(c.mean) && nums(c.std))) out.length = l as EvaluationResults['length'];
  const v = raw.velocity;
  if (isObj(v) && nums(v.velocities) && Array.isArray(v.mse) && v.mse.every(nums)) out.velocity = v as EvaluationResults['velocity'];
  const a = raw['angular-velocity'];
  if (isObj(a) && nums(a.omegas) && nums(a.mse) && a.mse.length === a.omegas.length) out.angular = a as EvaluationResults['angular'];
  const ta = raw['test-accuracy'];
  if (isObj(ta) && typeof ta.accuracy === 'number' && Array.isArray(ta.confusion) && ta.confusion.every(nums))
    out.testAccuracy = ta as EvaluationResults['testAccuracy'];
  const va = raw['velocity-accuracy'];
  if (isObj(va) && nums(va.velocities) && Array.isArray(va.accuracy) && va.accuracy.every(nums))
    out.velocityAccuracy = va as EvaluationResults['velocityAccuracy'];
  const e = raw.equivariance;
  if (Array.isArray(e) && e.every((r) => isObj(r) && typeof r.flow === 'string' && Array.isArray(r.per_step)))
    out.equivariance = e as EvaluationResults['equivariance'];
  return out;
}

/** Where a figure comes from: "best @ step 280, 32 seqs" (the checkpoint evaluated and the sequences used). */
export function sourceText(checkpoint: CheckpointRef | null | undefined, sequences: number | undefined): string {
  const ck = checkpoint ? `${checkpoint.which}${checkpoint.step === null ? '' : ` @ step ${checkpoint.step}`}` : 'checkpoint not recorded';
  return sequences === undefined ? ck : `${ck}, ${sequences} seqs`;
}

/** The headline test figure's source (run.json results.testSource), or '' when the run has none yet. */
export function headlineSource(r: Pick<RunRecord, 'results'>): string {
  const s = r.results?.testSource;
  return s ? sourceText({ which: s.checkpoint, step: s.step }, s.sequences) : '';
}

/**
 * A run's test figure as views show it: the headline (the test evaluation at the end of training, best checkpoint,
 * the run's test sequences) when there is one, else the newest later test evaluation, always with its source.
 */
export function testFigure(r: RunRecord, records: EvaluationRecord[]): { value: number | null; source: string; headline: boolean } {
  const cls = r.config.task === 'classification';
  const head = cls ? r.results?.testAccuracy : r.results?.testMse;
  if (head != null) return { value: head, source: headlineSource(r), headline: true };
  const kind = cls ? 'test-accuracy' : 'test';
  const last = records.filter((e) => e.kind === kind).at(-1);
  const res = last?.result as { mse?: unknown; accuracy?: unknown } | undefined;
  const value = cls ? res?.accuracy : res?.mse;
  if (!last || typeof value !== 'number') return { value: null, source: '', headline: false };
  const at = last.created_at.slice(0, 16).replace('T', ' ');
  return { value, source: `${sourceText(last.checkpoint, last.settings.sequences)}, evaluated ${at}`, headline: false };
}

/** What an evaluation record leads with, for lists of records: "MSE 0.0414", "accuracy 58.0 %", or its grid/lengths. */
export function recordSummary(e: EvaluationRecord): string {
  const o = (typeof e.result === 'object' && e.result !== null ? e.result : {}) as Record<string, unknown>;
  if (e.kind === 'test' && typeof o.mse === 'number') return `test MSE ${o.mse.toPrecision(4)}`;
  if (e.kind === 'data-test' && typeof o.mse === 'number' && e.settings.data) return `test MSE ${o.mse.toPrecision(4)} on ${dataSourceText(e.settings.data)}`;
  if (e.kind === 'test-accuracy' && typeof o.accuracy === 'number') return `test accuracy ${(100 * o.accuracy).toFixed(1)} %`;
  const s = e.settings;
  if (s.seqLens) return `lengths ${s.seqLens.join(', ')}`;
  if (s.velocityRange !== undefined) return `grid ±${s.velocityRange}`;
  if (s.flows) return `flows ${s.flows.join('; ')}`;
  return '';
}

/** A user's file of sequences as views name it: "squares.npy (sha256 1a2b3c4d5e6f)", the full path in `title`s. */
export function dataSourceText(d: Pick<UserDataSource, 'path' | 'sha256'>): string {
  const name = d.path.split(/[\\/]/).pop() || d.path;
  return `${name} (sha256 ${d.sha256.slice(0, 12)})`;
}
