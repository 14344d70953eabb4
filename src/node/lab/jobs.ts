import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointRef, EvaluationKind, EvaluationRecord, EvaluationSettings } from '../../core/protocol/evaluation';
import { allIndices, FlowingMnist } from '../../core/data/flowingMnist';
import { framesToTensor } from '../../core/data/tensor';
import { parseFlow } from '../../core/flows/flowKinds';
import { formatFlow, flowGrammar } from '../../core/flows/flowGrammar';
import { probeEquivariance } from '../../core/metrics/equivariance';
import { evaluateMse, lengthGeneralisation, velocityGeneralisation } from '../../core/metrics/evaluate';
import { makeSeq2SeqConfig, describeCell, isUnlifted, liftAxisOf, type CellConfig } from '../../core/nn/config';
import type { Flow } from '../../core/flows/flow';
import { createSeq2Seq, disposeModel, predict, type Seq2SeqModel } from '../../core/nn/seq2seq';
import { cellStep, zeroHidden } from '../../core/nn/cell';
import type { LabInfo, EvaluationResults, FramesDto, PredictionsDto, ProbeModelResult, ProbeResult, RunEstimate } from '../../core/protocol/service';
import type { ServiceArgs } from '../../core/protocol/serviceArgs';
import { DATASET_FACTS, type RunRecord, type TrainConfig } from '../../core/protocol/run';
import type { ModelConfig } from '../../core/nn/config';
import type { ParamMap } from '../../core/nn/params';
import { createClassifier, type ClassifierModel } from '../../core/nn/classifier';
import { classifyTrainStep } from '../../core/train/classifyStep';
import { accuracyPerVelocity, evaluateClassifier } from '../../core/metrics/classification';
import { trainStep } from '../../core/train/step';
import { InputError } from '../../core/util/errors';
import { BACKENDS, backendLine, selectBackend } from '../backend';
import { loadModelSafetensors } from '../checkpoint/safetensors';
import { loadMnist } from '../mnist';
import type { RunStore } from '../store/runStore';
import { classificationRunData, dataClassCount, dataOmegas, runData, splitBatch } from './data';
import { RotatingMnist } from '../../core/data/rotatingMnist';
import { angularVelocityGeneralisation } from '../../core/metrics/rotationGeneralisation';
import { cellConfigFromSpec } from '../../core/nn/cellSpec';
import { classifierConfigOf, modelConfigOf, runParamCount } from './trainJob';
import { estimateTrainingMemory } from '../../core/protocol/memory';
import { createAdam } from '../../core/train/adam';
import { loadUserSequences, type SequenceShape } from '../data/userSequences';

type AnyModel = { readonly config: ModelConfig; readonly params: ParamMap };

/**
 * A lifted model can only be probed with flows of its own kind (a translation FERNN lifts over pixel velocities, a
 * rotation FERNN over angular velocities); unlifted G-RNNs take either.
 */
export function checkFlowFits(flow: Flow, cell: CellConfig, field: string, label: string): void {
  if (isUnlifted(cell)) return;
  const lift = liftAxisOf(cell).kind;
  if (flow.kind !== lift)
    throw new InputError(
      field,
      `${flow.label} is a ${flow.kind} flow; ${label} is lifted over ${lift} velocities: probe it with a ${flowGrammar(lift).form} flow`,
    );
}

/**
 * Loads the best checkpoint of a run (else its last one), with which one it is and its step. A checkpoint file that
 * exists but cannot be read is reported as unreadable, never as missing. The caller disposes the model.
 */
export async function loadRunModel(
  store: RunStore,
  runId: string,
  only?: 'best' | 'last',
): Promise<{ model: AnyModel; which: 'best' | 'last'; checkpoint: CheckpointRef }> {
  const rec = await store.get(runId); // "no run X" rather than "no checkpoint" for a missing run
  const unreadable: string[] = [];
  for (const which of only ? [only] : (['best', 'last'] as const)) {
    const path = store.checkpointPath(runId, which);
    if (!existsSync(path)) continue;
    try {
      const m = await loadModelSafetensors(path);
      const saved = Number(m.metadata.step);
      const step = Number.isInteger(saved) && saved >= 0 ? saved : which === 'best' ? rec.progress.bestStep : rec.progress.checkpointStep;
      return { model: { config: m.config, params: m.params }, which, checkpoint: { which, step } };
    } catch (e) {
      unreadable.push(`${path} is unreadable (${(e as Error).message})`);
    }
  }
  if (unreadable.length) throw new InputError('checkpoint', `run ${runId}: ${unreadable.join('; ')}`);
  throw new InputError('checkpoint', `run ${runId} has no ${only ? `${only} ` : ''}checkpoint yet`);
}

