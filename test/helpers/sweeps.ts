import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { TrainConfigInput } from '../../src/core/protocol/run';
import type { SweepDetail } from '../../src/core/protocol/sweeps';
import { createLabService, type LabService } from '../../src/node/lab/labService';
import { gateFolder, type Gates } from './gates';

export { BIN, ROOT, cli, type CliRun } from './cli';

/** Train flags of a tiny member (spec names: flags without dashes): trains in seconds on cpu. */
export const TINY_FLAGS = {
  hidden: 2,
  'image-size': 8,
  batch: 2,
  'val-every': 4,
  'val-sequences': 4,
  'test-sequences': 4,
  'input-frames': 3,
  'pred-frames': 2,
  backend: 'cpu',
} as const;

/** Writes a sweep spec `{name, ...body}` as JSON (a subset of YAML) into `dir`; returns the file. */
export async function writeSpec(dir: string, name: string, body: object): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ name, ...body }));
  return file;
}

/** Polls a condition until it yields a value; the only clock is the test's timeout. */
export async function until<T>(probe: () => Promise<T | null | undefined | false>, everyMs = 100): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== null && v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Whether a Slurm cluster answers here (sinfo shows a usable node), with the reason when not. */
export function slurmHere(): { ok: boolean; reason: string } {
  const r = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
  if (r.error) return { ok: false, reason: `sinfo: ${r.error.message} (apt-get install slurm-wlm munge; scripts/slurm-local.sh start)` };
  if (r.status !== 0) return { ok: false, reason: `sinfo failed: ${r.stderr.trim()} (scripts/slurm-local.sh start)` };
  if (!/^(idle|mixed|allocated)/m.test(r.stdout)) return { ok: false, reason: `no usable Slurm node (sinfo: ${r.stdout.trim() || 'nothing'})` };
  return { ok: true, reason: '' };
}

/** The tensor bytes of a safetensors file by name (the header's metadata, e.g. the run id, left out). */
export async function safetensorsTensors(file: string): Promise<Map<string, Buffer>> {
  const buf = await readFile(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets?: [number, number] }>;
  const data = buf.subarray(8 + n);
  const out = new Map<string, Buffer>();
  for (const [name, t] of Object.entries(header)) {
    if (name !== '__metadata__' && t.data_offsets) out.set(name, data.subarray(t.data_offsets[0], t.data_offsets[1]));
  }
  return out;
}

/** A sweep member's config small enough that an in-process sweep of a few members ends in seconds (G-RNN, 8 px, cpu). */
export const TINY_MEMBER: TrainConfigInput = {
  model: 'grnn',
  vRange: 0,
  hidden: 2,
  imageSize: 8,
  batch: 2,
  steps: 6,
  valEvery: 3,
  valSequences: 4,
  testSequences: 4,
  inputFrames: 3,
  predFrames: 2,
  backend: 'cpu',
};

/** A lab service over a fresh store, with its test-gate folder (set up in beforeAll, disposed and removed in afterAll). */
export interface GatedLab {
  readonly lab: LabService;
  readonly gates: Gates;
  /** Polls getSweep until `want` holds for the sweep. */
  settled(id: string, want: (d: SweepDetail) => boolean): Promise<SweepDetail>;
}

/**
 * Registers beforeAll/afterAll hooks that start a lab service on a temporary store with the test gate on. Workers
 * take the environment of their creation, so the gate folder is set before the service starts one.
 */
export function useGatedLab(prefix: string): GatedLab {
  let dir = '';
  const ctx = {} as { lab: LabService; gates: Gates };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), prefix));
    ctx.gates = await gateFolder(path.join(dir, 'gates'));
    process.env.FERNN_TEST_GATES = ctx.gates.dir;
    ctx.lab = await createLabService({ storeRoot: path.join(dir, 'runs'), shell: { kind: 'web' }, workerPath: path.resolve('dist/labWorker.js') });
  });
  afterAll(async () => {
    delete process.env.FERNN_TEST_GATES;
    await ctx.lab?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get lab() {
      return ctx.lab;
    },
    get gates() {
      return ctx.gates;
    },
    settled: (id, want) =>
      until(async () => {
        const d = await ctx.lab.getSweep({ id });
        return want(d) ? d : null;
      }, 250),
  };
}
