import { hostname } from 'node:os';
import type { RunRecord } from '../../core/protocol/run';

/**
 * Who owns a running run, and whether that owner still exists. A run killed with SIGKILL (or by a power cut) never
 * gets to write its final status, so "running" on disk only means "was running"; these checks turn it into the
 * effective status that readers show.
 */

/** A run owned by a process on another host counts as gone when its heartbeat is older than this. */
export const HEARTBEAT_STALE_MS = 60_000;

/**
 * Whether a process with this pid exists on this host. Signal 0 checks existence without delivering anything;
 * EPERM means it exists but belongs to another user. Pids <= 0 are refused because kill() treats them as process
 * groups (0: our own group, -1: every process), which would always "exist".
 * A zombie (exited, not yet reaped) still counts as alive; the pid may also have been reused by an unrelated
 * process after a crash. Both only delay, never fake, an 'interrupted' status.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the owner is still there: on this host, its pid is alive; on another host (a shared store) we cannot see
 * its processes, so a heartbeat newer than HEARTBEAT_STALE_MS stands in.
 */
export function ownerAlive(owner: RunRecord['owner'], now: number = Date.now()): boolean {
  if (!owner) return false;
  if (owner.host === hostname()) return pidAlive(owner.pid);
  const beat = Date.parse(owner.heartbeatAt);
  return Number.isFinite(beat) && now - beat <= HEARTBEAT_STALE_MS;
}

/**
 * The status to show: a 'running' record whose owner is gone (or that has no owner at all, so nothing will ever
 * finish it) is 'interrupted' with endReason 'interrupted'. Returns a new object; nothing is written back, so a
 * reader never races the owner's own writes.
 */
export function effectiveRecord(r: RunRecord, now: number = Date.now()): RunRecord {
  return effectiveStatus(r, r.owner, now);
}

/** effectiveRecord for anything with a record's status fields (a run summary), given the record's owner. */
export function effectiveStatus<T extends Pick<RunRecord, 'status' | 'endReason' | 'endMessage'>>(
  r: T,
  owner: RunRecord['owner'],
  now: number = Date.now(),
): T {
  if (r.status !== 'running' || ownerAlive(owner, now)) return r;
  const why = owner ? `was running, but process ${owner.pid} on ${owner.host} is gone` : 'was running, but no process owns it';
  return { ...r, status: 'interrupted', endReason: 'interrupted', endMessage: r.endMessage ?? why };
}