/** As loadRunModel, for what only a frame predictor can do (probe, predictions, evaluation). */
async function loadRunPredictor(
  store: RunStore,
  runId: string,
  field: string,
  what: string,
  only?: 'best' | 'last',
): Promise<{ model: Seq2SeqModel; checkpoint: CheckpointRef }> {
  const { model, checkpoint } = await loadRunModel(store, runId, only);
  if (model.config.arch === 'seq2seq') return { model: model as Seq2SeqModel, checkpoint };
  disposeModel(model);
  throw new InputError(field, `run ${runId} is a classification run: ${what} needs a frame-prediction run`);
}

/** Test accuracy and accuracy per fixed test velocity of a classification run's best weights. */
async function evaluateClassificationJob(
  store: RunStore,
  rec: RunRecord,
  req: ServiceArgs<'evaluateRun'>,
  onProgress?: (done: number, total: number) => void,
): Promise<EvaluationResults> {
  const c = rec.config;
  const unsupported = req.kinds.filter((k) => k === 'length' || k === 'equivariance');
  if (unsupported.length) throw new InputError('kinds', `${unsupported.join(', ')} apply to frame-prediction runs; a classification run has test and velocity`);
  if (req.kinds.includes('velocity') && !DATASET_FACTS[c.dataset].velocityGrid)
    throw new InputError('kinds', `the velocity grid is built from Flowing MNIST; run ${rec.id} was trained on ${c.dataset}`);
  const { model, checkpoint } = await loadRunModel(store, req.id);
  const out: EvaluationResults = { runId: req.id, records: [] };
  const keep = recordKeeper(store, req.id, checkpoint, out.records!);
  try {
    const cls = model as ClassifierModel;
    const batchSize = Math.min(64, req.sequences);
    if (req.kinds.includes('test')) {
      const data = await classificationRunData(c, rec.seeds.data, undefined, ['test']); // KTH: decode the test videos only
      out.testAccuracy = await evaluateClassifier(cls, data.test, { sequences: req.sequences, batchSize, onProgress });
      await keep('test-accuracy', { sequences: req.sequences }, out.testAccuracy);
    }
    if (req.kinds.includes('velocity')) {
      const mnist = await loadMnist();
      const testDigits = { ...mnist.test, indices: allIndices(mnist.test.images.count) };
      out.velocityAccuracy = await accuracyPerVelocity(cls, testDigits, {
        range: req.velocityRange,
        sequences: req.sequences,
        batchSize,
        seed: rec.seeds.data + 2,
        imageSize: c.imageSize,
        seqLen: c.inputFrames,
        onProgress,
      });
      await keep('velocity-accuracy', { sequences: req.sequences, velocityRange: req.velocityRange }, out.velocityAccuracy);
    }
    return out;
  } finally {
    disposeModel(model);
  }
}

/** Adds one evaluation record per kind measured (never replacing an earlier one) and lists it in the results. */
function recordKeeper(store: RunStore, runId: string, checkpoint: CheckpointRef, into: EvaluationRecord[]) {
  return async (kind: EvaluationKind, settings: EvaluationSettings, result: unknown): Promise<void> => {
    into.push(await store.addEvaluation(runId, { kind, origin: 'evaluate', checkpoint, settings, result }));
  };
}

const toDto = async (t: tf.Tensor): Promise<FramesDto> => ({ shape: [...t.shape], data: Array.from(await t.data()) });

