import * as tf from '@tensorflow/tfjs-core';
import type { Flow } from '../flows/flow';
import { fibreOf, isRotationCell, isUnlifted, liftAxisOf, liftedSize, velocitySetOf } from '../nn/config';
import { AngularVelocitySet } from '../flows/angularVelocity';
import { explainEquivariance, type EquivarianceSummary } from './equivarianceNotes';
import type { Seq2SeqModel } from '../nn/seq2seq';
import { frameAt, predict, readout } from '../nn/seq2seq';
import { cellStep, zeroHidden } from '../nn/cell';

export interface EquivarianceStep {
  /** Input frames consumed. */
  t: number;
  /** ||h'_t - psi(h_t)|| / ||psi(h_t)|| over the constrained slices; null when no slice is constrained. */
  hidden_rel_err: number | null;
  /** Same for the decoder readout of the hidden state (pooled over V): readout(h'_t) vs psi_{t-1}(readout(h_t)). */
  output_rel_err: number;
  /** Slices of the V axis the statement constrains at this flow (|V| when the flow is inside V's reach). */
  constrained_slices: number;
  total_slices: number;
}

export interface PredictionStep {
  /** Future step, 1..K: the prediction of frame T_in + k - 1. */
  k: number;
  /** predictions of the flowed input vs flowed predictions, moved by psi_{T_in + k - 1}. */
  output_rel_err: number;
}

export interface EquivarianceReport {
  flow: string;
  per_step: EquivarianceStep[];
  predictions: PredictionStep[];
  /** The hidden state has a velocity axis (FERNN, G-RNN+, rotation FERNN); the G-RNNs' is compared whole. */
  lifted?: boolean;
  /** Lifted cells: the flow's velocity nu is one of V's; null for an unlifted cell. (Absent in records written before.) */
  nu_in_v?: boolean | null;
  /** r of V = {-r..r}^2 (rotation cells: Omega = {-r..r} x omega step); null when V is not such a grid. */
  v_range?: number | null;
  /** Both maxima named, the constrained slices, whether nu is in V, and why the output error is above the hidden one. */
  summary?: EquivarianceSummary;
  /** The summary's notes in one paragraph; present when there is something to explain (e.g. no slice constrained). */
  note?: string;
}

export interface ProbeOptions {
  /** The largest r the caller can probe at (the larger-r hint of a truncated V): the service's probe 4 (default). */
  maxR?: number;
  /** Future frames to predict for the prediction-level comparison (0: none). */
  predLen?: number;
  /**
   * Added to the time of the expected transformation. 0 is the true statement; 1 deliberately shifts the expected
   * state by one extra step — used by tests to show the probe can fail.
   */
  timeOffset?: number;
}

/**
 * Measures the flow equivariance of a seq2seq model per timestep. Feeds `inputs` and the flowed inputs
 * u'_s = psi_s(u_s) through the recurrent cell and compares, after t frames, h'_t with the flow's action on h_t:
 * h'_t[v] = roll(h_t[v - nu], nu*(t-1)) over the slices with v - nu in V (for V = {0}: h'_t = roll(h_t, nu*(t-1))).
 * Rotation cells and flows: the same statement with the rotation rho(nu*(t-1)) of the grid and of the orientation
 * channels in place of roll, over the angular velocity axis (for the rotation G-RNN: h'_t = rho(nu*(t-1)) h_t).
 * @param inputs [B, T, H, W, C]
 */
