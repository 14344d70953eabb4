// The built CLI on a run store: evaluations kept as records, the headline test figure, runs named by name or id
// prefix, and bad input (a missing store, an unknown run, a corrupt checkpoint, a flow the model cannot take) ending
// with exit code 2, the flag or argument named and no JavaScript stack.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationRecord } from '../../src/core/protocol/evaluation';
import type { RunRecord } from '../../src/core/protocol/run';
import { cli, expectBadInput, trainTinyRun } from '../helpers/cli';

let store: string;
let alpha: string;
let beta: string;

beforeAll(async () => {
  store = await mkdtemp(path.join(os.tmpdir(), 'fernn-cli-runs-'));
  alpha = await trainTinyRun(store, 'alpha', { testSequences: 8 });
  beta = await trainTinyRun(store, 'beta', { testSequences: 8 });
});
afterAll(() => rm(store, { recursive: true, force: true }));

interface Shown {
  run: RunRecord;
  evaluations: EvaluationRecord[];
}

describe('evaluations through the CLI', () => {
  it('eval twice with other settings: runs show --json lists both beside training, and the headline stays', async () => {
    const e1 = await cli(['eval', 'alpha', '--kinds', 'test', '--sequences', '3', '--store', store]);
    expect(e1.code, e1.stderr).toBe(0);
    expect(e1.stdout).toMatch(/test MSE [\d.]+ over 3 sequences/);
    expect(e1.stdout).toMatch(/evaluated the best checkpoint \(step \d+\)/);
    const e2 = await cli(['eval', alpha, '--kinds', 'test,velocity', '--sequences', '2', '--velocity-range', '1', '--store', store, '--json']);
    expect(e2.code, e2.stderr).toBe(0);
    expect((JSON.parse(e2.stdout) as { records: EvaluationRecord[] }).records.map((e) => e.kind)).toEqual(['test', 'velocity']);

    const shown = JSON.parse((await cli(['runs', 'show', 'alpha', '--store', store, '--json'])).stdout) as Shown;
    const tests = shown.evaluations.filter((e) => e.kind === 'test');
    expect(tests.map((e) => [e.origin, e.settings.sequences])).toEqual([
      ['training', 8],
      ['evaluate', 3],
      ['evaluate', 2],
    ]);
    for (const e of shown.evaluations) {
      expect(e.checkpoint?.which).toBe('best');
      expect(typeof e.created_at).toBe('string');
    }
    expect(shown.evaluations.find((e) => e.kind === 'velocity')?.settings).toEqual({ sequences: 2, velocityRange: 1 });
    const training = tests[0];
    expect(shown.run.results?.testMse).toBe((training.result as { mse: number }).mse);
    expect(shown.run.results?.testSource).toMatchObject({ evaluationId: training.id, checkpoint: 'best', sequences: 8 });

    const human = await cli(['runs', 'show', 'alpha', '--store', store]);
    expect(human.stdout).toMatch(/training \(headline\)\s+best @ step \d+\s+8 seqs/);
    expect(human.stdout).toMatch(/evaluate\s+best @ step \d+\s+3 seqs/);
    const ls = await cli(['runs', 'ls', '--store', store]);
    expect(ls.stdout).toMatch(/alpha/);
    expect(ls.stdout).toMatch(/beta/);
    expect(ls.stdout).toMatch(new RegExp(`${shown.run.results!.testMse!.toFixed(4)} \\(best @ step \\d+, 8 seqs\\)`));
  });
});

