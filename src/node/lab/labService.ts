import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ProgressEvent, RunRecord, TrainConfig } from '../../core/protocol/run';
import {
  type EvaluationResults,
  type FlowPreset,
  type FramesDto,
  type ILabService,
  type LabInfo,
  type PredictionsDto,
  type ProbeResult,
  type RunDetail,
  type RunEstimate,
  type RunList,
} from '../../core/protocol/service';
import { flowPresetSchema } from '../../core/protocol/service';
import { parseServiceArgs } from '../../core/protocol/serviceArgs';
import { InputError } from '../../core/util/errors';
import { RunStore } from '../store/runStore';
import { latestByKind } from '../store/evaluations';
import { writeFileAtomic } from '../store/atomicFile';
import type { FromWorker, JobKind, ToWorker } from './messages';
import { runParamCount } from './trainJob';
import { markContinuation } from './trainLonger';
import { dataClassCount, walkRunData } from './data';
import { checkRunSources } from './runSources';
import type { DecodedFolders } from '../data/datasets/loader';
import { refuseOverMemory } from './memoryCheck';
import { probeWebgpuAdapter, type AdapterProbe } from '../backend';
import { wasmThreadsForThisMachine, type ThreadChoice } from '../threadBudget';
import { createSweepMethods, type SweepMethods } from '../sweeps/sweepService';
import type { TaskCommand } from '../sweeps/slurm';

export const LAB_VERSION = '0.1.0';

export interface LabServiceOptions {
  storeRoot: string;
  shell: LabInfo['shell'];
  /** Built worker entry (dist/labWorker.js); found next to this bundle or in the repo's dist/ by default. */
  workerPath?: string;
  /** Saved flow presets; default: flows.json next to the store folder. */
  flowsFile?: string;
  /** How long a stop waits for the current step and checkpoint before the worker is terminated. */
  stopTimeoutMs?: number;
  /**
   * Trainings the caller will run at once (`reproduce --parallel`, a sweep): each run's share of the CPU cores for
   * wasm is planned for that many, so the first ones do not take every core (default 1; more running raise it).
   */
  concurrentRuns?: number;
  /** What Slurm array tasks of the app's sweeps run (default: findTaskCommand in sweeps/sweepService.ts; null: no Slurm). */
  sweepTaskCommand?: TaskCommand | null;
}

export type LabService = ILabService & {
  readonly store: RunStore;
  /** Stops every running training (checkpointed, marked interrupted) and ends the workers. */
  dispose(): Promise<void>;
  /** Resolves when the run's training worker has ended (immediately if none). */
  whenIdle(id: string): Promise<void>;
  /**
   * The one memory check (memoryCheck.ts) for a config trained by this lab, with 'auto' resolved as the worker does:
   * throws InputError(field, ...) when its estimated peak is beyond the backend's limit.
   * @param classes a classification config's class count where the caller has it (dataClassCount); otherwise its data
   *   are walked here for it (users' class folders).
   */
  checkMemory(config: TrainConfig, field?: string, label?: string, classes?: number): Promise<void>;
};

/** The frames' buffers of decoded clips, each once: what a postMessage moves instead of copying. */
const decodedBuffers = (decoded: DecodedFolders): ArrayBuffer[] => [
  ...new Set(Object.values(decoded).flatMap((clips) => clips.map((c) => c.video.frames.buffer as ArrayBuffer))),
];

function defaultWorkerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'labWorker.js')];
  for (let dir = here, i = 0; i < 6; i++, dir = path.dirname(dir)) candidates.push(path.join(dir, 'dist', 'labWorker.js'));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the training worker is not built (looked for ${candidates[0]}); run npm run build`);
  return found;
}

interface TrainingHandle {
  worker: Worker;
  done: Promise<void>;
  /** XNNPACK threads given to the run (0 until chosen). */
  threads: number;
}

/**
 * The lab service on Node: a run store on disk, one worker thread per training run and per heavy job.
 * The service boundary: every argument is validated here, once (parseServiceArgs; callers may be remote), so
 * transports pass through what they receive and workers trust what they are sent.
 */
export async function createLabService(opts: LabServiceOptions): Promise<LabService> {
  const store = new RunStore(opts.storeRoot);
  await store.init();
  const workerPath = path.resolve(opts.workerPath ?? defaultWorkerPath());
  const flowsFile = opts.flowsFile ?? path.join(path.dirname(store.root), 'flows.json');
  const stopTimeoutMs = opts.stopTimeoutMs ?? 120_000;
  const listeners = new Set<(e: ProgressEvent) => void>();
  const training = new Map<string, TrainingHandle>();
  let backends: Pick<LabInfo, 'backends' | 'auto'> | null = null;

  let sweeps: SweepMethods | null = null;
  let disposed = false;
  const emit = (e: ProgressEvent) => {
    const member = sweeps?.memberOf(e.runId);
    const event = member ? { ...e, sweep: member } : e;
    listeners.forEach((l) => l(event));
  };

  const spawn = (): Worker => new Worker(workerPath, { resourceLimits: { maxOldGenerationSizeMb: 8192 } });

  // Dawn prints native warnings when it looks for adapters: the probe runs once, in a child, and workers get its answer.
  let adapter: Promise<AdapterProbe> | null = null;
  const probe = (): Promise<AdapterProbe> => (adapter ??= probeWebgpuAdapter());

  // Thread choices one after another, so each sees the threads the previous runs were given.
  let choosing: Promise<unknown> = Promise.resolve();
  const chooseThreads = (id: string): Promise<ThreadChoice | undefined> => {
    const next = choosing.then(async () => {
      const others = [...training].filter(([k]) => k !== id);
      const labThreads = others.reduce((n, [, h]) => n + h.threads, 0);
      const choice = await wasmThreadsForThisMachine({ labThreads, concurrentRuns: Math.max(opts.concurrentRuns ?? 1, others.length + 1) });
      const h = training.get(id);
      if (h) h.threads = choice.threads;
      return choice;
    });
    // A bad FERNN_WASM_THREADS: the worker's own selectBackend fails the run with the message.
    const settled = next.catch(() => undefined);
    choosing = settled;
    return settled;
  };

  /** Runs one job in a fresh worker and resolves with its result. */
  const job = <T>(kind: JobKind, args: unknown): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const w = spawn();
      let settled = false;
      w.on('message', (m: FromWorker) => {
        if (m.type === 'result') {
          settled = true;
          resolve(m.value as T);
          void w.terminate();
        } else if (m.type === 'error') {
          settled = true;
          reject(m.field ? new InputError(m.field, m.message) : new Error(m.message));
          void w.terminate();
        }
      });
      w.on('error', (e) => {
        if (!settled) reject(e);
        settled = true;
      });
      w.on('exit', (code) => {
        if (!settled) reject(new Error(`the ${kind} worker exited with code ${code} before answering`));
        settled = true;
      });
      void probe().then((a) => w.postMessage({ type: 'job', storeRoot: store.root, kind, args, adapter: a } satisfies ToWorker));
    });

  /** @param decoded clips startRun's inspect decoded: moved to the worker (their buffers transferred, not copied). */
  const startTraining = (id: string, resume: boolean, decoded?: DecodedFolders): void => {
    const w = spawn();
    let answered = false;
    const done = new Promise<void>((resolve) => {
      w.on('message', (m: FromWorker) => {
        if (m.type === 'progress') emit(m.event);
        else if (m.type === 'result' || m.type === 'error') {
          answered = true;
          if (m.type === 'error') void recordDeath(id, m.message);
          void w.terminate();
        }
      });
      w.on('error', (e) => {
        if (!answered) void recordDeath(id, e.message);
        answered = true;
      });
      w.on('exit', (code) => {
        training.delete(id);
        const finish = answered ? Promise.resolve() : recordDeath(id, `the training worker exited with code ${code}`);
        void finish.finally(resolve);
      });
    });
    training.set(id, { worker: w, done, threads: 0 });
    void Promise.all([probe(), chooseThreads(id)]).then(([a, wasmThreads]) =>
      w.postMessage(
        {
          type: 'train',
          storeRoot: store.root,
          runId: id,
          resume,
          adapter: a,
          ...(wasmThreads ? { wasmThreads } : {}),
          ...(decoded ? { decoded } : {}),
        } satisfies ToWorker,
        decoded ? decodedBuffers(decoded) : [],
      ),
    );
  };

  /** A worker that died without releasing its run: record why, so the run never hangs as 'running'. */
  const recordDeath = async (id: string, message: string): Promise<void> => {
    try {
      const r = await store.get(id);
      if (r.status === 'running' || r.status === 'queued' || r.status === 'interrupted') {
        const rec = await store.release(id, 'failed', /memory/i.test(message) ? 'out_of_memory' : 'worker_died', message);
        emit({
          runId: id,
          step: rec.progress.step,
          totalSteps: rec.config.steps,
          epoch: rec.progress.epoch,
          loss: null,
          valMse: null,
          bestValMse: rec.progress.bestValMse,
          stepsPerSec: 0,
          etaSec: null,
          status: 'failed',
        });
      }
    } catch {
      // the run was deleted meanwhile
    }
  };

  const stopTraining = async (id: string, interrupted: boolean): Promise<void> => {
    const h = training.get(id);
    if (!h) return;
    h.worker.postMessage({ type: 'stop', interrupted } satisfies ToWorker);
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), stopTimeoutMs).unref());
    if ((await Promise.race([h.done.then(() => 'done' as const), timeout])) === 'timeout') {
      await h.worker.terminate();
      await h.done;
      const r = await store.get(id).catch(() => null);
      if (r && (r.status === 'failed' || r.status === 'running')) {
        await store.update(id, (x) => ({
          ...x,
          endReason: interrupted ? 'interrupted' : 'cancelled',
          endMessage: `stopped by force after ${stopTimeoutMs / 1000} s; resume from the last checkpoint (step ${x.progress.checkpointStep ?? 0})`,
        }));
        await store.release(id, interrupted ? 'interrupted' : 'cancelled', interrupted ? 'interrupted' : 'cancelled');
      }
    }
  };

  const readFlows = async (): Promise<FlowPreset[]> => {
    try {
      const raw = JSON.parse(await readFile(flowsFile, 'utf8')) as unknown;
      return Array.isArray(raw) ? raw.filter((f) => flowPresetSchema.safeParse(f).success) : [];
    } catch {
      return [];
    }
  };

  const service: LabService = {
    store,
    async info(raw?: unknown) {
      parseServiceArgs('info', raw);
      backends ??= await job<Pick<LabInfo, 'backends' | 'auto'>>('backends', null);
      return { version: LAB_VERSION, storeRoot: store.root, ...backends, shell: opts.shell };
    },
    async listRuns(raw?: unknown): Promise<RunList> {
      parseServiceArgs('listRuns', raw);
      return store.listSummaries();
    },
    async getRun(raw): Promise<RunDetail> {
      const { id } = parseServiceArgs('getRun', raw);
      const run = await store.get(id);
      const [{ records }, evaluations] = await Promise.all([store.readMetrics(id), store.readEvaluations(id)]);
      return { run, metrics: records, evaluations, evals: latestByKind(evaluations) };
    },
    async startRun(raw): Promise<RunRecord> {
      const req = parseServiceArgs('startRun', raw);
      const config = req.config;
      // A run that cannot fit its backend's memory (the wasm heap) is refused before it exists.
      // Its data's folders are walked once (names only): classes of data that name their own (users' class folders:
      // the folders) size the classifier's head, for the memory check and the run's parameter count.
      const walk = await walkRunData(config);
      const classes = config.task === 'classification' ? await dataClassCount(config, walk) : undefined;
      await service.checkMemory(config, undefined, undefined, classes);
      // User data and a start checkpoint are checked before the run exists: bad ones leave nothing in the store. What
      // the check decoded (users' clip or class folders) goes to the run's worker, which then does not decode it again.
      const { sources, decoded } = await checkRunSources(config, walk, { decoded: true });
      const rec = await store.create({
        config,
        name: req.name,
        ...(sources ? { sources } : {}),
        seeds: { init: config.seed, data: config.seed + 1 },
        params: runParamCount(config, classes),
        versions: { 'fernn-lab': LAB_VERSION, node: process.versions.node, '@tensorflow/tfjs-core': '4.22.0', os: `${os.platform()} ${os.release()}` },
      });
      startTraining(rec.id, false, decoded);
      return rec;
    },
    async stopRun(raw): Promise<RunRecord> {
      const { id } = parseServiceArgs('stopRun', raw);
      const r = await store.get(id);
      if (!training.has(id)) {
        if (r.status === 'running') throw new InputError('id', `run ${id} is trained by another process (pid ${r.owner?.pid}); stop it there`);
        throw new InputError('id', `run ${id} is not running (status ${r.status})`);
      }
      await stopTraining(id, false);
      return store.get(id);
    },
    async resumeRun(raw): Promise<RunRecord> {
      const { id } = parseServiceArgs('resumeRun', raw);
      const r = await store.get(id);
      if (training.has(id) || r.status === 'running') throw new InputError('id', `run ${id} is already running`);
      if (r.status === 'completed')
        throw new InputError('id', `run ${id} has completed (${r.progress.step} steps); to continue it, train it longer to a new total of steps`);
      if (r.progress.checkpointStep === null) {
        // Nothing saved yet: start over from step 0 with the same seeds.
        startTraining(id, false);
      } else {
        startTraining(id, true);
      }
      return store.get(id);
    },
    async trainLonger(raw): Promise<RunRecord> {
      const { id, steps } = parseServiceArgs('trainLonger', raw);
      if (training.has(id)) throw new InputError('id', `run ${id} is already running`);
      // Continued here, on this machine's backend: refused before run.json records a continuation.
      await service.checkMemory((await store.get(id)).config, 'id', `run ${id} cannot train here`);
      await markContinuation(store, id, steps);
      startTraining(id, true);
      return store.get(id);
    },
    async deleteRun(raw) {
      const { id } = parseServiceArgs('deleteRun', raw);
      if (training.has(id)) await stopTraining(id, false);
      await store.remove(id);
      return { deleted: id };
    },
    async evaluateRun(raw): Promise<EvaluationResults> {
      const req = parseServiceArgs('evaluateRun', raw);
      return job<EvaluationResults>('evaluate', req);
    },
    async estimateRun(raw): Promise<RunEstimate> {
      const { config } = parseServiceArgs('estimateRun', raw);
      return job<RunEstimate>('estimate', config);
    },
    async probeEquivariance(raw): Promise<ProbeResult> {
      return job<ProbeResult>('probe', parseServiceArgs('probeEquivariance', raw));
    },
    async previewFlow(raw): Promise<FramesDto> {
      return job<FramesDto>('preview', parseServiceArgs('previewFlow', raw));
    },
    async predictions(raw): Promise<PredictionsDto> {
      const req = parseServiceArgs('predictions', raw);
      await store.get(req.id);
      return job<PredictionsDto>('predictions', req);
    },
    async listFlows(raw?: unknown) {
      parseServiceArgs('listFlows', raw);
      return readFlows();
    },
    async saveFlow(raw) {
      const preset = parseServiceArgs('saveFlow', raw);
      const flows = (await readFlows()).filter((f) => f.name !== preset.name);
      flows.push(preset);
      flows.sort((a, b) => a.name.localeCompare(b.name));
      await writeFileAtomic(flowsFile, JSON.stringify(flows, null, 2));
      return flows;
    },
    async deleteFlow(raw) {
      const { name } = parseServiceArgs('deleteFlow', raw);
      const flows = await readFlows();
      if (!flows.some((f) => f.name === name)) throw new InputError('name', `no saved flow named "${name}"`);
      const rest = flows.filter((f) => f.name !== name);
      await writeFileAtomic(flowsFile, JSON.stringify(rest, null, 2));
      return rest;
    },
    async listSweeps(raw?: unknown) {
      parseServiceArgs('listSweeps', raw);
      return sweepMethods().listSweeps();
    },
    async getSweep(raw) {
      return sweepMethods().getSweep(parseServiceArgs('getSweep', raw).id);
    },
    async createSweep(raw) {
      return sweepMethods().createSweep(parseServiceArgs('createSweep', raw));
    },
    async cancelSweep(raw) {
      return sweepMethods().cancelSweep(parseServiceArgs('cancelSweep', raw).id);
    },
    async resumeSweep(raw) {
      return sweepMethods().resumeSweep(parseServiceArgs('resumeSweep', raw).id);
    },
    async sweepExecutors(raw?: unknown) {
      parseServiceArgs('sweepExecutors', raw);
      return sweepMethods().sweepExecutors();
    },
    onDidProgress(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async whenIdle(id) {
      await training.get(id)?.done;
    },
    async checkMemory(config, field = 'config.batch', label, classes) {
      // 'auto' resolves here as in the worker (the backends job answers what auto picks); no job for a named backend.
      const auto = config.backend === 'auto' ? ((backends ??= await job<Pick<LabInfo, 'backends' | 'auto'>>('backends', null)).auto?.name ?? null) : null;
      refuseOverMemory(config, auto, field, label, config.task === 'classification' ? (classes ?? (await dataClassCount(config))) : undefined);
    },
    async dispose() {
      disposed = true;
      await Promise.all([...training.keys()].map((id) => stopTraining(id, true)));
      // The pools' members ended interrupted, and the pools start no more (they see disposed).
      await sweeps?.whenIdle();
      listeners.clear();
    },
  };
  const sweepMethods = (): SweepMethods => (sweeps ??= createSweepMethods(service, { taskCommand: opts.sweepTaskCommand, stopped: () => disposed }));
  return service;
}
