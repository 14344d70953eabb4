import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateFolder, type Gates } from '../helpers/gates';

const run = promisify(execFile);
const BIN = path.resolve('bin/fernn-lab.js');
let store: string;
let gates: Gates;

beforeAll(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'fernn-kill-'));
  gates = await gateFolder(`${store}-gates`);
});
afterAll(async () => {
  await rm(store, { recursive: true, force: true });
  await rm(gates.dir, { recursive: true, force: true });
});

describe('fernn-lab train killed with SIGKILL', () => {
  it('leaves a readable run that shows as interrupted and resumes to completion', async () => {
    const args = [
      'train',
      '--model',
      'fernn',
      '--v-range',
      '1',
      '--hidden',
      '4',
      '--image-size',
      '12',
      '--batch',
      '4',
      '--steps',
      '60',
      '--input-frames',
      '4',
      '--pred-frames',
      '3',
      '--val-every',
      '5',
      '--val-sequences',
      '4',
      '--test-sequences',
      '4',
      '--backend',
      'wasm',
      '--store',
      store,
      '--json',
    ];
    // The kill lands while the run is parked after step 5 (checkpointed there), whatever the machine's speed.
    const gate = await gates.hold('kill-me', 5);
    const child = spawn(process.execPath, [BIN, ...args, '--name', 'kill-me'], { stdio: 'ignore', env: { ...process.env, FERNN_TEST_GATES: gates.dir } });
    const exited = new Promise((r) => child.once('exit', r));
    const died = exited.then((code) => Promise.reject(new Error(`train exited (${String(code)}) before step 5`)));
    expect(await Promise.race([gate.parked(), died])).toBe(5);
    const ids = await readdir(store);
    expect(ids).toHaveLength(1);
    const runDir = path.join(store, ids[0]);
    child.kill('SIGKILL');
    await exited;
    await gate.release();
    const id = path.basename(runDir);

    const ls = JSON.parse((await run(process.execPath, [BIN, 'runs', 'ls', '--store', store, '--json'])).stdout) as {
      runs: { id: string; status: string; progress: { step: number; checkpointStep: number } }[];
    };
    const killed = ls.runs.find((r) => r.id === id)!;
    expect(killed.status).toBe('interrupted');
    expect(killed.progress.checkpointStep).toBe(5);

    const resumed = JSON.parse((await run(process.execPath, [BIN, 'resume', id, '--store', store, '--json'])).stdout) as Record<string, unknown>;
    expect(resumed.status).toBe('completed');
    expect(resumed.steps).toBe(60);
    expect(typeof resumed.test_mse).toBe('number');

    const show = JSON.parse((await run(process.execPath, [BIN, 'runs', 'show', id, '--store', store, '--json'])).stdout) as {
      metrics: { kind: string; step: number; event?: string }[];
    };
    const trainSteps = show.metrics.filter((m) => m.kind === 'train').map((m) => m.step);
    expect(trainSteps.at(-1)).toBe(60);
    expect(trainSteps).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(show.metrics.some((m) => m.kind === 'event' && m.event === 'resumed')).toBe(true);
  });

  it('rejects bad train flags with exit code 2 and creates no run', async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'fernn-bad-'));
    const cases: [string[], RegExp][] = [
      [['--model', 'grnn', '--v-range', '2', '--hidden', '4', '--steps', '5'], /--v-range/],
      [['--model', 'fernn', '--hidden', '4'], /--steps/],
      [['--model', 'fernn', '--steps', '5'], /--hidden/],
      [['--model', 'fernn', '--hidden', '4', '--steps', '5', '--lr', '0'], /--lr/],
      [['--model', 'fernn', '--hidden', '4', '--steps', '5', '--image-size', '4'], /--image-size/],
      [['--model', 'fernn', '--hidden', '4', '--steps', '5', '--backend', 'tpu'], /--backend/],
      // Beyond the wasm heap: refused before the run exists (the estimate of src/core/protocol/memory.ts).
      [
        ['--model', 'fernn', '--v-range', '2', '--hidden', '128', '--batch', '128', '--decoder-layers', '4', '--steps', '5', '--backend', 'wasm'],
        /--batch: .*4 GiB limit: batch \d+ fits/,
      ],
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
  });
});
