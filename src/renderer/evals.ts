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
  if (isObj(ta) && typeof ta.accuracy === 'number' && Array.isArray(ta.confusion) && ta.confusion.every(nums)) out.testAccuracy = ta as EvaluationResults['testAccuracy'];
  const va = raw['velocity-accuracy'];
  if (isObj(va) && nums(va.velocities) && Array.isArray(va.accuracy) && va.accuracy.every(nums)) out.velocityAccuracy = va as EvaluationResults['velocityAccuracy'];
  const e = raw.equivariance;
  if (Array.isArray(e) && e.every((r) => isObj(r) && typeof r.flow === 'string' && Array.isArray(r.per_step))) out.equivariance = e as EvaluationResults['equivariance'];
  return out;
}
