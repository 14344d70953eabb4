import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PAPER_CLAIMS, claimVerdict, type ClaimRun } from '../../src/core/metrics/paperClaims';

const run = promisify(execFile);
const BIN = path.resolve('bin/fernn-lab.js');

describe('fernn-lab reproduce', () => {
  it('trains the preset models on the same data and steps and reports test MSE and velocity grids (overridden to a toy size)', async () => {
    const store = await mkdtemp(path.join(os.tmpdir(), 'fernn-repro-'));
    try {
      const flags = [
        '--steps',
        '4',
        '--hidden',
        '2',
        '--image-size',
        '8',
        '--batch',
        '2',
        '--input-frames',
        '3',
        '--pred-frames',
        '2',
        '--val-every',
        '2',
        '--val-sequences',
        '2',
        '--test-sequences',
        '2',
        '--backend',
        'wasm',
      ];
      const { stdout } = await run(process.execPath, [BIN, 'reproduce', 'translating-mnist', '--scale', 'tiny', ...flags, '--store', store, '--json']);
      const out = JSON.parse(stdout) as {
        preset: string;
        scale: string;
        runs: { model: string; v_range: number; run_id: string; test_mse: number; steps: number; velocity: { velocities: number[]; mse: number[][] } }[];
        test_mse_ratio_vs_grnn: Record<string, number>;
        claim: { text: string; verdict: string; summary: string; evidence: string[] };
      };
      expect(out.preset).toBe('translating-mnist');
      // The paper's claim and whether this run shows it, from its own numbers.
      expect(out.claim.text).toBe(PAPER_CLAIMS['translating-mnist']);
      const expected = claimVerdict(
        'translating-mnist',
        out.runs.map((r) => ({ ...r, status: 'completed' })),
        { scale: 'tiny', trainedRange: 1, predFrames: 2 },
      );
      expect(out.claim.verdict).toBe(expected.verdict);
      expect(out.claim.summary).toBe(expected.summary);
      expect(out.claim.evidence[0]).toMatch(/^FERNN-V1 test MSE \S+ vs G-RNN \S+ \(\d+%\)$/);
      expect(out.scale).toBe('tiny');
      expect(out.runs.map((r) => [r.model, r.v_range])).toEqual([
        ['grnn', 0],
        ['fernn', 1],
      ]);
      for (const r of out.runs) {
        expect(r.steps).toBe(4);
        expect(r.test_mse).toBeGreaterThan(0);
        expect(r.velocity.velocities).toEqual([-2, -1, 0, 1, 2]);
        expect(r.velocity.mse.flat().every((x) => x > 0)).toBe(true);
      }
      expect(out.test_mse_ratio_vs_grnn['fernn-v1']).toBeCloseTo(out.runs[1].test_mse / out.runs[0].test_mse, 10);
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });

  it('length-generalisation: the claim, the per-step curves with the blank-frame baseline, and a verdict from them', async () => {
    const store = await mkdtemp(path.join(os.tmpdir(), 'fernn-repro-'));
    try {
      const flags = ['--steps', '2', '--hidden', '2', '--image-size', '8', '--batch', '2', '--input-frames', '3', '--pred-frames', '2', '--val-every', '2'];
      const more = ['--val-sequences', '2', '--test-sequences', '2', '--backend', 'wasm', '--store', store, '--json'];
      const { stdout } = await run(process.execPath, [BIN, 'reproduce', 'length-generalisation', '--scale', 'tiny', ...flags, ...more]);
      const out = JSON.parse(stdout) as {
        runs: (ClaimRun & { length: Record<string, { mean: number[]; blank: number[] }> })[];
        claim: { text: string; verdict: string; summary: string; evidence: string[] };
      };
      expect(out.claim.text).toBe(PAPER_CLAIMS['length-generalisation']);
      for (const r of out.runs) {
        expect(r.length['40'].mean).toHaveLength(37);
        expect(r.length['40'].blank).toHaveLength(37);
      }
      const expected = claimVerdict('length-generalisation', out.runs, { scale: 'tiny', trainedRange: 1, predFrames: 2 });
      expect(['shown', 'not-shown']).toContain(out.claim.verdict);
      expect(out.claim).toEqual({ text: expected.claim, verdict: expected.verdict, summary: expected.summary, evidence: expected.evidence });
      expect(out.claim.evidence.join('\n')).toMatch(/FERNN-V1 per-step MSE \S+ at step 2, \S+ at step 37; G-RNN \S+ at step 37; blank frames \S+/);
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });

  it('flowing-mnist-classification: trains G-RNN and FERNN classifiers at rest and reports accuracy per test velocity, at rest and moving', async () => {
    const store = await mkdtemp(path.join(os.tmpdir(), 'fernn-repro-cls-'));
    try {
      const flags = [
        '--steps',
        '2',
        '--hidden',
        '2',
        '--image-size',
        '8',
        '--batch',
        '2',
        '--input-frames',
        '2',
        '--val-every',
        '2',
        '--val-sequences',
        '2',
        '--test-sequences',
        '2',
        '--backend',
        'wasm',
      ];
      const { stdout } = await run(process.execPath, [BIN, 'reproduce', 'flowing-mnist-classification', ...flags, '--store', store, '--json']);
      type Grid = { velocities: number[]; accuracy: number[][] };
      const out = JSON.parse(stdout) as {
        preset: string;
        runs: { task: string; model: string; v_range: number; test_accuracy: number; velocity_accuracy: Grid }[];
        velocity_accuracy_summary: Record<string, { trained: number; unseen: number }>;
      };
      expect(out.preset).toBe('flowing-mnist-classification');
      expect(out.runs.map((r) => [r.task, r.model, r.v_range])).toEqual([
        ['classification', 'grnn', 0],
        ['classification', 'fernn', 1],
      ]);
      for (const r of out.runs) {
        expect(r.test_accuracy).toBeGreaterThanOrEqual(0);
        expect(r.velocity_accuracy.velocities).toEqual([-1, 0, 1]);
        const g = r.velocity_accuracy.accuracy;
        // Trained at rest: the summary's "trained" is the centre cell, "unseen" the mean of the 8 moving ones.
        const s = out.velocity_accuracy_summary[`${r.model}-v${r.v_range}`];
        expect(s.trained).toBeCloseTo(g[1][1], 10);
        expect(s.unseen).toBeCloseTo((g.flat().reduce((a, b) => a + b, 0) - g[1][1]) / 8, 10);
      }
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });

  it('rejects an unknown preset or scale with exit code 2', async () => {
    for (const [args, pattern] of [
      [['nope'], /preset/],
      [['translating-mnist', '--scale', 'huge'], /--scale/],
      [['translating-mnist', '--model', 'grnn'], /--model/],
      [['kth'], /--data.*docs\/kth\.md/],
      [['translating-mnist', '--data', '/tmp'], /--data/],
    ] as const) {
      const r = await run(process.execPath, [BIN, 'reproduce', ...args]).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
    }
  });
});
