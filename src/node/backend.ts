import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { enableWasmThreads, withCoreCount } from './wasmThreads';
import { MAX_WASM_THREADS, wasmThreadsForThisMachine } from './threadBudget';
import { setGpuKernels, type GpuKernelMode } from '../core/nn/gpuKernels';

/** tfjs backends the lab can train on ('auto' prefers tensorflow only when it has a GPU device: see selectBackend, docs/compute.md). */
export const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const backendChoiceSchema = z.enum(['auto', ...BACKENDS]);
export type BackendChoice = z.infer<typeof backendChoiceSchema>;

export interface BackendReport {
  /** The backend now active. */
  name: BackendName;
  /** What it runs on, GPU or CPU in words: package, adapter, threads (and, for webgpu, the tensorflow it beat). */
  detail: string;
  /** Whether training runs on a GPU device (tensorflow with isUsingGpuDevice, webgpu on a hardware adapter). */
  gpu: boolean;
  /** wasm: the XNNPACK threads in use. */
  threads?: number;
  /** Backends tried before it (or unavailable), each with the reason. */
  skipped: { name: BackendName; reason: string }[];
  /** A warning to show the user, e.g. that only a slow backend is available. */
  warning?: string;
}

const req = createRequire(import.meta.url);
let active: BackendReport | null = null;

type Attempt = { ok: true; detail: string; gpu: boolean; warning?: string; threads?: number } | { ok: false; reason: string };

/** The tfjs-node packages, GPU build first. Importing one registers tfjs's 'tensorflow' backend. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type TfjsNodePackage = (typeof TFJS_NODE_PACKAGES)[number];
/** Imports a tfjs-node package (registering the 'tensorflow' backend); rejects when it is not installed or fails. */
export type TensorflowLoader = (pkg: TfjsNodePackage) => Promise<unknown>;
const importTensorflow: TensorflowLoader = (pkg) => import(/* @vite-ignore */ pkg);

