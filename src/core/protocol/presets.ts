import type { TrainConfigInput } from './run';

/** Paper reproductions: which models to train, at which scale, and which evaluations to run afterwards. */
export const PRESETS = ['translating-mnist', 'velocity-generalisation', 'length-generalisation'] as const;
export type PresetName = (typeof PRESETS)[number];
export const SCALES = ['tiny', 'small', 'paper'] as const;
export type Scale = (typeof SCALES)[number];

export interface PresetPlan {
  preset: PresetName;
  scale: Scale;
  description: string;
  /** One config per model; all share data and seeds. */
  runs: TrainConfigInput[];
  /** Evaluations after training (test MSE is always part of a run). */
  evals: { velocityRange?: number; seqLens?: number[]; sequences: number };
  /** Runs trained at the same time (each training worker is single-threaded on wasm/cpu). */
  parallel: number;
}

/** Reference protocol (moving_mnist_fp/train.py defaults): hidden 128, 4 decoder layers, batch 128, 50 epochs. */
const PAPER: Partial<TrainConfigInput> = {
  hidden: 128,
  decoderLayers: 4,
  batch: 128,
  steps: Math.round((50 * 54000) / 128),
  lr: 1e-3,
  clipNorm: 1,
  imageSize: 28,
  dataVRange: 2,
  valEvery: Math.round(54000 / 128),
  valSequences: 6000,
  testSequences: 10000,
};
/** A few minutes of a laptop GPU, or about an hour of CPU per model. */
const SMALL: Partial<TrainConfigInput> = { hidden: 32, decoderLayers: 2, batch: 16, steps: 3000, imageSize: 28, dataVRange: 2, valEvery: 250, valSequences: 512, testSequences: 1000 };
/**
 * Minutes on a 2-core CPU (wasm), still showing the paper's effect: hidden 16, batch 16, 300 steps, 16x16 frames
 * (digits downsampled 2x), data velocities -1..1, one decoder layer — the calibration row of fernn-notes.md where the
 * reference's FERNN-V1 reached 0.26x the G-RNN's test MSE.
 */
const TINY: Partial<TrainConfigInput> = { hidden: 16, decoderLayers: 1, batch: 16, steps: 300, imageSize: 16, dataVRange: 1, valEvery: 100, valSequences: 128, testSequences: 256 };

const BASE: Record<Scale, Partial<TrainConfigInput>> = { tiny: TINY, small: SMALL, paper: PAPER };

const model = (m: 'grnn' | 'fernn', vRange: number): Pick<TrainConfigInput, 'model' | 'vRange'> => ({ model: m, vRange: m === 'grnn' ? 0 : vRange });

export function presetPlan(preset: PresetName, scale: Scale, seed = 0): PresetPlan {
  const base = { ...BASE[scale], seed };
  const parallel = scale === 'paper' ? 1 : 2;
  const sequences = scale === 'tiny' ? 128 : scale === 'small' ? 512 : 10000;
  switch (preset) {
    case 'translating-mnist': {
      const models = scale === 'tiny' ? [model('grnn', 0), model('fernn', 1)] : [model('grnn', 0), model('fernn', 1), model('fernn', 2)];
      return {
        preset,
        scale,
        description: 'Translating MNIST next-frame prediction (paper Table 1): G-RNN vs FERNN, test MSE, then velocity generalisation over -2..2',
        runs: models.map((m) => ({ ...base, ...m }) as TrainConfigInput),
        evals: { velocityRange: 2, sequences },
        parallel,
      };
    }
    case 'velocity-generalisation': {
      const models = scale === 'tiny' ? [model('grnn', 0), model('fernn', 1)] : [model('grnn', 0), model('fernn', 2)];
      return {
        preset,
        scale,
        description: 'Velocity generalisation (paper Fig. 4): train on velocities -1..1, test MSE per fixed velocity on a -2..2 grid',
        runs: models.map((m) => ({ ...base, dataVRange: 1, ...m }) as TrainConfigInput),
        evals: { velocityRange: 2, sequences },
        parallel,
      };
    }
    case 'length-generalisation': {
      const models = scale === 'tiny' ? [model('grnn', 0), model('fernn', 1)] : [model('grnn', 0), model('fernn', 2)];
      return {
        preset,
        scale,
        description: 'Length generalisation (paper Fig. 4): train on 10+10 frames, test MSE per future step on 40- and 70-frame sequences',
        runs: models.map((m) => ({ ...base, ...m }) as TrainConfigInput),
        evals: { seqLens: scale === 'tiny' ? [40] : [40, 70], sequences },
        parallel,
      };
    }
  }
}
