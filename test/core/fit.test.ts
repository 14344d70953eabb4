import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { fitLoop, seq2seqHostStep, type FitOptions, type FitResult, type FitState, type HostBatch, type StepRecord } from '../../src/core/train/fit';
import type { Seq2SeqModel } from '../../src/core/nn/seq2seq';

/** The hooks of a seq2seq fit as the training job gives them: a batch per step, validation by MSE. */
interface FitHooks {
  trainBatch(step: number): HostBatch;
  validate(): Promise<number>;
  onStep(rec: StepRecord): Promise<void> | void;
  onValidation(rec: { step: number; mse: number; best: boolean }): Promise<void> | void;
  checkpoint(step: number, best: boolean, state: FitState): Promise<void>;
  shouldStop(): boolean;
}

/** fitLoop with the seq2seq host step: the production path of node/lab/trainJob.ts, without the store. */
function fit(m: Seq2SeqModel, optimizer: tf.Optimizer, o: FitOptions, h: FitHooks): Promise<FitResult> {
  return fitLoop(o, {
    runStep: (step) => seq2seqHostStep(m, optimizer, h.trainBatch(step), step, o),
    validate: h.validate,
    onStep: h.onStep,
    onValidation: (v) => h.onValidation({ step: v.step, mse: v.score, best: v.best }),
    checkpoint: h.checkpoint,
    shouldStop: h.shouldStop,
  });
}

beforeAll(useCpu);

const shape = {
  inputShape: [2, 3, 8, 8, 1] as [number, number, number, number, number],
  targetShape: [2, 2, 8, 8, 1] as [number, number, number, number, number],
};
const batch = (fill?: number): HostBatch => {
  const r = (n: number) => Float32Array.from({ length: n }, (_, i) => fill ?? ((i * 7919) % 97) / 97);
  return { inputs: r(2 * 3 * 64), targets: r(2 * 2 * 64), ...shape };
};

function opts(over: Partial<FitOptions> = {}): FitOptions {
  return {
    steps: 8,
    startStep: 0,
    epochSize: 100,
    batch: 2,
    clipNorm: 1,
    teacherForcing: 0,
    seed: 1,
    valEvery: 4,
    earlyStopPatience: 0,
    divergenceFactor: 1e4,
    bestScore: null,
    bestStep: null,
    ...over,
  };
}

function hooks(over: Partial<FitHooks> = {}): FitHooks & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    trainBatch: () => batch(),
    validate: async () => 0.5,
    onStep: (s) => void log.push(`step ${s.step}`),
    onValidation: (v) => void log.push(`val ${v.step} ${v.best}`),
    checkpoint: async (step, best) => void log.push(`ckpt ${step} ${best}`),
    shouldStop: () => false,
    ...over,
  };
}

const model = () => createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 3 })), 1);

describe('fit loop', () => {
  it('runs every step, validates and checkpoints every valEvery steps and at the end', async () => {
    const m = model();
    const h = hooks();
    const r = await fit(m, tf.train.adam(1e-3), opts({ steps: 6 }), h);
    expect(r.endReason).toBeNull();
    expect(r.step).toBe(6);
    expect(h.log.filter((l) => l.startsWith('val'))).toEqual(['val 4 true', 'val 6 false']);
    expect(h.log.filter((l) => l.startsWith('ckpt'))).toEqual(['ckpt 4 true', 'ckpt 6 false']);
    disposeModel(m);
  });

  it('ends with nan_loss when the loss is not finite, without checkpointing that step', async () => {
    const m = model();
    const h = hooks({ trainBatch: (s) => (s === 3 ? batch(Number.NaN) : batch()) });
    const r = await fit(m, tf.train.adam(1e-3), opts(), h);
    expect(r.endReason).toBe('nan_loss');
    expect(r.step).toBe(3);
    expect(h.log.some((l) => l.startsWith('ckpt'))).toBe(false);
    disposeModel(m);
  });

  it('ends with diverged when the loss grows past divergenceFactor x the first loss', async () => {
    const m = model();
    const h = hooks({ trainBatch: (s) => (s >= 2 ? { ...batch(), targets: new Float32Array(2 * 2 * 64).fill(1e3) } : batch()) });
    const r = await fit(m, tf.train.adam(1e-3), opts({ divergenceFactor: 10 }), h);
    expect(r.endReason).toBe('diverged');
    expect(r.endMessage).toMatch(/exceeds 10x/);
    disposeModel(m);
  });

  it('stops early after earlyStopPatience validations without improvement', async () => {
    const m = model();
    const h = hooks({ validate: async () => 1 });
    const r = await fit(m, tf.train.adam(1e-3), opts({ steps: 40, valEvery: 2, earlyStopPatience: 2 }), h);
    expect(r.endReason).toBe('early_stop');
    expect(r.step).toBe(6); // best at 2, stale at 4 and 6
    disposeModel(m);
  });

  it('cancels between steps and checkpoints where it stopped', async () => {
    const m = model();
    let n = 0;
    const h = hooks({ shouldStop: () => ++n > 3 });
    const r = await fit(m, tf.train.adam(1e-3), opts({ steps: 50 }), h);
    expect(r.endReason).toBe('cancelled');
    expect(r.step).toBe(3);
    expect(h.log.at(-1)).toBe('ckpt 3 false');
    disposeModel(m);
  });
});
