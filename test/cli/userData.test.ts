// The CLI on a user's own data and weights: `train --data X.npy --init CHECKPOINT --batch-order file` reproduces the
// PyTorch training-parity fixture; bad data or a checkpoint that does not fit exits 2 naming the file (and the
// sequence, the parameter and both shapes) and leaves no run in the store.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpu } from '../helpers/backend';
import { maxAbsDiff } from '../helpers/close';
import { DIR, failures, meta, type Trained } from '../helpers/trainingParity';
import { encodeNpy } from '../../src/node/npy';
import { importReferencePth } from '../../src/node/checkpoint/pth';
import { loadModelSafetensors } from '../../src/node/checkpoint/safetensors';
import { disposeModel } from '../../src/core/nn/seq2seq';
import { runRecordSchema } from '../../src/core/protocol/run';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'fernn-lab.js');
const FIX = join(ROOT, DIR);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let dir: string;
beforeAll(async () => {
  await useCpu();
  dir = mkdtempSync(join(tmpdir(), 'fernn-userdata-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run folders in a store (each has a run.json). */
const runsIn = (store: string): string[] => (existsSync(store) ? readdirSync(store).filter((n) => existsSync(join(store, n, 'run.json'))) : []);

/** The flags of a fixture run: its model, data (all three splits the same file, as torch trained on all of it), init. */
function parityFlags(run: string, store: string): string[] {
  const s = meta(run);
  const data = join(FIX, `${s.name}.data.npy`);
  const cfg = JSON.parse(readFileSync(join(FIX, `${run}.json`), 'utf8')) as { hidden: number; decoder_conv_layers: number; pred_len: number };
  return [
    'train',
    ...['--data', data, '--data-val', data, '--data-test', data, '--batch-order', 'file', '--init', join(FIX, `${s.name}.init.pth`)],
    ...['--model', s.v_range === 0 ? 'grnn' : 'fernn', '--v-range', String(s.v_range), '--hidden', String(cfg.hidden)],
    ...['--decoder-layers', String(cfg.decoder_conv_layers), '--input-frames', String(s.t_in), '--pred-frames', String(cfg.pred_len)],
    ...['--batch', String(s.batch), '--steps', String(s.steps), '--lr', String(s.lr), '--clip-norm', String(s.clip)],
    ...['--teacher-forcing', String(s.teacher_forcing), '--backend', 'wasm', '--store', store, '--json'],
  ];
}

describe('train --data .npy --init .pth --batch-order file: the PyTorch training-parity fixture through the CLI', () => {
  it.each(['grnn.tf1', 'fernn_v1.tf0'] as const)(
    '%s: per-step losses, gradient norms and final weights match torch; run.json records the sources',
    async (run) => {
      const store = join(dir, `parity-${run}`);
      const r = await cli(parityFlags(run, store));
      expect(r.stderr).not.toMatch(/error/i);
      expect(r.code).toBe(0);
      const [id] = runsIn(store);
      const metrics = readFileSync(join(store, id, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; loss: number; gradNorm: number });
      const train = metrics.filter((m) => m.kind === 'train');
      const s = meta(run);
      const ours = await loadModelSafetensors(join(store, id, 'checkpoints', 'last.safetensors'));
      const want = await importReferencePth(join(FIX, `${run}.final.pth`), { vRange: s.v_range });
      let weightErr = 0;
      for (const [k, v] of Object.entries(want.params)) weightErr = Math.max(weightErr, maxAbsDiff(await ours.params[k].data(), await v.data()));
      const got: Trained = { losses: train.map((m) => m.loss), norms: train.map((m) => m.gradNorm), weightErr, moved: 0 };
      expect(failures(got, s)).toEqual([]);
      disposeModel(ours);
      disposeModel(want);

      const rec = runRecordSchema.parse(JSON.parse(readFileSync(join(store, id, 'run.json'), 'utf8')));
      expect(rec.config.batchOrder).toBe('file');
      expect(rec.sources?.init).toEqual({ path: join(FIX, `${s.name}.init.pth`), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), format: 'pth' });
      expect(rec.sources?.data?.map((d) => d.split)).toEqual(['all', 'val', 'test']);
      expect(rec.sources?.data?.[0].dtype).toBe('float32');
    },
    120_000,
  );
});

// ---- bad data and checkpoints: exit 2, the message names the file (and sequence), nothing in the store ----

/** A small valid prediction run on `data` (sequences of 4 + 3 frames). */
const small = (data: string, store: string, extra: string[] = []): string[] => [
  'train',
  ...['--data', data, '--model', 'grnn', '--hidden', '3', '--input-frames', '4', '--pred-frames', '3', '--steps', '1', '--backend', 'wasm', '--store', store],
  ...extra,
];

/** Writes raw .npy bytes of any dtype: header dict + data. */
function rawNpy(name: string, descr: string, shape: number[], data: Uint8Array): string {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = new Uint8Array(total);
  header.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(header.buffer).setUint16(8, total - 10, true);
  const text = dict.padEnd(total - 11, ' ') + '\n';
  for (let i = 0; i < text.length; i++) header[10 + i] = text.charCodeAt(i);
  const p = join(dir, name);
  const out = new Uint8Array(total + data.length);
  out.set(header);
  out.set(data, total);
  writeFileSync(p, out);
  return p;
}

/** A float32 .npy of `shape` filled with 0.5, with `poke` applied. */
function f32(name: string, shape: number[], poke: (a: Float32Array) => void = () => {}): string {
  const a = new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(0.5);
  poke(a);
  const p = join(dir, name);
  writeFileSync(p, encodeNpy(a, shape));
  return p;
}

const SEQ = 7 * 6 * 5; // values per sequence of [N, 7, 6, 5]

describe('bad user data and start checkpoints are refused before the run exists', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'wrong rank',
      () => small(f32('rank3.npy', [4, 7, 30]), join(dir, 's1')),
      /--data: .*rank3\.npy: shape \(4, 7, 30\) has rank 3; expected \[N, T, 1, H, W\] or \[N, T, H, W\]/,
    ],
    ['more than one channel', () => small(f32('rgb.npy', [4, 7, 3, 6, 5]), join(dir, 's2')), /--data: .*rgb\.npy: .*needs C = 1 .*got C = 3/],
    [
      'unsupported dtype',
      () => small(rawNpy('f64.npy', '<f8', [4, 7, 6, 5], new Uint8Array(4 * SEQ * 8)), join(dir, 's3')),
      /--data: .*f64\.npy: dtype '<f8' is not supported/,
    ],
    [
      'NaN, naming the sequence',
      () =>
        small(
          f32('nan.npy', [4, 7, 6, 5], (a) => (a[2 * SEQ + 11] = Number.NaN)),
          join(dir, 's4'),
        ),
      /--data: .*nan\.npy: sequence 2: NaN/,
    ],
    [
      'Inf, naming the sequence',
      () =>
        small(
          f32('inf.npy', [4, 7, 6, 5], (a) => (a[3 * SEQ] = Infinity)),
          join(dir, 's5'),
        ),
      /--data: .*inf\.npy: sequence 3: Infinity/,
    ],
    [
      'a value out of range, naming the sequence',
      () =>
        small(
          f32('range.npy', [4, 7, 6, 5], (a) => (a[SEQ + 1] = 255)),
          join(dir, 's6'),
        ),
      /--data: .*range\.npy: sequence 1: value 255 outside \[0, 1\]/,
    ],
    [
      'sequences of the wrong length',
      () => small(f32('len.npy', [4, 9, 6, 5]), join(dir, 's7')),
      /--data: .*len\.npy: sequences have 9 frames; input frames \+ predicted frames = 4 \+ 3 = 7/,
    ],
    [
      'validation frames of another size',
      () => small(f32('main.npy', [4, 7, 6, 5]), join(dir, 's8'), ['--data-val', f32('val.npy', [2, 7, 6, 6])]),
      /--data-val: .*val\.npy: frames are 6x6, those of .*main\.npy 6x5/,
    ],
    ['a missing file', () => small(join(dir, 'nope.npy'), join(dir, 's9')), /--data: .*nope\.npy: no such file/],
    [
      'not a .npy',
      () => small(f32('ok0.npy', [4, 7, 6, 5]), join(dir, 's10'), ['--data-test', join(ROOT, 'README.md')]),
      /--data-test: .*README\.md: not a \.npy file/,
    ],
    [
      'too few sequences to hold out val and test',
      () => small(f32('two.npy', [2, 7, 6, 5]), join(dir, 's11')),
      /--data: .*two\.npy: 2 sequences leave none to train on/,
    ],
    [
      'a start checkpoint that does not fit: the first parameter and both shapes',
      () => small(f32('ok.npy', [4, 7, 6, 5]), join(dir, 's12'), ['--init', join(FIX, 'grnn.init.pth'), '--hidden', '4', '--decoder-layers', '2']),
      /--init: .*grnn\.init\.pth does not fit the run's model: cell\.conv_h\.weight is \[3, 3, 5, 5\] in the checkpoint, \[3, 3, 4, 4\] in the run's model/,
    ],
    [
      'a start checkpoint with another decoder depth',
      () => small(f32('ok2.npy', [4, 7, 6, 5]), join(dir, 's13'), ['--init', join(FIX, 'grnn.init.pth'), '--hidden', '5', '--decoder-layers', '1']),
      /--init: .*decoder_conv\.2\.weight is \[3, 3, 5, 5\] in the checkpoint, \[3, 3, 5, 1\] in the run's model/,
    ],
    [
      'file order on a generated dataset',
      () => ['train', '--model', 'grnn', '--hidden', '3', '--steps', '1', '--batch-order', 'file', '--store', join(dir, 's14')],
      /--batch-order: .*no file order/,
    ],
  ];
  it.each(cases)('%s', async (_name, args, message) => {
    const a = args();
    const store = a[a.indexOf('--store') + 1];
    const r = await cli(a);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    expect(runsIn(store)).toEqual([]);
  });
});