/** Evaluations of a run's best weights; each result is also stored in evals/<kind>.json. `req` was validated by the service. */
export async function evaluateJob(
  store: RunStore,
  req: ServiceArgs<'evaluateRun'>,
  onProgress?: (done: number, total: number) => void,
): Promise<EvaluationResults> {
  const rec = await store.get(req.id);
  await selectBackend(rec.config.backend);
  if (req.data !== undefined) return evaluateOnDataJob(store, rec, req, req.data, onProgress);
  if (rec.config.task === 'classification') return evaluateClassificationJob(store, rec, req, onProgress);
  const c = rec.config;
  // What applies follows from the dataset's facts (core/data/datasetKinds.ts): its motion, its evaluations.
  const data = DATASET_FACTS[c.dataset];
  const rotating = data.motion === 'rotation';
  const missing = req.kinds.filter((k) => (k === 'length' && !data.lengthCurve) || (k === 'velocity' && !data.velocityGrid));
  if (missing.length)
    throw new InputError(
      'kinds',
      `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not measured on ${data.label} (length generalisation on Flowing MNIST; ` +
        'velocity grids on the MNIST datasets): this run has ' +
        [
          'test',
          ...(data.velocityGrid ? [rotating ? 'velocity (angular velocities)' : 'velocity'] : []),
          ...(data.lengthCurve ? ['length'] : []),
          'equivariance',
        ].join(', '),
    );
  const { model, checkpoint } = await loadRunPredictor(store, req.id, 'id', 'this evaluation');
  const out: EvaluationResults = { runId: req.id, records: [] };
  const keep = recordKeeper(store, req.id, checkpoint, out.records!);
  try {
    const mnist = await loadMnist();
    const testDigits = { ...mnist.test, indices: allIndices(mnist.test.images.count) };
    const common = {
      sequences: req.sequences,
      batchSize: Math.min(64, req.sequences),
      seed: rec.seeds.data + 2,
      imageSize: c.imageSize,
      numDigits: c.numDigits,
      inputFrames: c.inputFrames,
      onProgress,
    };
    if (req.kinds.includes('test')) {
      const data = await runData(c, rec.seeds.data);
      out.test = await evaluateMse(model, data.test, {
        sequences: req.sequences,
        batchSize: common.batchSize,
        inputFrames: c.inputFrames,
        predFrames: c.predFrames,
        onProgress,
      });
      await keep('test', { sequences: req.sequences }, out.test);
    }
    if (req.kinds.includes('length')) {
      const r = await lengthGeneralisation(model, testDigits, { ...common, seqLens: req.seqLens, dataVRange: c.dataVRange });
      out.length = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v]));
      await keep('length', { sequences: req.sequences, seqLens: req.seqLens }, out.length);
    }
    if (req.kinds.includes('velocity') && rotating) {
      // The reference's gen_vel_list: every digit turning at one fixed omega, -50..50 step 10 by default.
      const omegas = Array.from({ length: 2 * req.velocityRange + 1 }, (_, i) => (i - req.velocityRange) * c.omegaStep);
      out.angular = await angularVelocityGeneralisation(model, testDigits, { ...common, omegas, predFrames: c.predFrames });
      await keep('angular-velocity', { sequences: req.sequences, velocityRange: req.velocityRange }, out.angular);
    } else if (req.kinds.includes('velocity')) {
      out.velocity = await velocityGeneralisation(model, testDigits, { ...common, range: req.velocityRange, predFrames: c.predFrames });
      await keep('velocity', { sequences: req.sequences, velocityRange: req.velocityRange }, out.velocity);
    }
    if (req.kinds.includes('equivariance')) {
      const test = rotating
        ? new RotatingMnist(
            { numDigits: c.numDigits, imageSize: c.imageSize, seqLen: c.inputFrames, angularVelocity: { kind: 'list', omegas: dataOmegas(c) } },
            testDigits,
            rec.seeds.data + 3,
          )
        : new FlowingMnist(
            { numDigits: c.numDigits, imageSize: c.imageSize, seqLen: c.inputFrames, velocity: { kind: 'range', range: c.dataVRange } },
            testDigits,
            rec.seeds.data + 3,
          );
      const x = framesToTensor(test.batch(0, 4));
      try {
        out.equivariance = [];
        // An omitted flow list means the run's own kind of motion: one velocity step of it.
        const flows = req.flows ?? [formatFlow(rotating ? { kind: 'rotation', omega: c.omegaStep } : { kind: 'translation', vx: 1, vy: 0 })];
        const parsed = flows.map((f) => parseFlow(f));
        for (const flow of parsed) checkFlowFits(flow, model.config.cell, 'flows', `run ${req.id} (${describeCell(model.config.cell)})`);
        for (const flow of parsed) out.equivariance.push(await probeEquivariance(model, x, flow, { predLen: c.predFrames }));
      } finally {
        x.dispose();
      }
      await keep('equivariance', { sequences: 4, flows: req.flows ?? [rotating ? `rotate:${c.omegaStep}` : 'translate:1,0'] }, out.equivariance);
    }
    return out;
  } finally {
    disposeModel(model);
  }
}

/** The frame size a run's model was trained on: its data file's (a user's .npy sets it), else imageSize square. */
export function runFrameSize(rec: RunRecord): { height: number; width: number } {
  const d = rec.sources?.data?.[0];
  if (d && d.shape.length === 4) return { height: d.shape[2], width: d.shape[3] };
  return { height: rec.config.imageSize, width: rec.config.imageSize };
}

