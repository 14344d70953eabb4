import * as tf from '@tensorflow/tfjs-core';
import type { Velocity2 } from './velocity';
import type { FlowKind } from './flowGrammar';

/**
 * What each flow kind needs to know of the axis a recurrent state is lifted over to act on it. Translation FERNNs
 * lift over integer pixel velocities; rotation FERNNs over angular velocities (degrees per frame), each slice a stack
 * of regular C_N fields (`orientations` = N). A flow kind without an entry here is a compile error (`LiftAxisOf`).
 */
interface LiftAxisFields {
  translation: { readonly velocities: readonly Velocity2[] };
  rotation: { readonly omegas: readonly number[]; readonly orientations: number };
}

/** The lifted axis of one flow kind: a state lifted over it is acted on by flows of that kind. */
export type LiftAxisOf<K extends FlowKind> = { readonly kind: K } & LiftAxisFields[K];
export type LiftAxis = { [K in FlowKind]: LiftAxisOf<K> }[FlowKind];

/**
 * What the channels of a state carry, i.e. how a transformation acts on them besides moving them in space: nothing
 * (frames, plain conv features) or the regular representation of C_N (N orientation channels per field, channel
 * n*F + f, cyclically shifted by a rotation).
 */
export type Fibre = { readonly kind: 'trivial' } | { readonly kind: 'regular'; readonly orientations: number };

/** What a flow predicts for a lifted state: the expected value and which slices the statement constrains. */
export interface LiftedAction {
  /** [B, V, H, W, C]; unconstrained slices hold zeros. Caller disposes. */
  readonly expected: tf.Tensor5D;
  /** constrained[v] is false where the slice the flow would bring into v lies outside the lifted axis. */
  readonly constrained: readonly boolean[];
  /** The index of the flow's own velocity on the axis (the slice that holds the motion at rest); -1 when outside it. */
  readonly ownSlice: number;
}

/**
 * The velocity-axis half of a flow's action on a lifted state: slice v of the result is slice src[v] of h, or zeros
 * where src[v] < 0 (the slice the flow would bring in lies outside the axis). Both flows then move each slice in space.
 * @param h [B, V, H, W, C]
 * @returns [B, V, H, W, C]; caller disposes.
 */
export function gatherVelocitySlices(h: tf.Tensor5D, src: readonly number[]): tf.Tensor5D {
  return tf.tidy(() => {
    const [b, , hh, ww, c] = h.shape;
    const zero = tf.zeros([b, 1, hh, ww, c]);
    const slices = src.map((i) => (i >= 0 ? tf.slice(h, [0, i, 0, 0, 0], [b, 1, hh, ww, c]) : zero));
    return tf.concat(slices, 1) as tf.Tensor5D;
  });
}

/**
 * A flow: a one-parameter family of transformations psi_s applied at time s. The equivariance probe and the service's
 * flow preview use only this interface (the data generators place digits with plain numbers of the same convention:
 * roll for translations, rotationGrid.ts for rotations). Kinds are registered in flowKinds.ts.
 */
export interface Flow {
  readonly kind: FlowKind;
  /** Stable text form, e.g. "translate:1,-2", "rotate:30". */
  readonly label: string;
  /**
   * Applies psi_{s + t0} to frame s of a sequence.
   * @param frames [B, T, H, W, C]
   * @returns [B, T, H, W, C]; caller disposes.
   */
  applyToSequence(frames: tf.Tensor5D, t0?: number): tf.Tensor5D;
  /**
   * Applies psi_time to a batch of single frames (or decoder outputs).
   * @param x [N, H, W, C]
   * @returns [N, H, W, C]; caller disposes.
   */
  applyToFrame(x: tf.Tensor4D, time: number): tf.Tensor4D;
  /**
   * The flow's action on a lifted hidden state at time `time`: shift along the lifted axis by the flow's own
   * generator, and move each slice in space by psi_time.
   * @param h [B, V, H, W, C]
   */
  applyToLifted(h: tf.Tensor5D, axis: LiftAxis, time: number): LiftedAction;
  /**
   * psi_time acting on a state that is not lifted (a G-RNN's hidden state): moves it in space and acts on its fibre
   * (rotations shift the orientation channels of C_N fields; translations leave channels alone).
   * @param x [N, H, W, C]
   * @returns [N, H, W, C]; caller disposes.
   */
  applyToField(x: tf.Tensor4D, fibre: Fibre, time: number): tf.Tensor4D;
}
