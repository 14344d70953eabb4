import { rm } from 'node:fs/promises';
import os from 'node:os';
import { LAB_VERSION, type LabService } from '../lab/labService';
import { runParamCount } from '../lab/trainJob';
import { dataClassCount } from '../lab/data';
import { runSources } from '../lab/runSources';
import type { RunRecord, TrainConfig } from '../../core/protocol/run';
import { InputError } from '../../core/util/errors';
import { claimMember, type ClaimOwner } from './memberClaim';
import { memberRunId, memberRunName, type SweepRecord } from './sweepStore';

const HEARTBEAT_MS = 20_000;

export type MemberOutcome =
  { kind: 'ran'; run: RunRecord } | { kind: 'already-completed'; run: RunRecord } | { kind: 'owned-elsewhere'; owner: ClaimOwner | null } | { kind: 'stopped' };

export interface MemberControl {
  /** Slurm array task running the member (for the claim), or null. */
  job: string | null;
  /** Checked before training starts: true leaves the member as it is. */
  stopped?(): boolean;
  /** Called once the member's training runs (a stop that came meanwhile must be sent again now). */
  onTraining?(runId: string): void;
  /** What a run created but stopped before it trained becomes (default interrupted: a later task resumes it). */
  stoppedAs?: 'cancelled' | 'interrupted';
}

/** A run that ended before its first step was saved (its data did not read): it starts over from step 0. */
const neverTrained = (r: RunRecord): boolean => r.status === 'failed' && r.progress.step === 0 && r.progress.checkpointStep === null;

/** The member's data as a run records them (sources, and the class count of data that name their classes), or why not. */
async function memberData(config: TrainConfig): Promise<{ ok: true; sources: RunRecord['sources']; classes?: number } | { ok: false; message: string }> {
  try {
    const sources = await runSources(config);
    const classes = config.task === 'classification' ? await dataClassCount(config) : undefined;
    return { ok: true, sources, ...(classes !== undefined ? { classes } : {}) };
  } catch (e) {
    return { ok: false, message: (e instanceof Error ? e.message : String(e)).split('\n')[0] };
  }
}

/** The member's parameter count; 0 for a member whose class folders did not read (the head's size is unknown). */
function memberParams(config: TrainConfig, classes: number | undefined): number {
  try {
    return runParamCount(config, classes);
  } catch {
    return 0;
  }
}

/**
 * Creates or resumes one member's run and trains it to its end in `lab` (idempotent: the run id is fixed, a
 * completed run is left alone, an interrupted one resumes from its last checkpoint). The member is claimed first,
 * so of many processes or array tasks asking for it only one trains it.
 */
export async function runMember(lab: LabService, sweepDir: string, sweep: SweepRecord, index: number, ctl: MemberControl): Promise<MemberOutcome> {
  const member = sweep.members.find((m) => m.index === index);
  if (!member) throw new InputError('index', `sweep ${sweep.id} has members 0..${sweep.members.length - 1}; got ${index}`);
  const got = await claimMember(sweepDir, index, ctl.job);
  if (!got.ok) return { kind: 'owned-elsewhere', owner: got.owner };
  const beat = setInterval(() => void got.claim.heartbeat().catch(() => undefined), HEARTBEAT_MS);
  try {
    const id = memberRunId(sweep.id, index);
    const existing = await lab.store.get(id).catch((e: unknown) => {
      if (e instanceof InputError && /no run( |\.json)/.test(e.message)) return null;
      throw e;
    });
    if (existing?.status === 'completed') return { kind: 'already-completed', run: existing };
    // The member's data files and start checkpoint are read again here, as a run started alone records them: a Slurm
    // task may read them on another node, or long after the sweep was made, and they may have been moved, edited or
    // truncated since. Files that no longer read end this member failed with the reason (run.json and the runs list
    // say which file), never the pool or the array task. A member that ended so before it trained reads them again
    // when resumed, and records them anew.
    if (!existing || neverTrained(existing)) {
      const data = await memberData(member.config);
      const params = memberParams(member.config, data.ok ? data.classes : undefined);
      const sources = data.ok ? data.sources : undefined;
      if (!existing) {
        const create = () =>
          lab.store.create({
            id,
            config: member.config,
            name: memberRunName(sweep, index),
            sweep: { id: sweep.id, index },
            ...(sources ? { sources } : {}),
            seeds: { init: member.config.seed, data: member.config.seed + 1 },
            params,
            versions: { 'fernn-lab': LAB_VERSION, node: process.versions.node, '@tensorflow/tfjs-core': '4.22.0', os: `${os.platform()} ${os.release()}` },
          });
        await create().catch(async (e: unknown) => {
          if (!(e instanceof InputError && /already exists/.test(e.message))) throw e;
          // A folder without run.json, left by a creator killed mid-create: we hold the claim, so it is ours to redo.
          await rm(lab.store.runDir(id), { recursive: true, force: true });
          await create();
        });
      } else if (data.ok) {
        await lab.store.update(id, ({ sources: _old, ...r }) => ({ ...r, ...(sources ? { sources } : {}), params }));
      }
      if (!data.ok) {
        await lab.store.appendMetric(id, { kind: 'event', step: 0, event: 'error', message: data.message, t: new Date().toISOString() });
        return { kind: 'ran', run: await lab.store.release(id, 'failed', 'error', data.message) };
      }
    }
    if (ctl.stopped?.()) {
      // Never trained here: not 'queued' forever (readers would wait on it), but resumable.
      if ((await lab.store.get(id)).status === 'queued') await lab.store.release(id, ctl.stoppedAs ?? 'interrupted', ctl.stoppedAs ?? 'interrupted');
      return { kind: 'stopped' };
    }
    await lab.resumeRun({ id });
    ctl.onTraining?.(id);
    await lab.whenIdle(id);
    return { kind: 'ran', run: await lab.store.get(id) };
  } finally {
    clearInterval(beat);
    await got.claim.release();
  }
}