/** What tfjs-node's backend says of itself (NodeJSKernelBackend). */
interface TfjsNodeBackendLike {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

/** tfjs-node-gpu 4.22's libtensorflow 2.9 is built against these; with other versions it loads and runs on the CPU. */
export const TFJS_NODE_GPU_NEEDS = { cuda: '11.2', cudnn: '8.1', libraries: ['libcudart.so.11.0', 'libcublas.so.11', 'libcudnn.so.8'] } as const;

/** Folders where the dynamic loader finds CUDA's libraries on Linux. */
function cudaLibraryDirs(): string[] {
  return [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/local/cuda/lib64',
    '/usr/local/cuda-11.2/lib64',
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
  ];
}

/** Which of the CUDA 11.2 / cuDNN 8.1 libraries tfjs-node-gpu loads are in none of `dirs` (Linux only; [] elsewhere). */
export function missingCudaLibraries(exists: (file: string) => boolean = existsSync, dirs: string[] = cudaLibraryDirs()): string[] {
  return TFJS_NODE_GPU_NEEDS.libraries.filter((lib) => !dirs.some((d) => exists(path.join(d, lib))));
}

/** Why tfjs-node-gpu has no GPU device: what it needs and, on Linux, which of those libraries are not there. */
export function noGpuDeviceReason(missing: string[]): string {
  const needs = `it needs CUDA ${TFJS_NODE_GPU_NEEDS.cuda} and cuDNN ${TFJS_NODE_GPU_NEEDS.cudnn}`;
  return `@tensorflow/tfjs-node-gpu found no GPU device and runs on the CPU (${needs}${missing.length ? `; not found: ${missing.join(', ')}` : ''})`;
}

type TensorflowState =
  | { ok: true; pkg: TfjsNodePackage; gpu: true; detail: string }
  | { ok: true; pkg: TfjsNodePackage; gpu: false; detail: string; why: string }
  | { ok: false; reason: string };

/** Loads tfjs-node(-gpu) and starts its backend; says whether it has a GPU device (isUsingGpuDevice). */
async function tryTensorflow(load: TensorflowLoader): Promise<TensorflowState> {
  const reasons: string[] = [];
  for (const pkg of TFJS_NODE_PACKAGES) {
    try {
      await load(pkg);
      if (!(await tf.setBackend('tensorflow'))) {
        reasons.push(`${pkg} loaded but its backend did not start`);
        continue;
      }
      const be = tf.backend() as unknown as TfjsNodeBackendLike;
      if (be.isUsingGpuDevice === true) return { ok: true, pkg, gpu: true, detail: `${pkg} on a GPU device (CUDA)` };
      const gpuPackage = be.isGPUPackage ?? pkg === '@tensorflow/tfjs-node-gpu';
      const why = gpuPackage
        ? noGpuDeviceReason(process.platform === 'linux' ? missingCudaLibraries() : [])
        : `${pkg} runs on the CPU (its GPU build is @tensorflow/tfjs-node-gpu)`;
      return { ok: true, pkg, gpu: false, detail: gpuPackage ? `${pkg} on the CPU: no GPU device` : `${pkg} on the CPU (libtensorflow)`, why };
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      reasons.push(
        /Cannot find (module|package)/.test(msg)
          ? `${pkg} is not installed (its install script downloads libtensorflow, which needs a network connection)`
          : `${pkg} failed to load: ${msg.split('\n')[0]}`,
      );
    }
  }
  return { ok: false, reason: reasons.join('; ') };
}

/** A software rasteriser (llvmpipe/lavapipe/SwiftShader) is slower than wasm: never chosen automatically. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

/** Dawn reaches the GPU through the Vulkan loader on Linux; without it Dawn only prints a native warning. */
function linuxVulkanLoaderMissing(): boolean {
  if (process.platform !== 'linux') return false;
  const dirs = [
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/usr/local/lib',
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
  ];
  return !dirs.some((d) => existsSync(path.join(d, 'libvulkan.so.1')));
}

/**
 * The FERNN ops' kernels on webgpu: FERNN_WEBGPU_KERNELS=stock runs tfjs's own ops instead of the lab's fused WGSL
 * kernels (nn/gpuKernels; same results, tested) — a way around a GPU driver that rejects one of them.
 */
export function webgpuKernelsFromEnv(): GpuKernelMode {
  const v = process.env.FERNN_WEBGPU_KERNELS;
  if (v === undefined || v === '' || v === 'fused') return 'fused';
  if (v === 'stock') return 'stock';
  throw new Error(`FERNN_WEBGPU_KERNELS must be 'fused' or 'stock', got '${v}'`);
}

/** What the adapter probe found: the adapter's name and whether it is a software rasteriser, or why there is none. */
export type AdapterProbe = { ok: true; name: string; software: boolean } | { ok: false; reason: string };

/** The probe's result, handed to worker threads (they copy the environment when they start) so they need not probe. */
export const ADAPTER_PROBE_ENV = 'FERNN_WEBGPU_ADAPTER';

const adapterProbeSchema = z.union([
  z.object({ ok: z.literal(true), name: z.string(), software: z.boolean() }),
  z.object({ ok: z.literal(false), reason: z.string() }),
]);

/** Runs in the probe's child: loads Dawn, asks for an adapter and prints its name as JSON on the last line of stdout. */
const PROBE_SOURCE = `
const mod = await import(process.argv[1]);
const gpu = mod.create([]);
const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const i = a ? a.info : null;
process.stdout.write('\\n' + JSON.stringify(i ? { found: true, parts: [i.vendor, i.architecture, i.device, i.description] } : { found: false }) + '\\n');
process.exit(0);
`;

const probeOutputSchema = z.union([
  z.object({ found: z.literal(true), parts: z.array(z.string().optional().nullable()) }),
  z.object({ found: z.literal(false) }),
]);

/**
 * Asks Dawn for an adapter in a child process whose stderr is kept: Dawn prints native warnings while it enumerates
 * adapters (Mesa's lavapipe: "maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..."), which a user can
 * do nothing about; only the backend line should speak of it.
 */
async function probeAdapterInChild(): Promise<AdapterProbe> {
  if (linuxVulkanLoaderMissing()) return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1) is installed, so Dawn cannot reach a GPU' };
  let entry: string;
  try {
    entry = pathToFileURL(req.resolve('webgpu')).href;
  } catch (e) {
    return { ok: false, reason: `the 'webgpu' package (Dawn) is not installed: ${(e as Error).message.split('\n')[0]}` };
  }
  const out = await new Promise<{ stdout: string; stderr: string; error: Error | null }>((resolve) => {
    // In Electron, process.execPath is the app: ELECTRON_RUN_AS_NODE makes it a plain Node.
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE_SOURCE, entry],
      { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, timeout: 60_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => resolve({ stdout: String(stdout), stderr: String(stderr), error }),
    );
  });
  const last = out.stdout.trim().split('\n').pop() ?? '';
  let parsed: z.infer<typeof probeOutputSchema> | null = null;
  try {
    const r = probeOutputSchema.safeParse(JSON.parse(last));
    parsed = r.success ? r.data : null;
  } catch {
    parsed = null;
  }
  if (!parsed) {
    const why =
      out.stderr
        .split('\n')
        .filter((l) => l.trim() && !/^Warning: /.test(l))
        .pop() ??
      out.error?.message ??
      'no answer';
    return { ok: false, reason: `the 'webgpu' package (Dawn) could not look for an adapter: ${why.trim().slice(0, 200)}` };
  }
  if (!parsed.found) return { ok: false, reason: 'no WebGPU adapter (no GPU with a Vulkan/Metal/D3D12 driver was found)' };
  const name = parsed.parts.filter(Boolean).join(' ') || 'unknown adapter';
  return { ok: true, name, software: SOFTWARE_ADAPTER.test(name) };
}

