import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'fernn-lab.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to its end. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
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
