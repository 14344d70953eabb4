import { AngularVelocitySet } from '../flows/angularVelocity';
import { makeCellConfig, type Activation, type AnyCellKind, type CellConfig } from './config';
import { makeRotationCellConfig } from './rotationCell';

/**
 * A cell as the run config, the probe and the CLI describe it: a kind, a velocity range r and the hidden size (and,
 * for rotation cells, the group order N and the degrees of one velocity step). Callers give their own defaults.
 */
export interface CellSpec {
  kind: AnyCellKind;
  /** Translation kinds: V = {-r..r}^2; fernn-rot: omegas {-r..r} * omegaStep; the G-RNNs ignore it (V = {0}). */
  vRange: number;
  hidden: number;
  /** Rotation cells: N of C_N. */
  group: number;
  /** Rotation cells: degrees per frame of one velocity step. */
  omegaStep: number;
  /** The cell's nonlinearity (default relu, the reference's). */
  activation?: Activation;
}

/** How each kind is built from a spec: the mapped type makes a kind without a builder a compile error. */
const BUILDERS: { readonly [K in AnyCellKind]: (s: CellSpec & { kind: K }) => CellConfig } = {
  fernn: (s) => makeCellConfig({ kind: s.kind, vRange: s.vRange, hidden: s.hidden, activation: s.activation }),
  'grnn-plus': (s) => makeCellConfig({ kind: s.kind, vRange: s.vRange, hidden: s.hidden, activation: s.activation }),
  grnn: (s) => makeCellConfig({ kind: s.kind, vRange: 0, hidden: s.hidden, activation: s.activation }),
  'fernn-rot': (s) =>
    makeRotationCellConfig({
      kind: s.kind,
      group: s.group,
      hidden: s.hidden,
      omegas: AngularVelocitySet.symmetric(s.vRange, s.omegaStep).list,
      activation: s.activation,
    }),
  'grnn-rot': (s) => makeRotationCellConfig({ kind: s.kind, group: s.group, hidden: s.hidden, omegas: [0], activation: s.activation }),
};

/** The one cell-from-settings builder (training runs, the equivariance probe, `fernn-lab equivariance`). */
export function cellConfigFromSpec(s: CellSpec): CellConfig {
  const build = BUILDERS[s.kind] as (s: CellSpec) => CellConfig;
  return build(s);
}
