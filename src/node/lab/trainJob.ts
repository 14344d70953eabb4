import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../../core/util/errors';
import {
  makeClassifierConfig,
  makeCnn3dConfig,
  makeSeq2SeqConfig,
  type CellConfig,
  type ClassifierConfig,
  type ModelConfig,
  type Seq2SeqConfig,
} from '../../core/nn/config';
import { cellConfigFromSpec } from '../../core/nn/cellSpec';
import { createSeq2Seq, disposeModel, seq2seqParamCount, type Seq2SeqModel } from '../../core/nn/seq2seq';
import { classifierParamCount, createClassifier, type ClassifierModel } from '../../core/nn/classifier';
import type { ParamMap } from '../../core/nn/params';
import {
  DATASET_CLASSES,
  type EndReason,
  type MetricRecord,
  type ProgressEvent,
  type RunRecord,
  type RunStatus,
  type TrainConfig,
} from '../../core/protocol/run';
import { fitLoop, seq2seqHostStep, type FitResult } from '../../core/train/fit';
import { classifyTrainStep } from '../../core/train/classifyStep';
import { createAdam } from '../../core/train/adam';
import { evaluateMse } from '../../core/metrics/evaluate';
import { evaluateClassifier } from '../../core/metrics/classification';
import { selectBackend } from '../backend';
import type { ThreadChoice } from '../threadBudget';
import { encodeModelSafetensors, loadModelSafetensors } from '../checkpoint/safetensors';
import { loadInitWeights } from '../checkpoint/init';
import type { RunStore } from '../store/runStore';
import { classificationRunData, runData, splitBatch } from './data';
import { SPLITS, type DecodedFolders } from '../data/datasets/loader';
import { LOOP_STATE_KEY, decodeLoopState, encodeLoopState, encodeOptimizerState, restoreOptimizerState, type LoopState } from './trainCheckpoint';
import { testGateFor } from './testGate';
import { estimateTrainingMemory } from '../../core/protocol/memory';

export interface TrainJobControl {
  emit(e: ProgressEvent): void;
  shouldStop(): boolean;
  /** True when the stop comes from the app quitting: the run is then marked interrupted (resumable), not cancelled. */
  interrupted?(): boolean;
  /** XNNPACK threads for wasm, as the lab service shares the cores (default: what this machine has free). */
  wasmThreads?: ThreadChoice;
  /** The clips the run's inspect decoded when the service started it (users' clip or class folders): not decoded again. */
  decoded?: DecodedFolders;
}

/** The recurrent cell of a run: translation cells on a velocity grid, rotation cells on {-r..r} * omegaStep. */
export function cellConfigOf(c: TrainConfig): CellConfig {
  if (c.model === 'cnn3d') throw new InputError('model', 'the 3D-CNN has no recurrent cell: it is a classification baseline');
  return cellConfigFromSpec({ kind: c.model, vRange: c.vRange, hidden: c.hidden, group: c.group ?? 36, omegaStep: c.omegaStep, activation: c.activation });
}

/** The seq2seq model config of a prediction run. */
export function modelConfigOf(c: TrainConfig): Seq2SeqConfig {
  if (c.model === 'cnn3d') throw new InputError('model', 'the 3D-CNN is a classification baseline: use task "classification"');
  return makeSeq2SeqConfig(cellConfigOf(c), { decoderLayers: c.decoderLayers, pool: c.pool });
}

/**
 * The classifier config of a classification run: a recurrent classifier (frames through the cell's input conv, or
 * the reference's per-frame conv encoder), or the 3D-CNN baseline whose first-stage width is `hidden`. `classes`:
 * the dataset's (its facts), or for data that name their classes (users' class folders) the count read from them.
 */
export function classifierConfigOf(c: TrainConfig, classes: number = DATASET_CLASSES[c.dataset]): ClassifierConfig {
  if (c.model === 'cnn3d') return makeCnn3dConfig({ numClasses: classes, width: c.hidden });
  return makeClassifierConfig(cellConfigOf(c), classes, { pool: c.pool, encoder: c.encoder === 'reference' ? {} : null });
}

/** Parameters of the run's model (prediction or classification). */
export function runParamCount(c: TrainConfig, classes?: number): number {
  return c.task === 'classification' ? classifierParamCount(classifierConfigOf(c, classes)) : seq2seqParamCount(modelConfigOf(c));
}

type AnyModel = { readonly config: ModelConfig; readonly params: ParamMap };

