import * as tf from '@tensorflow/tfjs-core';
import { gatherVelocitySlices, type Fibre, type Flow, type LiftAxis, type LiftedAction } from './flow';
import { VelocitySet, type Velocity2 } from './velocity';
import { roll, rollSlices } from '../nn/circular';

/**
 * Translation on the pixel torus with integer velocity nu = (vx, vy): psi_s moves a frame by nu*s pixels,
 * roll(x, shifts=(vy*s, vx*s)) — the same convention as the data and the FERNN cell.
 */
export class TranslationFlow implements Flow {
  readonly kind = 'translation' as const;

  constructor(readonly velocity: Velocity2) {
    if (!Number.isInteger(velocity.vx) || !Number.isInteger(velocity.vy)) {
      throw new Error(`translation velocity must be integer, got (${velocity.vx},${velocity.vy})`);
    }
  }

  get label(): string {
    return `translate:${this.velocity.vx},${this.velocity.vy}`;
  }

  applyToFrame(x: tf.Tensor4D, time: number): tf.Tensor4D {
    return roll(x, { dy: this.velocity.vy * time, dx: this.velocity.vx * time });
  }

  applyToSequence(frames: tf.Tensor5D, t0 = 0): tf.Tensor5D {
    const t = frames.shape[1];
    const shifts = Array.from({ length: t }, (_, s) => ({ dy: this.velocity.vy * (s + t0), dx: this.velocity.vx * (s + t0) }));
    return rollSlices(frames, shifts);
  }

  /**
   * Expected h'[v] = roll(h[v - nu], nu*time) for every v with v - nu in V (constrained); other slices are
   * unconstrained (boundary truncation of the velocity axis) and hold zeros.
   */
  applyToLifted(h: tf.Tensor5D, axis: LiftAxis, time: number): LiftedAction {
    if (axis.kind !== 'translation') throw new Error(`a translation flow cannot act on a state lifted over ${axis.kind} velocities`);
    const vset = VelocitySet.fromList(axis.velocities);
    if (h.shape[1] !== vset.size) throw new Error(`lifted state has ${h.shape[1]} slices, the axis ${vset.size}`);
    const src = vset.list.map((v) => vset.indexOf({ vx: v.vx - this.velocity.vx, vy: v.vy - this.velocity.vy }));
    const constrained = src.map((i) => i >= 0);
    const expected = tf.tidy(() => {
      const gathered = gatherVelocitySlices(h, src);
      return rollSlices(
        gathered,
        src.map(() => ({ dy: this.velocity.vy * time, dx: this.velocity.vx * time })),
      );
    });
    return { expected, constrained, ownSlice: vset.indexOf(this.velocity) };
  }

  /** Translations move every channel alike: the fibre is not touched. */
  applyToField(x: tf.Tensor4D, _fibre: Fibre, time: number): tf.Tensor4D {
    return this.applyToFrame(x, time);
  }
}
