import { explainEquivariance, hiddenErrorText, type EquivarianceSummary, type ProbeFacts } from '../core/metrics/equivarianceNotes';
import { num } from './format';

/** One probe report in words, as the Inspector, the run page and Compare show it. */
export interface EquivarianceLine {
  flow: string;
  summary: EquivarianceSummary;
  /** "0", "0 (only 3/9 slices; ν outside V)", "— (no slice constrained)". */
  hidden: string;
  output: string;
  /** "6/9 slices constrained · ν in V". */
  constrained: string;
  notes: string[];
}

export function equivarianceLine(r: ProbeFacts & { summary?: EquivarianceSummary }): EquivarianceLine {
  // Records written before the probe summarised itself: the same explanation from their per-step numbers.
  const s = r.summary ?? explainEquivariance(r);
  const inV = s.nu_in_v === null ? (s.lifted === false ? 'no velocity axis' : '') : s.nu_in_v ? 'ν in V' : 'ν outside V';
  return {
    flow: r.flow,
    summary: s,
    hidden: hiddenErrorText(s, num),
    output: num(s.max_output_rel_err),
    constrained: inV ? `${s.constrained_text} · ${inV}` : s.constrained_text,
    notes: s.notes,
  };
}

/** What the two errors are, for column headings' titles. */
export const HIDDEN_ERROR_TITLE =
  'the largest relative error ‖h′ − ψ(h)‖ / ‖ψ(h)‖ of the hidden state over the slices the flow constrains (those whose partner v − ν lies in V), over timesteps';
export const OUTPUT_ERROR_TITLE =
  'the same error of the readout decoder(pool_V(h)): what the model predicts; above the hidden error where slices whose partner lies outside V enter the pooling';
