import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The training-parity fixture (scripts/make_training_parity_fixture.py) and the one judgement of a run against it,
 * shared by test/node/trainingParity.test.ts (core API, every backend) and test/cli/userData.test.ts (the CLI).
 */
export const DIR = 'test/fixtures/training-parity';

export interface RunMeta {
  name: string;
  v_range: number;
  teacher_forcing: number;
  t_in: number;
  batch: number;
  steps: number;
  lr: number;
  clip: number;
  adam: { betas: [number, number]; eps: number };
  losses: number[];
  grad_norms: number[];
}

export const RUNS = ['fernn_v1.tf0', 'fernn_v1.tf1', 'grnn.tf0', 'grnn.tf1'] as const;
export const meta = (run: string): RunMeta => JSON.parse(readFileSync(join(DIR, `${run}.json`), 'utf8')) as RunMeta;

/**
 * Tolerances, for float32 on both sides with different summation orders (torch's mkldnn convs vs tfjs's kernels,
 * XNNPACK on wasm, WGSL on webgpu). Measured on cpu (torch 1.13 vs tfjs): step 1 agrees to 2e-7 relative (loss and
 * gradient norm); from there the runs drift apart, because Adam's step g / sqrt(v) hands round-off in small gradient
 * components a full lr-sized step: by step 8 losses differ by up to 9e-5 relative, gradient norms by up to 7e-4
 * (a step whose norm is 0.03 after one of 0.5), final weights by up to 1e-5 while they moved by 0.07.
 * - STEP1_REL = 1e-5 (50x the measured): step 1 is one forward/backward of identical weights and data, so any wrong
 *   gradient shows here before Adam can blur it.
 * - LOSS_REL = 1e-3, NORM_REL = 1e-2 over all steps (10x the measured drift).
 * - WEIGHT_ABS = 1e-4 on the final weights (10x the measured; 1/700 of how far they moved).
 * The 'can fail' block below checks that a wrong gradient, a missing clip and Adam's bias correction one step off
 * each fail these (and by how much).
 */
export const STEP1_REL = 1e-5;
export const LOSS_REL = 1e-3;
export const NORM_REL = 1e-2;
export const WEIGHT_ABS = 1e-4;

/** The criteria a run here fails against the fixture (empty: parity). */
export function failures(got: Trained, s: RunMeta): string[] {
  const out: string[] = [];
  const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
  if (rel(got.losses[0], s.losses[0]) > STEP1_REL) out.push('step-1 loss');
  if (rel(got.norms[0], s.grad_norms[0]) > STEP1_REL) out.push('step-1 gradient norm');
  if (relDiffs(got.losses, s.losses) > LOSS_REL) out.push('losses');
  if (relDiffs(got.norms, s.grad_norms) > NORM_REL) out.push('gradient norms');
  if (got.weightErr > WEIGHT_ABS) out.push('final weights');
  return out;
}

/** A run's per-step losses and gradient norms, and how far its final weights are from torch's. */
export interface Trained {
  losses: number[];
  norms: number[];
  /** Largest |ours - torch| over every final weight. */
  weightErr: number;
  /** Largest |torch final - init|: how far the weights moved. */
  moved: number;
}

/** Largest relative difference of two equally long lists. */
export const relDiffs = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.abs(b[i])));
