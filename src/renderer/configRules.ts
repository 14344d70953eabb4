import type { TrainConfigInput } from '../core/protocol/run';

/**
 * Inline hints for the New run form: the numeric ranges of TrainConfig, so a wrong field is flagged as it is typed.
 * The service's schema stays the authority (it validates again and names the field); a unit test keeps these
 * ranges equal to the schema's.
 */
export interface NumberRule {
  key: keyof TrainConfigInput;
  label: string;
  min: number;
  /** Exclusive lower bound (lr > 0). */
  minExclusive?: boolean;
  max: number;
  int: boolean;
  help: string;
}

export const NUMBER_RULES: NumberRule[] = [
  { key: 'vRange', label: 'Velocity range r (model)', min: 0, max: 4, int: true, help: 'V = {-r..r}²; 0 for the G-RNN' },
  { key: 'hidden', label: 'Hidden channels', min: 1, max: 256, int: true, help: 'C, channels per velocity slice' },
  { key: 'dataVRange', label: 'Data velocity range', min: 0, max: 8, int: true, help: 'digits move with integer velocities in -D..D' },
  { key: 'steps', label: 'Training steps', min: 1, max: 10_000_000, int: true, help: 'optimizer steps' },
  { key: 'batch', label: 'Batch', min: 1, max: 512, int: true, help: 'sequences per step' },
  { key: 'seed', label: 'Seed', min: 0, max: 2 ** 31 - 1, int: true, help: 'same seed, same data, init and curve' },
  { key: 'imageSize', label: 'Frame size (px)', min: 8, max: 64, int: true, help: 'square frames; 28 is MNIST size' },
  { key: 'lr', label: 'Learning rate', min: 0, minExclusive: true, max: 1, int: false, help: 'Adam' },
  { key: 'valEvery', label: 'Validate every', min: 1, max: 1_000_000, int: true, help: 'steps between validations' },
  { key: 'decoderLayers', label: 'Decoder layers', min: 0, max: 8, int: true, help: 'conv + relu layers before the readout' },
  { key: 'inputFrames', label: 'Input frames', min: 1, max: 50, int: true, help: 'frames encoded' },
  { key: 'predFrames', label: 'Predicted frames', min: 1, max: 50, int: true, help: 'frames predicted' },
  { key: 'numDigits', label: 'Digits per sequence', min: 1, max: 4, int: true, help: 'summed and clamped' },
  { key: 'valSequences', label: 'Validation sequences', min: 1, max: 6000, int: true, help: 'per validation' },
  { key: 'testSequences', label: 'Test sequences', min: 1, max: 10000, int: true, help: 'for the final test MSE' },
];

/** The message for a value of a rule, or null when it is fine. `raw` is the input's text. */
export function checkNumber(rule: NumberRule, raw: string): string | null {
  const text = raw.trim();
  if (text === '') return `${rule.label} is required`;
  const v = Number(text);
  if (!Number.isFinite(v)) return `${rule.label} must be a number`;
  if (rule.int && !Number.isInteger(v)) return `${rule.label} must be a whole number`;
  const range = `${rule.minExclusive ? `> ${rule.min}` : `≥ ${rule.min}`} and ≤ ${rule.max}`;
  if ((rule.minExclusive ? v <= rule.min : v < rule.min) || v > rule.max) return `${rule.label} must be ${range}`;
  return null;
}

/** Field -> message for every problem of the form (numbers as typed, plus the G-RNN's V = {0}). */
export function checkConfigForm(model: string, values: Record<string, string>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const rule of NUMBER_RULES) {
    if (!(rule.key in values)) continue;
    const msg = checkNumber(rule, values[rule.key]);
    if (msg) errors[rule.key] = msg;
  }
  if (model === 'grnn' && !errors.vRange && Number(values.vRange) !== 0) errors.vRange = 'a G-RNN has V = {0}: the velocity range must be 0';
  return errors;
}

/** A training data velocity (the service's `dataVelocities` entries: whole pixels per frame in -8..8). */
export interface DataVelocity {
  vx: number;
  vy: number;
}
export const DATA_VELOCITY_MAX = 8;
export const DATA_VELOCITIES_MAX_COUNT = 64;

/** The velocity of a saved flow's text (`translate:VX,VY`), or null when it is not a translation. */
export function flowVelocity(flow: string): DataVelocity | null {
  const m = /^translate:(-?\d+),(-?\d+)$/.exec(flow);
  return m ? { vx: Number(m[1]), vy: Number(m[2]) } : null;
}

/**
 * The message for the flows chosen as data motion, or null when they can be sent as `dataVelocities`:
 * at least one, at most 64, each a translation within -8..8 px per frame.
 */
export function checkDataFlows(flows: { name: string; flow: string }[]): string | null {
  if (!flows.length) return 'choose at least one saved flow';
  if (flows.length > DATA_VELOCITIES_MAX_COUNT) return `choose at most ${DATA_VELOCITIES_MAX_COUNT} flows`;
  for (const f of flows) {
    const v = flowVelocity(f.flow);
    if (!v) return `flow "${f.name}" (${f.flow}) is not a translation`;
    if (Math.abs(v.vx) > DATA_VELOCITY_MAX || Math.abs(v.vy) > DATA_VELOCITY_MAX) {
      return `flow "${f.name}" (${f.flow}) is too fast for training data: each component must be within -${DATA_VELOCITY_MAX}..${DATA_VELOCITY_MAX}`;
    }
  }
  return null;
}
