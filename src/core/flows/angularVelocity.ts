/**
 * The set of angular velocities (degrees per frame, positive = counterclockwise as displayed) a rotation FERNN lifts
 * its hidden state over. Order matters: it is the order of the hidden state's velocity axis.
 */
export class AngularVelocitySet {
  private constructor(readonly list: readonly number[]) {
    list.forEach((w, i) => {
      if (list.findIndex((x) => sameAngle(x, w)) !== i) throw new Error(`angular velocity ${w} appears twice in the set`);
    });
  }

  /** min, min+step, .., max (inclusive; max - min must be a multiple of step). */
  static range(min: number, max: number, step: number): AngularVelocitySet {
    if (!(step > 0) || !Number.isFinite(min) || !Number.isFinite(max) || max < min) {
      throw new Error(`an angular velocity range needs min <= max and step > 0, got ${min}..${max} step ${step}`);
    }
    const n = Math.round((max - min) / step);
    if (Math.abs(min + n * step - max) > 1e-9) throw new Error(`(max - min) = ${max - min} is not a multiple of step ${step}`);
    return new AngularVelocitySet(Array.from({ length: n + 1 }, (_, i) => min + i * step));
  }

  /** Omega in {-r*step .. r*step}: the reference's FERNN-V_r (r = 4, step 10: -40..40 in steps of 10). */
  static symmetric(r: number, step = REFERENCE_OMEGA_STEP): AngularVelocitySet {
    if (!Number.isInteger(r) || r < 0) throw new Error(`r must be an integer >= 0, got ${r}`);
    return AngularVelocitySet.range(-r * step, r * step, step);
  }

  /** An explicit list of finite angular velocities (no duplicates). */
  static fromList(list: readonly number[]): AngularVelocitySet {
    if (list.length === 0) throw new Error('an angular velocity set needs at least one velocity');
    for (const w of list) if (!Number.isFinite(w)) throw new Error(`angular velocities must be finite numbers, got ${w}`);
    return new AngularVelocitySet([...list]);
  }

  get size(): number {
    return this.list.length;
  }

  /** Index of omega on the velocity axis, or -1 when it is not in the set. */
  indexOf(omega: number): number {
    return this.list.findIndex((w) => sameAngle(w, omega));
  }

  /** r and step when the set is {-r*step .. r*step} in increasing order (step > 0, or {0} with r = 0), else null. */
  symmetricRadius(): { r: number; step: number } | null {
    const n = this.size;
    if (n === 1) return sameAngle(this.list[0], 0) ? { r: 0, step: 0 } : null;
    if (n % 2 === 0) return null;
    const step = this.list[1] - this.list[0];
    if (!(step > 0)) return null;
    const r = (n - 1) / 2;
    return this.list.every((w, i) => sameAngle(w, (i - r) * step)) ? { r, step } : null;
  }
}

/** The reference's angular velocity step (degrees per frame) and its default set -40..40 (FERNN-V4). */
export const REFERENCE_OMEGA_STEP = 10;
export const REFERENCE_OMEGAS: readonly number[] = AngularVelocitySet.symmetric(4).list;

function sameAngle(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}
