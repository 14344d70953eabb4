import type { PresetName } from '../core/protocol/presets';
import type { EvaluationResults, RunDetail } from '../core/protocol/service';
import { PAPER_CLAIMS, claimVerdict, type ClaimRun, type ClaimVerdict } from '../core/metrics/paperClaims';
import { testFigure } from './evals';

const isPreset = (p: string): p is PresetName => Object.hasOwn(PAPER_CLAIMS, p);

/**
 * Runs of one reproduction (`fernn-lab reproduce PRESET --scale S` names them "PRESET S"): the paper's claim and
 * whether these runs show it, by the same verdict as the CLI's; null when the runs are not one reproduction.
 */
export function reproductionVerdict(runs: readonly RunDetail[], evals: Record<string, EvaluationResults>): (ClaimVerdict & { scale: string }) | null {
  const names = new Set(runs.map((d) => d.run.name ?? ''));
  if (runs.length < 2 || names.size !== 1) return null;
  const m = /^(\S+) (tiny|small|paper)$/.exec([...names][0]);
  if (!m || !isPreset(m[1])) return null;
  const claimRuns: ClaimRun[] = runs.map((d) => {
    const e = evals[d.run.id] ?? { runId: d.run.id };
    const test = testFigure(d.run, d.evaluations ?? []);
    const cls = d.run.config.task === 'classification';
    return {
      model: d.run.config.model,
      v_range: d.run.config.vRange,
      status: d.run.status,
      test_mse: cls ? null : test.value,
      test_accuracy: cls ? test.value : null,
      velocity: e.velocity ?? null,
      length: e.length ?? null,
      velocity_accuracy: e.velocityAccuracy ?? null,
      angular: e.angular ?? null,
    };
  });
  const c = runs[0].run.config;
  return { ...claimVerdict(m[1], claimRuns, { scale: m[2], trainedRange: c.dataVRange, predFrames: c.predFrames }), scale: m[2] };
}
