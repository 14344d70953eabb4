import type { FlowKind } from '../flows/flowGrammar';

/**
 * Every model kind and what the rest of the house needs to know of it without tensors: its name, the flow kind its
 * velocity axis is made of, whether it has one, how the runner moves it. The one list behind the config schemas
 * (nn/config.ts), the run protocol (protocol/run.ts), the CLI's flags and the renderer's forms and labels.
 *
 * Dependency-free at run time (type imports only; eslint enforces it), so the renderer may import it. The tensor side
 * of each cell kind (parameters, step, h_0) is the registry in nn/cell.ts; its label in nn/config.ts (`describeCell`).
 * Both are mapped over `CellKind`, so a kind added here and not there is a compile error (docs/architecture.md).
 */
export interface CellKindFacts {
  /** The family name: "FERNN", "G-RNN+". */
  readonly name: string;
  /** The flows its velocity axis (and its data's motion) are made of. */
  readonly flow: FlowKind;
  /** Has a velocity axis of more than the identity (false: a G-RNN, whose state any flow acts on in space). */
  readonly lifted: boolean;
  /** Run in co-moving coordinates by nn/runner.ts and the classifier (the translation kinds with built-in shifts). */
  readonly coMoving: boolean;
  /** Takes the classifier's per-frame conv encoder in place of conv_u (nn/classifier.ts). */
  readonly encoder: boolean;
}

/** fernn: lifted over V with built-in per-velocity shifts; grnn: V = {0}; grnn-plus: shifts replaced by learned
 *  per-velocity depthwise kernels of size 2r+1 (same compute as the FERNN, no built-in equivariance). */
export const CELL_KINDS = ['fernn', 'grnn', 'grnn-plus'] as const;
/** Rotation cells on C_N fields (nn/rotationCell.ts): fernn-rot lifts over the angular velocities `omegas`; grnn-rot
 *  is its G-RNN (omegas = [0]): the same group convolutions, no velocity axis. Their `velocities` is {(0,0)}. */
export const ROTATION_CELL_KINDS = ['fernn-rot', 'grnn-rot'] as const;
export const ANY_CELL_KINDS = [...CELL_KINDS, ...ROTATION_CELL_KINDS] as const;
export type AnyCellKind = (typeof ANY_CELL_KINDS)[number];
/** Models that are not a recurrent cell: the 3D-CNN classification baseline. */
export const MODEL_KINDS = [...ANY_CELL_KINDS, 'cnn3d'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export const CELL_KIND_FACTS: { readonly [K in AnyCellKind]: CellKindFacts } = {
  fernn: { name: 'FERNN', flow: 'translation', lifted: true, coMoving: true, encoder: true },
  grnn: { name: 'G-RNN', flow: 'translation', lifted: false, coMoving: true, encoder: true },
  'grnn-plus': { name: 'G-RNN+', flow: 'translation', lifted: true, coMoving: false, encoder: true },
  'fernn-rot': { name: 'FERNN', flow: 'rotation', lifted: true, coMoving: false, encoder: false },
  'grnn-rot': { name: 'G-RNN', flow: 'rotation', lifted: false, coMoving: false, encoder: false },
};

/** Family names of every model kind (labels for forms and tables). */
export const MODEL_NAMES: { readonly [K in ModelKind]: string } = {
  ...(Object.fromEntries(ANY_CELL_KINDS.map((k) => [k, CELL_KIND_FACTS[k].name])) as { [K in AnyCellKind]: string }),
  cnn3d: '3D-CNN',
};

/**
 * The ranges of a model's settings, the same for the app, the service and the CLI (run config, probe, flags, forms):
 * hidden channels (rotation cells: fields), the velocity range r, the group order N and the omega step.
 */
export const MODEL_LIMITS = {
  hidden: { min: 1, max: 256 },
  vRange: { min: 0, max: 4 },
  group: { min: 1, max: 72 },
  omegaStep: { max: 180 },
} as const;

/** A model kind that is not one of MODEL_KINDS (a config or flag from elsewhere). */
export class UnknownModelKindError extends Error {
  constructor(readonly kind: string) {
    super(`unknown model kind "${kind}": one of ${MODEL_KINDS.join(', ')}`);
    this.name = 'UnknownModelKindError';
  }
}

export const isCellKind = (k: string): k is AnyCellKind => Object.hasOwn(CELL_KIND_FACTS, k);

/** The facts of a cell kind; a string that is none throws UnknownModelKindError rather than passing for a FERNN. */
export function cellKindFacts(kind: string): CellKindFacts {
  if (!isCellKind(kind)) throw new UnknownModelKindError(kind);
  return CELL_KIND_FACTS[kind];
}

/** A rotation cell (C_N fields, angular velocities). */
export const isRotationKind = (kind: string): boolean => isCellKind(kind) && CELL_KIND_FACTS[kind].flow === 'rotation';
