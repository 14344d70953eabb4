import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = path.resolve('bin/fernn-lab.js');
let store: string;

beforeAll(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'fernn-kill-'));
});
afterAll(async () => {
  await rm(store, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fernn-lab train killed with SIGKILL', () => {
  it('leaves a readable run that shows as interrupted and resumes to completion', async () => {
    const args = ['train', '--model', 'fernn', '--v-range', '1', '--hidden', '4', '--image-size', '12', '--batch', '4', '--steps', '60', '--input-frames', '4', '--pred-frames', '3', '--val-every', '5', '--val-sequences', '4', '--test-sequences', '4', '--backend', 'wasm', '--store', store, '--json'];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    let runDir = '';
    for (let i = 0; i < 600; i++) {
      await sleep(100);
      const ids = await readdir(store).catch(() => []);
      if (ids.length === 1) {
        runDir = path.join(store, ids[0]);
        const rec = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8').catch(() => '{}')) as { progress?: { checkpointStep: number | null } };
        if ((rec.progress?.checkpointStep ?? 0) >= 5) break;
      }
    }
    expect(runDir).not.toBe('');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const id = path.basename(runDir);

    const ls = JSON.parse((await run(process.execPath, [BIN, 'runs', 'ls', '--store', store, '--json'])).stdout) as { runs: { id: string; status: string; progress: { step: number; checkpointStep: number } }[] };
    const killed = ls.runs.find((r) => r.id === id)!;
    expect(killed.status).toBe('interrupted');
    expect(killed.progress.checkpointStep).toBeGreaterThanOrEqual(5);
    expect(killed.progress.checkpointStep).toBeLessThan(60);

    const resumed = JSON.parse((await run(process.execPath, [BIN, 'resume', id, '--store', store, '--json'], { timeout: 240_000 })).stdout) as Record<string, unknown>;
    expect(resumed.status).toBe('completed');
    expect(resumed.steps).toBe(60);
    expect(typeof resumed.test_mse).toBe('number');

    const show = JSON.parse((await run(process.execPath, [BIN, 'runs', 'show', id, '--store', store, '--json'])).stdout) as { metrics: { kind: string; step: number; event?: string }[] };
    const trainSteps = show.metrics.filter((m) => m.kind === 'train').map((m) => m.step);
    expect(trainSteps.at(-1)).toBe(60);
    expect(show.metrics.some((m) => m.kind === 'event' && m.event === 'resumed')).toBe(true);
  }, 300_000);

  it('rejects bad train flags with exit code 2 and creates no run', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'fernn-bad-'));
    const cases: [string[], RegExp][] = [
      [['--model', 'grnn', '--v-range', '2', '--hidden', '4', '--steps', '5'], /--v-range/],
      [['--model', 'fernn', '--hidden', '4'], /--steps/],
      [['--model', 'fernn', '--steps', '5'], /--hidden/],
      [['--model', 'fernn', '--hidden', '4', '--steps', '5', '--lr', '0'], /--lr/],
      [['--model', 'fernn', '--hidden', '4', '--steps', '5', '--image-size', '4'], /--image-size/],
      [['--model', 'fernn', '--hidden', '4', '--steps', '5', '--backend', 'tpu'], /--backend/],
    ];
    for (const [flags, pattern] of cases) {
      const r = await run(process.execPath, [BIN, 'train', ...flags, '--store', empty]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
    expect(await readdir(empty)).toEqual([]);
    await rm(empty, { recursive: true, force: true });
  }, 120_000);
});