/** What differs between the tasks inside the training job: data, step, validation and test. */
interface TaskRunner {
  epochSize: number;
  note?: string;
  create(seed: number): AnyModel;
  step(model: AnyModel, opt: tf.Optimizer, step: number): Promise<{ loss: number; gradNorm: number; accuracy?: number }>;
  /** Lower is better. */
  validate(model: AnyModel): Promise<number>;
  valRecord(step: number, score: number, best: boolean): MetricRecord;
  /** The run record's view of a best score. */
  bestOf(score: number | null): Pick<RunRecord['progress'], 'bestValMse' | 'bestValAccuracy'>;
  /** The best score saved in the record (resume). */
  savedBest(r: RunRecord): number | null;
  display(score: number | null): Pick<ProgressEvent, 'valMse' | 'valAccuracy'>;
  /** Test evaluation of the best weights: the stored eval and the run's results. */
  test(model: AnyModel, r: RunRecord): Promise<{ name: 'test' | 'test-accuracy'; evaluation: object; results: NonNullable<RunRecord['results']> }>;
}

const now = (): string => new Date().toISOString();

async function predictionTask(config: TrainConfig, dataSeed: number, decoded: DecodedFolders | undefined): Promise<TaskRunner> {
  const data = await runData(config, dataSeed, decoded);
  const evalOpts = (n: number) => ({ sequences: n, batchSize: Math.min(64, n), inputFrames: config.inputFrames, predFrames: config.predFrames });
  // A user's finite validation / test set is evaluated once over (the run's counts are upper bounds there).
  const valCount = Math.min(config.valSequences, data.valSize ?? Infinity);
  const testCount = Math.min(config.testSequences, data.testSize ?? Infinity);
  const asSeq = (m: AnyModel): Seq2SeqModel => m as Seq2SeqModel;
  return {
    epochSize: data.epochSize,
    create: (seed) => createSeq2Seq(modelConfigOf(config), seed),
    step: (m, opt, step) =>
      seq2seqHostStep(asSeq(m), opt, splitBatch(data.train.batch(step - 1, config.batch), config.inputFrames), step, {
        clipNorm: config.clipNorm,
        teacherForcing: config.teacherForcing,
        seed: dataSeed,
      }),
    validate: async (m) => (await evaluateMse(asSeq(m), data.val, evalOpts(valCount))).mse,
    valRecord: (step, score, best) => ({ kind: 'val', step, mse: score, best, t: now() }),
    bestOf: (score) => ({ bestValMse: score }),
    savedBest: (r) => r.progress.bestValMse,
    display: (score) => ({ valMse: score }),
    async test(m, r) {
      const test = await evaluateMse(asSeq(m), data.test, evalOpts(testCount));
      return { name: 'test' as const, evaluation: test, results: { valMse: r.progress.bestValMse, testMse: test.mse } };
    },
  };
}

