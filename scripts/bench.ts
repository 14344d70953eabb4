/**
 * `npm run bench`: ms per training step (forward + backward + Adam, grad-norm clip 1) of the seq2seq FERNN / G-RNN
 * for the configurations of docs/compute.md on every tfjs backend, with the PyTorch reference architecture
 * (scripts/bench_torch.py) timed side by side in the same run when a python with torch is found.
 *
 * Each (config, backend) measurement runs in its own child process (this same bundle with --child): tfjs backends
 * are process-global, and a crash (wasm out of memory) or a timeout must not end the bench. The child prints one
 * JSON line marked with CHILD_MARK on stdout; its stderr (progress) is forwarded and its tail kept as the reason of
 * a crash.
 *
 * Build + run: `npm run bench [-- flags]` (bundles to dist/bench.js; tfjs gradients need the bundle, not tsx).
 * Flags: --json, --jsonl PATH, --backends a,b, --configs a,b, --quick, --targets, --steps N, --warmup N, --timeout-s N,
 *        --wasm-threads N[,M]|cores, --torch-threads N|cores, --webgpu-kernels fused|stock|both, --no-torch, --torch-steps N, --torch-device auto|cpu|cuda,
 *        --torch-script PATH, --python CMD, --list.
 * On webgpu the child also counts the backend's program dispatches and GPU->CPU reads per measured step.
 * GPU machine without Node: `npm run bench:gpu-kit` (scripts/gpu-kit.sh) bundles this file as dist/bench.cjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BACKENDS, backendLine, selectBackend, type BackendName } from '../src/node/backend';
import { makeCellConfig, makeSeq2SeqConfig } from '../src/core/nn/config';
import { gpuKernelMode, type GpuKernelMode } from '../src/core/nn/gpuKernels';
import { createSeq2Seq, disposeModel } from '../src/core/nn/seq2seq';
import { trainStep } from '../src/core/train/step';

// ---------------------------------------------------------------------------------------------------------------
// Configurations

interface BenchConfig {
  name: string;
  model: 'fernn' | 'grnn';
  hidden: number;
  /** V = {-r..r}^2; 0 for the G-RNN. */
  vRange: number;
  batch: number;
  size: number;
  tIn: number;
  tOut: number;
  /** Part of the --quick set. */
  small: boolean;
  note: string;
  /** Measured steps when --steps is not given (the big configurations take several seconds per step). */
  steps?: number;
  /** The performance issue's limit on ms/step relative to PyTorch CPU in the same run (--targets selects these). */
  targetRatio?: number;
  /** Its limit for a GPU backend (webgpu) relative to PyTorch CUDA on the same GPU. */
  gpuTargetRatio?: number;
}

/** Decoder depth of every config (the reference's default is 4; compute.md's measurements use 1). */
const DECODER_LAYERS = 1;

const cfg = (
  name: string,
  model: 'fernn' | 'grnn',
  hidden: number,
  vRange: number,
  batch: number,
  size: number,
  small: boolean,
  note: string,
  extra: { steps?: number; targetRatio?: number; gpuTargetRatio?: number } = {},
): BenchConfig => ({
  name,
  model,
  hidden,
  vRange,
  batch,
  size,
  tIn: 10,
  tOut: 10,
  small,
  note,
  ...extra,
});

export const CONFIGS: BenchConfig[] = [
  cfg('fernn-c32-v1-b16-28', 'fernn', 32, 1, 16, 28, false, 'compute.md config A: FERNN-V1 (|V|=9), hidden 32, batch 16, 28x28', {
    steps: 2,
    targetRatio: 8,
    gpuTargetRatio: 3,
  }),
  cfg('grnn-c32-b16-28', 'grnn', 32, 0, 16, 28, false, 'compute.md G-RNN column: hidden 32, batch 16, 28x28', { targetRatio: 8, gpuTargetRatio: 2 }),
  cfg('fernn-c16-v1-b16-28', 'fernn', 16, 1, 16, 28, false, 'FERNN-V1 (|V|=9), hidden 16, batch 16, 28x28', { steps: 2, targetRatio: 8 }),
  cfg('grnn-c16-b16-28', 'grnn', 16, 0, 16, 28, false, 'G-RNN, hidden 16, batch 16, 28x28'),
  cfg('fernn-c16-v1-b16-16', 'fernn', 16, 1, 16, 16, true, 'FERNN-V1 (|V|=9), hidden 16, batch 16, 16x16 frames'),
  cfg('grnn-c16-b16-16', 'grnn', 16, 0, 16, 16, true, 'G-RNN, hidden 16, batch 16, 16x16 frames'),
  cfg('fernn-c8-v1-b8-16', 'fernn', 8, 1, 8, 16, true, 'FERNN-V1 (|V|=9), hidden 8, batch 8, 16x16 frames'),
];

// ---------------------------------------------------------------------------------------------------------------
// Child: one measurement in this process

const CHILD_MARK = '@@bench-result@@ ';

interface ChildRequest {
  config: BenchConfig;
  /** 'auto' only with probe: what the lab would choose here, and why. */
  backend: BackendName | 'auto';
  steps: number;
  warmup: number;
  /** XNNPACK threads for wasm (undefined: the backend's default). */
  wasmThreads?: number;
  /** webgpu: our fused WGSL kernels or tfjs's stock ops (passed as FERNN_WEBGPU_KERNELS to the backend; undefined: the default, fused). */
  gpuKernels?: GpuKernelMode;
  /** Only select the backend and report it (availability probe). */
  probe?: boolean;
}

