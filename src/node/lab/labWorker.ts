/**
 * Worker-thread entry of the lab service (built as dist/labWorker.js): one worker per training run or per job
 * (evaluations, probes, previews, predictions, estimates), so training and evaluation never stall the caller's
 * event loop (the Electron main process, the web host, the CLI's progress bar). Tensors stay in the worker; only
 * JSON crosses.
 */
import { parentPort } from 'node:worker_threads';
import { InputError } from '../../core/util/errors';
import { RunStore } from '../store/runStore';
import type { FromWorker, ToWorker } from './messages';
import { runTrainJob } from './trainJob';
import { setAdapterProbe } from '../backend';
import { backendsJob, estimateJob, evaluateJob, predictionsJob, previewFlowJob, probeJob } from './jobs';
import type { ServiceArgs } from '../../core/protocol/serviceArgs';
import type { TrainConfig } from '../../core/protocol/run';

if (!parentPort) throw new Error('labWorker must run in a worker thread');
const port = parentPort;
const send = (m: FromWorker): void => port.postMessage(m);
let stop: { interrupted: boolean } | null = null;

port.on('message', (m: ToWorker) => {
  if (m.type === 'stop') {
    stop = { interrupted: m.interrupted };
    return;
  }
  void handle(m).then(
    (value) => send({ type: 'result', value }),
    (e: unknown) =>
      send(
        e instanceof InputError
          ? { type: 'error', message: e.message.slice(e.field.length + 2), field: e.field }
          : { type: 'error', message: e instanceof Error ? e.message : String(e) },
      ),
  );
});

async function handle(m: Exclude<ToWorker, { type: 'stop' }>): Promise<unknown> {
  const store = new RunStore(m.storeRoot);
  if (m.adapter) setAdapterProbe(m.adapter);
  if (m.type === 'train') {
    return runTrainJob(store, m.runId, m.resume, {
      wasmThreads: m.wasmThreads,
      decoded: m.decoded,
      emit: (event) => send({ type: 'progress', event }),
      shouldStop: () => stop !== null,
      interrupted: () => stop?.interrupted ?? false,
    });
  }
  // Jobs' args were validated by the service (core/protocol/serviceArgs.ts) before they were sent here. Jobs report
  // no progress: nothing reads it (a job's caller waits for its one result).
  switch (m.kind) {
    case 'evaluate':
      return evaluateJob(store, m.args as ServiceArgs<'evaluateRun'>);
    case 'probe':
      return probeJob(store, m.args as ServiceArgs<'probeEquivariance'>);
    case 'preview':
      return previewFlowJob(m.args as ServiceArgs<'previewFlow'>);
    case 'predictions':
      return predictionsJob(store, m.args as ServiceArgs<'predictions'>);
    case 'estimate':
      return estimateJob(m.args as TrainConfig);
    case 'backends':
      return backendsJob();
  }
}
