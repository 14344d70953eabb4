import type { PresetName } from '../core/protocol/presets';
import type { EvaluationResults, RunDetail } from '../core/protocol/service';
import { PAPER_CLAIMS, claimVerdict, claimVerdictOverSeeds, type ClaimRun, type ClaimVerdict } from '../core/metrics/paperClaims';
import { testFigure } from './evals';

const isPreset = (p: string): p is PresetName => Object.hasOwn(PAPER_CLAIMS, p);

/**
 * Whether a sweep is a reproduction over seeds: `fernn-lab reproduce PRESET --scale S --seeds N` names it "PRESET-S"
 * (the sweep record keeps no more of its preset than that name; its members are the runs "PRESET-S/i").
 */
export function isReproductionSweep(name: string): boolean {
  const m = /^(\S+)-(tiny|small|paper)$/.exec(name);
  return !!m && isPreset(m[1]);
}

/**
 * Runs of one reproduction: the paper's claim and whether these runs show it, by the same verdict as the CLI's; null
 * when the runs are not one reproduction. `fernn-lab reproduce PRESET --scale S` names its runs "PRESET S"; with
 * `--seeds N` they are the members of one sweep named "PRESET-S" ("PRESET-S/i"), judged over the seeds (on the means,
 * with how many seeds show it and each model's mean and CI).
 */
export function reproductionVerdict(runs: readonly RunDetail[], evals: Record<string, EvaluationResults>): (ClaimVerdict & { scale: string }) | null {
  const names = new Set(runs.map((d) => d.run.name ?? ''));
  if (runs.length < 2) return null;
  const one = names.size === 1 ? /^(\S+) (tiny|small|paper)$/.exec([...names][0]) : null;
  const sweeps = new Set(runs.map((d) => d.run.sweep?.id ?? ''));
  const members = [...names].map((n) => /^(\S+)-(tiny|small|paper)\/\d+$/.exec(n));
  const seeded = !one && sweeps.size === 1 && !sweeps.has('') && members.every((m) => m && m[1] === members[0]![1] && m[2] === members[0]![2]);
  const m = one ?? (seeded ? members[0] : null);
  if (!m || !isPreset(m[1])) return null;
  const claimRun = (d: RunDetail): ClaimRun => {
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
  };
  const c = runs[0].run.config;
  const ctx = { scale: m[2], trainedRange: c.dataVRange, predFrames: c.predFrames };
  if (one) return { ...claimVerdict(m[1], runs.map(claimRun), ctx), scale: m[2] };
  const bySeed = new Map<number, ClaimRun[]>();
  for (const d of runs) bySeed.set(d.run.config.seed, [...(bySeed.get(d.run.config.seed) ?? []), claimRun(d)]);
  const seeds = [...bySeed.entries()].sort((a, b) => a[0] - b[0]).map(([seed, rs]) => ({ seed, runs: rs }));
  return { ...claimVerdictOverSeeds(m[1], seeds, ctx), scale: m[2] };
}