let adapterProbe: Promise<AdapterProbe> | null = null;

/** Takes a probe's result found by another thread or process (the lab service hands it to its workers). */
export function setAdapterProbe(r: AdapterProbe): void {
  const parsed = adapterProbeSchema.parse(r);
  adapterProbe = Promise.resolve(parsed);
  process.env[ADAPTER_PROBE_ENV] = JSON.stringify(parsed);
}

/**
 * The WebGPU adapter of this machine, probed once per process in a child (see probeAdapterInChild) and kept in
 * ADAPTER_PROBE_ENV, so that worker threads started afterwards read it instead of probing again.
 */
export function probeWebgpuAdapter(): Promise<AdapterProbe> {
  if (adapterProbe) return adapterProbe;
  const handed = process.env[ADAPTER_PROBE_ENV];
  if (handed) {
    try {
      const r = adapterProbeSchema.safeParse(JSON.parse(handed));
      if (r.success) return (adapterProbe = Promise.resolve(r.data));
    } catch {
      // probe again below
    }
  }
  adapterProbe = probeAdapterInChild().then((r) => {
    process.env[ADAPTER_PROBE_ENV] = JSON.stringify(r);
    return r;
  });
  return adapterProbe;
}

/** Dawn's instance in this process, created once (a second Dawn instance only adds threads), and only to train on it. */
let dawn: Promise<{ ok: true } | { ok: false; reason: string }> | null = null;

async function tryWebgpu(explicit: boolean, chosenOver: string | null, probe: () => Promise<AdapterProbe>): Promise<Attempt> {
  const found = await probe();
  if (!found.ok) return found;
  const { name, software } = found;
  if (software && !explicit) return { ok: false, reason: `only a software adapter (${name}) is available, slower than wasm` };
  dawn ??= startDawn();
  const started = await dawn;
  if (!started.ok) return started;
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: `tfjs could not start WebGPU on ${name}` };
  const kernels = webgpuKernelsFromEnv();
  setGpuKernels(kernels);
  const which = kernels === 'fused' ? "the lab's fused WGSL kernels" : "tfjs's stock kernels (FERNN_WEBGPU_KERNELS=stock)";
  const over = chosenOver ? `; chosen over ${chosenOver}` : '';
  return software
    ? {
        ok: true,
        gpu: false,
        detail: `WebGPU (Dawn) on a software adapter, i.e. the CPU (${name}), ${which}`,
        warning: `${name} is a software adapter: expect it to be slower than wasm`,
      }
    : { ok: true, gpu: true, detail: `WebGPU (Dawn) on the GPU ${name}, ${which}${over}` };
}

