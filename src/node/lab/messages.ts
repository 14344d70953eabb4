import type { ProgressEvent } from '../../core/protocol/run';
import type { AdapterProbe } from '../backend';
import type { ThreadChoice } from '../threadBudget';
import type { DecodedFolders } from '../data/datasets/loader';

/** What the service asks a worker to do. Jobs other than 'train' answer once with a result. */
export type JobKind = 'evaluate' | 'probe' | 'preview' | 'predictions' | 'estimate' | 'backends';

export type ToWorker =
  | {
      type: 'train';
      storeRoot: string;
      runId: string;
      resume: boolean;
      /** The service's WebGPU adapter probe (once per process), so the worker does not start Dawn to look. */
      adapter?: AdapterProbe;
      /** XNNPACK threads this run may use on wasm: the service shares the cores among its concurrent runs. */
      wasmThreads?: ThreadChoice;
      /** The clips startRun's inspect decoded (users' clip or class folders), moved here (their buffers transferred), not decoded again. */
      decoded?: DecodedFolders;
    }
  | { type: 'job'; storeRoot: string; kind: JobKind; args: unknown; adapter?: AdapterProbe }
  | { type: 'stop'; interrupted: boolean };

export type FromWorker = { type: 'progress'; event: ProgressEvent } | { type: 'result'; value: unknown } | { type: 'error'; message: string; field?: string };
