import type { TrainConfigInput } from './run';
import { PAPER_CLAIMS } from '../metrics/paperClaims';

/** Paper reproductions: which models to train, at which scale, and which evaluations to run afterwards. */
export const PRESETS = [
  'translating-mnist',
  'velocity-generalisation',
  'length-generalisation',
  'flowing-mnist-classification',
  'kth',
  'rotating-mnist',
] as const;
export type PresetName = (typeof PRESETS)[number];
export const SCALES = ['tiny', 'small', 'paper'] as const;
export type Scale = (typeof SCALES)[number];

export interface PresetPlan {
  preset: PresetName;
  scale: Scale;
  description: string;
  /** The paper's claim the preset tests (core/metrics/paperClaims.ts judges a run of it). */
  claim: string;
  /** One config per model; all share data and seeds. */
  runs: TrainConfigInput[];
  /** Evaluations after training (test MSE is always part of a run). */
  evals: { velocityRange?: number; seqLens?: number[]; sequences: number };
  /** Runs trained at the same time (each training worker is single-threaded on wasm/cpu). */
  parallel: number;
  /** The preset reads a dataset the user has on disk (`--data DIR`). */
  needsData?: boolean;
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
const SMALL: Partial<TrainConfigInput> = {
  hidden: 32,
  decoderLayers: 2,
  batch: 16,
  steps: 3000,
  imageSize: 28,
  dataVRange: 2,
  valEvery: 250,
  valSequences: 512,
  testSequences: 1000,
};
/**
 * Minutes on a 2-core CPU (wasm), still showing the paper's effect: hidden 16, batch 16, 300 steps, 16x16 frames
 * (digits downsampled 2x), data velocities -1..1, one decoder layer — the calibration row of fernn-notes.md where the
 * reference's FERNN-V1 reached 0.26x the G-RNN's test MSE.
 */
const TINY: Partial<TrainConfigInput> = {
  hidden: 16,
  decoderLayers: 1,
  batch: 16,
  steps: 300,
  imageSize: 16,
  dataVRange: 1,
  valEvery: 100,
  valSequences: 128,
  testSequences: 256,
};

const BASE: Record<Scale, Partial<TrainConfigInput>> = { tiny: TINY, small: SMALL, paper: PAPER };

const model = (m: 'grnn' | 'fernn' | 'grnn-plus' | 'cnn3d' | 'grnn-rot' | 'fernn-rot', vRange: number): Pick<TrainConfigInput, 'model' | 'vRange'> => ({
  model: m,
  vRange: m === 'grnn' || m === 'cnn3d' || m === 'grnn-rot' ? 0 : vRange,
});

/**
 * Rotating MNIST (paper Table 1, Fig. 4): digits turning at -40..40 degrees per frame (step 10); rotation G-RNN vs
 * rotation FERNN-V2 (omegas -20..20) and -V4 (-40..40), all with C_N group convolutions. The reference lifts to C_36
 * with 32 fields (48M parameters, mostly the decoder); tiny uses C_8 and 2 fields on 16x16 frames to fit a CPU.
 */
const ROT: Record<Scale, Partial<TrainConfigInput>> = {
  tiny: {
    dataset: 'rotating-mnist',
    group: 8,
    hidden: 2,
    decoderLayers: 1,
    batch: 16,
    steps: 200,
    lr: 3e-3,
    imageSize: 16,
    dataVRange: 4,
    omegaStep: 10,
    valEvery: 100,
    valSequences: 128,
    testSequences: 256,
  },
  small: {
    dataset: 'rotating-mnist',
    group: 12,
    hidden: 8,
    decoderLayers: 2,
    batch: 16,
    steps: 3000,
    lr: 1e-3,
    imageSize: 28,
    dataVRange: 4,
    omegaStep: 10,
    valEvery: 250,
    valSequences: 512,
    testSequences: 1000,
  },
  paper: {
    dataset: 'rotating-mnist',
    group: 36,
    hidden: 32,
    decoderLayers: 4,
    batch: 32,
    steps: Math.round((50 * 54000) / 32),
    lr: 1e-4,
    imageSize: 28,
    dataVRange: 4,
    omegaStep: 10,
    valEvery: Math.round(54000 / 32),
    valSequences: 6000,
    testSequences: 10000,
  },
};

/**
 * Flowing-MNIST classification (one digit per clip), the reference's velocity-generalisation protocol for
 * classifiers (kth/train_kth_classification.py's v_gen test sets): train on digits at rest, test on moving digits.
 * The FERNN's max-over-V readout is (nearly) invariant to motions in V, so it carries what it learned at rest over
 * to them; the G-RNN never saw motion. Tiny: FERNN-V1 and a -1..1 test grid (every moving cell is in V);
 * small/paper: FERNN-V2 and -2..2. Learning rate 1e-2 at tiny scale: at 3e-3 neither model leaves chance level
 * (~0.35 accuracy after 300 steps) enough for the comparison to mean anything (measured, docs/reproductions.md).
 */
const CLS: Record<Scale, Partial<TrainConfigInput>> = {
  tiny: {
    task: 'classification',
    hidden: 16,
    batch: 16,
    steps: 300,
    lr: 1e-2,
    imageSize: 16,
    inputFrames: 8,
    dataVRange: 0,
    testDataVRange: 1,
    valEvery: 100,
    valSequences: 256,
    testSequences: 512,
  },
  small: {
    task: 'classification',
    hidden: 32,
    batch: 32,
    steps: 2000,
    lr: 3e-3,
    imageSize: 28,
    inputFrames: 10,
    dataVRange: 0,
    testDataVRange: 2,
    valEvery: 250,
    valSequences: 1000,
    testSequences: 2000,
  },
  paper: {
    task: 'classification',
    hidden: 64,
    batch: 32,
    steps: Math.round((30 * 54000) / 32),
    lr: 1e-3,
    imageSize: 28,
    inputFrames: 10,
    dataVRange: 0,
    testDataVRange: 2,
    valEvery: Math.round(54000 / 32),
    valSequences: 6000,
    testSequences: 10000,
  },
};
/** Moving-KTH (reference run command: 32x32, clips of 16, batch 32, lr 3e-4, velocities -2..2 in data and model). */
const KTH: Record<Scale, Partial<TrainConfigInput>> = {
  tiny: {
    task: 'classification',
    dataset: 'kth',
    hidden: 8,
    batch: 8,
    steps: 300,
    lr: 1e-3,
    imageSize: 32,
    inputFrames: 16,
    dataVRange: 2,
    valEvery: 100,
    valSequences: 64,
    testSequences: 128,
  },
  small: {
    task: 'classification',
    dataset: 'kth',
    encoder: 'reference',
    hidden: 16,
    batch: 32,
    steps: 3000,
    lr: 3e-4,
    imageSize: 32,
    inputFrames: 16,
    dataVRange: 2,
    valEvery: 250,
    valSequences: 256,
    testSequences: 512,
  },
  paper: {
    task: 'classification',
    dataset: 'kth',
    encoder: 'reference',
    hidden: 128,
    batch: 32,
    steps: 20000,
    lr: 3e-4,
    imageSize: 32,
    inputFrames: 16,
    dataVRange: 2,
    valEvery: 500,
    valSequences: 1000,
    testSequences: 2000,
  },
};
/**
 * The 3D-CNN's first-stage width per scale, so its parameter count is comparable with the recurrent models' (with
 * the reference encoder at hidden 16: 31k; a width-6 3D-CNN has 30k); paper: the reference's width 16.
 */
const CNN3D_WIDTH: Record<Scale, number> = { tiny: 2, small: 6, paper: 16 };

export function presetPlan(preset: PresetName, scale: Scale, seed = 0): PresetPlan {
  return { ...planOf(preset, scale, seed), claim: PAPER_CLAIMS[preset] };
}

function planOf(preset: PresetName, scale: Scale, seed: number): Omit<PresetPlan, 'claim'> {
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
    case 'flowing-mnist-classification': {
      const models = scale === 'tiny' ? [model('grnn', 0), model('fernn', 1)] : [model('grnn', 0), model('grnn-plus', 2), model('fernn', 2), model('cnn3d', 0)];
      const grid = scale === 'tiny' ? 1 : 2;
      return {
        preset,
        scale,
        description: `Flowing-MNIST classification, velocity generalisation of classifiers: train on digits at rest, test accuracy per fixed velocity on -${grid}..${grid}`,
        runs: models.map((m) => ({ ...CLS[scale], seed, ...m, ...(m.model === 'cnn3d' ? { hidden: CNN3D_WIDTH[scale] } : {}) }) as TrainConfigInput),
        evals: { velocityRange: grid, sequences: scale === 'tiny' ? 256 : sequences },
        parallel,
      };
    }
    case 'rotating-mnist': {
      const models = scale === 'tiny' ? [model('grnn-rot', 0), model('fernn-rot', 2)] : [model('grnn-rot', 0), model('fernn-rot', 2), model('fernn-rot', 4)];
      return {
        preset,
        scale,
        description:
          'Rotating MNIST next-frame prediction (paper Table 1, Fig. 4): rotation G-RNN vs rotation FERNN, test MSE, then MSE per fixed angular velocity on -50..50',
        runs: models.map((m) => ({ ...ROT[scale], seed, ...m }) as TrainConfigInput),
        evals: { velocityRange: 5, sequences: scale === 'tiny' ? 128 : sequences },
        parallel,
      };
    }
    case 'kth': {
      const models = scale === 'tiny' ? [model('grnn', 0), model('fernn', 2)] : [model('cnn3d', 0), model('grnn', 0), model('grnn-plus', 2), model('fernn', 2)];
      return {
        preset,
        scale,
        description: 'Moving-KTH action recognition (paper Table 2): 3D-CNN, G-RNN, G-RNN+ and FERNN-V2 on KTH clips with random translations in -2..2',
        runs: models.map(
          (m) => ({ ...KTH[scale], seed, ...m, ...(m.model === 'cnn3d' ? { encoder: 'none', hidden: CNN3D_WIDTH[scale] } : {}) }) as TrainConfigInput,
        ),
        evals: { sequences },
        parallel,
        needsData: true,
      };
    }
  }
}
