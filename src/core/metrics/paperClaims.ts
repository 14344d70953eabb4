import type { PresetName } from '../protocol/presets';
import { groupStats } from '../sweeps/stats';

/**
 * The paper's claim each reproduction preset tests, and whether a run of it shows the claim, from its numbers alone.
 * Pure (types only): `fernn-lab reproduce` (summary and --json) and the app's Compare view give the same verdict.
 *
 * A difference counts when it is clear: an MSE at most 95% of the G-RNN's (MSE_MARGIN), an accuracy at least 2 points
 * above it (ACCURACY_MARGIN). Less is "no clear difference", which at tiny scale is an honest "not at this scale".
 */
export const PAPER_CLAIMS: { readonly [P in PresetName]: string } = {
  'translating-mnist': 'On Translating MNIST a FERNN predicts the next frames with a lower test MSE than the G-RNN with the same parameters (Table 1).',
  'velocity-generalisation':
    'Trained on velocities −1..1, a FERNN keeps its error on the moving velocities of its V, also those it never saw in training, ' +
    'below the G-RNN’s, which grows with speed (Fig. 4).',
  'length-generalisation':
    'Rolled out past the 10 frames it was trained to predict, a FERNN’s per-step error stays below the G-RNN’s (Fig. 4, length generalisation).',
  'flowing-mnist-classification':
    'A FERNN classifier trained on digits at rest keeps its accuracy on moving digits (its max over V is invariant to motions in V); ' +
    'the G-RNN’s accuracy falls.',
  kth: 'On moving KTH a FERNN classifies actions more accurately than the G-RNN (Table 2).',
  'rotating-mnist': 'On Rotating MNIST a rotation FERNN predicts with a lower test MSE than the rotation G-RNN (Table 1).',
};

export const MSE_MARGIN = 0.95;
export const ACCURACY_MARGIN = 0.02;

/** One run of a preset, as the reproduce summary and the evaluation records have it. */
export interface ClaimRun {
  model: string;
  v_range: number;
  status: string;
  test_mse: number | null;
  test_accuracy?: number | null;
  velocity?: { velocities: number[]; mse: number[][] } | null;
  length?: Record<string, { mean: number[]; blank?: number[] }> | null;
  velocity_accuracy?: { velocities: number[]; accuracy: number[][] } | null;
  angular?: { omegas: number[]; mse: number[] } | null;
}

export interface ClaimContext {
  scale: string;
  /** The data's velocity range D the runs trained on (|vx|, |vy| <= D). */
  trainedRange: number;
  /** Frames the runs were trained to predict (the horizon of length generalisation). */
  predFrames: number;
}

export type ClaimVerdictKind = 'shown' | 'not-shown' | 'unmeasured';

export interface ClaimVerdict {
  preset: PresetName;
  claim: string;
  verdict: ClaimVerdictKind;
  /** One line: "Shown at this scale (tiny): …", "Not at this scale (tiny): …", "Not measured: …". */
  summary: string;
  /** The numbers behind it, one sentence each. */
  evidence: string[];
}

const BASELINES = ['grnn', 'grnn-rot'];
const FERNNS = ['fernn', 'fernn-rot'];
const f4 = (x: number): string => (Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3));
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
/** "FERNN-V1", "G-RNN (rot)". */
export function claimRunLabel(r: Pick<ClaimRun, 'model' | 'v_range'>): string {
  const rot = r.model.endsWith('-rot') ? ' (rot)' : '';
  if (r.model.startsWith('fernn')) return `FERNN-V${r.v_range}${rot}`;
  if (r.model === 'grnn-plus') return `G-RNN+ V${r.v_range}`;
  if (r.model === 'cnn3d') return '3D-CNN';
  return `G-RNN${rot}`;
}
const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((p, q) => p + q, 0) / xs.length : null);
/** Grid cells (mean of `grid[iy][ix]`) whose velocity passes `keep`. */
function cellMean(velocities: number[], grid: number[][], keep: (vx: number, vy: number) => boolean): number | null {
  const xs: number[] = [];
  grid.forEach((row, iy) => row.forEach((x, ix) => (keep(velocities[ix], velocities[iy]) ? xs.push(x) : undefined)));
  return mean(xs);
}
const speed = (vx: number, vy: number): number => Math.max(Math.abs(vx), Math.abs(vy));

