import { spawn } from 'node:child_process';
import { mkdtemp, readdir, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claimMember, memberOwner } from '../../src/node/sweeps/memberClaim';

/** A pid that is certainly dead: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const c = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => c.on('exit', r));
  return c.pid ?? 0;
}

describe('sweep member claims', () => {
  it('one owner at a time; a released or dead owner is taken over by a new generation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'claim-'));
    const a = await claimMember(dir, 3, null);
    expect(a.ok).toBe(true);
    const b = await claimMember(dir, 3, null, process.ppid);
    expect(b).toEqual({ ok: false, owner: expect.objectContaining({ pid: process.pid }) });
    expect((await memberOwner(dir, 3))?.pid).toBe(process.pid);
    if (a.ok) await a.claim.release();
    expect(await memberOwner(dir, 3)).toBeNull();
    const c = await claimMember(dir, 3, 'job_1', await deadPid());
    expect(c.ok && c.claim.generation).toBe(1);
    // its owner pid is dead: the member is free again
    expect(await memberOwner(dir, 3)).toBeNull();
    const d = await claimMember(dir, 3, null);
    expect(d.ok && d.claim.generation).toBe(2);
    expect((await readdir(join(dir, 'members'))).sort()).toEqual(['3.claim.0', '3.claim.1', '3.claim.2']);
  });

  it('a requeued Slurm task takes over the claim of its own previous incarnation, live-looking or not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'claim-'));
    expect((await claimMember(dir, 0, '7_0', process.ppid)).ok).toBe(true);
    expect((await claimMember(dir, 0, '8_0')).ok).toBe(false);
    const again = await claimMember(dir, 0, '7_0');
    expect(again.ok && again.claim.generation).toBe(1);
  });

  it('many concurrent contenders for a stale member: exactly one wins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'claim-'));
    await mkdir(join(dir, 'members'));
    // A stale generation 0 (dead owner) so every contender races for generation 1.
    await mkdir(join(dir, 'members', '0.claim.0'));
    const stale = { pid: await deadPid(), host: hostname(), heartbeatAt: new Date().toISOString(), job: null };
    await writeFile(join(dir, 'members', '0.claim.0', 'owner.json'), JSON.stringify(stale));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claimMember(dir, 0, `c${i}`, process.pid)));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });
});