/** What a user's sequences must be to go through a run's model as its own test sequences do. */
const runSequenceShape = (rec: RunRecord): SequenceShape => ({
  frames: { inputFrames: rec.config.inputFrames, predFrames: rec.config.predFrames },
  size: { ...runFrameSize(rec), what: `run ${rec.id}` },
});

const notPrediction = (rec: RunRecord, what: string): InputError =>
  new InputError('data', `run ${rec.id} is a classification run: ${what} on sequences from a file needs a frame-prediction run`);

/**
 * Test MSE and MSE per future step of a run's best weights on a user's sequences (the first `sequences` of the file,
 * in its order, batched as training's test evaluation is), recorded as a `data-test` evaluation whose settings name
 * the file (path, sha256, shape). The run's headline test figure is not touched. Nothing is written when the file is
 * refused.
 */
async function evaluateOnDataJob(
  store: RunStore,
  rec: RunRecord,
  req: ServiceArgs<'evaluateRun'>,
  data: string,
  onProgress?: (done: number, total: number) => void,
): Promise<EvaluationResults> {
  if (rec.config.task === 'classification') throw notPrediction(rec, 'an evaluation');
  const user = await loadUserSequences(data, 'data', runSequenceShape(rec));
  const { model, checkpoint } = await loadRunPredictor(store, req.id, 'id', 'this evaluation');
  try {
    const n = Math.min(req.sequences, user.count);
    const c = rec.config;
    const test = await evaluateMse(model, user.sequences, {
      sequences: n,
      batchSize: Math.min(64, n),
      inputFrames: c.inputFrames,
      predFrames: c.predFrames,
      onProgress,
    });
    const record = await store.addEvaluation(req.id, {
      kind: 'data-test',
      origin: 'evaluate',
      checkpoint,
      settings: { sequences: n, data: user.source },
      result: test,
    });
    return { runId: req.id, test, data: user.source, records: [record] };
  } finally {
    disposeModel(model);
  }
}

/** A single test digit at rest, [1, T, S, S, 1]. */
async function restingDigit(digit: number, imageSize: number, frames: number): Promise<tf.Tensor5D> {
  const mnist = await loadMnist();
  if (digit >= mnist.test.images.count) throw new InputError('digit', `must be < ${mnist.test.images.count}`);
  const gen = new FlowingMnist(
    { numDigits: 1, imageSize, seqLen: frames, velocity: { kind: 'fixed', velocity: { vx: 0, vy: 0 } } },
    { ...mnist.test, indices: [digit] },
    0,
  );
  return framesToTensor(gen.batch(0, 1));
}

/** The flow designer's preview: a test digit moved by the flow, [T, H, W]. */
export async function previewFlowJob(req: ServiceArgs<'previewFlow'>): Promise<FramesDto> {
  await selectBackend('cpu');
  const flow = parseFlow(req.flow);
  const x = await restingDigit(req.digit, req.imageSize, req.frames);
  const moved = flow.applyToSequence(x);
  const out = tf.reshape(moved, [req.frames, req.imageSize, req.imageSize]);
  const dto = await toDto(out);
  [x, moved, out].forEach((t) => t.dispose());
  return dto;
}

/**
 * The equivariance inspector: a test digit at rest as input u and its flowed version; per model the error per
 * timestep, and the hidden state of the flowed input per velocity slice over time (channel mean), where the
 * FERNN shows the moving digit at rest in the slice of its velocity.
 */
