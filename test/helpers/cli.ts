import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