/** Mean accuracy over the grid cells inside the training range (|vx|, |vy| <= D) and outside it. */
export function accuracySummary(v: { velocities: number[]; accuracy: number[][] }, trainedRange: number): { trained: number | null; unseen: number | null } {
  return {
    trained: cellMean(v.velocities, v.accuracy, (vx, vy) => speed(vx, vy) <= trainedRange),
    unseen: cellMean(v.velocities, v.accuracy, (vx, vy) => speed(vx, vy) > trainedRange),
  };
}

/** Whether the runs of one preset show the paper's claim. */
export function claimVerdict(preset: PresetName, runs: readonly ClaimRun[], ctx: ClaimContext): ClaimVerdict {
  const claim = PAPER_CLAIMS[preset];
  const out = (verdict: ClaimVerdictKind, why: string, evidence: string[]): ClaimVerdict => ({
    preset,
    claim,
    verdict,
    summary: `${verdict === 'shown' ? `Shown at this scale (${ctx.scale})` : verdict === 'not-shown' ? `Not at this scale (${ctx.scale})` : 'Not measured'}: ${why}`,
    evidence,
  });
  const done = runs.filter((r) => r.status === 'completed');
  const base = done.find((r) => BASELINES.includes(r.model));
  const fernns = done.filter((r) => FERNNS.includes(r.model));
  if (!base || !fernns.length) return out('unmeasured', 'a completed G-RNN and a completed FERNN are both needed', []);
  const G = claimRunLabel(base);
  // Each FERNN against the G-RNN on one figure: lower is better for MSE, higher for accuracy.
  const judge = (figure: (r: ClaimRun) => number | null, what: string, higherIsBetter = false) => {
    const g = figure(base);
    if (g === null) return out('unmeasured', `no ${what} for the ${G}`, []);
    const evidence: string[] = [];
    let all = true;
    for (const f of fernns) {
      const x = figure(f);
      if (x === null) return out('unmeasured', `no ${what} for the ${claimRunLabel(f)}`, evidence);
      const clear = higherIsBetter ? x >= g + ACCURACY_MARGIN : x <= g * MSE_MARGIN;
      all &&= clear;
      evidence.push(
        higherIsBetter
          ? `${claimRunLabel(f)} ${what} ${pct(x)} vs ${G} ${pct(g)}`
          : `${claimRunLabel(f)} ${what} ${f4(x)} vs ${G} ${f4(g)} (${(100 * (x / g)).toFixed(0)}%)`,
      );
    }
    return { all, evidence };
  };
  const verdictOf = (r: ReturnType<typeof judge>, shown: string, not: string): ClaimVerdict =>
    'verdict' in r
      ? r
      : r.all
        ? out('shown', `${shown}; ${r.evidence.join('; ')}`, r.evidence)
        : out('not-shown', `${not}; ${r.evidence.join('; ')}`, r.evidence);

  switch (preset) {
    case 'translating-mnist':
    case 'rotating-mnist':
      return verdictOf(
        judge((r) => r.test_mse, 'test MSE'),
        `the FERNN's test MSE is clearly below the ${G}'s`,
        `no clear gain over the ${G}`,
      );
    case 'kth':
      return verdictOf(
        judge((r) => r.test_accuracy ?? null, 'test accuracy', true),
        `the FERNN classifies more accurately than the ${G}`,
        `no clear gain over the ${G}`,
      );
    case 'flowing-mnist-classification':
      return verdictOf(
        judge((r) => (r.velocity_accuracy ? accuracySummary(r.velocity_accuracy, ctx.trainedRange).unseen : null), 'accuracy on moving digits', true),
        `on moving digits the FERNN keeps an accuracy clearly above the ${G}'s`,
        `on moving digits the FERNN is not clearly above the ${G}`,
      );
    case 'velocity-generalisation': {
      // The moving velocities of each FERNN's V; of those, the ones beyond the training range are the zero-shot part.
      const notes: string[] = [];
      const r = judge((run) => {
        const v = run.velocity;
        if (!v) return null;
        const vr = FERNNS.includes(run.model) ? run.v_range : (fernns[0]?.v_range ?? 1);
        const unseen = cellMean(v.velocities, v.mse, (vx, vy) => speed(vx, vy) > ctx.trainedRange && speed(vx, vy) <= vr);
        return unseen ?? cellMean(v.velocities, v.mse, (vx, vy) => speed(vx, vy) > 0 && speed(vx, vy) <= vr);
      }, 'MSE on the moving velocities of V');
      if (fernns.every((f) => f.v_range <= ctx.trainedRange))
        notes.push(
          `V${fernns[0].v_range} holds no velocity beyond the training range −${ctx.trainedRange}..${ctx.trainedRange}: the zero-shot part needs a larger V`,
        );
      const v = verdictOf(
        r,
        `on the moving velocities of its V the FERNN stays clearly below the ${G}`,
        `on the moving velocities of its V the FERNN is not clearly below the ${G}`,
      );
      return { ...v, evidence: [...v.evidence, ...notes] };
    }
    case 'length-generalisation': {
      const h = ctx.predFrames;
      const lens = Object.keys(base.length ?? {});
      if (!lens.length) return out('unmeasured', `no length evaluation for the ${G}`, []);
      const L = lens.map(Number).sort((a, b) => b - a)[0];
      const beyond = (r: ClaimRun) => {
        const m = r.length?.[String(L)]?.mean;
        return m && m.length > h ? mean(m.slice(h)) : null;
      };
      const r = judge(beyond, `mean per-step MSE past step ${h} (${L}-frame sequences)`);
      if ('verdict' in r) return r;
      const last = (run: ClaimRun) => run.length?.[String(L)]?.mean.at(-1) ?? null;
      const blank = base.length?.[String(L)]?.blank?.at(-1) ?? null;
      const steps = (base.length?.[String(L)]?.mean.length ?? 0) as number;
      for (const f of fernns) {
        const at = (run: ClaimRun, k: number) => run.length?.[String(L)]?.mean[k - 1];
        const fh = at(f, h);
        const fl = last(f);
        const gl = last(base);
        if (fh !== undefined && fl !== null && gl !== null)
          r.evidence.push(
            `${claimRunLabel(f)} per-step MSE ${f4(fh)} at step ${h}, ${f4(fl)} at step ${steps}; ${G} ${f4(gl)} at step ${steps}` +
              (blank !== null ? `; blank frames ${f4(blank)}` : ''),
          );
        if (fl !== null && blank !== null && fl > blank)
          r.evidence.push(`past the trained horizon the ${claimRunLabel(f)}'s rollout diverges: at step ${steps} it is above predicting blank frames`);
      }
      return r.all
        ? out('shown', `past step ${h} the FERNN's error stays clearly below the ${G}'s; ${r.evidence.join('; ')}`, r.evidence)
        : out('not-shown', `past step ${h} the FERNN's error is not clearly below the ${G}'s; ${r.evidence.join('; ')}`, r.evidence);
    }
  }
}