async function classificationTask(config: TrainConfig, dataSeed: number, decoded: DecodedFolders | undefined): Promise<TaskRunner> {
  const data = await classificationRunData(config, dataSeed, undefined, SPLITS, decoded);
  const asCls = (m: AnyModel): ClassifierModel => m as ClassifierModel;
  const accuracyOfScore = (score: number | null) => (score === null ? null : -score);
  return {
    epochSize: data.epochSize,
    note: data.note,
    create: (seed) => createClassifier(classifierConfigOf(config, data.numClasses), seed),
    async step(m, opt, step) {
      const b = data.train.batch(step - 1, config.batch);
      const x = tf.tensor5d(b.clips, [...b.shape]);
      try {
        const r = classifyTrainStep(asCls(m), opt, x, b.labels, { clipNorm: config.clipNorm });
        const [loss, gradNorm, accuracy] = [(await r.loss.data())[0], (await r.gradNorm.data())[0], (await r.accuracy.data())[0]];
        [r.loss, r.gradNorm, r.accuracy].forEach((t) => t.dispose());
        return { loss, gradNorm, accuracy };
      } finally {
        x.dispose();
      }
    },
    // Best checkpoint by validation accuracy, as the reference (kth/train_kth_classification.py).
    validate: async (m) =>
      -(await evaluateClassifier(asCls(m), data.val, { sequences: config.valSequences, batchSize: Math.min(64, config.valSequences) })).accuracy,
    valRecord: (step, score, best) => ({ kind: 'val-accuracy', step, accuracy: -score, loss: null, best, t: now() }),
    bestOf: (score) => ({ bestValMse: null, bestValAccuracy: accuracyOfScore(score) }),
    savedBest: (r) => (r.progress.bestValAccuracy == null ? null : -r.progress.bestValAccuracy),
    display: (score) => ({ valMse: null, valAccuracy: accuracyOfScore(score) }),
    async test(m, r) {
      const test = await evaluateClassifier(asCls(m), data.test, { sequences: config.testSequences, batchSize: Math.min(64, config.testSequences) });
      return { name: 'test-accuracy' as const, evaluation: test, results: { valAccuracy: r.progress.bestValAccuracy ?? null, testAccuracy: test.accuracy } };
    },
  };
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
  let model: AnyModel | null = null;
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
    const backend = await selectBackend(config.backend, { wasmThreads: ctl.wasmThreads });
    rec = await store.claim(runId);
    rec = await store.update(runId, (r) => ({
      ...r,
      backend: { name: backend.name, detail: backend.detail, gpu: backend.gpu },
      timings: { ...r.timings, startedAt: r.timings.startedAt ?? new Date(sessionStart).toISOString(), endedAt: null },
      endReason: undefined,
      endMessage: undefined,
    }));
    if (backend.warning) await store.appendMetric(runId, { kind: 'event', step: rec.progress.step, event: 'backend', message: backend.warning, t: now() });
    // A config beyond the backend's memory (wasm: 4 GiB) ends here, before data or weights are allocated.
    const memory = estimateTrainingMemory(config, backend.name, rec.params);
    if (!memory.fits) {
      const message = memory.message ?? 'out of memory';
      await store.appendMetric(runId, { kind: 'event', step: rec.progress.step, event: 'out_of_memory', message, t: now() });
      const done = await finish('failed', 'out_of_memory', message);
      const p = done.progress;
      const ended = { loss: null, valMse: null, stepsPerSec: 0, etaSec: null, status: 'failed' as const };
      ctl.emit({ runId, step: p.step, totalSteps: config.steps, epoch: p.epoch, bestValMse: p.bestValMse, ...ended });
      return done;
    }
    const t =
      config.task === 'classification'
        ? await classificationTask(config, rec.seeds.data, ctl.decoded)
        : await predictionTask(config, rec.seeds.data, ctl.decoded);
    if (t.note && !resume) await store.appendMetric(runId, { kind: 'event', step: 0, event: 'data', message: t.note, t: now() });
    let startStep = 0;
    let loop: LoopState | null = null;
    optimizer = createAdam(config.lr);
    if (resume && rec.progress.checkpointStep !== null) {
      const loaded = await loadModelSafetensors(store.checkpointPath(runId, 'last'));
      model = { config: loaded.config, params: loaded.params };
      startStep = rec.progress.checkpointStep;
      loop = decodeLoopState(loaded.metadata);
      const restored = await restoreOptimizerState(optimizer, store.optimizerPath(runId), startStep);
      // "Train longer" (labService.trainLonger): the same resume, from the step the completed run ended at (again so
      // when a continuation is resumed before its first checkpoint). A run that had stopped early starts a fresh
      // early-stop count, or it would stop again at its next validation.
      const continuation = rec.continuations?.at(-1);
      const continuing = continuation !== undefined && continuation.fromStep === startStep;
      if (continuing && continuation.earlyStopReset && loop) loop = { ...loop, staleValidations: 0 };
      const fresh = restored ? '' : ' with fresh optimizer state (none saved for that step)';
      await store.appendMetric(runId, {
        kind: 'event',
        step: startStep,
        event: continuing ? 'continued' : 'resumed',
        message: continuing ? `continued at step ${startStep} to ${config.steps} steps (train longer)${fresh}` : `resumed at step ${startStep}${fresh}`,
        t: now(),
      });
    } else if (config.init !== undefined) {
      model = await loadInitWeights(config.init, modelConfigOf(config), config.vRange, 'config.init');
    } else {
      model = t.create(rec.seeds.init);
    }
    const m = model;
    const opt = optimizer;
    const total = config.steps;
    let lastEmit = 0;
    let lastPersist = Date.now();
    let lastVal: number | null = null;
    let bestScore = loop ? loop.bestScore : t.savedBest(rec);
    let lastLoss: number | null = rec.progress.lastTrainLoss;
    const gate = testGateFor(rec.name);
    const progress = (step: number, loss: number | null, status: RunStatus): ProgressEvent => {
      const recent = stepTimes.slice(-20);
      const ms = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : 0;
      const best = t.display(bestScore);
      return {
        runId,
        step,
        totalSteps: total,
        epoch: (step * config.batch) / t.epochSize,
        loss,
        ...t.display(lastVal),
        bestValMse: best.valMse,
        ...(config.task === 'classification' ? { bestValAccuracy: best.valAccuracy ?? null } : {}),
        stepsPerSec: ms > 0 ? 1000 / ms : 0,
        etaSec: ms > 0 ? ((total - step) * ms) / 1000 : null,
        status,
      };
    };
    const result: FitResult = await fitLoop(
      {
        steps: total,
        startStep,
        epochSize: t.epochSize,
        batch: config.batch,
        valEvery: config.valEvery,
        earlyStopPatience: config.earlyStopPatience,
        divergenceFactor: config.divergenceFactor,
        bestScore,
        bestStep: loop ? loop.bestStep : rec.progress.bestStep,
        // The rest of the loop's state (early-stop counter, divergence baseline), saved with the weights of `last`.
        staleValidations: loop?.staleValidations,
        firstLoss: loop?.firstLoss,
      },
      {
        runStep: (step) => t.step(m, opt, step),
        validate: () => t.validate(m),
        onStep: async (s) => {
          stepTimes.push(s.msPerStep);
          lastLoss = s.loss;
          await store.appendMetric(runId, {
            kind: 'train',
            step: s.step,
            epoch: s.epoch,
            loss: Number.isFinite(s.loss) ? s.loss : null,
            gradNorm: Number.isFinite(s.gradNorm) ? s.gradNorm : null,
            msPerStep: s.msPerStep,
            ...(s.accuracy === undefined ? {} : { accuracy: s.accuracy }),
            t: now(),
          });
          const time = Date.now();
          if (time - lastPersist > 2000) {
            lastPersist = time;
            rec = await store.heartbeat(runId, { step: s.step, epoch: s.epoch, lastTrainLoss: s.loss });
          }
          if (time - lastEmit > 250 || s.step === total) {
            lastEmit = time;
            ctl.emit(progress(s.step, s.loss, 'running'));
          }
        },
        onValidation: async (v) => {
          lastVal = v.score;
          if (v.best) bestScore = v.score;
          await store.appendMetric(runId, t.valRecord(v.step, v.score, v.best));
        },
        checkpoint: async (step, best, st) => {
          const weights = await encodeModelSafetensors(m, { step: String(step), run_id: runId, [LOOP_STATE_KEY]: encodeLoopState(st) });
          await store.writeResumePoint(runId, { weights, optimizer: await encodeOptimizerState(opt, step), best });
          rec = await store.update(runId, (r) => ({
            ...r,
            progress: { ...r.progress, step, checkpointStep: step, ...t.bestOf(st.bestScore), bestStep: st.bestStep },
          }));
        },
        shouldStop: ctl.shouldStop,
        // Tests only (FERNN_TEST_GATES): the run and its viewers agree on the step before it parks there.
        beforeStep: gate
          ? async (completed) => {
              if (!(await gate.holds(completed))) return;
              rec = await store.update(runId, (r) => ({ ...r, progress: { ...r.progress, step: completed } }));
              ctl.emit(progress(completed, lastLoss, 'running'));
              await gate.park(completed, ctl.shouldStop);
            }
          : undefined,
      },
    );
    rec = await store.update(runId, (r) => ({
      ...r,
      progress: { ...r.progress, step: result.step, lastTrainLoss: result.lastLoss, epoch: (result.step * config.batch) / t.epochSize },
    }));
    if (result.endReason === null || result.endReason === 'early_stop') {
      // Test metrics of the best weights (best-by-validation checkpoint, as the reference protocol).
      const best = await loadModelSafetensors(store.checkpointPath(runId, 'best'));
      const bestModel: AnyModel = { config: best.config, params: best.params };
      try {
        const { name, evaluation, results } = await t.test(bestModel, rec);
        // The run's headline test figure: this record, and results.testSource naming it (core/protocol/evaluation.ts).
        const checkpoint = { which: 'best' as const, step: rec.progress.bestStep };
        const settings = { sequences: config.testSequences };
        const record = await store.addEvaluation(runId, { kind: name, origin: 'training', checkpoint, settings, result: evaluation });
        const testSource = { evaluationId: record.id, checkpoint: checkpoint.which, step: checkpoint.step, sequences: config.testSequences };
        rec = await store.update(runId, (r) => ({ ...r, results: { ...results, testSource } }));
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
    await store.appendMetric(runId, { kind: 'event', step: result.step, event: reason, message, t: now() });
    const done = await finish(status, reason, message);
    ctl.emit(progress(result.step, result.lastLoss, status));
    return done;
  } catch (e) {
    const { reason, message } = classifyError(e);
    await store.appendMetric(runId, { kind: 'event', step: rec.progress.step, event: reason, message, t: now() }).catch(() => undefined);
    const done = await finish('failed', reason, message).catch(() => rec);
    ctl.emit({
      runId,
      step: done.progress.step,
      totalSteps: config.steps,
      epoch: done.progress.epoch,
      loss: null,
      valMse: null,
      bestValMse: done.progress.bestValMse,
      stepsPerSec: 0,
      etaSec: null,
      status: 'failed',
    });
    return done;
  } finally {
    if (model) disposeModel(model);
    optimizer?.dispose();
  }
}
