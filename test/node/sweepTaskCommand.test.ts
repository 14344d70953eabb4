// The Slurm executor's availability in the app: which node its array tasks run with (Electron's binary is not node),
// and when it is greyed out with a reason (no node on PATH, a CLI inside the app's .asar archive, no CLI built).
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findTaskCommand, nodeOnPath, slurmExecutor, taskCommandFor, type TaskCommandInputs } from '../../src/node/sweeps/sweepService';

const SBATCH = { ok: true, reason: 'sbatch found' };
const CLI = '/home/me/fernn-lab/dist/cli.js';
const ELECTRON = '/opt/FERNN Lab/fernn-lab';

/** The inputs of a lab in Electron (by default) whose PATH lookup answers `onPath`, counting the lookups. */
function inputs(over: Partial<TaskCommandInputs> & { onPath?: string | null }): TaskCommandInputs & { lookups: () => number } {
  let lookups = 0;
  const { onPath = null, ...rest } = over;
  return {
    cli: CLI,
    electron: true,
    execPath: ELECTRON,
    nodeOnPath: () => {
      lookups++;
      return onPath;
    },
    ...rest,
    lookups: () => lookups,
  };
}

describe('the Slurm executor in Electron and in node', () => {
  it('Electron with node on PATH: available, its tasks run that node (not the Electron binary) with the CLI', () => {
    const i = inputs({ onPath: '/usr/local/bin/node' });
    const found = taskCommandFor(i);
    expect(found).toEqual({ cmd: { node: '/usr/local/bin/node', bin: CLI } });
    expect(i.lookups()).toBe(1);
    expect(slurmExecutor(SBATCH, found)).toEqual({ available: true, reason: `sbatch found; tasks run /usr/local/bin/node ${CLI}` });
  });

  it('Electron without node on PATH: greyed, the reason names node', () => {
    const found = taskCommandFor(inputs({ onPath: null }));
    expect(found).toEqual({ reason: 'no node on PATH to run the array tasks with (Electron is not node)' });
    expect(slurmExecutor(SBATCH, found)).toEqual({ available: false, reason: 'no node on PATH to run the array tasks with (Electron is not node)' });
  });

  it('a CLI inside app.asar: greyed with the archive reason, even with node on PATH (node cannot run it)', () => {
    const cli = '/opt/FERNN Lab/resources/app.asar/dist/cli.js';
    const i = inputs({ cli, onPath: '/usr/bin/node' });
    const s = slurmExecutor(SBATCH, taskCommandFor(i));
    expect(s).toEqual({
      available: false,
      reason: `the lab's CLI is inside the app archive (${cli}); start the lab from a checkout (npm start, fernn-lab serve)`,
    });
    // Outside Electron the same archive is refused too.
    expect(taskCommandFor(inputs({ cli, electron: false, execPath: '/usr/bin/node' }))).toEqual({ reason: s.reason });
  });

  it('plain node: its tasks run this process’s node (process.execPath), PATH not consulted', () => {
    const i = inputs({ electron: false, execPath: '/usr/bin/node22', onPath: '/usr/local/bin/node' });
    const found = taskCommandFor(i);
    expect(found).toEqual({ cmd: { node: '/usr/bin/node22', bin: CLI } });
    expect(i.lookups()).toBe(0);
    expect(slurmExecutor(SBATCH, found).available).toBe(true);
  });

  it('no CLI built: greyed, naming npm run build; no sbatch: greyed with sbatch’s reason first', () => {
    expect(slurmExecutor(SBATCH, taskCommandFor(inputs({ cli: null, electron: false })))).toEqual({
      available: false,
      reason: "the fernn-lab CLI (dist/cli.js) is not found next to this lab; run 'npm run build'",
    });
    const noSbatch = { ok: false, reason: 'sbatch is not usable here (spawn sbatch ENOENT)' };
    expect(slurmExecutor(noSbatch, { cmd: { node: '/usr/bin/node', bin: CLI } })).toEqual({ available: false, reason: noSbatch.reason });
  });
});

describe('nodeOnPath', () => {
  it('finds the first executable node in PATH order, absolute; skips folders without one or with a non-executable one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'fernn-nodepath-'));
    const [empty, plain, exe, later] = ['empty', 'plain', 'exe', 'later'].map((d) => join(root, d));
    for (const d of [empty, plain, exe, later]) await mkdir(d);
    await writeFile(join(plain, 'node'), '');
    await chmod(join(plain, 'node'), 0o644);
    for (const d of [exe, later]) {
      await writeFile(join(d, 'node'), '#!/bin/sh\n');
      await chmod(join(d, 'node'), 0o755);
    }
    expect(nodeOnPath([empty, plain, exe, later].join(':'), 'linux')).toBe(join(exe, 'node'));
    expect(nodeOnPath([empty, plain].join(':'), 'linux')).toBeNull();
    expect(nodeOnPath('', 'linux', () => false)).toBeNull();
    // Windows: ';'-separated, node.exe.
    const seen: string[] = [];
    expect(nodeOnPath('C:\\a;C:\\b', 'win32', (f) => (seen.push(f), f.endsWith('node.exe') && f.includes('b')))).toMatch(/node\.exe$/);
    expect(seen).toHaveLength(2);
  });
});

describe('findTaskCommand', () => {
  it("in this (node) process: process.execPath and the repo's dist/cli.js, or the build reason before a build", () => {
    const cli = resolve('dist/cli.js');
    expect(process.versions.electron).toBeUndefined();
    expect(findTaskCommand()).toEqual(
      existsSync(cli)
        ? { cmd: { node: process.execPath, bin: cli } }
        : { reason: "the fernn-lab CLI (dist/cli.js) is not found next to this lab; run 'npm run build'" },
    );
  });
});