interface ChildResult {
  status: 'ok' | 'unavailable' | 'error';
  reason?: string;
  backend_detail?: string;
  backend_warning?: string;
  ms_per_step?: number;
  best_ms?: number;
  step_ms?: number[];
  cpu_ms_per_step?: number;
  warmup_ms?: number[];
  peak_rss_mb?: number;
  peak_tf_mb?: number | null;
  wasm_heap_mb?: number | null;
  /** The GPU kernel mode in effect (gpuKernelMode()) on webgpu. */
  kernels?: GpuKernelMode;
  /** webgpu: program dispatches (runWebGPUProgram calls) per measured step, and their median. */
  dispatches_step?: number[];
  dispatches_per_step?: number;
  /** webgpu: GPU->CPU reads (read/readSync of GPU-resident data) per measured step before the final loss read. */
  reads_step?: number[];
  reads_per_step?: number;
  /** webgpu: the 8 most frequent programs, with dispatches per step (averaged over the measured steps). */
  top_programs?: { program: string; per_step: number }[];
}

function emit(r: ChildResult): void {
  process.stdout.write(CHILD_MARK + JSON.stringify(r) + '\n');
}

const rssMb = (): number => round(process.resourceUsage().maxRSS / 1024, 1); // maxRSS is in KiB

/**
 * Runs `f` under tf.profile to get the peak of tf.memory().numBytes during it. tfjs's own kernel profiler times
 * every kernel and downloads every output (slow, and it would inflate RSS), so it is swapped for a pass-through for
 * the duration; only the byte bookkeeping of tf.profile remains. Returns null peak if the engine is not as expected.
 */
