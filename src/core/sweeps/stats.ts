/**
 * Summary statistics of a sweep group: mean, sample standard deviation and the 95% confidence interval of the mean
 * with Student's t (n - 1 degrees of freedom). Pure functions; no dependencies.
 */

export interface GroupStats {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); null for n < 2. */
  std: number | null;
  /** mean -/+ t_{0.975, n-1} * std / sqrt(n); null for n < 2. */
  ci95: [number, number] | null;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('mean of no values');
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation; null for fewer than 2 values. */
export function sampleStd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, n = 9; about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.61503916999186, 12.507343278686905, -0.13857109526572012,
    9.984369578019572e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T <= t) for Student's t with df degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The p-quantile of Student's t with df > 0 degrees of freedom (0 < p < 1), by bisection on the CDF to 1e-12.
 * t_{0.975}: df 1 -> 12.706, df 2 -> 4.303, df 9 -> 2.262, df 30 -> 2.042.
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1); got ${p}`);
  if (!(df > 0)) throw new RangeError(`df must be > 0; got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  while (hi - lo > 1e-12 * Math.max(1, hi)) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Mean, sample std and 95% CI (Student t) of the values; throws on an empty list. */
export function groupStats(xs: readonly number[]): GroupStats {
  const m = mean(xs);
  const s = sampleStd(xs);
  if (s === null) return { n: xs.length, mean: m, std: null, ci95: null };
  const half = (studentTQuantile(0.975, xs.length - 1) * s) / Math.sqrt(xs.length);
  return { n: xs.length, mean: m, std: s, ci95: [m - half, m + half] };
}

/** Cell-wise statistics of same-shaped grids (e.g. MSE per test velocity of each seed): mean, std and CI per cell. */
export interface GridStats {
  n: number;
  mean: number[][];
  std: (number | null)[][];
  ci95: ([number, number] | null)[][];
}

/** groupStats of every cell over the grids; throws when there are none or their shapes differ. */
export function gridStats(grids: readonly (readonly (readonly number[])[])[]): GridStats {
  if (grids.length === 0) throw new RangeError('grid statistics of no grids');
  const [rows, cols] = [grids[0].length, grids[0][0]?.length ?? 0];
  if (grids.some((g) => g.length !== rows || g.some((r) => r.length !== cols))) throw new RangeError(`grids differ in shape (expected ${rows}x${cols})`);
  const cells = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => groupStats(grids.map((g) => g[i][j]))));
  return {
    n: grids.length,
    mean: cells.map((r) => r.map((c) => c.mean)),
    std: cells.map((r) => r.map((c) => c.std)),
    ci95: cells.map((r) => r.map((c) => c.ci95)),
  };
}