/** The runs of one seed of a preset run over seeds (`reproduce --seeds N`). */
export interface SeedRuns {
  seed: number;
  runs: readonly ClaimRun[];
}

/** A model's headline figure over the seeds: mean and 95% CI (Student t; null for one seed). */
export interface SeedFigure {
  run: string;
  figure: 'test MSE' | 'test accuracy';
  n: number;
  mean: number;
  ci95: [number, number] | null;
}

/** The verdict over seeds: on the seeds' means, and how many seeds show the claim on their own. */
export interface SeedsClaimVerdict extends ClaimVerdict {
  /** Seeds with completed runs. */
  n: number;
  /** The claim judged on the means over the seeds (per-model test figures, grids and curves averaged). */
  onMean: ClaimVerdictKind;
  perSeed: { seed: number; verdict: ClaimVerdictKind }[];
  /** Shown in every seed on its own. */
  everySeed: boolean;
  figures: SeedFigure[];
}

const avg = (xs: number[]): number => xs.reduce((p, q) => p + q, 0) / xs.length;
/** Element-wise mean of same-length lists; null when any is missing or they differ in length. */
function meanList(xs: readonly (readonly number[] | undefined | null)[]): number[] | null {
  if (!xs.length || xs.some((x) => !x || x.length !== xs[0]!.length)) return null;
  return xs[0]!.map((_, i) => avg(xs.map((x) => x![i])));
}
function meanGrid(gs: readonly (readonly (readonly number[])[] | undefined | null)[]): number[][] | null {
  if (!gs.length || gs.some((g) => !g || g.length !== gs[0]!.length)) return null;
  const rows = gs[0]!.map((_, i) => meanList(gs.map((g) => g![i])));
  return rows.every((r): r is number[] => r !== null) ? rows : null;
}
const meanOf = (xs: (number | null | undefined)[]): number | null => {
  const v = xs.filter((x): x is number => typeof x === 'number');
  return v.length === xs.length && v.length ? avg(v) : null;
};

