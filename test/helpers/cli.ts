import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

/** The repository root and the built CLI (`npm run build` first; test/globalSetup.ts builds once per test run). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'fernn-lab.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const live = new Set<ChildProcess>();

/**
 * Runs `node bin/fernn-lab.js ...args` from the repository root to its end (env added to this process's); never
 * rejects on a non-zero exit. No clock of its own: a command that hangs fails its test by the test's timeout, and
 * killLiveClis ends it after the file.
 */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    live.add(child);
    child.on('error', (e) => {
      live.delete(child);
      reject(e);
    });
    child.on('close', (code) => {
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Kills every CLI started by cli() that has not ended (for afterAll). */
export function killLiveClis(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** Bad input: exit 2, the field named, no stack trace, nothing on stdout. */
export function expectBadInput(r: CliRun, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  expect(r.stdout).toBe('');
}

/**
 * Trains a tiny G-RNN (8 px, hidden 2, batch 2, 4 steps, 3 input and 2 predicted frames, validation every 2 steps on
 * 4 sequences) on wasm into `store` under `name` with the built CLI; expects it to succeed and returns its run id.
 */
export async function trainTinyRun(store: string, name: string, { testSequences }: { testSequences: number }): Promise<string> {
  const train = ['train', '--model', 'grnn', '--hidden', '2', '--image-size', '8', '--batch', '2', '--steps', '4', '--input-frames', '3', '--pred-frames', '2'];
  const tail = ['--val-every', '2', '--val-sequences', '4', '--test-sequences', String(testSequences), '--backend', 'wasm', '--json'];
  const r = await cli([...train, ...tail, '--store', store, '--name', name]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { run_id: string }).run_id;
}