async function withPeakBytes(f: () => Promise<void>): Promise<number | null> {
  type Profiler = { profileKernel: (name: string, inputs: unknown, k: () => tf.Tensor[]) => unknown };
  const engine = tf.engine() as unknown as { profiler?: Profiler };
  const prof = engine.profiler;
  if (!prof || typeof prof.profileKernel !== 'function') {
    await f();
    return null;
  }
  const original = prof.profileKernel;
  prof.profileKernel = (kernelName, inputs, k) => ({ kernelName, inputs, outputs: k(), timeMs: 0, extraInfo: '' });
  try {
    const info = await tf.profile(f);
    return Number.isFinite(info.peakBytes) ? info.peakBytes : null;
  } finally {
    prof.profileKernel = original;
  }
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend that the counter wraps (typed structurally). */
interface WebGpuProgramLike {
  shaderKey?: string;
  outputShape?: number[];
}
interface WebGpuBackendLike {
  runWebGPUProgram: (program: WebGpuProgramLike, ...rest: unknown[]) => unknown;
  read: (dataId: object, ...rest: unknown[]) => unknown;
  readSync: (dataId: object, ...rest: unknown[]) => unknown;
  tensorMap?: { get: (dataId: object) => { values?: unknown } | undefined };
}

/**
 * Counts the webgpu backend's program dispatches (by program class, or shaderKey for plain-object programs) and its
 * GPU->CPU reads (read/readSync of data not already held on the CPU). Counting only: one Map update per dispatch.
 * Returns null when the active backend does not look like tfjs's WebGPUBackend.
 */
function countWebGpu(): { programs: Map<string, number>; dispatches: () => number; reads: () => number } | null {
  const be = tf.backend() as unknown as Partial<WebGpuBackendLike>;
  if (typeof be.runWebGPUProgram !== 'function' || typeof be.read !== 'function' || typeof be.readSync !== 'function') return null;
  const b = be as WebGpuBackendLike;
  const programs = new Map<string, number>();
  let dispatches = 0;
  let reads = 0;
  const run = b.runWebGPUProgram;
  b.runWebGPUProgram = function (this: WebGpuBackendLike, program, ...rest) {
    // An empty output short-circuits without a dispatch.
    if (!program.outputShape || program.outputShape.every((d) => d > 0)) {
      const ctor = (program as { constructor?: { name?: string } }).constructor?.name;
      const name = ctor && ctor !== 'Object' ? ctor : (program.shaderKey ?? ctor ?? 'unknown');
      programs.set(name, (programs.get(name) ?? 0) + 1);
      dispatches++;
    }
    return run.call(this, program, ...rest);
  };
  const onGpu = (dataId: object): boolean => {
    const d = b.tensorMap?.get(dataId);
    return !d || d.values == null;
  };
  for (const f of ['read', 'readSync'] as const) {
    const orig = b[f];
    b[f] = function (this: WebGpuBackendLike, dataId: object, ...rest: unknown[]) {
      if (onGpu(dataId)) reads++;
      return orig.call(this, dataId, ...rest);
    };
  }
  return { programs, dispatches: () => dispatches, reads: () => reads };
}

async function runChild(req: ChildRequest): Promise<void> {
  let detail: string;
  let warning: string | undefined;
  try {
    // The backend reads the kernel choice from the environment (and names it in its detail).
    process.env.FERNN_WEBGPU_KERNELS = req.gpuKernels ?? 'fused';
    const rep = await selectBackend(req.backend, { wasmThreads: req.wasmThreads });
    detail = req.backend === 'auto' ? backendLine(rep) : rep.detail;
    warning = rep.warning;
  } catch (e) {
    // "backend X is not available: X: why" -> "why"
    emit({ status: 'unavailable', reason: firstLine(e).replace(/^backend \S+ is not available: \S+: /, '') });
    return;
  }
  if (req.probe) {
    emit({ status: 'ok', backend_detail: detail, backend_warning: warning });
    return;
  }
  const c = req.config;
  const cell = makeCellConfig(c.model === 'grnn' ? { kind: 'grnn', hidden: c.hidden } : { kind: 'fernn', vRange: c.vRange, hidden: c.hidden });
  const model = createSeq2Seq(makeSeq2SeqConfig(cell, { decoderLayers: DECODER_LAYERS }), 0);
  const opt = tf.train.adam(1e-3);
  const inputs = tf.randomUniform([c.batch, c.tIn, c.size, c.size, 1], 0, 1, 'float32', 1) as tf.Tensor5D;
  const targets = tf.randomUniform([c.batch, c.tOut, c.size, c.size, 1], 0, 1, 'float32', 2) as tf.Tensor5D;

  const counter = tf.getBackend() === 'webgpu' ? countWebGpu() : null;
  const dispatchesStep: number[] = [];
  const readsStep: number[] = [];
  const cpuMs: number[] = [];
  const step = async (): Promise<number> => {
    const d0 = counter?.dispatches() ?? 0;
    const r0 = counter?.reads() ?? 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const { loss, gradNorm } = trainStep(model, opt, inputs, targets, { clipNorm: 1 });
    const r1 = counter?.reads() ?? 0;
    const [l] = await loss.data(); // syncs the backend (GPU queues included)
    if (counter) {
      dispatchesStep.push(counter.dispatches() - d0);
      readsStep.push(r1 - r0);
    }
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
    loss.dispose();
    gradNorm.dispose();
    if (!Number.isFinite(l)) throw new Error(`loss is ${l}`);
    return ms;
  };

  const warmupMs: number[] = [];
  let peakBytes: number | null = null;
  if (req.warmup > 0) {
    peakBytes = await withPeakBytes(async () => {
      for (let i = 0; i < req.warmup; i++) {
        warmupMs.push(await step());
        process.stderr.write(`    warm-up ${i + 1}/${req.warmup}: ${warmupMs[i].toFixed(1)} ms\n`);
      }
    });
  }
  const times: number[] = [];
  cpuMs.length = 0;
  dispatchesStep.length = 0;
  readsStep.length = 0;
  counter?.programs.clear();
  for (let i = 0; i < req.steps; i++) {
    times.push(await step());
    process.stderr.write(`    step ${i + 1}/${req.steps}: ${times[i].toFixed(1)} ms\n`);
  }
  const peakRss = rssMb();
  const heap = wasmHeapMb();
  inputs.dispose();
  targets.dispose();
  opt.dispose();
  disposeModel(model);
  emit({
    status: 'ok',
    backend_detail: detail,
    backend_warning: warning,
    ms_per_step: times.length ? round(median(times), 1) : undefined,
    best_ms: times.length ? round(Math.min(...times), 1) : undefined,
    step_ms: times.map((t) => round(t, 1)),
    cpu_ms_per_step: cpuMs.length ? round(median(cpuMs), 1) : undefined,
    warmup_ms: warmupMs.map((t) => round(t, 1)),
    peak_rss_mb: peakRss,
    peak_tf_mb: peakBytes === null ? null : round(peakBytes / 2 ** 20, 1),
    wasm_heap_mb: heap,
    ...(tf.getBackend() === 'webgpu' ? { kernels: gpuKernelMode() } : {}),
    ...(counter && dispatchesStep.length
      ? {
          dispatches_step: dispatchesStep,
          dispatches_per_step: median(dispatchesStep),
          reads_step: readsStep,
          reads_per_step: median(readsStep),
          top_programs: [...counter.programs]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 8)
            .map(([program, n]) => ({ program, per_step: round(n / dispatchesStep.length, 1) })),
        }
      : {}),
  });
}

/**
 * The wasm module's memory: it only grows, so after the steps it is the high-water mark of what the backend held
 * (at most 4 GiB). Unlike tf.memory().numBytes, which counts every tensor's bytes, also for tensors that share one
 * buffer (reshapes, saved copies), this is memory actually taken. null on other backends.
 */
function wasmHeapMb(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap ? round(heap.length / 2 ** 20, 1) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Parent

interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderrTail: string;
  wallMs: number;
}

/** Runs a command with a timeout, forwarding its stderr (indented) to ours and keeping its tail. */
function run(cmd: string, args: string[], timeoutS: number, forward: boolean): Promise<Spawned> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let tail = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      tail = (tail + d).slice(-4000);
      if (forward) process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, timedOut, stdout, stderrTail: `${tail}\n${e.message}`, wallMs: performance.now() - t0 });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, stdout, stderrTail: tail, wallMs: performance.now() - t0 });
    });
  });
}

/** The last JSON object line of a child's stdout (after `mark` when given). */
function lastJson<T>(stdout: string, mark = ''): T | null {
  const lines = stdout.split('\n').filter((l) => l.startsWith(mark + '{'));
  if (!lines.length) return null;
  try {
    return JSON.parse(lines[lines.length - 1].slice(mark.length)) as T;
  } catch {
    return null;
  }
}