/** One model's completed runs over the seeds as one run of mean figures (what claimVerdict judges "on the mean"). */
function meanRun(rs: readonly ClaimRun[]): ClaimRun {
  const first = rs[0];
  const lens = first.length ? Object.keys(first.length) : [];
  const length = lens.length
    ? Object.fromEntries(
        lens.flatMap((L) => {
          const m = meanList(rs.map((r) => r.length?.[L]?.mean));
          const blank = meanList(rs.map((r) => r.length?.[L]?.blank));
          return m ? [[L, { mean: m, ...(blank ? { blank } : {}) }]] : [];
        }),
      )
    : null;
  const vel = first.velocity ? meanGrid(rs.map((r) => r.velocity?.mse)) : null;
  const acc = first.velocity_accuracy ? meanGrid(rs.map((r) => r.velocity_accuracy?.accuracy)) : null;
  const ang = first.angular ? meanList(rs.map((r) => r.angular?.mse)) : null;
  return {
    model: first.model,
    v_range: first.v_range,
    status: 'completed',
    test_mse: meanOf(rs.map((r) => r.test_mse)),
    test_accuracy: meanOf(rs.map((r) => r.test_accuracy)),
    velocity: vel && first.velocity ? { velocities: first.velocity.velocities, mse: vel } : null,
    length: length && Object.keys(length).length ? length : null,
    velocity_accuracy: acc && first.velocity_accuracy ? { velocities: first.velocity_accuracy.velocities, accuracy: acc } : null,
    angular: ang && first.angular ? { omegas: first.angular.omegas, mse: ang } : null,
  };
}

/**
 * Whether a preset run over several seeds shows the paper's claim: judged on the means over the seeds (each model's
 * figures averaged over its completed runs), with how many seeds show it on their own and each model's headline
 * figure as mean and 95% CI. One seed gives claimVerdict's answer with n = 1.
 */
export function claimVerdictOverSeeds(preset: PresetName, seeds: readonly SeedRuns[], ctx: ClaimContext): SeedsClaimVerdict {
  const perSeed = seeds.map((s) => ({ seed: s.seed, verdict: claimVerdict(preset, s.runs, ctx).verdict }));
  const measured = seeds.filter((s) => s.runs.some((r) => r.status === 'completed'));
  const n = measured.length;
  const byModel = new Map<string, ClaimRun[]>();
  for (const s of measured)
    for (const r of s.runs.filter((x) => x.status === 'completed')) byModel.set(claimRunLabel(r), [...(byModel.get(claimRunLabel(r)) ?? []), r]);
  const means = [...byModel.values()].map(meanRun);
  const m = claimVerdict(preset, means, ctx);
  const shownIn = perSeed.filter((p) => p.verdict === 'shown').length;
  const everySeed = seeds.length > 0 && shownIn === seeds.length;
  const figures: SeedFigure[] = [...byModel.entries()].flatMap(([run, rs]) => {
    const acc = rs.map((r) => r.test_accuracy).filter((x): x is number => typeof x === 'number');
    const mse = rs.map((r) => r.test_mse).filter((x): x is number => typeof x === 'number');
    const [figure, xs] = acc.length ? (['test accuracy', acc] as const) : (['test MSE', mse] as const);
    if (!xs.length) return [];
    const g = groupStats(xs);
    return [{ run, figure, n: g.n, mean: g.mean, ci95: g.ci95 }];
  });
  const fmt = (f: SeedFigure, x: number) => (f.figure === 'test accuracy' ? pct(x) : f4(x));
  const seedsText = `${shownIn} of ${seeds.length} seed${seeds.length === 1 ? '' : 's'}`;
  const [head, ...why] = m.summary.split(': ');
  return {
    ...m,
    summary: `${head}, on the mean of ${n} seed${n === 1 ? '' : 's'} (shown in ${seedsText}${everySeed ? ': every seed' : ''}): ${why.join(': ')}`,
    evidence: [
      ...m.evidence.map((e) => `mean over seeds: ${e}`),
      ...figures.map((f) => `${f.run} ${f.figure} ${fmt(f, f.mean)}${f.ci95 ? `, 95% CI [${fmt(f, f.ci95[0])}, ${fmt(f, f.ci95[1])}]` : ''} (n = ${f.n})`),
      `shown in ${seedsText}: ${perSeed.map((p) => `seed ${p.seed} ${p.verdict}`).join(', ')}`,
    ],
    n,
    onMean: m.verdict,
    perSeed,
    everySeed,
    figures,
  };
}
