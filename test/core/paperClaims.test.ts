import { describe, expect, it } from 'vitest';
import { PRESETS, presetPlan } from '../../src/core/protocol/presets';
import { PAPER_CLAIMS, claimVerdict, claimVerdictOverSeeds, type ClaimRun } from '../../src/core/metrics/paperClaims';

const ctx = { scale: 'tiny', trainedRange: 1, predFrames: 10 };
const run = (model: string, v_range: number, extra: Partial<ClaimRun> = {}): ClaimRun => ({ model, v_range, status: 'completed', test_mse: null, ...extra });
/** A 30-step per-step curve: `early` up to step 10, then a straight line to `late` at step 30. */
const curve = (early: number, late: number): number[] => Array.from({ length: 30 }, (_, k) => (k < 10 ? early : early + ((late - early) * (k - 9)) / 20));

describe('every preset states the paper claim it tests', () => {
  it.for(PRESETS)('%s', (p) => {
    expect(presetPlan(p, 'tiny').claim).toBe(PAPER_CLAIMS[p]);
    expect(PAPER_CLAIMS[p].length).toBeGreaterThan(40);
  });
});

describe('claimVerdict', () => {
  it('translating-mnist: shown when the FERNN is clearly below the G-RNN, not at this scale within 5%', () => {
    const yes = claimVerdict('translating-mnist', [run('grnn', 0, { test_mse: 0.0752 }), run('fernn', 1, { test_mse: 0.0218 })], ctx);
    expect(yes.verdict).toBe('shown');
    expect(yes.summary).toMatch(/^Shown at this scale \(tiny\): .*FERNN-V1 test MSE 0.0218 vs G-RNN 0.0752 \(29%\)/);
    const no = claimVerdict('translating-mnist', [run('grnn', 0, { test_mse: 0.0752 }), run('fernn', 1, { test_mse: 0.074 })], ctx);
    expect(no.verdict).toBe('not-shown');
    expect(no.summary).toMatch(/^Not at this scale \(tiny\): no clear gain over the G-RNN/);
  });

  it('length-generalisation at tiny scale (issue 16): the FERNN-V1 diverges past the horizon, above the G-RNN and blank frames', () => {
    const blank = Array(30).fill(0.1);
    const runs = [
      run('grnn', 0, { length: { '40': { mean: curve(0.06, 0.25), blank } } }),
      run('fernn', 1, { length: { '40': { mean: curve(0.031, 0.397), blank } } }),
    ];
    const v = claimVerdict('length-generalisation', runs, ctx);
    expect(v.verdict).toBe('not-shown');
    expect(v.summary).toMatch(/^Not at this scale \(tiny\): past step 10 the FERNN's error is not clearly below the G-RNN's/);
    expect(v.evidence.join('\n')).toMatch(/FERNN-V1 per-step MSE 0.0310 at step 10, 0.397 at step 30; G-RNN 0.250 at step 30; blank frames 0.100/);
    expect(v.evidence.join('\n')).toMatch(/rollout diverges: at step 30 it is above predicting blank frames/);
  });

  it('length-generalisation shown: the FERNN stays below the G-RNN past the horizon', () => {
    const runs = [run('grnn', 0, { length: { '40': { mean: curve(0.06, 0.25) } } }), run('fernn', 2, { length: { '40': { mean: curve(0.02, 0.05) } } })];
    const v = claimVerdict('length-generalisation', runs, ctx);
    expect(v.verdict).toBe('shown');
    expect(v.evidence.join('\n')).not.toMatch(/diverges/);
  });

  it('velocity-generalisation: moving velocities of V, and says when V holds nothing beyond the training range', () => {
    const velocities = [-2, -1, 0, 1, 2];
    const grid = (inV: number, rest: number, out: number) =>
      velocities.map((vy) => velocities.map((vx) => (vx === 0 && vy === 0 ? rest : Math.max(Math.abs(vx), Math.abs(vy)) <= 1 ? inV : out)));
    const yes = claimVerdict(
      'velocity-generalisation',
      [run('grnn', 0, { velocity: { velocities, mse: grid(0.08, 0.05, 0.14) } }), run('fernn', 1, { velocity: { velocities, mse: grid(0.022, 0.021, 0.15) } })],
      ctx,
    );
    expect(yes.verdict).toBe('shown');
    expect(yes.evidence.at(-1)).toMatch(/V1 holds no velocity beyond the training range −1..1/);
    const no = claimVerdict(
      'velocity-generalisation',
      [run('grnn', 0, { velocity: { velocities, mse: grid(0.08, 0.05, 0.14) } }), run('fernn', 1, { velocity: { velocities, mse: grid(0.09, 0.05, 0.15) } })],
      ctx,
    );
    expect(no.verdict).toBe('not-shown');
  });

  it('flowing-mnist-classification: accuracy on moving digits, trained at rest', () => {
    const velocities = [-1, 0, 1];
    const acc = (rest: number, moving: number) => velocities.map((vy) => velocities.map((vx) => (vx === 0 && vy === 0 ? rest : moving)));
    const c = { ...ctx, trainedRange: 0 };
    const g = run('grnn', 0, { velocity_accuracy: { velocities, accuracy: acc(0.637, 0.295) } });
    expect(
      claimVerdict('flowing-mnist-classification', [g, run('fernn', 1, { velocity_accuracy: { velocities, accuracy: acc(0.645, 0.584) } })], c).verdict,
    ).toBe('shown');
    expect(
      claimVerdict('flowing-mnist-classification', [g, run('fernn', 1, { velocity_accuracy: { velocities, accuracy: acc(0.645, 0.3) } })], c).verdict,
    ).toBe('not-shown');
  });

  it('kth and rotating-mnist compare the headline figures', () => {
    expect(claimVerdict('kth', [run('grnn', 0, { test_accuracy: 0.5 }), run('fernn', 2, { test_accuracy: 0.6 })], ctx).verdict).toBe('shown');
    expect(claimVerdict('kth', [run('grnn', 0, { test_accuracy: 0.5 }), run('fernn', 2, { test_accuracy: 0.51 })], ctx).verdict).toBe('not-shown');
    expect(claimVerdict('rotating-mnist', [run('grnn-rot', 0, { test_mse: 0.0415 }), run('fernn-rot', 2, { test_mse: 0.0381 })], ctx).summary).toMatch(
      /^Shown .*FERNN-V2 \(rot\) test MSE 0.0381 vs G-RNN \(rot\) 0.0415 \(92%\)/,
    );
  });

  it('not measured: a failed run or a missing evaluation is never a verdict', () => {
    expect(claimVerdict('translating-mnist', [run('grnn', 0, { test_mse: 0.07 }), run('fernn', 1, { status: 'failed' })], ctx).verdict).toBe('unmeasured');
    expect(claimVerdict('length-generalisation', [run('grnn', 0), run('fernn', 1)], ctx).summary).toMatch(/^Not measured: no length evaluation/);
  });
});