export async function probeJob(store: RunStore, req: ServiceArgs<'probeEquivariance'>): Promise<ProbeResult> {
  await selectBackend('auto');
  const flow = parseFlow(req.flow);
  let source: ProbeResult['source'];
  let x: tf.Tensor5D;
  if (req.data !== undefined) {
    // The first `steps` frames of one of the user's sequences, at the file's frame size.
    const user = await loadUserSequences(req.data, 'data', { minFrames: { frames: req.steps, what: `a probe of ${req.steps} timesteps` } });
    if (req.sequence >= user.count) throw new InputError('sequence', `${req.data} has ${user.count} sequences (0..${user.count - 1})`);
    const b = user.sequences.batch(req.sequence, 1);
    const [, t, h, w] = b.shape;
    x = tf.tidy(() => tf.slice(tf.tensor5d(b.frames, [1, t, h, w, 1]), [0, 0, 0, 0, 0], [1, req.steps, h, w, 1]));
    source = { ...user.source, sequence: req.sequence };
  } else {
    x = await restingDigit(req.digit, req.imageSize, req.steps);
  }
  const [, , sh, sw] = x.shape;
  const flowed = flow.applyToSequence(x);
  const models: ProbeModelResult[] = [];
  try {
    for (const spec of req.models) {
      let model: Seq2SeqModel;
      let label: string;
      if ('runId' in spec) {
        const rec = await store.get(spec.runId);
        model = (await loadRunPredictor(store, spec.runId, 'models', 'the equivariance probe')).model;
        // A run is known by its name (the id where it has none).
        label = `${rec.name || spec.runId} · ${describeCell(model.config.cell)}`;
      } else {
        const cell = cellConfigFromSpec({ kind: spec.kind, vRange: spec.vRange, hidden: spec.hidden, group: spec.group ?? 8, omegaStep: spec.omegaStep ?? 10 });
        model = createSeq2Seq(makeSeq2SeqConfig(cell), spec.seed);
        label = `${describeCell(model.config.cell)}, fresh (seed ${spec.seed})`;
      }
      try {
        checkFlowFits(flow, model.config.cell, 'flow', label);
        const report = await probeEquivariance(model, x, flow);
        const result: ProbeModelResult = {
          label,
          report,
          velocities: model.config.cell.velocities,
          ...(model.config.cell.omegas ? { omegas: model.config.cell.omegas } : {}),
        };
        if (req.withHidden) {
          const frames: tf.Tensor[] = [];
          let h = zeroHidden(model.config.cell, 1, sh, sw);
          for (let t = 0; t < req.steps; t++) {
            const u = tf.tidy(() => tf.reshape(tf.slice(flowed, [0, t, 0, 0, 0], [1, 1, sh, sw, 1]), [1, sh, sw, 1])) as tf.Tensor4D;
            const next = cellStep(model.config.cell, model.params, u, h);
            [u, h].forEach((k) => k.dispose());
            h = next;
            frames.push(tf.tidy(() => tf.mean(tf.squeeze(h, [0]), 3))); // [V, H, W]
          }
          const stacked = tf.stack(frames);
          result.hidden = await toDto(stacked);
          [stacked, h, ...frames].forEach((k) => k.dispose());
        }
        models.push(result);
      } finally {
        disposeModel(model);
      }
    }
    const input = tf.reshape(x, [req.steps, sh, sw]);
    const fl = tf.reshape(flowed, [req.steps, sh, sw]);
    const res: ProbeResult = { flow: flow.label, ...(source ? { source } : {}), input: await toDto(input), flowed: await toDto(fl), models };
    [input, fl].forEach((k) => k.dispose());
    return res;
  } finally {
    x.dispose();
    flowed.dispose();
  }
}

/** The motion of one generated sequence, per digit: velocities (Flowing MNIST) or angular velocities (Rotating MNIST). */
function motionOf(b: object): PredictionsDto['motions'][number] {
  if ('velocities' in b && b.velocities instanceof Int32Array) {
    const v = b.velocities;
    return { velocities: Array.from({ length: v.length / 2 }, (_, d) => ({ vx: v[2 * d], vy: v[2 * d + 1] })) };
  }
  if ('omegas' in b && b.omegas instanceof Float64Array) return { omegas: Array.from(b.omegas) };
  return {};
}

/**
 * Input, target and predicted frames of test sequences `first` .. `first + count - 1` (the same sequences whatever
 * the count, so "more samples" continues the list), with each sequence's motion, for the run's best or last weights.
 */