/** The meaningful lines of a child's stderr tail (progress lines and stack frames left out). */
function stderrLines(s: Spawned): string[] {
  return s.stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(warm-up|step|torch (warm-up|step)) \d/.test(l) && !/^at /.test(l) && !/^Node\.js v/.test(l));
}

/** XNNPACK (inside the wasm backend) reports allocation failure as status 6 before the module aborts. */
function xnnHint(lines: string[]): string {
  return lines.some((l) => /XNN status .* Got status 6/.test(l)) ? ' [XNNPACK out of memory (status 6): the wasm heap is capped at 4 GiB]' : '';
}

/** Why a child ended without a result: timeout, signal, or the last meaningful stderr lines. */
function failureReason(s: Spawned, timeoutS: number): { status: 'timeout' | 'crashed'; reason: string } {
  if (s.timedOut) return { status: 'timeout', reason: `no result within --timeout-s ${timeoutS} (killed after ${(s.wallMs / 1000).toFixed(0)} s)` };
  const lines = stderrLines(s);
  const how = s.signal ? `killed by ${s.signal}${s.signal === 'SIGKILL' ? ' (out of memory?)' : ''}` : `exit code ${s.code}`;
  const msg = lines.slice(-3).join(' | ').slice(0, 400);
  return { status: 'crashed', reason: (msg ? `${how}: ${msg}` : how) + xnnHint(lines) };
}

interface TorchEnv {
  python: string;
  version: string;
  cuda: boolean;
}

/**
 * Finds a python with torch, trying /usr/bin/python3 (Debian python3-torch) then python3 on PATH; one with CUDA wins
 * (on the GPU machine python3 has CUDA torch), else the first with torch. `python` (--python) tries only that one.
 */
function findTorch(python?: string): { env: TorchEnv | null; reason: string } {
  const reasons: string[] = [];
  const found: TorchEnv[] = [];
  for (const py of python ? [python] : ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available())'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) {
      const [version, cuda] = r.stdout.trim().split(/\s+/);
      found.push({ python: py, version, cuda: cuda === 'True' });
      if (cuda === 'True') break;
    } else {
      reasons.push(`${py}: ${r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop() || `exit ${r.status}`}`);
    }
  }
  const env = found.find((e) => e.cuda) ?? found[0] ?? null;
  return env ? { env, reason: '' } : { env: null, reason: `no python with torch (${reasons.join('; ')})` };
}

/** scripts/bench_torch.py next to the source tree: from the cwd, or relative to this bundle (dist/ or .gpu/). */
function findTorchScript(explicit?: string): string | null {
  const here = path.dirname(process.argv[1] ?? '.');
  const candidates = explicit
    ? [explicit]
    : [path.resolve('scripts/bench_torch.py'), path.join(here, '../scripts/bench_torch.py'), path.join(here, 'bench_torch.py')];
  return candidates.find((p) => existsSync(p)) ?? null;
}

interface TorchResult {
  ms_per_step: number | null;
  best_ms: number | null;
  cpu_ms_per_step?: number | null;
  device: string;
  threads: number | null;
  torch_version: string;
  peak_rss_mb: number;
  peak_cuda_mb: number | null;
}

interface ResultRow {
  config: string;
  backend: BackendName;
  /** webgpu rows: the GPU kernel mode asked for (--webgpu-kernels); null on other backends. */
  kernels: GpuKernelMode | null;
  /** wasm rows: the XNNPACK threads asked for (--wasm-threads); null on other backends. */
  wasm_threads: number | null;
  /** The PyTorch side's CPU threads (--torch-threads; null on CUDA or without PyTorch). */
  torch_threads: number | null;
  status: 'ok' | 'unavailable' | 'crashed' | 'timeout' | 'error' | 'skipped';
  reason: string | null;
  backend_detail: string | null;
  ms_per_step: number | null;
  /** Fastest measured step: on a machine shared with other work, closer to the uncontended cost than the median. */
  best_ms: number | null;
  step_ms: number[] | null;
  /**
   * Median CPU time of the process per measured step (all threads). For single-threaded wasm it is close to the
   * wall time of an idle machine even when other work shares the cores (wall time then also counts waiting).
   */
  cpu_ms_per_step: number | null;
  torch_ms_per_step: number | null;
  torch_cpu_ms_per_step: number | null;
  torch_best_ms: number | null;
  torch_device: string | null;
  /** ms_per_step / torch_ms_per_step (> 1: tfjs is slower). */
  ratio: number | null;
  /** best_ms / torch_best_ms. */
  ratio_best: number | null;
  peak_rss_mb: number | null;
  peak_tf_mb: number | null;
  /** wasm rows: the wasm heap after the steps (its high-water mark). */
  wasm_heap_mb: number | null;
  torch_peak_rss_mb: number | null;
  torch_peak_cuda_mb: number | null;
  wall_s: number | null;
  /** 1-minute load average when the measurement started and ended (and torch's): other work on the machine skews timings. */
  loadavg_1m: number | null;
  loadavg_1m_end: number | null;
  torch_loadavg_1m: number | null;
  /** The issue's limit on `ratio` for this configuration, and whether this row meets it (null: no limit or no ratio). */
  target_ratio: number | null;
  target_met: boolean | null;
  /** webgpu rows: program dispatches per measured step (median), GPU->CPU reads per step before the loss read
   * (median; 0 expected), each step's counts, and the 8 most frequent programs with their dispatches per step. */
  dispatches_per_step: number | null;
  reads_per_step: number | null;
  dispatches_step: number[] | null;
  reads_step: number[] | null;
  top_programs: { program: string; per_step: number }[] | null;
}

