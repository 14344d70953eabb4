/**
 * The one place tolerances live (conventions §6). Tests name the tolerance they mean, never a bare number.
 */
export const TOL = {
  /** float32 round-off of a few hundred accumulations: the equivariance statement must hold to this. */
  roundOff: 1e-5,
  /** Parity with the PyTorch reference (different summation orders, float32). */
  parity: 1e-4,
  /** A relative error this large means the property visibly fails. */
  visibleFailure: 1e-2,
  /** 100x round-off: an exact property (invariance, equivariance) that moves a result this much does not hold, even
   *  where the effect is small (a randomly initialised G-RNN with spatial mean pooling is nearly flow-invariant). */
  aboveRoundOff: 1e-3,
} as const;

/** Largest |a_i - b_i|; throws on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** ||a - b|| / ||b||. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
