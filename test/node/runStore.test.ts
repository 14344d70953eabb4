import { spawn, type ChildProcess } from 'node:child_process';
import type * as nodeCrypto from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { trainConfigSchema, type MetricRecord, type RunRecord } from '../../src/core/protocol/run';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel } from '../../src/core/nn/seq2seq';
import { InputError } from '../../src/core/util/errors';
import { encodeModelSafetensors, loadModelSafetensors } from '../../src/node/checkpoint/safetensors';
import { CSV_COLUMNS, csvCell } from '../../src/node/store/runExport';
import { HEARTBEAT_STALE_MS } from '../../src/node/store/runOwner';
import { RunStore, makeRunId, validateRunId } from '../../src/node/store/runStore';
import { useCpu } from '../helpers/backend';

// randomBytes is wrapped so one test can force an id collision; every other call goes to the real function.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof nodeCrypto>();
  return { ...actual, randomBytes: vi.fn(actual.randomBytes) };
});

const config = trainConfigSchema.parse({ model: 'fernn', vRange: 1, hidden: 4, steps: 100 });
const baseOpts = { config, seeds: { init: 1, data: 2 }, params: 1234, versions: { 'fernn-lab': '0.1.0', node: process.version } };

let root: string;
let store: RunStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fernn-store-'));
  store = new RunStore(join(root, 'runs'));
  await store.init();
});
afterEach(async () => {
  vi.useRealTimers();
  await rm(root, { recursive: true, force: true });
});

async function expectInputError(p: Promise<unknown> | (() => unknown), field: string, pattern?: RegExp): Promise<InputError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputError);
  expect((err as InputError).field).toBe(field);
  if (pattern) expect((err as Error).message).toMatch(pattern);
  return err as InputError;
}

function train(step: number, loss: number | null = 1 / step): MetricRecord {
  return { kind: 'train', step, epoch: 0, loss, gradNorm: 0.5, msPerStep: 3, t: new Date().toISOString() };
}

/** Resolves when the child exits; a SIGKILLed child is reaped by Node, so its pid is really gone afterwards. */
function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    let buf = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) res(buf.slice(0, nl));
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => rej(new Error(`child exited (${code}) before writing a line: ${err}`)));
  });
}

