import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../store/atomicFile';
import { HEARTBEAT_STALE_MS, ownerAlive } from '../store/runOwner';

/**
 * Who runs a sweep member, safe with many processes on many nodes writing one shared folder: a claim is the
 * folder `members/<i>.claim.<g>`, made with a plain mkdir (atomic, and failing with EEXIST, on local filesystems and
 * NFS alike). The highest generation g is the current claim. A claim whose owner is gone (its pid dead on this
 * host, or its heartbeat stale on another) or that was released is taken over by creating generation g + 1: of
 * several contenders exactly one mkdir succeeds, so a member never has two owners. Nothing is ever renamed or
 * deleted, so no contender can remove a live claim.
 */

const ownerSchema = z.object({ pid: z.number().int(), host: z.string(), heartbeatAt: z.string(), job: z.string().nullable() });
export type ClaimOwner = z.infer<typeof ownerSchema>;

const RELEASED = 'released';
const OWNER = 'owner.json';
const CLAIM_RE = /^(\d+)\.claim\.(\d+)$/;

export interface MemberClaim {
  generation: number;
  /** Refreshes the heartbeat that tells other hosts this owner is alive. */
  heartbeat(): Promise<void>;
  /** Ends the claim: the next contender takes a new generation. */
  release(): Promise<void>;
}

export type ClaimResult = { ok: true; claim: MemberClaim } | { ok: false; owner: ClaimOwner | null };

const claimDir = (sweepDir: string, index: number, g: number) => join(sweepDir, 'members', `${index}.claim.${g}`);

/** The current (highest) claim generation of a member, or -1. */
async function currentGeneration(sweepDir: string, index: number): Promise<number> {
  const names = await readdir(join(sweepDir, 'members')).catch(() => [] as string[]);
  let g = -1;
  for (const n of names) {
    const m = CLAIM_RE.exec(n);
    if (m && Number(m[1]) === index) g = Math.max(g, Number(m[2]));
  }
  return g;
}

/** The owner of a claim generation, and whether it still holds the member. */
export async function claimState(sweepDir: string, index: number, g: number, now = Date.now()): Promise<{ live: boolean; owner: ClaimOwner | null }> {
  const dir = claimDir(sweepDir, index, g);
  if (
    await stat(join(dir, RELEASED)).then(
      () => true,
      () => false,
    )
  )
    return { live: false, owner: null };
  const text = await readFile(join(dir, OWNER), 'utf8').catch(() => null);
  const parsed = text === null ? null : ownerSchema.safeParse(JSON.parse(text));
  if (!parsed?.success) {
    // Made but not yet written (or its writer died in between): live while young.
    const made = await stat(dir).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    return { live: now - made <= HEARTBEAT_STALE_MS, owner: null };
  }
  return { live: ownerAlive(parsed.data, now), owner: parsed.data };
}

/** The member's current owner if it is held, else null. */
export async function memberOwner(sweepDir: string, index: number): Promise<ClaimOwner | null> {
  const g = await currentGeneration(sweepDir, index);
  if (g < 0) return null;
  const s = await claimState(sweepDir, index, g);
  return s.live ? s.owner : null;
}

/**
 * Claims a member for this process, or says who holds it.
 * @param job the Slurm array task running it (`<job>_<index>`); null outside Slurm. A claim held by the same job is
 *   taken over at once: it is that task's previous incarnation, before a requeue.
 */
export async function claimMember(sweepDir: string, index: number, job: string | null, pid: number = process.pid): Promise<ClaimResult> {
  await mkdir(join(sweepDir, 'members'), { recursive: true });
  for (let attempt = 0; attempt < 64; attempt++) {
    const g = await currentGeneration(sweepDir, index);
    if (g >= 0) {
      const s = await claimState(sweepDir, index, g);
      // Slurm runs one incarnation of an array task at a time: a claim by our own job is a requeued task's
      // previous life (killed before it could release), whatever its heartbeat says.
      const ourPreviousLife = job !== null && s.owner?.job === job;
      if (s.live && !ourPreviousLife) return { ok: false, owner: s.owner };
    }
    const next = g + 1;
    const dir = claimDir(sweepDir, index, next);
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // another contender won this generation
      throw e;
    }
    const owner = (): ClaimOwner => ({ pid, host: hostname(), heartbeatAt: new Date().toISOString(), job });
    await writeFileAtomic(join(dir, OWNER), JSON.stringify(owner()));
    return {
      ok: true,
      claim: {
        generation: next,
        heartbeat: () => writeFileAtomic(join(dir, OWNER), JSON.stringify(owner())),
        release: () => writeFile(join(dir, RELEASED), new Date().toISOString()),
      },
    };
  }
  throw new Error(`could not claim member ${index} of ${sweepDir}: too many contenders`);
}