export async function predictionsJob(store: RunStore, req: ServiceArgs<'predictions'>): Promise<PredictionsDto> {
  const runId = req.id;
  const rec = await store.get(runId);
  await selectBackend(rec.config.backend);
  let user: Awaited<ReturnType<typeof loadUserSequences>> | undefined;
  let count = req.count;
  if (req.data !== undefined) {
    if (rec.config.task === 'classification') throw notPrediction(rec, 'showing predictions');
    user = await loadUserSequences(req.data, 'data', runSequenceShape(rec));
    if (req.first >= user.count) throw new InputError('first', `${req.data} has ${user.count} sequences (0..${user.count - 1})`);
    count = Math.min(req.count, user.count - req.first);
  }
  const { model, checkpoint } = await loadRunPredictor(store, runId, 'id', 'showing predictions', req.checkpoint);
  try {
    const source = user?.sequences ?? (await runData(rec.config, rec.seeds.data)).test;
    const sequences = Array.from({ length: count }, (_, i) => source.batch(req.first + i, 1));
    const [, t, h, w, c] = sequences[0].shape;
    const frames = new Float32Array(count * t * h * w * c);
    sequences.forEach((q, i) => frames.set(q.frames, i * q.frames.length));
    const b = splitBatch({ frames, shape: [count, t, h, w, c] }, rec.config.inputFrames);
    const x = tf.tensor5d(b.inputs, b.inputShape);
    const y = tf.tensor5d(b.targets, b.targetShape);
    const p = predict(model, x, rec.config.predFrames);
    const sq = (k: tf.Tensor5D) => tf.squeeze(k, [4]);
    const [xi, yi, pi] = [sq(x), sq(y), sq(p)];
    const out: PredictionsDto = {
      runId,
      checkpoint,
      first: req.first,
      ...(user ? { source: user.source } : {}),
      inputs: await toDto(xi),
      targets: await toDto(yi),
      predictions: await toDto(pi),
      motions: sequences.map(motionOf),
    };
    [x, y, p, xi, yi, pi].forEach((k) => k.dispose());
    return out;
  } finally {
    disposeModel(model);
  }
}

/** Times a few real training steps of the config on its backend and extrapolates the run's duration. */
export async function estimateJob(config: TrainConfig): Promise<RunEstimate> {
  const backend = await selectBackend(config.backend);
  // Known before anything is allocated: a config beyond the backend's memory is not timed (it would abort).
  const classes = config.task === 'classification' ? await dataClassCount(config) : 0;
  const memory = estimateTrainingMemory(config, backend.name, runParamCount(config, classes || undefined));
  if (!memory.fits) {
    return { backend: backend.name, backendDetail: backend.detail, msPerStep: 0, totalSec: 0, basis: memory.basis, warning: backend.warning, memory };
  }
  const classification = config.task === 'classification';
  const model = classification ? createClassifier(classifierConfigOf(config, classes), 0) : createSeq2Seq(modelConfigOf(config), 0);
  const opt = createAdam(config.lr);
  const shape = [config.batch, config.inputFrames, config.imageSize, config.imageSize, 1] as const;
  const x = tf.randomUniform([...shape]) as tf.Tensor5D;
  const y = tf.randomUniform([config.batch, config.predFrames, config.imageSize, config.imageSize, 1]) as tf.Tensor5D;
  const labels = Int32Array.from({ length: config.batch }, (_, i) => i % classes);
  const times: number[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = classification
        ? classifyTrainStep(model as ClassifierModel, opt, x, labels, { clipNorm: config.clipNorm })
        : trainStep(model as Seq2SeqModel, opt, x, y, { clipNorm: config.clipNorm });
      await r.loss.data();
      tf.dispose(Object.values(r) as tf.Tensor[]);
      times.push(performance.now() - t0);
      if (times[0] > 20_000) break; // one slow step is estimate enough
    }
  } finally {
    [x, y].forEach((t) => t.dispose());
    opt.dispose();
    disposeModel(model);
  }
  const ms = times.length > 1 ? Math.min(...times.slice(1)) : times[0];
  const valCost = Math.ceil(config.steps / config.valEvery) * (config.valSequences / config.batch) * ms * 0.3;
  return {
    backend: backend.name,
    backendDetail: backend.detail,
    msPerStep: ms,
    totalSec: (config.steps * ms + valCost) / 1000,
    basis: `${times.length} timed training step(s) on ${backend.name}, plus validation`,
    warning: backend.warning,
    memory,
  };
}

/** Which backends can start here, each with its detail or the reason it cannot, and what 'auto' chooses. */
export async function backendsJob(): Promise<Pick<LabInfo, 'backends' | 'auto'>> {
  const a = await selectBackend('auto');
  const skips = a.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  const auto = { name: a.name, detail: `${backendLine(a)}${skips ? ` (skipped ${skips})` : ''}`, gpu: a.gpu };
  const out: LabInfo['backends'] = [];
  for (const name of BACKENDS) {
    try {
      const r = await selectBackend(name);
      out.push({ name, available: true, gpu: r.gpu, detail: r.detail + (r.warning ? ` (${r.warning})` : '') });
    } catch (e) {
      out.push({ name, available: false, detail: (e as Error).message.replace(/^backend \w+ is not available: \w+: /, '') });
    }
  }
  return { backends: out, auto };
}