/** The table's backend label: `webgpu/fused`, `webgpu/stock`, else the backend. */
const backendLabel = (r: { backend: BackendName; kernels: GpuKernelMode | null; wasm_threads?: number | null }): string =>
  r.kernels ? `${r.backend}/${r.kernels}` : r.wasm_threads ? `${r.backend}/${r.wasm_threads}t` : r.backend;

function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    node_version: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg_at_start: os.loadavg().map((x) => round(x, 2)),
  };
}

const USAGE = `usage: npm run bench -- [flags]
  --json               print one JSON object {machine, settings, backends, torch, results} on stdout
  --backends a,b       tfjs backends to measure (default: ${BACKENDS.join(',')}); unavailable ones are reported
  --configs a,b        configurations (default: all; --list shows them)
  --quick              only the small (16x16) configurations
  --targets            only the configurations with a target ratio (the performance issue's three 28x28 ones)
  --steps N            measured steps per measurement (default 3, 2 for the big FERNN configs; the median is reported)
  --warmup N           warm-up steps before them (default 1; the tf.memory peak is taken over these)
  --timeout-s N        limit per measurement, child start-up included (default 600)
  --wasm-threads L     XNNPACK threads for wasm: a count, a comma list (one wasm row each: wasm/1t, wasm/2t) or
                       'cores' (default: cores, the machine's logical cores)
  --torch-threads N    PyTorch CPU threads: a count or 'cores' (default: cores); a target holds only for a wasm row
                       on as many threads as PyTorch
  --webgpu-kernels M   fused|stock|both: webgpu with our fused WGSL kernels, tfjs's stock ops, or each config
                       measured twice (rows webgpu/fused and webgpu/stock) (default fused)
  --jsonl PATH         append each finished measurement (and each PyTorch run) to PATH as one JSON line, as it ends
  --no-torch           do not run the PyTorch side
  --torch-steps N      measured steps of the PyTorch side (default: --steps; it is cheap, and more steps steady
                       the median on a busy machine)
  --torch-device D     auto|cpu|cuda for the PyTorch side (default auto: cuda when available)
  --torch-script PATH  scripts/bench_torch.py, when not found next to the cwd or the bundle
  --python CMD         the python with torch (default: /usr/bin/python3, then python3; one with CUDA wins)
  --list               list the configurations and exit`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      json: { type: 'boolean', default: false },
      backends: { type: 'string' },
      configs: { type: 'string' },
      quick: { type: 'boolean', default: false },
      targets: { type: 'boolean', default: false },
      steps: { type: 'string' },
      'wasm-threads': { type: 'string', default: 'cores' },
      'torch-threads': { type: 'string', default: 'cores' },
      'webgpu-kernels': { type: 'string', default: 'fused' },
      jsonl: { type: 'string' },
      python: { type: 'string' },
      warmup: { type: 'string', default: '1' },
      'timeout-s': { type: 'string', default: '600' },
      'no-torch': { type: 'boolean', default: false },
      'torch-steps': { type: 'string' },
      'torch-device': { type: 'string', default: 'auto' },
      'torch-script': { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  });

  if (values.child !== undefined) {
    const req = JSON.parse(values.child) as ChildRequest;
    try {
      await runChild(req);
    } catch (e) {
      emit({ status: 'error', reason: firstLine(e), peak_rss_mb: rssMb() });
    }
    return;
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.list) {
    for (const c of CONFIGS) {
      const target = c.targetRatio
        ? `; target <= ${c.targetRatio}x PyTorch CPU${c.gpuTargetRatio ? `, <= ${c.gpuTargetRatio}x PyTorch CUDA on webgpu` : ''}`
        : '';
      console.log(`${c.name.padEnd(22)} ${c.small ? 'quick ' : '      '}${c.note}; ${c.tIn}+${c.tOut} frames, decoder layers ${DECODER_LAYERS}${target}`);
    }
    return;
  }

  const stepsFlag = values.steps === undefined ? undefined : posInt(values.steps, '--steps', 0);
  const stepsFor = (c: BenchConfig): number => stepsFlag ?? c.steps ?? 3;
  const warmup = posInt(values.warmup, '--warmup', 0);
  const timeoutS = posInt(values['timeout-s'], '--timeout-s', 1);
  const torchStepsFlag = values['torch-steps'] === undefined ? undefined : posInt(values['torch-steps'], '--torch-steps', 1);
  const torchStepsFor = (c: BenchConfig): number => torchStepsFlag ?? Math.max(1, stepsFor(c));
  const cores = os.availableParallelism();
  const threadCount = (s: string, flag: string): number => (s.trim() === 'cores' ? cores : posInt(s.trim(), flag, 1));
  const wasmThreadList = [...new Set(values['wasm-threads'].split(',').map((s) => threadCount(s, '--wasm-threads')))];
  const torchThreads = threadCount(values['torch-threads'], '--torch-threads');
  const torchDevice = values['torch-device'];
  if (!['auto', 'cpu', 'cuda'].includes(torchDevice)) throw new Error(`--torch-device must be auto, cpu or cuda, got ${torchDevice}`);
  const kernelsFlag = values['webgpu-kernels'];
  if (!['fused', 'stock', 'both'].includes(kernelsFlag)) throw new Error(`--webgpu-kernels must be fused, stock or both, got ${kernelsFlag}`);
  const gpuModes: GpuKernelMode[] = kernelsFlag === 'both' ? ['fused', 'stock'] : [kernelsFlag as GpuKernelMode];
  const backends = (
    values.backends
      ? values.backends
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...BACKENDS]
  ) as BackendName[];
  for (const b of backends) if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`unknown backend '${b}' (one of ${BACKENDS.join(', ')})`);
  let configs = CONFIGS;
  if (values.configs) {
    const names = values.configs
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const n of names) if (!CONFIGS.some((c) => c.name === n)) throw new Error(`unknown config '${n}' (see --list)`);
    configs = CONFIGS.filter((c) => names.includes(c.name));
  }
  if (values.quick) configs = configs.filter((c) => c.small);
  if (values.targets) configs = configs.filter((c) => c.targetRatio !== undefined);
  if (!configs.length) throw new Error('no configuration selected');

  const log = (s: string): void => void process.stderr.write(s + '\n');
  const self = process.argv[1];
  const machine = machineInfo();
  // --jsonl: every finished measurement is appended at once, so a run killed by a time limit keeps what it measured.
  const jsonlPath = values.jsonl ? path.resolve(values.jsonl) : null;
  const jsonl = (kind: string, o: object): void => {
    if (jsonlPath) appendFileSync(jsonlPath, JSON.stringify({ kind, time: new Date().toISOString(), ...o }) + '\n');
  };
  if (jsonlPath) mkdirSync(path.dirname(jsonlPath), { recursive: true });
  jsonl('start', { machine, argv: process.argv.slice(2) });
  log(
    `bench: ${machine.cpu_model}, ${machine.cores} cores, ${machine.memory_gb} GiB, node ${process.version}, load ${(machine.loadavg_at_start as number[]).join(' ')}`,
  );

  // What 'auto' chooses here (GPU or CPU, and why the others were skipped), then one probe child per backend.
  const autoReq: ChildRequest = { config: configs[0], backend: 'auto', steps: 0, warmup: 0, probe: true };
  const autoRun = await run(process.execPath, [self, '--child', JSON.stringify(autoReq)], Math.min(timeoutS, 300), false);
  const autoRes = lastJson<ChildResult>(autoRun.stdout, CHILD_MARK);
  const auto =
    autoRes?.status === 'ok'
      ? { line: autoRes.backend_detail ?? null, note: autoRes.backend_warning ?? null }
      : { line: null, note: autoRes?.reason ?? failureReason(autoRun, timeoutS).reason };
  log(`backend auto: ${auto.line ?? 'none'}${auto.note ? ` — ${auto.note}` : ''}`);
  const available = new Map<BackendName, { ok: boolean; detail: string | null; reason: string | null; warning: string | null }>();
  for (const b of backends) {
    const req: ChildRequest = { config: configs[0], backend: b, steps: 0, warmup: 0, wasmThreads: wasmThreadList[0], probe: true };
    const s = await run(process.execPath, [self, '--child', JSON.stringify(req)], Math.min(timeoutS, 300), false);
    const r = lastJson<ChildResult>(s.stdout, CHILD_MARK);
    if (r?.status === 'ok') available.set(b, { ok: true, detail: r.backend_detail ?? null, reason: null, warning: r.backend_warning ?? null });
    else available.set(b, { ok: false, detail: null, reason: r?.reason ?? failureReason(s, timeoutS).reason, warning: null });
    const a = available.get(b)!;
    log(`backend ${b}: ${a.ok ? `available (${a.detail})${a.warning ? ` — ${a.warning}` : ''}` : `unavailable: ${a.reason}`}`);
  }

  // PyTorch side.
  let torch: { env: TorchEnv | null; reason: string; script: string | null } = { env: null, reason: 'disabled with --no-torch', script: null };
  if (!values['no-torch']) {
    const script = findTorchScript(values['torch-script']);
    if (!script) torch = { env: null, reason: 'scripts/bench_torch.py not found (pass --torch-script)', script: null };
    else torch = { ...findTorch(values.python), script };
    log(torch.env ? `torch ${torch.env.version} via ${torch.env.python}${torch.env.cuda ? ' (CUDA available)' : ''}` : `torch: ${torch.reason}`);
  }

  // webgpu runs once per --webgpu-kernels mode (both: fused, then stock); other backends once.
  // wasm once per --wasm-threads count.
  type Run = { b: BackendName; kernels: GpuKernelMode | null; threads: number | null };
  const runs = backends.flatMap((b): Run[] =>
    b === 'webgpu'
      ? gpuModes.map((kernels) => ({ b, kernels, threads: null }))
      : b === 'wasm'
        ? wasmThreadList.map((threads) => ({ b, kernels: null, threads }))
        : [{ b, kernels: null, threads: null }],
  );
  const results: ResultRow[] = [];
  const torchRuns: Record<string, TorchResult | { error: string }> = {};
  for (const c of configs) {
    let tr: TorchResult | null = null;
    let torchErr: string | null = torch.env ? null : torch.reason;
    let torchLoad: number | null = null;
    if (torch.env && torch.script) {
      torchLoad = load1();
      log(`[${c.name}] torch (${torch.env.python}, load ${torchLoad}) ...`);
      const args = [
        torch.script,
        '--model',
        c.model,
        '--hidden',
        String(c.hidden),
        '--v-range',
        String(c.vRange),
        '--batch',
        String(c.batch),
        '--size',
        String(c.size),
        '--t-in',
        String(c.tIn),
        '--t-out',
        String(c.tOut),
        '--decoder-layers',
        String(DECODER_LAYERS),
        '--steps',
        String(torchStepsFor(c)),
        '--warmup',
        String(warmup),
        '--device',
        torchDevice,
        '--threads',
        String(torchThreads),
      ];
      const s = await run(torch.env.python, args, timeoutS, true);
      tr = lastJson<TorchResult>(s.stdout);
      if (!tr || tr.ms_per_step === null) {
        torchErr = tr ? 'no measured steps' : failureReason(s, timeoutS).reason;
        tr = null;
      }
      torchRuns[c.name] = tr ?? { error: torchErr! };
      jsonl('torch', { config: c.name, load: torchLoad, ...(tr ?? { error: torchErr }) });
      log(`[${c.name}] torch: ${tr ? `${tr.ms_per_step!.toFixed(1)} ms/step on ${tr.device}` : torchErr}`);
    }
    for (const { b, kernels, threads } of runs) {
      const a = available.get(b)!;
      const label = backendLabel({ backend: b, kernels, wasm_threads: threads });
      const row: ResultRow = {
        config: c.name,
        backend: b,
        kernels,
        wasm_threads: threads,
        torch_threads: tr && !tr.device.startsWith('cuda') ? (tr.threads ?? null) : null,
        status: 'unavailable',
        reason: a.reason,
        backend_detail: a.detail,
        ms_per_step: null,
        best_ms: null,
        step_ms: null,
        cpu_ms_per_step: null,
        torch_ms_per_step: tr?.ms_per_step ?? null,
        torch_cpu_ms_per_step: tr?.cpu_ms_per_step ?? null,
        torch_best_ms: tr?.best_ms ?? null,
        torch_device: tr?.device ?? null,
        ratio: null,
        ratio_best: null,
        peak_rss_mb: null,
        peak_tf_mb: null,
        torch_peak_rss_mb: tr?.peak_rss_mb ?? null,
        torch_peak_cuda_mb: tr?.peak_cuda_mb ?? null,
        wall_s: null,
        wasm_heap_mb: null,
        loadavg_1m: null,
        loadavg_1m_end: null,
        torch_loadavg_1m: tr ? torchLoad : null,
        target_ratio: (b === 'webgpu' ? c.gpuTargetRatio : c.targetRatio) ?? null,
        target_met: null,
        dispatches_per_step: null,
        reads_per_step: null,
        dispatches_step: null,
        reads_step: null,
        top_programs: null,
      };
      if (a.ok) {
        row.loadavg_1m = load1();
        log(`[${c.name}] tfjs ${label} (load ${row.loadavg_1m}) ...`);
        const req: ChildRequest = {
          config: c,
          backend: b,
          steps: stepsFor(c),
          warmup,
          ...(threads ? { wasmThreads: threads } : {}),
          ...(kernels ? { gpuKernels: kernels } : {}),
        };
        const s = await run(process.execPath, [self, '--child', JSON.stringify(req)], timeoutS, true);
        row.wall_s = round(s.wallMs / 1000, 1);
        row.loadavg_1m_end = load1();
        const r = lastJson<ChildResult>(s.stdout, CHILD_MARK);
        if (r) {
          row.status = r.status;
          row.reason = r.reason ?? null;
          row.backend_detail = r.backend_detail ?? a.detail;
          row.ms_per_step = r.ms_per_step ?? null;
          row.best_ms = r.best_ms ?? null;
          row.step_ms = r.step_ms ?? null;
          row.cpu_ms_per_step = r.cpu_ms_per_step ?? null;
          row.peak_rss_mb = r.peak_rss_mb ?? null;
          row.peak_tf_mb = r.peak_tf_mb ?? null;
          row.wasm_heap_mb = r.wasm_heap_mb ?? null;
          row.dispatches_per_step = r.dispatches_per_step ?? null;
          row.reads_per_step = r.reads_per_step ?? null;
          row.dispatches_step = r.dispatches_step ?? null;
          row.reads_step = r.reads_step ?? null;
          row.top_programs = r.top_programs ?? null;
          if (kernels && r.kernels && r.kernels !== kernels) row.reason = `asked for ${kernels} kernels, the child ran ${r.kernels}`;
          // A wasm abort surfaces as a caught error; it is a crash of the backend, and the why is on stderr.
          if (r.status === 'error' && /^Aborted\(/.test(r.reason ?? '')) {
            row.status = 'crashed';
            const hint = xnnHint(stderrLines(s));
            const big = !hint && (r.peak_rss_mb ?? 0) > 3500 ? ` [process at ${r.peak_rss_mb} MB RSS: most likely the wasm heap (at most 4 GiB) ran out]` : '';
            row.reason = `${r.reason}${hint}${big}`;
          }
        } else {
          Object.assign(row, failureReason(s, timeoutS));
        }
        if (row.ms_per_step !== null && row.torch_ms_per_step) row.ratio = round(row.ms_per_step / row.torch_ms_per_step, 2);
        if (row.best_ms !== null && row.torch_best_ms) row.ratio_best = round(row.best_ms / row.torch_best_ms, 2);
        // A target holds against its own reference: webgpu against PyTorch CUDA, CPU backends against PyTorch CPU.
        const sameClass = (b === 'webgpu') === (row.torch_device ?? '').startsWith('cuda');
        // ... and on the same number of threads for wasm against PyTorch CPU.
        const sameThreads = b !== 'wasm' || row.torch_threads === null || row.torch_threads === threads;
        if (row.target_ratio !== null && row.ratio !== null && sameClass && sameThreads) row.target_met = row.ratio <= row.target_ratio;
        const counts =
          row.dispatches_per_step !== null
            ? `, ${row.dispatches_per_step} dispatches/step, ${row.reads_per_step} reads/step; top: ${formatTop(row.top_programs)}`
            : '';
        log(
          `[${c.name}] ${label}: ${row.status === 'ok' ? `${row.ms_per_step} ms/step${row.ratio !== null ? ` (${row.ratio}x torch)` : ''}${counts}` : `${row.status}: ${row.reason}`}`,
        );
      }
      results.push(row);
      jsonl('result', row);
    }
  }

  const out = {
    machine: { ...machine, loadavg_at_end: os.loadavg().map((x) => round(x, 2)) },
    settings: {
      steps: Object.fromEntries(configs.map((c) => [c.name, stepsFor(c)])),
      torch_steps: Object.fromEntries(configs.map((c) => [c.name, torchStepsFor(c)])),
      warmup,
      timeout_s: timeoutS,
      wasm_threads: wasmThreadList,
      torch_threads: torchThreads,
      webgpu_kernels: gpuModes,
      decoder_layers: DECODER_LAYERS,
      optimizer: 'adam 1e-3',
      clip_norm: 1,
      loss: 'mse',
      frames: '10 input + 10 predicted (autoregressive)',
      ms_per_step: 'median over the measured steps, loss read back (synchronised)',
      ratio: 'tfjs ms_per_step / torch ms_per_step (medians); ratio_best: the same for the fastest steps',
      memory:
        'peak_rss_mb: the process; wasm_heap_mb: the wasm heap (high-water); peak_tf_mb: tf.memory().numBytes, which counts buffers shared by several tensors more than once',
    },
    backends: Object.fromEntries([...available].map(([b, a]) => [b, a])),
    auto_backend: auto,
    torch: torch.env ? { ...torch.env, script: torch.script, runs: torchRuns } : { available: false, reason: torch.reason },
    configs: Object.fromEntries(
      configs.map((c) => [
        c.name,
        {
          model: c.model,
          hidden: c.hidden,
          v_range: c.vRange,
          velocities: (2 * c.vRange + 1) ** 2,
          batch: c.batch,
          size: c.size,
          t_in: c.tIn,
          t_out: c.tOut,
          decoder_layers: DECODER_LAYERS,
          target_ratio: c.targetRatio ?? null,
          gpu_target_ratio: c.gpuTargetRatio ?? null,
        },
      ]),
    ),
    results,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return;
  }
  printTable(results);
}