async function startDawn(): Promise<{ ok: true } | { ok: false; reason: string }> {
  let gpu: GPU;
  try {
    const mod = (await import(/* @vite-ignore */ 'webgpu')) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    Object.assign(globalThis, mod.globals);
    gpu = mod.create([]);
  } catch (e) {
    return { ok: false, reason: `the 'webgpu' package (Dawn) could not load: ${(e as Error).message.split('\n')[0]}` };
  }
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return { ok: true };
}

/**
 * Threads for tfjs wasm (XNNPACK) when the caller does not say: FERNN_WASM_THREADS, else what this machine has free
 * (threadBudget.ts: cores less the work already running; XNNPACK's pool spin-waits, so busy cores are not taken).
 */
export async function defaultWasmThreads(): Promise<{ threads: number; why: string }> {
  return wasmThreadsForThisMachine();
}

let wasmThreadsInUse: number | null = null;

async function tryWasm(choice: { threads: number; why: string }): Promise<Attempt> {
  const { threads } = choice;
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    // A process starts the wasm module once: the first thread count sticks.
    let why = choice.why;
    if (wasmThreadsInUse === null) {
      wasm.setWasmPaths(dir);
      shareIdentityOnWasm();
      if (threads > 1) enableWasmThreads();
      wasm.setThreadsCount(threads);
    } else if (wasmThreadsInUse !== threads) {
      why = 'fixed when wasm first started in this process';
    }
    const started = await withCoreCount(threads, () => tf.setBackend('wasm'));
    if (!started) return { ok: false, reason: 'the wasm backend did not start' };
    wasmThreadsInUse = wasm.getThreadsCount();
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
    const n = wasmThreadsInUse === 1 ? '1 thread' : `${wasmThreadsInUse} threads`;
    return { ok: true, gpu: false, threads: wasmThreadsInUse, detail: `WebAssembly on the CPU (${simd}, ${n}: ${why})` };
  } catch (e) {
    return { ok: false, reason: `wasm failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * tfjs's wasm Identity copies its input, and Identity is how tfjs keeps tensors for the backward pass (engine.clone):
 * on wasm every saved tensor was a second copy (in a FERNN training step, 2 of every 3 hidden-state-sized buffers
 * alive at the end of the forward pass). Tensors are immutable in tfjs, so sharing the buffer is exact, as the cpu
 * backend's Identity and wasm's own Reshape do (the wasm backend counts references per buffer).
 */
function shareIdentityOnWasm(): void {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend }) => {
    const x = inputs.x as tf.TensorInfo;
    (backend as unknown as { incRef(id: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel({ kernelName: tf.Identity, backendName: 'wasm', kernelFunc });
}

async function tryCpu(): Promise<Attempt> {
  await tf.setBackend('cpu');
  return { ok: true, gpu: false, detail: 'plain JavaScript on the CPU (slowest)' };
}

export interface SelectBackendOptions {
  /** XNNPACK threads for wasm, or a choice with its reason (default: defaultWasmThreads()); fixed at the first wasm start. */
  wasmThreads?: number | { threads: number; why: string };
  /** How tfjs-node(-gpu) is imported (default: a plain import); tests pass a stand-in. */
  loadTensorflow?: TensorflowLoader;
  /** Finds the WebGPU adapter (default: probeWebgpuAdapter, once per process); tests pass a stand-in. */
  probeAdapter?: () => Promise<AdapterProbe>;
}

/**
 * Activates a tfjs backend. 'auto' tries, in order: tensorflow on a GPU device > webgpu on a hardware adapter >
 * tensorflow on the CPU > wasm > cpu, and reports why each earlier one was skipped (tfjs-node-gpu without a GPU
 * device: what it needs, what is missing, and that WebGPU was chosen instead). A named backend is used or the call
 * fails with the reason. The report's detail says whether it runs on the GPU or the CPU.
 */
export async function selectBackend(choice: BackendChoice = 'auto', opts: SelectBackendOptions = {}): Promise<BackendReport> {
  // PROD silences tfjs's console advice ("install tfjs-node"); we report the backend and why ourselves.
  tf.env().set('PROD', true);
  const load = opts.loadTensorflow ?? importTensorflow;
  const probe = opts.probeAdapter ?? probeWebgpuAdapter;
  const threads = async (): Promise<{ threads: number; why: string }> => {
    const t = opts.wasmThreads;
    if (t === undefined) return defaultWasmThreads();
    const n = typeof t === 'number' ? t : t.threads;
    if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) throw new Error(`wasmThreads must be an integer from 1 to ${MAX_WASM_THREADS}, got ${n}`);
    return typeof t === 'number' ? { threads: t, why: 'as asked' } : t;
  };
  const skipped: BackendReport['skipped'] = [];
  const done = async (name: BackendName, r: Extract<Attempt, { ok: true }>): Promise<BackendReport> => {
    await tf.ready();
    let warning = r.warning;
    if (!warning && !r.gpu && choice === 'auto' && skipped.length) {
      warning = `running on the CPU (${name}): no GPU backend is available here (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`;
    }
    active = { name, detail: r.detail, gpu: r.gpu, skipped, warning, ...(r.threads !== undefined ? { threads: r.threads } : {}) };
    return active;
  };

  if (choice !== 'auto') {
    let r: Attempt;
    if (choice === 'tensorflow') {
      const t = await tryTensorflow(load);
      r = !t.ok ? t : t.gpu ? { ok: true, gpu: true, detail: t.detail } : { ok: true, gpu: false, detail: t.detail, warning: t.why };
    } else if (choice === 'webgpu') r = await tryWebgpu(true, null, probe);
    else if (choice === 'wasm') r = await tryWasm(await threads());
    else r = await tryCpu();
    if (r.ok) return done(choice, r);
    throw new Error(`backend ${choice} is not available: ${choice}: ${r.reason}`);
  }

  const t = await tryTensorflow(load);
  if (t.ok && t.gpu) return done('tensorflow', { ok: true, gpu: true, detail: t.detail });
  if (!t.ok) skipped.push({ name: 'tensorflow', reason: t.reason });
  const onCpu = t.ok && !t.gpu ? t : null;
  const w = await tryWebgpu(false, onCpu ? `WebGPU was chosen instead of the tensorflow backend: ${onCpu.why}` : null, probe);
  if (w.ok) {
    if (onCpu) skipped.unshift({ name: 'tensorflow', reason: `${onCpu.why}; WebGPU was chosen instead` });
    return done('webgpu', w);
  }
  skipped.push({ name: 'webgpu', reason: w.reason });
  if (onCpu && (await tf.setBackend('tensorflow'))) {
    const gpuPackage = onCpu.pkg === '@tensorflow/tfjs-node-gpu';
    return done('tensorflow', { ok: true, gpu: false, detail: onCpu.detail, ...(gpuPackage ? { warning: `${onCpu.why}; webgpu: ${w.reason}` } : {}) });
  }
  if (onCpu) skipped.unshift({ name: 'tensorflow', reason: `${onCpu.pkg} loaded, but its backend did not start again after the WebGPU attempt` });
  const wasm = await tryWasm(await threads());
  if (wasm.ok) return done('wasm', wasm);
  skipped.push({ name: 'wasm', reason: wasm.reason });
  return done('cpu', (await tryCpu()) as Extract<Attempt, { ok: true }>);
}

/** The one line every command, run record and the app show: the backend and where it runs (GPU or CPU), and why. */
export function backendLine(r: { name: string; detail: string }): string {
  return `${r.name} — ${r.detail}`;
}

/** The report of the last selectBackend call, or null. */
export function activeBackend(): BackendReport | null {
  return active;
}
