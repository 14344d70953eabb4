import * as tf from '@tensorflow/tfjs-core';
import type { CellConfig } from './config';
import type { ParamMap } from './params';
import { cellStep, velocityShifts, zeroHidden } from './cell';
import { circularConv2d, dataConv2dValid } from './conv';
import { rollPadToSlices, rollSlices, wrapShifts, type Shift2 } from './circular';

/**
 * The recurrent state while a sequence is run. For the FERNN it is kept in co-moving coordinates,
 * g_t[v] = roll(h_t[v], -v*t): then
 *   g_{t+1}[v] = act( conv_u(roll(u_t, -v*(t+1))) + conv_h(g_t[v]) )
 * (circular convs and pointwise activations commute with roll), so the hidden state is never rolled inside the
 * recurrence: only the input frame (1 channel, no gradient needed) is, and h is recovered by one roll where it is
 * read (the decoder). Exactly the reference recurrence; fewer and cheaper ops on every backend.
 */
export interface RunState {
  /** [B, V, H, W, C]: co-moving state (FERNN) or the hidden state itself (G-RNN+, and G-RNN where they agree). */
  readonly g: tf.Tensor5D;
  /** Frames consumed. */
  readonly t: number;
}

function coMoving(c: CellConfig): boolean {
  return c.kind !== 'grnn-plus';
}

const isZero = (shifts: readonly Shift2[]): boolean => shifts.every((s) => s.dy === 0 && s.dx === 0);

/** h_0 = 0. The caller disposes state.g. */
export function initRun(c: CellConfig, batch: number, height: number, width: number): RunState {
  return { g: zeroHidden(c, batch, height, width), t: 0 };
}

function scaledShifts(c: CellConfig, factor: number, h: number, w: number): Shift2[] {
  return wrapShifts(
    velocityShifts(c).map((s) => ({ dy: s.dy * factor, dx: s.dx * factor })),
    h,
    w,
  );
}

/**
 * Consumes one frame. The frame is treated as data: no gradient flows into it (the seq2seq model feeds inputs,
 * teacher-forced targets or detached predictions, as the reference does).
 * @param u [B, H, W, Cin]
 * @returns the next state (a new tensor; the caller disposes both the old and the new g).
 */
export function advance(c: CellConfig, p: ParamMap, s: RunState, u: tf.Tensor4D): RunState {
  if (!coMoving(c)) return { g: cellStep(c, p, u, s.g), t: s.t + 1 };
  const t1 = s.t + 1;
  const g = tf.tidy(() => {
    const [b, nv, h, w, ch] = s.g.shape;
    const wu = p['cell.conv_u.weight'] as tf.Tensor4D;
    // One gather rolls the frame for every velocity and pads it circularly; the frame needs no gradient.
    const uc = dataConv2dValid(rollPadToSlices(u, scaledShifts(c, -t1, h, w), (wu.shape[0] - 1) / 2), wu);
    const hc = circularConv2d(tf.reshape(s.g, [b * nv, h, w, ch]) as tf.Tensor4D, p['cell.conv_h.weight'] as tf.Tensor4D);
    const z = tf.add(uc, hc);
    return tf.reshape(c.activation === 'tanh' ? tf.tanh(z) : tf.relu(z), [b, nv, h, w, ch]) as tf.Tensor5D;
  });
  return { g, t: t1 };
}

/**
 * The hidden state h_t in the reference's (fixed) coordinates.
 * @returns [B, V, H, W, C]; a new tensor the caller disposes.
 */
export function hiddenOf(c: CellConfig, s: RunState): tf.Tensor5D {
  if (!coMoving(c) || s.t === 0) return tf.clone(s.g);
  const [, , h, w] = s.g.shape;
  const shifts = scaledShifts(c, s.t, h, w);
  return isZero(shifts) ? tf.clone(s.g) : rollSlices(s.g, shifts);
}