function printTable(rows: ResultRow[]): void {
  const head = [
    'config',
    'backend',
    'status',
    'ms/step',
    'best',
    'dispatches',
    'cpu ms/step',
    'torch ms/step',
    'torch best',
    'torch cpu ms',
    'ratio',
    'best ratio',
    'target',
    'peak RSS MB',
    'wasm heap MB',
    'peak tf MB',
    'torch RSS MB',
    'load',
    'note',
  ];
  const fmt = (x: number | null, d = 1): string => (x === null ? '—' : x.toFixed(d));
  const body = rows.map((r) => [
    r.config,
    backendLabel(r),
    r.status,
    fmt(r.ms_per_step),
    fmt(r.best_ms),
    r.dispatches_per_step === null ? '—' : `${r.dispatches_per_step}${r.reads_per_step ? ` (${r.reads_per_step} reads)` : ''}`,
    fmt(r.cpu_ms_per_step),
    fmt(r.torch_ms_per_step),
    fmt(r.torch_best_ms),
    fmt(r.torch_cpu_ms_per_step),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}x`,
    r.ratio_best === null ? '—' : `${r.ratio_best.toFixed(2)}x`,
    r.target_ratio === null ? '—' : `<=${r.target_ratio}x ${r.target_met === null ? '?' : r.target_met ? 'met' : 'missed'}`,
    fmt(r.peak_rss_mb, 0),
    fmt(r.wasm_heap_mb, 0),
    fmt(r.peak_tf_mb, 0),
    fmt(r.torch_peak_rss_mb, 0),
    r.loadavg_1m === null ? '—' : `${r.loadavg_1m.toFixed(1)}-${fmt(r.loadavg_1m_end, 1)}`,
    r.status === 'ok' ? (r.backend_detail ?? '') : (r.reason ?? '').slice(0, 120),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  console.log(line(head));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const b of body) console.log(line(b));
  const counted = rows.filter((r) => r.top_programs?.length);
  if (counted.length) {
    console.log('\nmost frequent webgpu programs (dispatches per step):');
    for (const r of counted) console.log(`  ${r.config} ${backendLabel(r)}: ${formatTop(r.top_programs)}`);
  }
}

const formatTop = (top: { program: string; per_step: number }[] | null): string => (top ?? []).map((t) => `${t.program} ${t.per_step}`).join(', ');

const load1 = (): number => round(os.loadavg()[0], 2);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function posInt(s: string, flag: string, min: number): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got ${s}`);
  return n;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${firstLine(e)}\n`);
  process.exitCode = 1;
});
