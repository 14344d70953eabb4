import type { RunRecord } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import type { RunStore } from '../store/runStore';

/**
 * "Train longer", the part before training: checks that the run has completed and that `steps` (the new total) is
 * above the steps it has trained, then, in the same write of run.json, raises config.steps, records the continuation
 * (`continuations`) and queues the run. The training itself is the resume path (runTrainJob with resume): it loads
 * the last checkpoint with the optimizer and loop state, so the weights continue exactly as one uninterrupted run of
 * `steps` steps would.
 * @throws InputError('id', ...) when the run is not completed (or has no checkpoint); InputError('steps', ...) when
 *   `steps` is not above the steps trained.
 */
export async function markContinuation(store: RunStore, id: string, steps: number, at: string = new Date().toISOString()): Promise<RunRecord> {
  return store.update(id, (r) => {
    if (r.status !== 'completed') {
      const hint = ['cancelled', 'interrupted', 'failed'].includes(r.status) ? '; resume it to finish its steps first' : '';
      throw new InputError('id', `run ${id} is ${r.status}: only a completed run can train longer${hint}`);
    }
    const from = r.progress.checkpointStep;
    if (from === null) throw new InputError('id', `run ${id} has no checkpoint to continue from`);
    if (!Number.isSafeInteger(steps) || steps <= from) throw new InputError('steps', `must be above the ${from} steps run ${id} has trained; got ${steps}`);
    const { endReason, endMessage: _message, ...rest } = r;
    // A run that stopped early would stop again at its next validation: its early-stop count starts afresh.
    const continuation = { fromStep: from, toStep: steps, at, ...(endReason === 'early_stop' ? { earlyStopReset: true } : {}) };
    return { ...rest, status: 'queued', config: { ...r.config, steps }, continuations: [...(r.continuations ?? []), continuation] };
  });
}