describe('RunStore basics', () => {
  it('defaultRoot: $FERNN_LAB_STORE, else ~/.fernn-lab/runs', () => {
    const saved = process.env.FERNN_LAB_STORE;
    try {
      process.env.FERNN_LAB_STORE = join(root, 'elsewhere');
      expect(RunStore.defaultRoot()).toBe(join(root, 'elsewhere'));
      delete process.env.FERNN_LAB_STORE;
      expect(RunStore.defaultRoot()).toMatch(/[/\\]\.fernn-lab[/\\]runs$/);
    } finally {
      if (saved === undefined) delete process.env.FERNN_LAB_STORE;
      else process.env.FERNN_LAB_STORE = saved;
    }
  });

  it('create writes a queued run folder; get and list read it back', async () => {
    const r = await store.create({ ...baseOpts, name: 'first' });
    expect(r.id).toMatch(/^\d{8}-\d{6}-fernn-v1-[0-9a-f]{4}$/);
    expect(r).toMatchObject({
      format: 'fernn-lab-run',
      formatVersion: 1,
      name: 'first',
      status: 'queued',
      owner: null,
      backend: null,
      params: 1234,
      seeds: { init: 1, data: 2 },
      progress: { step: 0, epoch: 0, lastTrainLoss: null, bestValMse: null, bestStep: null, checkpointStep: null },
      timings: { startedAt: null, endedAt: null, trainMs: 0, msPerStepMedian: null },
    });
    expect(r.endReason).toBeUndefined();
    const dir = store.runDir(r.id);
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['checkpoints', 'evals', 'metrics.jsonl', 'run.json']);
    expect(await readFile(join(dir, 'metrics.jsonl'), 'utf8')).toBe('');
    expect(JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'))).toEqual(r);
    expect(await store.get(r.id)).toEqual(r);
    expect(await store.list()).toEqual({ runs: [r], problems: [] });
  });

  it('create rejects an invalid record naming the field, and leaves nothing behind', async () => {
    await expectInputError(store.create({ ...baseOpts, params: -1 }), 'run.params');
    await expectInputError(store.create({ ...baseOpts, config: { ...config, vRange: 9 } }), 'run.config.vRange');
    expect(await readdir(store.root)).toEqual([]);
  });

  it('a missing root is an empty store, and create makes it', async () => {
    const fresh = new RunStore(join(root, 'a', 'b'));
    expect(await fresh.list()).toEqual({ runs: [], problems: [] });
    const r = await fresh.create(baseOpts);
    expect((await fresh.list()).runs.map((x) => x.id)).toEqual([r.id]);
  });

  it('list sorts by createdAt, newest first', async () => {
    const ids: string[] = [];
    for (const createdAt of ['2026-01-02T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2025-12-31T00:00:00.000Z']) {
      const r = await store.create(baseOpts);
      await store.update(r.id, (x) => ({ ...x, createdAt }));
      ids.push(r.id);
    }
    expect((await store.list()).runs.map((r) => r.id)).toEqual([ids[1], ids[0], ids[2]]);
  });

  it('50 creates in a tight loop get 50 distinct ids and folders', async () => {
    const runs = await Promise.all(Array.from({ length: 50 }, () => store.create(baseOpts)));
    expect(new Set(runs.map((r) => r.id)).size).toBe(50);
    const { runs: listed, problems } = await store.list();
    expect(problems).toEqual([]);
    expect(listed).toHaveLength(50);
  });

  it('an id collision in the same second draws a new id and never overwrites the existing folder', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-27T09:15:00.123Z'));
    const fixed = (hex: string) => (() => Buffer.from(hex, 'hex')) as unknown as typeof randomBytes;
    vi.mocked(randomBytes).mockImplementationOnce(fixed('ab12'));
    const a = await store.create({ ...baseOpts, name: 'a' });
    expect(a.id).toBe('20261127-091500-fernn-v1-ab12');
    vi.mocked(randomBytes).mockImplementationOnce(fixed('ab12')).mockImplementationOnce(fixed('cd34'));
    const b = await store.create({ ...baseOpts, name: 'b' });
    expect(b.id).toBe('20261127-091500-fernn-v1-cd34');
    expect((await store.get(a.id)).name).toBe('a');
    expect(makeRunId({ model: 'grnn-plus', vRange: 2 }, new Date('2026-01-05T23:59:59Z'))).toMatch(/^20260105-235959-grnn-plus-v2-[0-9a-f]{4}$/);
  });
});

describe('ids and paths', () => {
  const bad = ['../x', 'a/b', 'a\\b', '', '.', '..', '.hidden', 'x'.repeat(129), 'sp ace'];

  it.each(bad)('rejects run id %j everywhere with InputError("run")', async (id) => {
    expect(() => validateRunId(id)).toThrow(InputError);
    await expectInputError(store.get(id), 'run');
    await expectInputError(
      store.update(id, (r) => r),
      'run',
    );
    await expectInputError(store.appendMetric(id, train(1)), 'run');
    await expectInputError(store.readMetrics(id), 'run');
    await expectInputError(store.remove(id), 'run');
    await expectInputError(store.claim(id), 'run');
    await expectInputError(store.addEvaluation(id, { kind: 'test', origin: 'evaluate', checkpoint: null, settings: {}, result: {} }), 'run');
    await expectInputError(store.readEvaluations(id), 'run');
    await expectInputError(() => store.checkpointPath(id, 'last'), 'run');
  });

  it('a missing run is InputError("run", "no run <id>")', async () => {
    await expectInputError(store.get('nope'), 'run', /no run nope/);
    await expectInputError(store.readMetrics('nope'), 'run', /no run nope/);
    await expectInputError(store.appendMetric('nope', train(1)), 'run', /no run nope/);
    await expectInputError(store.remove('nope'), 'run', /no run nope/);
    await expectInputError(store.exportRuns(['nope'], 'json'), 'run', /no run nope/);
  });

  it('writeFileAtomic refuses paths outside the store', async () => {
    await expectInputError(store.writeFileAtomic(join(root, 'outside.txt'), 'x'), 'path');
    await expectInputError(store.writeFileAtomic(join(store.root, '..', 'x'), 'x'), 'path');
    await store.writeFileAtomic(join(store.root, 'note.txt'), 'ok');
    expect(await readFile(join(store.root, 'note.txt'), 'utf8')).toBe('ok');
  });
});

