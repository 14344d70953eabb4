// End-to-end tests of the built CLI (dist/cli.js via bin/fernn-lab.js), run as child processes: stdout carries only
// results (one JSON object with --json), errors are exit code 2 with a message naming the flag or file, and a
// failed predict writes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { ROOT, cli, killLiveClis } from '../helpers/cli';
import { makeCellConfig, makeSeq2SeqConfig } from '../../src/core/nn/config';
import { createSeq2Seq, disposeModel, predict } from '../../src/core/nn/seq2seq';
import { encodeModelSafetensors } from '../../src/node/checkpoint/safetensors';
import { writeFileAtomic } from '../../src/node/store/atomicFile';
import { encodeNpy, parseNpy, type NpyArray } from '../../src/node/npy';

/** A model written to a file as the run store writes checkpoints: its safetensors bytes, atomically. */
const saveModel = async (path: string, model: Parameters<typeof encodeModelSafetensors>[0], meta?: Record<string, string>): Promise<void> =>
  writeFileAtomic(path, await encodeModelSafetensors(model, meta));

const PARITY = join(ROOT, 'test', 'fixtures', 'parity');
const FERNN_PTH = join(PARITY, 'fernn_v1.pth');
const FERNN_INPUT = join(PARITY, 'fernn_v1.input.npy');
const GRNN_PTH = join(PARITY, 'grnn.pth');

/** Small and fast: wasm is deterministic and quicker than cpu for these sizes. */
const T = 5;
const SMALL = ['--hidden', '4', '--height', '10', '--width', '12', '--steps', String(T), '--seed', '3', '--backend', 'wasm'];

interface StepReport {
  t: number;
  hidden_rel_err: number | null;
  output_rel_err: number | null;
}

interface EquivarianceJson {
  model: string;
  v_range: number;
  flow: string;
  backend: string;
  hidden: number;
  checkpoint: string | null;
  per_step: StepReport[];
  note?: string;
}

/** stdout must be exactly one JSON object (one line) and nothing else. */
function parseSingleJson(stdout: string): EquivarianceJson {
  const text = stdout.trim();
  expect(text.startsWith('{')).toBe(true);
  expect(text.split('\n')).toHaveLength(1);
  const obj = JSON.parse(text) as unknown;
  expect(obj).toBeTypeOf('object');
  expect(Array.isArray(obj)).toBe(false);
  return obj as EquivarianceJson;
}

