import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LabService } from '../lab/labService';
import { runMember, type MemberOutcome } from './member';
import { CANCEL_FILE, type SweepRecord } from './sweepStore';

/**
 * Default local parallelism: one run per core, divided by the threads each run uses (FERNN_WASM_THREADS on wasm),
 * at least 1.
 */
export function defaultParallelism(threadsPerRun: number = Number(process.env.FERNN_WASM_THREADS ?? 1) || 1): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, threadsPerRun)));
}

export interface LocalSweepOptions {
  parallel: number;
  /** Members to run (default: all). */
  indices?: number[];
  /** Polled before each member starts: true leaves the rest queued (the sweep can be resumed). */
  stopped?(): boolean;
  onMemberStart?(index: number): void;
  onMemberEnd?(index: number, outcome: MemberOutcome): void;
}

/**
 * The local executor: a bounded pool of the lab service's training workers; queued members start as others end.
 * No scheduler of ours beyond that: each member is claimed, so a second pool on the same sweep (or a Slurm task)
 * never trains a member twice. A `cancelled` marker in the sweep folder stops queued members from starting.
 */
export async function runLocalSweep(lab: LabService, sweepDir: string, sweep: SweepRecord, opts: LocalSweepOptions): Promise<Map<number, MemberOutcome>> {
  const queue = [...(opts.indices ?? sweep.members.map((m) => m.index))];
  const outcomes = new Map<number, MemberOutcome>();
  const stopped = () => (opts.stopped?.() ?? false) || existsSync(join(sweepDir, CANCEL_FILE));
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      if (stopped()) return;
      opts.onMemberStart?.(i);
      const outcome = await runMember(lab, sweepDir, sweep, i, { job: null, stopped });
      outcomes.set(i, outcome);
      opts.onMemberEnd?.(i, outcome);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, queue.length)) }, worker));
  return outcomes;
}
