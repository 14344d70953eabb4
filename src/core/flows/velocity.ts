/** An integer translation velocity in pixels per frame: x is the column (width) axis, y the row (height) axis. */
export interface Velocity2 {
  readonly vx: number;
  readonly vy: number;
}

/**
 * The set V of velocities a translation FERNN lifts its hidden state over. Order matters (it is the order of the
 * V axis of the hidden state); `grid(r)` uses the reference's order: vx outer, vy inner.
 */
export class VelocitySet {
  private readonly index = new Map<string, number>();

  private constructor(readonly list: readonly Velocity2[]) {
    list.forEach((v, i) => {
      const key = keyOf(v);
      if (this.index.has(key)) throw new Error(`velocity (${v.vx},${v.vy}) appears twice in the velocity set`);
      this.index.set(key, i);
    });
  }

  /** V = {-r..r} x {-r..r} (FERNN-V_r); r = 0 is the G-RNN's {0}. */
  static grid(r: number): VelocitySet {
    if (!Number.isInteger(r) || r < 0 || r > 16) throw new Error(`v_range must be an integer in 0..16, got ${r}`);
    const list: Velocity2[] = [];
    for (let vx = -r; vx <= r; vx++) for (let vy = -r; vy <= r; vy++) list.push({ vx, vy });
    return new VelocitySet(list);
  }

  /** An explicit list of integer velocities (no duplicates). */
  static fromList(list: readonly Velocity2[]): VelocitySet {
    if (list.length === 0) throw new Error('a velocity set needs at least one velocity');
    for (const v of list) {
      if (!Number.isInteger(v.vx) || !Number.isInteger(v.vy)) throw new Error(`velocities must be integers, got (${v.vx},${v.vy})`);
    }
    return new VelocitySet(list.map((v) => ({ vx: v.vx, vy: v.vy })));
  }

  get size(): number {
    return this.list.length;
  }

  /** The largest |component|: the reach of one step of the lifted shift. */
  get radius(): number {
    return Math.max(...this.list.map((v) => Math.max(Math.abs(v.vx), Math.abs(v.vy))));
  }

  /** Index of v on the V axis, or -1 when v is not in the set. */
  indexOf(v: Velocity2): number {
    return this.index.get(keyOf(v)) ?? -1;
  }

  /** The set as a grid {-r..r}^2 in reference order, if it is one. */
  gridRadius(): number | null {
    const r = this.radius;
    const g = VelocitySet.grid(r);
    if (g.size !== this.size) return null;
    return g.list.every((v, i) => v.vx === this.list[i].vx && v.vy === this.list[i].vy) ? r : null;
  }

  toJSON(): Velocity2[] {
    return this.list.map((v) => ({ vx: v.vx, vy: v.vy }));
  }
}

function keyOf(v: Velocity2): string {
  return `${v.vx},${v.vy}`;
}
