import { estimateTrainingMemory } from '../../core/protocol/memory';
import type { TrainConfig } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { runParamCount } from './trainJob';

/**
 * The one memory check before training exists: a config whose estimated peak (core/protocol/memory.ts) is beyond
 * its backend's limit (wasm: 4 GiB) is refused before a run, a continuation or a sweep's members are written, let
 * alone allocated. Every path that starts training calls it: the lab service's startRun and trainLonger (through
 * `LabService.checkMemory`, which resolves 'auto' the way the worker does), its createSweep, and the CLI's sweeps
 * (`sweep run`, `reproduce --seeds`); `train` and `reproduce` go through startRun.
 * @param auto the backend 'auto' resolves to where the run will train, or null where that is not known here (a Slurm
 *   node): then only a backend asked for by name is checked.
 * @param label what the config is (a sweep member), put before the message.
 * @param classes the classes of a classification run's data where they name their own (class folders): the head's size.
 * @throws InputError(field, ...) naming the limit, the estimate and what fits (a smaller batch, a GPU backend).
 */
export function refuseOverMemory(config: TrainConfig, auto: string | null, field: string, label?: string, classes?: number): void {
  const backend = config.backend === 'auto' ? auto : config.backend;
  if (backend === null) return;
  const memory = estimateTrainingMemory(config, backend, runParamCount(config, classes));
  if (memory.fits) return;
  const message = memory.message ?? `the run does not fit in the ${backend} backend's memory`;
  throw new InputError(field, label ? `${label}: ${message}` : message);
}
