import { readFileSync } from 'node:fs';
import { makeCellConfig, makeClassifierConfig, makeCnn3dConfig, type ClassifierConfig } from '../../src/core/nn/config';

/**
 * The reference's KTH models (kth/train_kth_classification.py) as our configs, and our tensor names and layouts
 * as theirs. Fixtures: test/fixtures/kth/ (written by make_kth_fixture.py there).
 */
export const KTH_FIXTURES = 'test/fixtures/kth';

/** One model setting of the fixture, as make_kth_fixture.py writes it. */
export interface KthSetting {
  model: 'fernn' | 'grnn' | 'grnn_plus' | '3dcnn';
  hidden?: number;
  v_range?: number;
  base?: number;
  /** Forward fixtures: the reference's (vy, vx) pairs in its slice order. */
  v_list?: [number, number][];
}

export interface KthCountsFixture {
  torch_version: string;
  num_classes: number;
  models: (KthSetting & { n_params: number; params: Record<string, number[]>; buffers: Record<string, number[]> })[];
}

export function readKthCounts(): KthCountsFixture {
  return JSON.parse(readFileSync(`${KTH_FIXTURES}/param_counts.json`, 'utf8')) as KthCountsFixture;
}

/**
 * Our config of a reference setting: its encoder (conv_u_first), tanh, 3x3 conv_h, max over V; the 3D-CNN with
 * temporal stride 2. The reference's slice for (vy, vx) shifts by -(vx, vy) (a cross-correlation with a one-hot
 * kernel at +v), so its slices are our velocities negated, kept in its order.
 */
export function ourConfig(s: KthSetting, numClasses: number): ClassifierConfig {
  if (s.model === '3dcnn') return makeCnn3dConfig({ numClasses, width: s.base! });
  const r = s.v_range ?? 0;
  const refList: [number, number][] = s.v_list ?? (r > 0 ? gridVyVx(r) : [[0, 0]]);
  const kind = s.model === 'grnn_plus' ? 'grnn-plus' : s.model;
  const cell =
    kind === 'grnn'
      ? makeCellConfig({ kind, hidden: s.hidden!, activation: 'tanh' })
      : makeCellConfig({ kind, hidden: s.hidden!, activation: 'tanh', velocities: refList.map(([vy, vx]) => ({ vx: -vx || 0, vy: -vy || 0 })) });
  return makeClassifierConfig(cell, numClasses, { encoder: {} });
}

function gridVyVx(r: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = -r; i <= r; i++) for (let j = -r; j <= r; j++) out.push([j, i]);
  return out;
}

/** The reference's state_dict name of one of our tensors. */
export function torchName(c: ClassifierConfig, ours: string): string {
  if (c.arch === 'cnn3d') return ours;
  if (ours.startsWith('encoder.')) return `lstm.conv_u_first.${ours.slice('encoder.'.length)}`;
  const fixed: Record<string, string> = {
    'cell.conv_h.weight': 'lstm.conv_h_layers.0.0.weight',
    'cell.shift.weight': 'lstm.learned_kernels',
    'head.weight': 'fc.weight',
    'head.bias': 'fc.bias',
  };
  if (!(ours in fixed)) throw new Error(`no reference name for ${ours}`);
  return fixed[ours];
}

/** The permutation that takes a torch-layout tensor of this rank to ours (conv: [out, in, k..] -> [k.., in, out];
 *  linear: [out, in] -> [in, out]). */
export function torchToOursPerm(rank: number): number[] {
  if (rank === 5) return [2, 3, 4, 1, 0];
  if (rank === 4) return [2, 3, 1, 0];
  if (rank === 2) return [1, 0];
  return [0];
}