describe('run references', () => {
  it('a name or a unique id prefix picks the run', async () => {
    const byName = JSON.parse((await cli(['runs', 'show', 'beta', '--store', store, '--json'])).stdout) as Shown;
    expect(byName.run.id).toBe(beta);
    // All of the id but its last hex digit: alpha shares it only if both ids agree up to there (1 in 16^3 odds).
    const prefix = beta.slice(0, -1);
    expect(alpha.startsWith(prefix)).toBe(false);
    expect((JSON.parse((await cli(['runs', 'show', prefix, '--store', store, '--json'])).stdout) as Shown).run.id).toBe(beta);
    const ev = await cli(['eval', prefix, '--kinds', 'test', '--sequences', '2', '--store', store, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    expect((JSON.parse(ev.stdout) as { runId: string }).runId).toBe(beta);
  });

  it('an unknown run says "did you mean" with the closest name', async () => {
    const r = await cli(['runs', 'show', 'alpah', '--store', store]);
    expectBadInput(r, /no run "alpah".*did you mean .*\(alpha\)/);
    expect(r.stderr).not.toMatch(/run: no run/);
    expectBadInput(await cli(['eval', 'betta', '--store', store]), /did you mean .*\(beta\)/);
    expectBadInput(await cli(['resume', 'zzzz', '--store', store]), /no run "zzzz"/);
  });

  it('runs export takes names; runs rm takes full ids only and answers a name with the id', async () => {
    const ex = await cli(['runs', 'export', 'alpha', '--format', 'json', '--store', store]);
    expect(ex.code, ex.stderr).toBe(0);
    expect((JSON.parse(ex.stdout) as { run: RunRecord }[]).map((x) => x.run.id)).toEqual([alpha]);
    expectBadInput(await cli(['runs', 'rm', 'alpha', '--store', store]), new RegExp(`did you mean ${alpha}\\? runs rm takes full ids`));
    expect((await cli(['runs', 'show', alpha, '--store', store, '--json'])).code).toBe(0);
  });

  it('runs export --format curves writes long format with the run name; another format exits 2 naming --format', async () => {
    const ex = await cli(['runs', 'export', 'alpha', '--format', 'curves', '--store', store]);
    expect(ex.code, ex.stderr).toBe(0);
    const lines = ex.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('run,name,step,metric,value');
    expect(lines[1]).toMatch(new RegExp(`^${alpha},alpha,1,train_loss,\\d`));
    expect(lines.some((l) => l.includes(',val_mse,'))).toBe(true);
    expectBadInput(await cli(['runs', 'export', 'alpha', '--format', 'xlsx', '--store', store]), /--format.*csv, json, curves, grids/);
  });

  it('an ambiguous prefix lists the candidates', async () => {
    // Both ids start with the date of today's runs.
    const r = await cli(['runs', 'show', alpha.slice(0, 4), '--store', store]);
    expectBadInput(r, /2 run ids start with/);
    expect(r.stderr).toContain(alpha);
    expect(r.stderr).toContain(beta);
  });

  it('a --store folder that does not exist is an error and is not created', async () => {
    const missing = path.join(store, 'no-such-folder');
    for (const args of [
      ['runs', 'ls'],
      ['runs', 'show', 'alpha'],
      ['eval', 'alpha'],
      ['resume', 'alpha'],
    ]) {
      expectBadInput(await cli([...args, '--store', missing]), /--store: folder .*no-such-folder does not exist/);
    }
    expect((await cli(['runs', 'ls', '--store', store])).code).toBe(0);
    await expect(import('node:fs/promises').then((fs) => fs.stat(missing))).rejects.toThrow();
  });

  it('a corrupt checkpoint is reported as unreadable, not as missing', async () => {
    await writeFile(path.join(store, beta, 'checkpoints', 'best.safetensors'), 'garbage');
    await writeFile(path.join(store, beta, 'checkpoints', 'last.safetensors'), 'garbage');
    const r = await cli(['eval', 'beta', '--kinds', 'test', '--store', store]);
    expectBadInput(r, /checkpoint: run \S+: \S+best\.safetensors is unreadable/);
    expect(r.stderr).not.toMatch(/no checkpoint yet/);
  });
});

describe('equivariance: a flow the model is not lifted over', () => {
  it.for([
    [['--model', 'fernn-rot', '--flow', 'translate:1,0'], /--flow: translate:1,0 is a translation flow/],
    [['--model', 'fernn', '--flow', 'rotate:90'], /--flow: rotate:90 is a rotation flow/],
  ] as const)('%s exits 2 naming --flow', async ([args, pattern]) => {
    expectBadInput(await cli(['equivariance', ...args, '--hidden', '2', '--height', '8', '--width', '8', '--steps', '2', '--backend', 'cpu']), pattern);
  });
});
