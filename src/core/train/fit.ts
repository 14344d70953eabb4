import * as tf from '@tensorflow/tfjs-core';
import type { Seq2SeqModel } from '../nn/seq2seq';
import type { EndReason } from '../protocol/run';
import { createRng } from '../util/rng';
import { trainStep } from './step';

/** One training batch as plain arrays (it may come from another thread). */
export interface HostBatch {
  /** [B, T_in, H, W, C] */
  inputs: Float32Array;
  /** [B, K, H, W, C] */
  targets: Float32Array;
  inputShape: [number, number, number, number, number];
  targetShape: [number, number, number, number, number];
}

export interface FitOptions {
  /** Total steps of the run (not of this session). */
  steps: number;
  /** Steps already done (resume); training continues at startStep + 1. */
  startStep: number;
  /** Sequences per epoch, to report epochs (54,000 for MNIST-train). */
  epochSize: number;
  batch: number;
  clipNorm: number;
  teacherForcing: number;
  /** Seeds the teacher-forcing coin per step, so a resumed run draws what an uninterrupted one would. */
  seed: number;
  valEvery: number;
  earlyStopPatience: number;
  divergenceFactor: number;
  /** Best validation score (lower is better) and its step so far (resume), or null. */
  bestScore: number | null;
  bestStep: number | null;
  /** Validations without improvement so far (resume). */
  staleValidations?: number;
  /** First training loss of the run (resume keeps the divergence guard's reference). */
  firstLoss?: number | null;
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  gradNorm: number;
  msPerStep: number;
  /** Classification: accuracy of the training batch. */
  accuracy?: number;
}

/** The task-independent hooks of `fitLoop`: any model whose step gives a loss, validated by a score. */
export interface LoopHooks {
  onStep(rec: StepRecord): Promise<void> | void;
  /** Persist the resume point (weights + optimizer + this loop state) at `step`; `best` when it is also the best so far. */
  checkpoint(step: number, best: boolean, state: FitState): Promise<void>;
  /** Polled between steps: true ends the run with reason 'cancelled' after a checkpoint. */
  shouldStop(): boolean;
  /** Training step `step` (1-based): batch, forward, backward, update; values read back to the host. */
  runStep(step: number): Promise<{ loss: number; gradNorm: number; accuracy?: number }>;
  /** Validation score of the current weights, lower is better (MSE; negative accuracy for classifiers). */
  validate(): Promise<number>;
  onValidation(rec: { step: number; score: number; best: boolean }): Promise<void> | void;
  /** Awaited before each step, `completed` steps done, before the stop check (the lab's test gate parks here). */
  beforeStep?(completed: number): Promise<void>;
}

export interface FitState {
  step: number;
  /** Best validation score so far (lower is better) and its step. */
  bestScore: number | null;
  bestStep: number | null;
  staleValidations: number;
  firstLoss: number | null;
}

export interface FitResult extends FitState {
  /** Null when all steps ran. */
  endReason: EndReason | null;
  endMessage?: string;
  lastLoss: number | null;
  stepTimesMs: number[];
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/**
 * One training step of a seq2seq predictor on a host batch, read back: the reference's step (MSE, global-norm clip)
 * with teacher forcing drawn by a coin seeded per step, so a resumed run draws what an uninterrupted one would.
 */
export async function seq2seqHostStep(
  model: Seq2SeqModel,
  optimizer: tf.Optimizer,
  b: HostBatch,
  step: number,
  opts: Pick<FitOptions, 'clipNorm' | 'teacherForcing' | 'seed'>,
): Promise<{ loss: number; gradNorm: number }> {
  const x = tf.tensor5d(b.inputs, b.inputShape);
  const y = tf.tensor5d(b.targets, b.targetShape);
  try {
    const r = trainStep(model, optimizer, x, y, {
      clipNorm: opts.clipNorm,
      teacherForcing: opts.teacherForcing,
      rng: opts.teacherForcing > 0 ? createRng(opts.seed * 1_000_003 + step) : undefined,
    });
    const [loss, gradNorm] = [(await r.loss.data())[0], (await r.gradNorm.data())[0]];
    r.loss.dispose();
    r.gradNorm.dispose();
    return { loss, gradNorm };
  } finally {
    x.dispose();
    y.dispose();
  }
}

/**
 * The training loop: `hooks.runStep` for each step, validation and checkpoint every `valEvery` steps and at the
 * end, early stop, cancellation, and a guard that ends the run on a NaN/infinite loss or one that grows past
 * `divergenceFactor` times the first loss. Never throws for those: they end the run with a reason.
 */
export async function fitLoop(opts: Omit<FitOptions, 'teacherForcing' | 'seed' | 'clipNorm'>, hooks: LoopHooks): Promise<FitResult> {
  const state: FitState = {
    step: opts.startStep,
    bestScore: opts.bestScore,
    bestStep: opts.bestStep,
    staleValidations: opts.staleValidations ?? 0,
    firstLoss: opts.firstLoss ?? null,
  };
  const stepTimesMs: number[] = [];
  let lastLoss: number | null = null;
  const end = (endReason: EndReason | null, endMessage?: string): FitResult => ({ ...state, endReason, endMessage, lastLoss, stepTimesMs });

  const validateAndCheckpoint = async (): Promise<boolean> => {
    const score = await hooks.validate();
    const best = Number.isFinite(score) && (state.bestScore === null || score < state.bestScore);
    if (best) {
      state.bestScore = score;
      state.bestStep = state.step;
      state.staleValidations = 0;
    } else {
      state.staleValidations += 1;
    }
    await hooks.onValidation({ step: state.step, score, best });
    await hooks.checkpoint(state.step, best, { ...state });
    return best;
  };

  while (state.step < opts.steps) {
    await yieldToEventLoop(); // lets a cancel message in
    await hooks.beforeStep?.(state.step);
    if (hooks.shouldStop()) {
      if (state.step > opts.startStep) await hooks.checkpoint(state.step, false, { ...state });
      return end('cancelled', `stopped at step ${state.step}`);
    }
    const step = state.step + 1;
    const t0 = performance.now();
    const { loss, gradNorm, accuracy } = await hooks.runStep(step);
    const ms = performance.now() - t0;
    stepTimesMs.push(ms);
    state.step = step;
    lastLoss = loss;
    await hooks.onStep({ step, epoch: (step * opts.batch) / opts.epochSize, loss, gradNorm, msPerStep: ms, ...(accuracy === undefined ? {} : { accuracy }) });
    if (!Number.isFinite(loss)) return end('nan_loss', `training loss became ${loss} at step ${step}; the weights of this step were not checkpointed`);
    if (state.firstLoss === null) state.firstLoss = loss;
    if (loss > opts.divergenceFactor * state.firstLoss) {
      return end(
        'diverged',
        `training loss ${loss.toPrecision(4)} at step ${step} exceeds ${opts.divergenceFactor}x the first loss ${state.firstLoss.toPrecision(4)}`,
      );
    }
    if (step % opts.valEvery === 0 || step === opts.steps) {
      await validateAndCheckpoint();
      if (opts.earlyStopPatience > 0 && state.staleValidations >= opts.earlyStopPatience) {
        return end(
          'early_stop',
          `the validation score has not improved for ${state.staleValidations} validations (best ${state.bestScore} at step ${state.bestStep})`,
        );
      }
    }
  }
  return end(null);
}