describe('update', () => {
  it('writes atomically, validates, stamps updatedAt and leaves no temp files', async () => {
    const r = await store.create(baseOpts);
    await new Promise((res) => setTimeout(res, 5));
    const u = await store.update(r.id, (x) => ({ ...x, backend: { name: 'cpu', detail: 'test' } }));
    expect(u.backend).toEqual({ name: 'cpu', detail: 'test' });
    expect(u.updatedAt > r.updatedAt).toBe(true);
    expect(await store.get(r.id)).toEqual(u);

    const before = await readFile(join(store.runDir(r.id), 'run.json'), 'utf8');
    await expectInputError(
      store.update(r.id, (x) => ({ ...x, params: -5 })),
      'run.params',
    );
    await expectInputError(
      store.update(r.id, (x) => ({ ...x, id: 'other' })),
      'run',
      /cannot change the id/,
    );
    await expect(
      store.update(r.id, () => {
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await readFile(join(store.runDir(r.id), 'run.json'), 'utf8')).toBe(before);
    expect((await readdir(store.runDir(r.id))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('concurrent updates from one process all land, even across two store instances', async () => {
    const r = await store.create(baseOpts);
    const other = new RunStore(store.root);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? store : other).update(r.id, (x) => ({ ...x, progress: { ...x.progress, step: x.progress.step + 1 } }))),
    );
    expect((await store.get(r.id)).progress.step).toBe(60);
  });
});

describe('list robustness', () => {
  it('reports and skips corrupt and foreign entries, never throws', async () => {
    const good = await store.create(baseOpts);
    const R = store.root;
    await mkdir(join(R, 'empty-folder'));
    await mkdir(join(R, 'bad-json'));
    await writeFile(join(R, 'bad-json', 'run.json'), '{"format": "fernn-lab-run", "id": ');
    await mkdir(join(R, 'foreign'));
    await writeFile(join(R, 'foreign', 'run.json'), JSON.stringify({ format: 'mlflow', name: 'x' }));
    await mkdir(join(R, 'array-json'));
    await writeFile(join(R, 'array-json', 'run.json'), '[1,2,3]');
    await mkdir(join(R, 'schema-mismatch'));
    await writeFile(join(R, 'schema-mismatch', 'run.json'), JSON.stringify({ format: 'fernn-lab-run', formatVersion: 1, id: 'schema-mismatch' }));
    await mkdir(join(R, 'copied-run'));
    await writeFile(join(R, 'copied-run', 'run.json'), await readFile(join(R, good.id, 'run.json')));
    await mkdir(join(R, 'dir-run-json', 'run.json'), { recursive: true });
    await writeFile(join(R, 'stray.txt'), 'hello');
    await writeFile(join(R, `.run.json.${process.pid}.deadbeef.tmp`), '{');
    await mkdir(join(R, 'bad name!'));
    await writeFile(join(R, '.DS_Store'), '');

    const { runs, problems } = await store.list();
    expect(runs.map((r) => r.id)).toEqual([good.id]);
    const reasons = Object.fromEntries(problems.map((p) => [p.dir.slice(R.length + 1), p.reason]));
    expect(Object.keys(reasons).sort()).toEqual(
      [
        '.run.json.' + process.pid + '.deadbeef.tmp',
        'array-json',
        'bad name!',
        'bad-json',
        'copied-run',
        'dir-run-json',
        'empty-folder',
        'foreign',
        'schema-mismatch',
        'stray.txt',
      ].sort(),
    );
    expect(reasons['empty-folder']).toMatch(/no run\.json/);
    expect(reasons['bad-json']).toMatch(/not valid JSON/);
    expect(reasons['foreign']).toMatch(/not a fernn-lab run.*"mlflow"/);
    expect(reasons['array-json']).toMatch(/not a fernn-lab run/);
    expect(reasons['schema-mismatch']).toMatch(/does not match the run schema/);
    expect(reasons['copied-run']).toMatch(/has id .* but the folder is "copied-run"/);
    expect(reasons['dir-run-json']).toMatch(/is a folder/);
    expect(reasons['stray.txt']).toMatch(/a file, not a run folder/);
    expect(reasons[`.run.json.${process.pid}.deadbeef.tmp`]).toMatch(/temporary/);
    expect(reasons['bad name!']).toMatch(/not a run id/);
  });

  it('a second list (served from its summary cache) sees every change: updates, a run.json rewritten by another writer, deletions, corruption', async () => {
    const a = await store.create({ ...baseOpts, name: 'a' });
    const b = await store.create({ ...baseOpts, name: 'b' });
    expect((await store.list()).runs.map((r) => r.name).sort()).toEqual(['a', 'b']);
    await store.update(a.id, (r) => ({ ...r, name: 'a2' }));
    // Another process's write: same length, written in place (no rename), so only the times tell it changed.
    const file = join(store.runDir(b.id), 'run.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"name": "b"', '"name": "c"'));
    expect((await store.list()).runs.map((r) => r.name).sort()).toEqual(['a2', 'c']);
    await writeFile(file, '{ truncated');
    const after = await store.list();
    expect(after.runs.map((r) => r.name)).toEqual(['a2']);
    expect(after.problems.map((p) => p.reason)).toEqual([expect.stringMatching(/not valid JSON/)]);
    await rm(store.runDir(a.id), { recursive: true });
    expect((await store.list()).runs).toEqual([]);
  });

  it('get on a corrupt run.json names the file', async () => {
    const r = await store.create(baseOpts);
    const file = join(store.runDir(r.id), 'run.json');
    await writeFile(file, '{ truncated');
    const err = await expectInputError(store.get(r.id), 'run', /not valid JSON/);
    expect(err.message).toContain(file);
    await rm(file);
    await expectInputError(store.get(r.id), 'run', /no run\.json/);
  });
});

describe('metrics', () => {
  it('appends flushed lines and reads them back in order', async () => {
    const r = await store.create(baseOpts);
    const recs: MetricRecord[] = [
      train(1),
      train(2, null),
      { kind: 'val', step: 2, mse: 0.25, best: true, t: new Date().toISOString() },
      { kind: 'event', step: 2, event: 'early_stop', message: 'no improvement', t: new Date().toISOString() },
    ];
    for (const m of recs) await store.appendMetric(r.id, m);
    expect(await store.readMetrics(r.id)).toEqual({ records: recs, skipped: 0 });
    const text = await readFile(join(store.runDir(r.id), 'metrics.jsonl'), 'utf8');
    expect(text.split('\n')).toHaveLength(recs.length + 1);
  });

  it('keeps call order for concurrent appends', async () => {
    const r = await store.create(baseOpts);
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendMetric(r.id, train(i + 1))));
    expect((await store.readMetrics(r.id)).records.map((m) => m.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('rejects an invalid record naming the field', async () => {
    const r = await store.create(baseOpts);
    await expectInputError(store.appendMetric(r.id, { ...train(1), step: 1.5 }), 'metric.step');
    await expectInputError(store.appendMetric(r.id, { kind: 'bogus' } as unknown as MetricRecord), 'metric.kind');
    expect(await store.readMetrics(r.id)).toEqual({ records: [], skipped: 0 });
  });

  it('tolerates a truncated last line and garbled lines, and appends after them cleanly', async () => {
    const r = await store.create(baseOpts);
    const file = join(store.runDir(r.id), 'metrics.jsonl');
    await store.appendMetric(r.id, train(1));
    await appendFile(file, 'not json at all\n\n{"kind":"train","step":"two"}\n');
    await store.appendMetric(r.id, train(3));
    await appendFile(file, '{"kind":"train","step":4,"epo');
    expect(await store.readMetrics(r.id)).toMatchObject({ records: [{ step: 1 }, { step: 3 }], skipped: 3 });
    await store.appendMetric(r.id, train(5));
    expect(await store.readMetrics(r.id)).toMatchObject({ records: [{ step: 1 }, { step: 3 }, { step: 5 }], skipped: 3 });
  });

  it('a missing metrics.jsonl reads as empty', async () => {
    const r = await store.create(baseOpts);
    await rm(join(store.runDir(r.id), 'metrics.jsonl'));
    expect(await store.readMetrics(r.id)).toEqual({ records: [], skipped: 0 });
    await store.appendMetric(r.id, train(1));
    expect((await store.readMetrics(r.id)).records).toHaveLength(1);
  });
});

describe('ownership, interruption, resume', () => {
  it('claim / heartbeat / release', async () => {
    const r = await store.create(baseOpts);
    const c = await store.claim(r.id);
    expect(c.status).toBe('running');
    expect(c.owner).toMatchObject({ pid: process.pid, host: hostname() });
    expect(c.timings.startedAt).not.toBeNull();
    expect((await store.get(r.id)).status).toBe('running');

    await new Promise((res) => setTimeout(res, 5));
    const h = await store.heartbeat(r.id);
    expect(h.owner!.heartbeatAt > c.owner!.heartbeatAt).toBe(true);
    const p = await store.heartbeat(r.id, { step: 3, lastTrainLoss: 0.5 });
    expect(p.progress).toMatchObject({ step: 3, lastTrainLoss: 0.5, checkpointStep: null });

    const done = await store.release(r.id, 'failed', 'nan_loss', 'loss was NaN at step 7');
    expect(done).toMatchObject({ status: 'failed', endReason: 'nan_loss', endMessage: 'loss was NaN at step 7', owner: null });
    expect(done.timings.endedAt).not.toBeNull();
    await expectInputError(store.heartbeat(r.id), 'run', /no owner/);
    await expectInputError(store.release(r.id, 'running'), 'status');

    // Resuming clears the end state and keeps the first start time.
    const again = await store.claim(r.id);
    expect(again).toMatchObject({ status: 'running', timings: { startedAt: c.timings.startedAt, endedAt: null } });
    expect(again.endReason).toBeUndefined();
    expect(again.endMessage).toBeUndefined();
    const completed = await store.release(r.id, 'completed');
    expect(completed.endReason).toBeUndefined();
  });

  it('claim refuses a run that another live process owns', async () => {
    const r = await store.create(baseOpts);
    await store.claim(r.id);
    // Our parent (the vitest runner) is alive and is not us.
    await expectInputError(store.claim(r.id, process.ppid), 'run', /is running in process/);
    await store.claim(r.id); // re-claiming by the owner itself is fine
    await expectInputError(store.claim(r.id, 0), 'pid');
  });

  it('a running run owned by another host is live while its heartbeat is fresh, interrupted when stale', async () => {
    const r = await store.create(baseOpts);
    const owned =
      (ageMs: number) =>
      (x: RunRecord): RunRecord => ({
        ...x,
        status: 'running',
        owner: { pid: 1, host: `not-${hostname()}`, heartbeatAt: new Date(Date.now() - ageMs).toISOString() },
      });
    await store.update(r.id, owned(1_000));
    expect((await store.get(r.id)).status).toBe('running');
    await store.update(r.id, owned(HEARTBEAT_STALE_MS + 5_000));
    const g = await store.get(r.id);
    expect(g).toMatchObject({ status: 'interrupted', endReason: 'interrupted' });
    expect(g.endMessage).toMatch(/is gone/);
    // get() does not write the effective status back.
    expect(JSON.parse(await readFile(join(store.runDir(r.id), 'run.json'), 'utf8')).status).toBe('running');
    // A running record with no owner can never finish: interrupted as well.
    await store.update(r.id, (x) => ({ ...x, owner: null }));
    expect((await store.list()).runs[0]).toMatchObject({ status: 'interrupted', endReason: 'interrupted' });
  });

  it('remove refuses a live running run, then deletes the whole folder', async () => {
    const r = await store.create(baseOpts);
    await store.claim(r.id);
    await expectInputError(store.remove(r.id), 'run', /is running; stop it first/);
    expect((await store.get(r.id)).status).toBe('running');
    await store.release(r.id, 'cancelled', 'cancelled');
    await store.remove(r.id);
    expect(await readdir(store.root)).toEqual([]);
    await expectInputError(store.get(r.id), 'run', /no run/);
  });

  it('remove leaves corrupt or foreign folders to the user', async () => {
    await mkdir(join(store.root, 'foreign'));
    await writeFile(join(store.root, 'foreign', 'data.bin'), 'x');
    await expectInputError(store.remove('foreign'), 'run', /no run\.json/);
    expect(await readdir(join(store.root, 'foreign'))).toEqual(['data.bin']);
  });

  it('simulated kill: a SIGKILLed writer leaves a readable run that shows as interrupted and resumes', async () => {
    const r = await store.create(baseOpts);
    const dir = store.runDir(r.id);
    // Claims the run as the training worker would, appends 5 flushed records, starts a 6th and hangs mid-line.
    const script = `
      const fs = require('fs'), path = require('path'), os = require('os');
      const dir = process.argv[1];
      const file = path.join(dir, 'run.json');
      const r = JSON.parse(fs.readFileSync(file, 'utf8'));
      const now = new Date().toISOString();
      r.status = 'running';
      r.owner = { pid: process.pid, host: os.hostname(), heartbeatAt: now };
      r.timings.startedAt = now;
      const tmp = path.join(dir, '.run.json.' + process.pid + '.0badc0de.tmp');
      fs.writeFileSync(tmp, JSON.stringify(r));
      fs.renameSync(tmp, file);
      const fd = fs.openSync(path.join(dir, 'metrics.jsonl'), 'a');
      for (let step = 1; step <= 5; step++) {
        fs.writeSync(fd, JSON.stringify({ kind: 'train', step, epoch: 0, loss: 1 / step, gradNorm: 0.5, msPerStep: 3, t: new Date().toISOString() }) + '\\n');
        fs.fdatasyncSync(fd);
      }
      fs.writeSync(fd, '{"kind":"train","step":6,"epo');
      fs.fdatasyncSync(fd);
      // A checkpoint write cut short by the kill.
      fs.writeFileSync(path.join(dir, 'checkpoints', '.last.safetensors.' + process.pid + '.12345678.tmp'), 'partial');
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = exited(child);
    try {
      expect(await firstLine(child)).toBe('ready');
      expect(await store.get(r.id)).toMatchObject({ status: 'running', owner: { pid: child.pid } });
      await expectInputError(store.remove(r.id), 'run', /is running/);
    } finally {
      child.kill('SIGKILL');
    }
    expect((await exit).signal).toBe('SIGKILL');

    const g = await store.get(r.id);
    expect(g).toMatchObject({ status: 'interrupted', endReason: 'interrupted' });
    expect(g.endMessage).toContain(String(child.pid));
    expect((await store.list()).runs.map((x) => x.status)).toEqual(['interrupted']);
    const m = await store.readMetrics(r.id);
    expect(m.records.map((x) => x.step)).toEqual([1, 2, 3, 4, 5]);
    expect(m.skipped).toBe(1);

    // Resume: this process claims it (sweeping the dead writer's temp file) and carries on appending.
    const resumed = await store.claim(r.id);
    expect(resumed.owner!.pid).toBe(process.pid);
    expect(await readdir(join(dir, 'checkpoints'))).toEqual([]);
    await store.appendMetric(r.id, train(6));
    expect((await store.readMetrics(r.id)).records.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await store.release(r.id, 'completed')).status).toBe('completed');
  });
});

describe('concurrent readers', () => {
  it('readers never see an error or a partial run.json while a writer updates and appends 100 times', async () => {
    const r = await store.create(baseOpts);
    const dir = store.runDir(r.id);
    const reader = new RunStore(store.root);
    // A second process reads the raw files in a tight loop too: the guarantee must hold across processes.
    const script = `
      const fs = require('fs'), path = require('path');
      const dir = process.argv[1];
      let reads = 0, bad = 0, lastStep = -1;
      const readOnce = () => {
        try {
          const rec = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
          if (rec.progress.step < lastStep) bad++;
          lastStep = rec.progress.step;
          reads++;
        } catch (e) { bad++; }
      };
      // At least one read whatever the scheduling: one before 'ready', then in a tight loop until STOP.
      readOnce();
      process.stdout.write('ready\\n');
      while (!fs.existsSync(path.join(dir, 'STOP'))) readOnce();
      process.stdout.write(JSON.stringify({ reads, bad, lastStep }) + '\\n');
    `;
    const child = spawn(process.execPath, ['-e', script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d.toString()));
    const childExit = exited(child);
    expect(await firstLine(child)).toBe('ready');

    let done = false;
    let reads = 0;
    try {
      const writer = (async () => {
        try {
          for (let i = 1; i <= 100; i++) {
            await store.update(r.id, (x) => ({ ...x, progress: { ...x.progress, step: i } }));
            await store.appendMetric(r.id, train(i));
          }
        } finally {
          done = true;
        }
      })();
      let lastStep = -1;
      let lastCount = -1;
      const readLoop = (async () => {
        while (!done) {
          const g = await reader.get(r.id);
          expect(g.progress.step).toBeGreaterThanOrEqual(lastStep);
          lastStep = g.progress.step;
          const raw = await readFile(join(dir, 'run.json'), 'utf8');
          expect(() => JSON.parse(raw)).not.toThrow();
          const m = await reader.readMetrics(r.id);
          expect(m.skipped).toBe(0);
          expect(m.records.length).toBeGreaterThanOrEqual(lastCount);
          lastCount = m.records.length;
          reads++;
        }
      })();
      await Promise.all([writer, readLoop]);
    } finally {
      done = true;
      // Stops the reader process on failure too, so it does not hold the temp folder.
      await writeFile(join(dir, 'STOP'), '');
      await childExit;
    }

    expect(reads).toBeGreaterThan(0);
    const childResult = JSON.parse(out.join('').split('\n')[1]) as { reads: number; bad: number; lastStep: number };
    expect(childResult.bad).toBe(0);
    expect(childResult.reads).toBeGreaterThan(0);
    expect((await store.get(r.id)).progress.step).toBe(100);
    expect((await store.readMetrics(r.id)).records).toHaveLength(100);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('checkpoints and evaluations', () => {
  beforeAll(async () => {
    await useCpu();
  });

  it('checkpointPath names checkpoints/<which>.safetensors', async () => {
    const r = await store.create(baseOpts);
    expect(store.checkpointPath(r.id, 'last')).toBe(join(store.runDir(r.id), 'checkpoints', 'last.safetensors'));
    expect(store.checkpointPath(r.id, 'best')).toBe(join(store.runDir(r.id), 'checkpoints', 'best.safetensors'));
    await expectInputError(() => store.checkpointPath(r.id, 'worst' as 'last'), 'checkpoint');
  });

  it('writeResumePoint writes the optimizer state, last and (when best) best; the model round-trips', async () => {
    const r = await store.create(baseOpts);
    const model = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'grnn', hidden: 2 })), 3);
    try {
      const weights = await encodeModelSafetensors(model, { step: '10' });
      await store.writeResumePoint(r.id, { weights, optimizer: new TextEncoder().encode('opt'), best: false });
      expect((await readdir(join(store.runDir(r.id), 'checkpoints'))).sort()).toEqual(['last.optimizer.safetensors', 'last.safetensors']);
      expect(await readFile(store.optimizerPath(r.id), 'utf8')).toBe('opt');
      await store.writeResumePoint(r.id, { weights, optimizer: new TextEncoder().encode('opt2'), best: true });
      expect((await readdir(join(store.runDir(r.id), 'checkpoints'))).sort()).toEqual(['best.safetensors', 'last.optimizer.safetensors', 'last.safetensors']);
      const loaded = await loadModelSafetensors(store.checkpointPath(r.id, 'best'));
      expect(loaded.metadata.step).toBe('10');
      expect(loaded.config).toEqual(model.config);
      disposeModel(loaded);
      await expectInputError(store.writeResumePoint('nope', { weights, optimizer: weights, best: false }), 'run', /no run/);
    } finally {
      disposeModel(model);
    }
  });

  it('claim sweeps temp files of dead writers only', async () => {
    const r = await store.create(baseOpts);
    const ck = join(store.runDir(r.id), 'checkpoints');
    // 4194305 is above Linux's largest pid_max, so no process has it.
    await writeFile(join(ck, '.last.safetensors.4194305.aaaaaaaa.tmp'), 'dead');
    await writeFile(join(ck, `.best.safetensors.${process.pid}.bbbbbbbb.tmp`), 'live');
    await store.claim(r.id);
    expect(await readdir(ck)).toEqual([`.best.safetensors.${process.pid}.bbbbbbbb.tmp`]);
  });
});

describe('export', () => {
  async function twoRuns(): Promise<[RunRecord, RunRecord]> {
    const a = await store.create(baseOpts);
    const b = await store.create({ ...baseOpts, config: trainConfigSchema.parse({ model: 'grnn', vRange: 0, hidden: 4, steps: 10 }) });
    await store.appendMetric(a.id, { kind: 'train', step: 1, epoch: 0.5, loss: 0.75, gradNorm: null, msPerStep: 12.5, t: '2026-01-01T00:00:00.000Z' });
    await store.appendMetric(a.id, { kind: 'val', step: 1, mse: 0.125, best: true, t: '2026-01-01T00:00:01.000Z' });
    await store.appendMetric(a.id, { kind: 'val-accuracy', step: 2, accuracy: 0.5, loss: null, best: false, t: '2026-01-01T00:00:01.500Z' });
    await store.appendMetric(b.id, { kind: 'event', step: 0, event: 'note', message: 'said "hi", then\nleft', t: '2026-01-01T00:00:02.000Z' });
    return [a, b];
  }

  it('CSV: header, one row per metric record, empty cells where n/a, RFC 4180 quoting', async () => {
    const [a, b] = await twoRuns();
    const csv = await store.exportRuns([a.id, b.id], 'csv');
    expect(csv.endsWith('\n')).toBe(true);
    const header = 'run_id,model,v_range,kind,step,epoch,loss,grad_norm,ms_per_step,mse,accuracy,best,event,message,t';
    expect(CSV_COLUMNS.join(',')).toBe(header);
    expect(csv).toBe(
      [
        header,
        `${a.id},fernn,1,train,1,0.5,0.75,,12.5,,,,,,2026-01-01T00:00:00.000Z`,
        `${a.id},fernn,1,val,1,,,,,0.125,,true,,,2026-01-01T00:00:01.000Z`,
        `${a.id},fernn,1,val-accuracy,2,,,,,,0.5,false,,,2026-01-01T00:00:01.500Z`,
        `${b.id},grnn,0,event,0,,,,,,,,note,"said ""hi"", then\nleft",2026-01-01T00:00:02.000Z`,
        '',
      ].join('\n'),
    );
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell(null)).toBe('');
    expect(csvCell('cr\r')).toBe('"cr\r"');
  });

  it('JSON: array of {run, metrics} in the order asked', async () => {
    const [a, b] = await twoRuns();
    const parsed = JSON.parse(await store.exportRuns([b.id, a.id], 'json')) as { run: RunRecord; metrics: MetricRecord[] }[];
    expect(parsed.map((x) => x.run.id)).toEqual([b.id, a.id]);
    expect(parsed[0].run).toEqual(await store.get(b.id));
    expect(parsed[0].metrics).toEqual([{ kind: 'event', step: 0, event: 'note', message: 'said "hi", then\nleft', t: '2026-01-01T00:00:02.000Z' }]);
    expect(parsed[1].metrics.map((m) => m.kind)).toEqual(['train', 'val', 'val-accuracy']);
    await expectInputError(store.exportRuns([a.id], 'xml' as 'csv'), 'format');
  });
});
