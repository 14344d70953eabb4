import * as tf from '@tensorflow/tfjs-core';
import { gatherVelocitySlices, type Fibre, type Flow, type LiftAxis, type LiftedAction } from './flow';
import { AngularVelocitySet } from './angularVelocity';
import { rotate, rotateSlices } from '../nn/rotate';
import { MAX_OMEGA } from './flowGrammar';

/**
 * Rotation about the frame centre with angular velocity omega (degrees per frame, counterclockwise as displayed):
 * psi_s rotates a frame by omega*s, bilinear, zero outside the frame (the reference's `grid_sample` convention; see
 * rotationGrid.ts). On regular C_N fields it also shifts the orientation axis by omega*s*N/360 steps. Exact (a
 * permutation) at multiples of 90 degrees on square frames; interpolated, hence approximate, otherwise.
 */
export class RotationFlow implements Flow {
  readonly kind = 'rotation' as const;

  constructor(readonly omega: number) {
    if (!Number.isFinite(omega) || Math.abs(omega) > MAX_OMEGA)
      throw new Error(`angular velocity must be a number in -${MAX_OMEGA}..${MAX_OMEGA} degrees per frame, got ${omega}`);
  }

  get label(): string {
    return `rotate:${this.omega}`;
  }

  applyToFrame(x: tf.Tensor4D, time: number): tf.Tensor4D {
    return rotate(x, this.omega * time, TRIVIAL);
  }

  applyToSequence(frames: tf.Tensor5D, t0 = 0): tf.Tensor5D {
    const t = frames.shape[1];
    return rotateSlices(
      frames,
      Array.from({ length: t }, (_, s) => this.omega * (s + t0)),
      TRIVIAL,
    );
  }

  /**
   * Expected h'[v] = rho(omega*time) h[v - omega] for every v with omega_v - omega in the set (constrained), where
   * rho rotates the grid and shifts the orientation axis; other slices are unconstrained (boundary truncation of the
   * velocity axis) and hold zeros.
   * @param h [B, V, H, W, N*F]
   */
  applyToLifted(h: tf.Tensor5D, axis: LiftAxis, time: number): LiftedAction {
    if (axis.kind !== 'rotation') throw new Error(`a rotation flow cannot act on a state lifted over ${axis.kind} velocities`);
    const set = AngularVelocitySet.fromList(axis.omegas);
    if (h.shape[1] !== set.size) throw new Error(`lifted state has ${h.shape[1]} slices, the axis ${set.size}`);
    const src = set.list.map((w) => set.indexOf(w - this.omega));
    const constrained = src.map((i) => i >= 0);
    const expected = tf.tidy(() => {
      const gathered = gatherVelocitySlices(h, src);
      return rotateSlices(
        gathered,
        src.map(() => this.omega * time),
        { kind: 'regular', orientations: axis.orientations },
      );
    });
    return { expected, constrained, ownSlice: set.indexOf(this.omega) };
  }

  applyToField(x: tf.Tensor4D, fibre: Fibre, time: number): tf.Tensor4D {
    return rotate(x, this.omega * time, fibre);
  }
}

const TRIVIAL: Fibre = { kind: 'trivial' };
