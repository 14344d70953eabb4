/**
 * What an equivariance probe's numbers mean, in words: which error is which, whether the flow's velocity nu is one
 * of the model's velocities V, how many slices the statement constrains, and why the readout's error can sit above
 * the hidden state's. Pure (types only): the CLI, the service's results and the renderer all explain a report with it.
 */

/** The facts of one probe this explanation reads (a subset of EquivarianceReport; records written before them lack the last three). */
export interface ProbeFacts {
  flow: string;
  per_step: readonly { hidden_rel_err: number | null; output_rel_err: number; constrained_slices: number; total_slices: number }[];
  /** The hidden state has a velocity axis (FERNN, G-RNN+, rotation FERNN); false for the G-RNNs. */
  lifted?: boolean;
  /** Lifted cells: nu is one of the axis' velocities; null for an unlifted cell. */
  nu_in_v?: boolean | null;
  /** r of a grid V = {-r..r}^2 (rotation cells: Omega = {-r..r} x omega step); null when V is not such a grid. */
  v_range?: number | null;
}

export type EquivarianceCause =
  /** nu in V, yet the readout is off: it pools over every slice, and the slices whose partner v - nu lies outside V enter it. */
  | 'truncated-v'
  /** nu lies outside V: no slice holds the flow at rest; the hidden error covers only the slices that are constrained. */
  | 'flow-outside-v'
  /** Not one slice constrained: the hidden state has nothing to compare. */
  | 'no-slice';

export interface EquivarianceSummary {
  /** Max over t of the hidden state's relative error over the constrained slices; null when none is constrained. */
  max_hidden_rel_err: number | null;
  /** Max over t of the readout's relative error (decoder of the state pooled over V). */
  max_output_rel_err: number;
  constrained_slices: number;
  total_slices: number;
  /** "6/9 slices constrained" (an unlifted cell: "whole state compared"). */
  constrained_text: string;
  lifted: boolean | null;
  nu_in_v: boolean | null;
  /** The readout's error is above the hidden state's (beyond round-off). */
  output_above_hidden: boolean;
  cause: EquivarianceCause | null;
  /** Sentences for the user, most important first. */
  notes: string[];
  /** The r at which the same probe shows a truncated V matter less (cause truncated-v, r below the limit); else null. */
  larger_r: number | null;
}

/** Float32 relative round-off of a probe: errors up to this are "exact". */
export const EQUIVARIANCE_ROUND_OFF = 1e-4;

/** "V = {-1..1}²" / "Ω" words for the velocity set of a report. */
function vWords(f: ProbeFacts): string {
  const rotation = f.flow.startsWith('rotate');
  const sym = rotation ? 'Ω' : 'V';
  if (f.v_range === null || f.v_range === undefined) return sym;
  return rotation ? `${sym} (r = ${f.v_range})` : `${sym} = {−${f.v_range}..${f.v_range}}²`;
}

/**
 * Explains one probe report. `maxR` is the largest r the caller's probe takes (the service's probe: 4; the CLI: 8).
 */
export function explainEquivariance(f: ProbeFacts, opts: { maxR?: number } = {}): EquivarianceSummary {
  const hid = f.per_step.map((s) => s.hidden_rel_err).filter((x): x is number => x !== null);
  const maxHidden = hid.length ? Math.max(...hid) : null;
  const maxOutput = f.per_step.length ? Math.max(...f.per_step.map((s) => s.output_rel_err)) : 0;
  const last = f.per_step.at(-1);
  const constrained = last?.constrained_slices ?? 0;
  const total = last?.total_slices ?? 0;
  const lifted = f.lifted ?? (total > 1 ? true : null);
  const nuInV = f.nu_in_v ?? null;
  const outputAbove = maxOutput > Math.max(2 * (maxHidden ?? 0), EQUIVARIANCE_ROUND_OFF);
  const constrainedText = lifted === false ? 'whole state compared' : `${constrained}/${total} slices constrained`;
  const notes: string[] = [];
  let cause: EquivarianceCause | null = null;
  let largerR: number | null = null;
  const V = vWords(f);
  if (maxHidden === null) {
    cause = 'no-slice';
    notes.push(
      `no slice of V is constrained by ${f.flow}: v − ν lies outside ${V} for every v, so the hidden state has nothing to compare; the model is not equivariant to this flow (see the output error)`,
    );
  } else if (lifted && nuInV === false) {
    cause = 'flow-outside-v';
    notes.push(
      `ν of ${f.flow} lies outside ${V}: no slice holds this motion at rest, so the model is not equivariant to it. ` +
        `The hidden error covers only the ${constrained}/${total} slices whose partner v − ν lies in ${V}; the output error is the one that counts`,
    );
  } else if (lifted && nuInV && outputAbove && constrained < total) {
    cause = 'truncated-v';
    const maxR = opts.maxR ?? 4;
    if (f.v_range !== null && f.v_range !== undefined && f.v_range < maxR) largerR = f.v_range + 1;
    notes.push(
      `output error above the hidden error: the readout pools over all ${total} slices of ${V}, and the ${total - constrained} whose partner v − ν lies ` +
        `outside it (the truncated velocity axis) are not constrained yet enter the max` +
        (largerR !== null ? `; at a larger r they weigh less: probe at r = ${largerR} to see the output error shrink` : ''),
    );
  }
  return {
    max_hidden_rel_err: maxHidden,
    max_output_rel_err: maxOutput,
    constrained_slices: constrained,
    total_slices: total,
    constrained_text: constrainedText,
    lifted,
    nu_in_v: nuInV,
    output_above_hidden: outputAbove,
    cause,
    notes,
    larger_r: largerR,
  };
}

/**
 * The hidden error as a figure never shown bare where it covers part of the state: "0 (3/9 slices; ν outside V)",
 * "— (no slice constrained)". `fmt` formats a number (the caller's precision).
 */
export function hiddenErrorText(s: EquivarianceSummary, fmt: (x: number) => string): string {
  if (s.max_hidden_rel_err === null) return '— (no slice constrained)';
  const v = fmt(s.max_hidden_rel_err);
  if (s.cause === 'flow-outside-v') return `${v} (only ${s.constrained_slices}/${s.total_slices} slices; ν outside V)`;
  return v;
}
