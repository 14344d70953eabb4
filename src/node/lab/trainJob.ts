import * as tf from '@tensorflow/tfjs-core';
import { makeCellConfig, makeSeq2SeqConfig } from '../../core/nn/config';
import { createSeq2Seq, disposeModel, type Seq2SeqModel } from '../../core/nn/seq2seq';
import type { EndReason, ProgressEvent, RunRecord, RunStatus, TrainConfig } from '../../core/protocol/run';
import { fit, type FitResult } from '../../core/train/fit';
import { evaluateMse } from '../../core/metrics/evaluate';
import { selectBackend } from '../backend';
import { encodeSafetensors, loadModelSafetensors } from '../checkpoint/safetensors';
import type { RunStore } from '../store/runStore';
import { runData, splitBatch } from './data';
import { encodeOptimizerState, paramsToHost, restoreOptimizerState } from './trainCheckpoint';

export interface TrainJobControl {
  emit(e: ProgressEvent): void;
  shouldStop(): boolean;
  /** True when the stop comes from the app quitting: the run is then marked interrupted (resumable), not cancelled. */
  interrupted?(): boolean;
}

/** The seq2seq model config of a run. */
export function modelConfigOf(c: TrainConfig) {
  return makeSeq2SeqConfig(makeCellConfig({ kind: c.model, vRange: c.model === 'grnn' ? 0 : c.vRange, hidden: c.hidden }), {
    decoderLayers: c.decoderLayers,
    pool: c.pool,
  });
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Maps a thrown error to the recorded end reason: wasm and tfjs report exhausted memory in a few ways. */
export function classifyError(e: unknown): { reason: EndReason; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (/out of memory|OOM|memory access out of bounds|Cannot allocate|Array buffer allocation failed|Aborted\(/i.test(message)) {
    return { reason: 'out_of_memory', message: `out of memory: ${message.split('\n')[0]}` };
  }
  return { reason: 'error', message: message.split('\n')[0] };
}

/**
 * Runs (or resumes) the training of a run that exists in the store, in this thread: claims it, trains with
 * validation and checkpoints, evaluates the best weights on the test set, and releases it with its final status.
 * Every way it can end is recorded in run.json; it never leaves a run 'running' unless this process is killed.
 */
export async function runTrainJob(store: RunStore, runId: string, resume: boolean, ctl: TrainJobControl): Promise<RunRecord> {
  let rec = await store.get(runId);
  const config = rec.config;
  let model: Seq2SeqModel | null = null;
  let optimizer: tf.Optimizer | null = null;
  const sessionStart = Date.now();
  const stepTimes: number[] = [];
  const finish = async (status: RunStatus, reason?: EndReason, message?: string): Promise<RunRecord> => {
    await store.update(runId, (r) => ({
      ...r,
      timings: {
        ...r.timings,
        trainMs: r.timings.trainMs + stepTimes.reduce((a, b) => a + b, 0),
        msPerStepMedian: median(stepTimes) ?? r.timings.msPerStepMedian,
      },
    }));
    return store.release(runId, status, reason, message);
  };
  try {
    const backend = await selectBackend(config.backend);
    rec = await store.claim(runId);
    rec = await store.update(runId, (r) => ({
      ...r,
      backend: { name: backend.name, detail: backend.detail },
      timings: { ...r.timings, startedAt: r.timings.startedAt ?? new Date(sessionStart).toISOString(), endedAt: null },
      endReason: undefined,
      endMessage: undefined,
    }));
    if (backend.warning) await store.appendMetric(runId, { kind: 'event', step: rec.progress.step, event: 'backend', message: backend.warning, t: new Date().toISOString() });
    const data = await runData(config, rec.seeds.data);
    let startStep = 0;
    optimizer = tf.train.adam(config.lr);
    if (resume && rec.progress.checkpointStep !== null) {
      const loaded = await loadModelSafetensors(store.checkpointPath(runId, 'last'));
      model = { config: loaded.config as ReturnType<typeof modelConfigOf>, params: loaded.params };
      startStep = rec.progress.checkpointStep;
      const restored = await restoreOptimizerState(optimizer, `${store.checkpointPath(runId, 'last').replace(/\.safetensors$/, '')}.optimizer.safetensors`, startStep);
      await store.appendMetric(runId, {
        kind: 'event',
        step: startStep,
        event: 'resumed',
        message: restored ? `resumed at step ${startStep}` : `resumed at step ${startStep} with fresh optimizer state (none saved for that step)`,
        t: new Date().toISOString(),
      });
    } else {
      model = createSeq2Seq(modelConfigOf(config), rec.seeds.init);
    }
    const m = model;
    const opt = optimizer;
    const total = config.steps;
    let lastEmit = 0;
    let lastPersist = Date.now();
    let lastVal: number | null = null;
    const progress = (step: number, loss: number | null, status: RunStatus): ProgressEvent => {
      const recent = stepTimes.slice(-20);
      const ms = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
      return {
        runId,
        step,
        totalSteps: total,
        epoch: (step * config.batch) / data.epochSize,
        loss,
        valMse: lastVal,
        bestValMse: rec.progress.bestValMse,
        stepsPerSec: ms > 0 ? 1000 / ms : 0,
        etaSec: ms > 0 ? ((total - step) * ms) / 1000 : null,
        status,
      };
    };
    const result: FitResult = await fit(
      m,
      opt,
      {
        steps: total,
        startStep,
        epochSize: data.epochSize,
        batch: config.batch,
        clipNorm: config.clipNorm,
        teacherForcing: config.teacherForcing,
        seed: rec.seeds.data,
        valEvery: config.valEvery,
        earlyStopPatience: config.earlyStopPatience,
        divergenceFactor: config.divergenceFactor,
        bestValMse: rec.progress.bestValMse,
        bestStep: rec.progress.bestStep,
      },
      {
        trainBatch: (step) => splitBatch(data.train.batch(step - 1, config.batch), config.inputFrames),
        validate: async () =>
          (await evaluateMse(m, data.val, { sequences: config.valSequences, batchSize: Math.min(64, config.valSequences), inputFrames: config.inputFrames, predFrames: config.predFrames })).mse,
        onStep: async (s) => {
          stepTimes.push(s.msPerStep);
          await store.appendMetric(runId, { kind: 'train', step: s.step, epoch: s.epoch, loss: Number.isFinite(s.loss) ? s.loss : null, gradNorm: Number.isFinite(s.gradNorm) ? s.gradNorm : null, msPerStep: s.msPerStep, t: new Date().toISOString() });
          const now = Date.now();
          if (now - lastPersist > 2000) {
            lastPersist = now;
            rec = await store.update(runId, (r) => ({ ...r, progress: { ...r.progress, step: s.step, epoch: s.epoch, lastTrainLoss: s.loss }, owner: r.owner && { ...r.owner, heartbeatAt: new Date().toISOString() } }));
          }
          if (now - lastEmit > 250 || s.step === total) {
            lastEmit = now;
            ctl.emit(progress(s.step, s.loss, 'running'));
          }
        },
        onValidation: async (v) => {
          lastVal = v.mse;
          await store.appendMetric(runId, { kind: 'val', step: v.step, mse: v.mse, best: v.best, t: new Date().toISOString() });
        },
        checkpoint: async (step, best, st) => {
          const host = await paramsToHost(m);
          const meta = { format: 'fernn-lab', format_version: '1', layout: 'HWIO', config: JSON.stringify(m.config), step: String(step), run_id: runId };
          const bytes = encodeSafetensors(host, meta);
          const lastPath = store.checkpointPath(runId, 'last');
          await store.writeFileAtomic(`${lastPath.replace(/\.safetensors$/, '')}.optimizer.safetensors`, await encodeOptimizerState(opt, step));
          await store.writeFileAtomic(lastPath, bytes);
          if (best) await store.writeFileAtomic(store.checkpointPath(runId, 'best'), bytes);
          rec = await store.update(runId, (r) => ({
            ...r,
            progress: { ...r.progress, step, checkpointStep: step, bestValMse: st.bestValMse, bestStep: st.bestStep },
          }));
        },
        shouldStop: ctl.shouldStop,
      },
    );
    rec = await store.update(runId, (r) => ({ ...r, progress: { ...r.progress, step: result.step, lastTrainLoss: result.lastLoss, epoch: (result.step * config.batch) / data.epochSize } }));
    if (result.endReason === null || result.endReason === 'early_stop') {
      // Test MSE of the best weights (best-by-validation checkpoint, as the reference protocol).
      const best = await loadModelSafetensors(store.checkpointPath(runId, 'best'));
      const bestModel = { config: best.config as ReturnType<typeof modelConfigOf>, params: best.params };
      try {
        const test = await evaluateMse(bestModel, data.test, { sequences: config.testSequences, batchSize: Math.min(64, config.testSequences), inputFrames: config.inputFrames, predFrames: config.predFrames });
        await store.writeEval(runId, 'test', { ...test, checkpoint: 'best', step: rec.progress.bestStep });
        rec = await store.update(runId, (r) => ({ ...r, results: { valMse: r.progress.bestValMse, testMse: test.mse } }));
      } finally {
        disposeModel(bestModel);
      }
      const done = await finish('completed', result.endReason ?? undefined, result.endMessage);
      ctl.emit(progress(result.step, result.lastLoss, 'completed'));
      return done;
    }
    const quitting = result.endReason === 'cancelled' && (ctl.interrupted?.() ?? false);
    const status: RunStatus = quitting ? 'interrupted' : result.endReason === 'cancelled' ? 'cancelled' : 'failed';
    const reason: EndReason = quitting ? 'interrupted' : result.endReason;
    const message = quitting ? `the lab was closed at step ${result.step}; checkpointed, resume to continue` : result.endMessage;
    await store.appendMetric(runId, { kind: 'event', step: result.step, event: reason, message, t: new Date().toISOString() });
    const done = await finish(status, reason, message);
    ctl.emit(progress(result.step, result.lastLoss, status));
    return done;
  } catch (e) {
    const { reason, message } = classifyError(e);
    await store.appendMetric(runId, { kind: 'event', step: rec.progress.step, event: reason, message, t: new Date().toISOString() }).catch(() => undefined);
    const done = await finish('failed', reason, message).catch(() => rec);
    ctl.emit({ runId, step: done.progress.step, totalSteps: config.steps, epoch: done.progress.epoch, loss: null, valMse: null, bestValMse: done.progress.bestValMse, stepsPerSec: 0, etaSec: null, status: 'failed' });
    return done;
  } finally {
    if (model) disposeModel(model);
    optimizer?.dispose();
  }
}