describe('claimVerdictOverSeeds (reproduce --seeds N)', () => {
  it("judges the claim on the means over the seeds, says n, how many seeds show it, and each model's mean with its 95% CI", () => {
    const seeds = [
      { seed: 5, runs: [run('grnn', 0, { test_mse: 0.08 }), run('fernn', 1, { test_mse: 0.03 })] },
      { seed: 6, runs: [run('grnn', 0, { test_mse: 0.06 }), run('fernn', 1, { test_mse: 0.059 })] },
    ];
    const v = claimVerdictOverSeeds('translating-mnist', seeds, ctx);
    // Means: FERNN 0.0445 vs G-RNN 0.07 (64%): shown on the mean; seed 6 alone (98%) is not.
    expect([v.verdict, v.onMean, v.n, v.everySeed]).toEqual(['shown', 'shown', 2, false]);
    expect(v.perSeed).toEqual([
      { seed: 5, verdict: 'shown' },
      { seed: 6, verdict: 'not-shown' },
    ]);
    expect(v.summary).toMatch(
      /^Shown at this scale \(tiny\), on the mean of 2 seeds \(shown in 1 of 2 seeds\): .*FERNN-V1 test MSE 0.0445 vs G-RNN 0.0700 \(64%\)/,
    );
    const fernn = v.figures.find((f) => f.run === 'FERNN-V1')!;
    expect([fernn.figure, fernn.n, fernn.mean]).toEqual(['test MSE', 2, 0.0445]);
    // n = 2: mean ± t(0.975, 1) · s / sqrt(2), t = 12.706, s = 0.0205061.
    expect(fernn.ci95![0]).toBeCloseTo(0.0445 - 0.184225, 4);
    expect(fernn.ci95![1]).toBeCloseTo(0.0445 + 0.184225, 4);
    expect(v.evidence.join('\n')).toMatch(/FERNN-V1 test MSE 0.0445, 95% CI \[-0.140, 0.229\] \(n = 2\)/);
    expect(v.evidence.at(-1)).toBe('shown in 1 of 2 seeds: seed 5 shown, seed 6 not-shown');
  });

  it('every seed shows it; a seed without completed runs is not averaged in; length curves are averaged per step', () => {
    const blank = Array(30).fill(0.1);
    const seed = (s: number, f: number) => ({
      seed: s,
      runs: [run('grnn', 0, { length: { '40': { mean: curve(0.06, 0.25), blank } } }), run('fernn', 1, { length: { '40': { mean: curve(0.03, f), blank } } })],
    });
    const v = claimVerdictOverSeeds('length-generalisation', [seed(0, 0.05), seed(1, 0.07), { seed: 2, runs: [run('grnn', 0, { status: 'failed' })] }], ctx);
    expect([v.verdict, v.n, v.everySeed]).toEqual(['shown', 2, false]);
    expect(v.perSeed.map((p) => p.verdict)).toEqual(['shown', 'shown', 'unmeasured']);
    expect(v.evidence.join('\n')).toMatch(/mean over seeds: FERNN-V1 per-step MSE 0.0300 at step 10, 0.0600 at step 30/);
    const all = claimVerdictOverSeeds('length-generalisation', [seed(0, 0.05), seed(1, 0.07)], ctx);
    expect([all.everySeed, all.summary]).toEqual([true, expect.stringMatching(/on the mean of 2 seeds \(shown in 2 of 2 seeds: every seed\)/)]);
  });
});