function checkShape(j: EquivarianceJson, steps: number): void {
  for (const k of ['model', 'v_range', 'flow', 'backend', 'per_step']) expect(j).toHaveProperty(k);
  expect(j.per_step.map((s) => s.t)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
  for (const s of j.per_step) {
    expect(s).toHaveProperty('hidden_rel_err');
    expect(s).toHaveProperty('output_rel_err');
  }
}

async function equivarianceJson(args: string[], steps = T): Promise<EquivarianceJson> {
  const r = await cli(['equivariance', ...args, '--json']);
  expect(r.stderr, 'stderr of a successful run').not.toMatch(/error/i);
  expect(r.code).toBe(0);
  const j = parseSingleJson(r.stdout);
  checkShape(j, steps);
  return j;
}

function readNpy(path: string): NpyArray {
  return parseNpy(new Uint8Array(readFileSync(path)));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let dir: string;
let safetensorsPath: string;
/** In-process prediction of the safetensors model on the fernn_v1 input, [B, K, 1, H, W]. */
let safetensorsPred: { shape: number[]; data: Float32Array };

beforeAll(async () => {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`node scripts/build.mjs failed (${build.status}): ${build.stderr}`);

  dir = mkdtempSync(join(tmpdir(), 'fernn-cli-'));
  await useCpu();
  const model = createSeq2Seq(makeSeq2SeqConfig(makeCellConfig({ kind: 'fernn', vRange: 1, hidden: 5 }), { decoderLayers: 2 }), 7);
  safetensorsPath = join(dir, 'fernn_v1_lib.safetensors');
  await saveModel(safetensorsPath, model);
  const inp = readNpy(FERNN_INPUT);
  const [b, t, c, h, w] = inp.shape;
  const x = tf.tidy(() => tf.transpose(tf.tensor5d(inp.data, [b, t, c, h, w]), [0, 1, 3, 4, 2]) as tf.Tensor5D);
  const y = predict(model, x, 3);
  const yRef = tf.transpose(y, [0, 1, 4, 2, 3]);
  safetensorsPred = { shape: [...yRef.shape], data: (await yRef.data()) as Float32Array };
  [x, y, yRef].forEach((k) => k.dispose());
  disposeModel(model);
});

afterAll(() => {
  killLiveClis();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('equivariance', () => {
  it('fernn --json: one JSON object, required keys, t = 1..T, exact hidden equivariance', async ({ expect }) => {
    const j = await equivarianceJson(['--model', 'fernn', '--v-range', '1', '--flow', 'translate:1,0', ...SMALL]);
    expect(j.model).toBe('fernn');
    expect(j.v_range).toBe(1);
    expect(j.flow).toBe('translate:1,0');
    expect(j.backend).toBe('wasm');
    expect(j.checkpoint).toBeNull();
    expect(j.note).toBeUndefined();
    for (const s of j.per_step) {
      expect(s.hidden_rel_err).toBeTypeOf('number');
      expect(s.hidden_rel_err as number).toBeLessThan(1e-5);
      expect(s.output_rel_err).toBeTypeOf('number');
    }
  });

  it('grnn with the same flow: the hidden state is not equivariant from t = 2 on', async ({ expect }) => {
    const j = await equivarianceJson(['--model', 'grnn', '--flow', 'translate:1,0', ...SMALL]);
    expect(j.model).toBe('grnn');
    expect(j.v_range).toBe(0);
    for (const s of j.per_step.filter((p) => p.t >= 2)) expect(s.hidden_rel_err as number).toBeGreaterThan(1e-2);
  });

  it('grnn with an explicit --v-range 0 is accepted', async ({ expect }) => {
    const j = await equivarianceJson(['--model', 'grnn', '--v-range', '0', '--flow', 'translate:1,0', ...SMALL]);
    expect(j.model).toBe('grnn');
  });

  it('grnn-plus: velocity channels without the shift are not equivariant', async ({ expect }) => {
    const j = await equivarianceJson(['--model', 'grnn-plus', '--v-range', '1', '--flow', 'translate:1,0', ...SMALL]);
    expect(j.model).toBe('grnn-plus');
    expect(j.v_range).toBe(1);
    for (const s of j.per_step.filter((p) => p.t >= 2)) expect(s.hidden_rel_err as number).toBeGreaterThan(1e-2);
  });

  it('rotation cells: the C4 rotation FERNN is equivariant to quarter turns per timestep, the rotation G-RNN is not', async ({ expect }) => {
    const sq = [
      '--hidden',
      '2',
      '--height',
      '12',
      '--width',
      '12',
      '--steps',
      String(T),
      '--seed',
      '3',
      '--backend',
      'wasm',
      '--group',
      '4',
      '--flow',
      'rotate:90',
    ];
    const f = await equivarianceJson(['--model', 'fernn-rot', '--v-range', '1', '--omega-step', '90', ...sq]);
    expect(f.model).toBe('fernn-rot');
    expect(f.flow).toBe('rotate:90');
    for (const s of f.per_step) expect(s.hidden_rel_err as number).toBeLessThan(1e-5);
    const g = await equivarianceJson(['--model', 'grnn-rot', ...sq]);
    for (const s of g.per_step.filter((p) => p.t >= 2)) expect(s.hidden_rel_err as number).toBeGreaterThan(1e-2);
  });

  it('a flow that constrains no slice of V: hidden_rel_err null and a note', async ({ expect }) => {
    const j = await equivarianceJson(['--model', 'fernn', '--v-range', '1', '--flow', 'translate:3,0', ...SMALL]);
    expect(j.flow).toBe('translate:3,0');
    for (const s of j.per_step) {
      expect(s.hidden_rel_err).toBeNull();
      expect(s.output_rel_err).toBeTypeOf('number');
    }
    expect(j.note).toBeTypeOf('string');
    expect(j.note).toMatch(/translate:3,0/);
  });

  it("--backend auto: the backend line is the only word on WebGPU; Dawn's native warnings stay out of stderr", async ({ expect }) => {
    const auto = SMALL.slice(0, SMALL.indexOf('--backend'));
    const r = await cli(['equivariance', '--model', 'fernn', '--v-range', '1', '--flow', 'translate:1,0', ...auto]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/artificially reduced|maxDynamic|^Warning:/m);
    expect(r.stderr).toMatch(/^backend: \w+ — .*on (the|a) (GPU|CPU)/m);
    // In CI Mesa's lavapipe is installed (FERNN_REQUIRE_WEBGPU=1): Dawn did look, and said so only through the line.
    if (process.env.FERNN_REQUIRE_WEBGPU === '1') expect(r.stderr).toMatch(/webgpu: only a software adapter \(.*llvmpipe/);
  });

  it('without --json: a readable table with a header and T rows, no JSON', async ({ expect }) => {
    const r = await cli(['equivariance', '--model', 'fernn', '--v-range', '1', '--flow', 'translate:1,0', ...SMALL]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().startsWith('{')).toBe(false);
    const lines = r.stdout.split('\n');
    const head = lines.findIndex((l) => /\bt\b/.test(l) && /hidden rel err/.test(l) && /readout rel err/.test(l));
    expect(head).toBeGreaterThanOrEqual(0);
    expect(lines[head + 1]).toMatch(/^[-\s]+$/);
    const rows = lines.slice(head + 2).filter((l) => /^\s*\d+\s/.test(l));
    expect(rows).toHaveLength(T);
    expect(rows.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([1, 2, 3, 4, 5]);
    for (const l of rows) expect(l).toMatch(/\d\.\d\de[+-]\d/);
  });

  it('without --json, an unconstrained flow shows n/a and the note', async ({ expect }) => {
    const r = await cli(['equivariance', '--model', 'fernn', '--v-range', '1', '--flow', 'translate:3,0', ...SMALL]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/n\/a/);
    expect(r.stdout).toMatch(/note:/);
  });

  it('--checkpoint with the reference fernn_v1.pth (--v-range 1)', async ({ expect }) => {
    const j = await equivarianceJson(['--checkpoint', FERNN_PTH, '--v-range', '1', '--height', '12', '--width', '10', '--steps', '4', '--backend', 'wasm'], 4);
    expect(j.model).toBe('fernn');
    expect(j.v_range).toBe(1);
    expect(j.hidden).toBe(8);
    expect(j.checkpoint).toBe(FERNN_PTH);
    for (const s of j.per_step) expect(s.hidden_rel_err as number).toBeLessThan(1e-5);
  });

  it('--checkpoint with the reference grnn.pth (--v-range 0) is not equivariant', async ({ expect }) => {
    const j = await equivarianceJson(['--checkpoint', GRNN_PTH, '--v-range', '0', '--height', '9', '--width', '11', '--steps', '4', '--backend', 'cpu'], 4);
    expect(j.v_range).toBe(0);
    expect(j.hidden).toBe(6);
    expect(j.backend).toBe('cpu');
    for (const s of j.per_step.filter((p) => p.t >= 2)) expect(s.hidden_rel_err as number).toBeGreaterThan(1e-2);
  });

  it('--checkpoint with a .safetensors written by the lib', async ({ expect }) => {
    const j = await equivarianceJson(['--checkpoint', safetensorsPath, ...SMALL]);
    expect(j.model).toBe('fernn');
    expect(j.v_range).toBe(1);
    expect(j.hidden).toBe(5);
    expect(j.checkpoint).toBe(safetensorsPath);
    for (const s of j.per_step) expect(s.hidden_rel_err as number).toBeLessThan(1e-5);
  });
});

describe.concurrent('predict', () => {
  it.for([
    ['fernn_v1', '1', [2, 4, 1, 12, 10]],
    ['grnn', '0', [2, 4, 1, 9, 11]],
  ] as const)('%s.pth reproduces the reference output', async ([name, vRange, shape], { expect }) => {
    const out = join(dir, `pred-${name}.npy`);
    const r = await cli([
      'predict',
      '--checkpoint',
      join(PARITY, `${name}.pth`),
      '--v-range',
      vRange,
      '--input',
      join(PARITY, `${name}.input.npy`),
      '--pred-len',
      '4',
      '--out',
      out,
      '--backend',
      'wasm',
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const got = readNpy(out);
    const want = readNpy(join(PARITY, `${name}.output.npy`));
    expect(got.shape).toEqual([...shape]);
    expect(want.shape).toEqual([...shape]);
    expect(maxAbsDiff(got.data, want.data)).toBeLessThan(1e-4);
    expect(readdirSync(dir).filter((f) => f.includes(`pred-${name}.npy.tmp`))).toEqual([]);
  });

  it('a .safetensors written by the lib predicts what the lib predicts (cpu)', async ({ expect }) => {
    const out = join(dir, 'pred-safetensors.npy');
    const r = await cli(['predict', '--checkpoint', safetensorsPath, '--input', FERNN_INPUT, '--pred-len', '3', '--out', out, '--backend', 'cpu']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const got = readNpy(out);
    expect(got.shape).toEqual([2, 3, 1, 12, 10]);
    expect(got.shape).toEqual(safetensorsPred.shape);
    expect(maxAbsDiff(got.data, safetensorsPred.data)).toBeLessThan(1e-5);
  });
});

// ---- bad input: exit 2, stderr names the flag or file, stdout empty ----

const EQ_BASE = ['equivariance', ...SMALL, '--json'];

const equivarianceErrors: [string, string[], RegExp][] = [
  ['unknown flag', ['--bogus-flag', '1'], /--bogus-flag/],
  ['--model bogus', ['--model', 'bogus'], /--model/],
  ['--v-range -1', ['--v-range', '-1'], /--v-range/],
  ['--v-range 2.5', ['--v-range', '2.5'], /--v-range.*integer/],
  ['--v-range abc', ['--v-range', 'abc'], /--v-range.*number/],
  ['--v-range (empty)', ['--v-range', ''], /--v-range.*number/],
  ['--seed (blank)', ['--seed', ' '], /--seed.*number/],
  ['--hidden 0', ['--hidden', '0'], /--hidden/],
  ['--flow spin:3', ['--flow', 'spin:3'], /--flow.*spin:3/],
  ['--flow translate:1', ['--flow', 'translate:1'], /--flow.*translate:1/],
  ['--steps 0', ['--steps', '0'], /--steps/],
  ['grnn with --v-range 2', ['--model', 'grnn', '--v-range', '2'], /--v-range/],
  ['--backend bogus', ['--backend', 'bogus'], /--backend/],
  ['.pth without --v-range', ['--checkpoint', FERNN_PTH], /v-range/],
  ['missing checkpoint file', ['--checkpoint', join(PARITY, 'no-such-model.safetensors')], /checkpoint.*no-such-model\.safetensors/],
  ['checkpoint with an unknown extension', ['--checkpoint', join(PARITY, 'fernn_v1.json')], /checkpoint.*fernn_v1\.json.*extension/],
];

describe.concurrent('equivariance: bad input', () => {
  it.for(equivarianceErrors)('%s', async ([, args, pattern], { expect }) => {
    const r = await cli([...EQ_BASE, ...args]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(pattern);
    expect(r.code).toBe(2);
  });

  it('unknown command', async ({ expect }) => {
    const r = await cli(['bogus-command']);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bogus-command/);
    expect(r.code).toBe(2);
  });
});

interface PredictCase {
  name: string;
  /** Flags replacing or removing (value null) the good defaults. */
  flags: Record<string, string | null>;
  pattern: RegExp;
  /** Out path relative to the case's (empty) folder. */
  out?: string;
}

/** Bad inputs, written in beforeAll of the block below. */
const bad = {
  garbage: 'garbage.npy',
  fourD: 'four-d.npy',
  channels: 'three-channels.npy',
  nan: 'nan.npy',
};

const predictErrors: PredictCase[] = [
  { name: 'unknown flag', flags: { '--bogus-flag': '1' }, pattern: /--bogus-flag/ },
  { name: 'no --checkpoint', flags: { '--checkpoint': null }, pattern: /--checkpoint/ },
  { name: '.pth without --v-range', flags: { '--v-range': null }, pattern: /v-range.*\.pth|\.pth.*v-range/ },
  { name: '--v-range abc', flags: { '--v-range': 'abc' }, pattern: /--v-range/ },
  { name: 'missing checkpoint file', flags: { '--checkpoint': join(PARITY, 'no-such-model.pth') }, pattern: /checkpoint.*no-such-model\.pth/ },
  { name: 'checkpoint with an unknown extension', flags: { '--checkpoint': join(PARITY, 'fernn_v1.json') }, pattern: /checkpoint.*fernn_v1\.json/ },
  { name: 'no --input', flags: { '--input': null }, pattern: /--input/ },
  { name: 'missing input file', flags: { '--input': join(PARITY, 'no-such-input.npy') }, pattern: /--input.*no-such-input\.npy/ },
  { name: 'input that is not .npy (garbage bytes)', flags: { '--input': bad.garbage }, pattern: /--input.*npy/ },
  { name: 'input 4-d array', flags: { '--input': bad.fourD }, pattern: /--input.*5-d/ },
  { name: 'input with 3 channels', flags: { '--input': bad.channels }, pattern: /--input.*channels/ },
  { name: 'input containing NaN', flags: { '--input': bad.nan }, pattern: /--input.*NaN/ },
  { name: '--out into a missing folder', flags: {}, out: join('no-such-folder', 'pred.npy'), pattern: /--out.*no-such-folder/ },
  { name: '--out not ending in .npy', flags: {}, out: 'pred.bin', pattern: /--out.*\.npy/ },
  { name: '--pred-len 0', flags: { '--pred-len': '0' }, pattern: /--pred-len/ },
  { name: 'no --pred-len', flags: { '--pred-len': null }, pattern: /--pred-len: is required/ },
  { name: '--backend bogus', flags: { '--backend': 'bogus' }, pattern: /--backend/ },
];

describe.concurrent('predict: bad input writes nothing', () => {
  let badDir: string;
  beforeAll(() => {
    badDir = join(dir, 'bad-inputs');
    mkdirSync(badDir);
    writeFileSync(join(badDir, bad.garbage), 'this is not a NumPy file at all, just garbage bytes \x00\x01\x02');
    writeFileSync(join(badDir, bad.fourD), encodeNpy(new Float32Array(2 * 5 * 12 * 10).fill(0.5), [2, 5, 12, 10]));
    writeFileSync(join(badDir, bad.channels), encodeNpy(new Float32Array(2 * 5 * 3 * 12 * 10).fill(0.5), [2, 5, 3, 12, 10]));
    const withNan = new Float32Array(2 * 5 * 1 * 12 * 10).fill(0.5);
    withNan[17] = Number.NaN;
    writeFileSync(join(badDir, bad.nan), encodeNpy(withNan, [2, 5, 1, 12, 10]));
  });

  it.for(predictErrors.map((c, i) => [c.name, c, i] as const))('%s', async ([, c, i], { expect }) => {
    const caseDir = join(dir, `predict-error-${i}`);
    mkdirSync(caseDir);
    const out = join(caseDir, c.out ?? 'pred.npy');
    const flags: Record<string, string | null> = {
      '--checkpoint': FERNN_PTH,
      '--v-range': '1',
      '--input': FERNN_INPUT,
      '--pred-len': '4',
      '--out': out,
      '--backend': 'wasm',
      ...c.flags,
    };
    const args = ['predict'];
    for (const [k, v] of Object.entries(flags)) {
      if (v === null) continue;
      args.push(k, Object.values(bad).includes(v) ? join(badDir, v) : v);
    }
    const r = await cli(args);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(c.pattern);
    expect(r.code).toBe(2);
    // Nothing written: no output, no temp file, no folder created.
    expect(readdirSync(caseDir)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});

describe.concurrent('help', () => {
  it.for(['--help', 'equivariance --help', 'predict --help'])('%s exits 0 with usage on stdout', async (line, { expect }) => {
    const r = await cli(line.split(' '));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: fernn-lab/);
  });
});