export async function probeEquivariance(model: Seq2SeqModel, inputs: tf.Tensor5D, flow: Flow, opts: ProbeOptions = {}): Promise<EquivarianceReport> {
  const cell = model.config.cell;
  const offset = opts.timeOffset ?? 0;
  const [b, tIn, height, width] = inputs.shape;
  const axis = liftAxisOf(cell);
  const fibre = fibreOf(cell);
  const spatialOnly = isUnlifted(cell);
  const flowed = flow.applyToSequence(inputs);
  let h = zeroHidden(cell, b, height, width);
  let hf = zeroHidden(cell, b, height, width);
  let ownSlice = -1;
  const pending: { t: number; hidden: tf.Scalar | null; out: tf.Scalar; constrained: number }[] = [];
  try {
    for (let t = 1; t <= tIn; t++) {
      const nh = tf.tidy(() => cellStep(cell, model.params, frameAt(inputs, t - 1), h));
      const nhf = tf.tidy(() => cellStep(cell, model.params, frameAt(flowed, t - 1), hf));
      h.dispose();
      hf.dispose();
      h = nh;
      hf = nhf;
      const time = t - 1 + offset;
      const out = tf.tidy(() => relErr(readout(model, hf), flow.applyToFrame(readout(model, h), time)));
      let hidden: tf.Scalar | null = null;
      let constrained = 1;
      if (spatialOnly) {
        const [bb, , hh, ww, c] = h.shape;
        hidden = tf.tidy(() => relErr(tf.reshape(hf, [bb, hh, ww, c]), flow.applyToField(tf.reshape(h, [bb, hh, ww, c]), fibre, time)));
      } else {
        const act = flow.applyToLifted(h, axis, time);
        const idx = act.constrained.flatMap((ok, i) => (ok ? [i] : []));
        constrained = idx.length;
        ownSlice = act.ownSlice;
        if (idx.length) hidden = tf.tidy(() => relErr(tf.gather(hf, idx, 1), tf.gather(act.expected, idx, 1)));
        act.expected.dispose();
      }
      pending.push({ t, hidden, out, constrained });
    }
    const perStep: EquivarianceStep[] = [];
    for (const p of pending) {
      perStep.push({
        t: p.t,
        hidden_rel_err: p.hidden ? (await p.hidden.data())[0] : null,
        output_rel_err: (await p.out.data())[0],
        constrained_slices: p.constrained,
        total_slices: liftedSize(cell),
      });
    }
    const predictions: PredictionStep[] = [];
    const predLen = opts.predLen ?? 0;
    if (predLen > 0) {
      const pa = predict(model, inputs, predLen);
      const pb = predict(model, flowed, predLen);
      const errs = tf.tidy(() =>
        tf.stack(Array.from({ length: predLen }, (_, k) => relErr(frameAt(pb, k), flow.applyToFrame(frameAt(pa, k), tIn + k + offset)))),
      );
      const vals = await errs.data();
      [pa, pb, errs].forEach((x) => x.dispose());
      vals.forEach((v, k) => predictions.push({ k: k + 1, output_rel_err: v }));
    }
    const report: EquivarianceReport = {
      flow: flow.label,
      per_step: perStep,
      predictions,
      lifted: !spatialOnly,
      nu_in_v: spatialOnly ? null : ownSlice >= 0,
      v_range: vRangeOf(model.config.cell),
    };
    report.summary = explainEquivariance(report, { maxR: opts.maxR });
    if (report.summary.notes.length) report.note = report.summary.notes.join('. ');
    return report;
  } finally {
    for (const p of pending) {
      p.hidden?.dispose();
      p.out.dispose();
    }
    h.dispose();
    hf.dispose();
    flowed.dispose();
  }
}

/** r of a grid V = {-r..r}^2, or of Omega = {-r..r} x step; null for any other set. */
function vRangeOf(cell: Seq2SeqModel['config']['cell']): number | null {
  if (isRotationCell(cell)) return AngularVelocitySet.fromList(cell.omegas).symmetricRadius()?.r ?? null;
  return velocitySetOf(cell).gridRadius();
}

/** ||a - b|| / ||b|| (0 when both are 0). */
function relErr(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const num = tf.norm(tf.sub(a, b));
    const den = tf.norm(b);
    return tf.div(num, tf.maximum(den, tf.scalar(1e-30))) as tf.Scalar;
  });
}
