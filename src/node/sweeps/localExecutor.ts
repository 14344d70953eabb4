import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LabService } from '../lab/labService';
import { runMember, type MemberOutcome } from './member';
import { CANCEL_FILE, memberRunId, type SweepRecord } from './sweepStore';

/**
 * Default local parallelism: one run per core, divided by the threads each run uses (FERNN_WASM_THREADS on wasm),
 * at least 1.
 */
export function defaultParallelism(threadsPerRun: number = Number(process.env.FERNN_WASM_THREADS ?? 1) || 1): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, threadsPerRun)));
}

/** How a member of the pool ended: runMember's outcome, or the error it threw (the member's run, if any, is failed). */
export type PoolOutcome = MemberOutcome | { kind: 'error'; message: string };

/** A member whose runMember threw: its run, if it was left queued, ends failed with the message (never queued forever). */
async function memberError(lab: LabService, id: string, e: unknown): Promise<PoolOutcome> {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0];
  const run = await lab.store.get(id).catch(() => null);
  if (run?.status === 'queued') await lab.store.release(id, 'failed', 'error', message).catch(() => undefined);
  return { kind: 'error', message };
}

export interface LocalSweepOptions {
  parallel: number;
  /** Members to run (default: all). */
  indices?: number[];
  /** Polled before each member starts: true leaves the rest queued (the sweep can be resumed). */
  stopped?(): boolean;
  onMemberStart?(index: number): void;
  onMemberEnd?(index: number, outcome: PoolOutcome): void;
  /** How often the pool looks for the sweep's `cancelled` marker (written by `sweep cancel` in any process). */
  cancelPollMs?: number;
}

export interface LocalSweep {
  /** Resolves when every member of the pool has ended or was left queued. */
  done: Promise<Map<number, PoolOutcome>>;
  /** Cancels: queued members do not start, running ones stop at a checkpoint and end `cancelled` (resumable). */
  cancel(): Promise<void>;
  /** Indices of the members training now. */
  running(): number[];
}

/**
 * The local executor: a bounded pool of the lab service's training workers; queued members start as others end.
 * No scheduler of ours beyond that: each member is claimed, so a second pool on the same sweep (or a Slurm task)
 * never trains a member twice. A `cancelled` marker in the sweep folder (from `sweep cancel` or the service's
 * cancelSweep, in this process or another) cancels the pool; stopping the lab instead (Ctrl-C, shutdown) leaves the
 * running members interrupted.
 */
export function startLocalSweep(lab: LabService, sweepDir: string, sweep: SweepRecord, opts: LocalSweepOptions): LocalSweep {
  const queue = [...(opts.indices ?? sweep.members.map((m) => m.index))];
  const outcomes = new Map<number, PoolOutcome>();
  const training = new Set<number>();
  let cancelled = false;
  const marked = () => existsSync(join(sweepDir, CANCEL_FILE));
  const stopped = () => cancelled || (opts.stopped?.() ?? false) || marked();
  const stop = (i: number) =>
    lab.stopRun({ id: memberRunId(sweep.id, i) }).then(
      () => undefined,
      () => undefined,
    );
  const cancel = async (): Promise<void> => {
    cancelled = true;
    await Promise.all([...training].map(stop));
  };
  const watch = setInterval(() => {
    if (!cancelled && marked()) void cancel();
  }, opts.cancelPollMs ?? 500);
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      if (stopped()) return;
      opts.onMemberStart?.(i);
      const index = i;
      // A member that throws (its store folder unwritable, a bug) ends alone: the pool goes on with the others.
      const outcome: PoolOutcome = await runMember(lab, sweepDir, sweep, index, {
        job: null,
        stopped,
        get stoppedAs() {
          return cancelled || marked() ? ('cancelled' as const) : ('interrupted' as const);
        },
        onTraining: () => {
          training.add(index);
          if (cancelled) void stop(index);
        },
      }).catch((e: unknown) => memberError(lab, memberRunId(sweep.id, index), e));
      training.delete(index);
      outcomes.set(index, outcome);
      opts.onMemberEnd?.(index, outcome);
    }
  };
  const done = Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length)) }, worker))
    .then(() => outcomes)
    .finally(() => clearInterval(watch));
  return { done, cancel, running: () => [...training] };
}

/** Runs a local sweep to its end (see startLocalSweep). */
export function runLocalSweep(lab: LabService, sweepDir: string, sweep: SweepRecord, opts: LocalSweepOptions): Promise<Map<number, PoolOutcome>> {
  return startLocalSweep(lab, sweepDir, sweep, opts).done;
}
