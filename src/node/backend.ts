import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';
import { enableWasmThreads, withCoreCount } from './wasmThreads';
import { setGpuKernels, type GpuKernelMode } from '../core/nn/gpuKernels';

/** tfjs backends the lab can train on, in order of preference (docs/compute.md). */
export const BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];
export const backendChoiceSchema = z.enum(['auto', ...BACKENDS]);
export type BackendChoice = z.infer<typeof backendChoiceSchema>;

export interface BackendReport {
  /** The backend now active. */
  name: BackendName;
  /** What it runs on: package, adapter, threads. */
  detail: string;
  /** Backends tried before it (or unavailable), each with the reason. */
  skipped: { name: BackendName; reason: string }[];
  /** A warning to show the user, e.g. that only a slow backend is available. */
  warning?: string;
}

const req = createRequire(import.meta.url);
let active: BackendReport | null = null;

type Attempt = { ok: true; detail: string; warning?: string } | { ok: false; reason: string };

async function tryTensorflow(): Promise<Attempt> {
  const reasons: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(/* @vite-ignore */ pkg);
      if (await tf.setBackend('tensorflow')) return { ok: true, detail: pkg };
      reasons.push(`${pkg} loaded but its backend did not start`);
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
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
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

/** Dawn's instance and adapter, found once per process (a second Dawn instance only adds threads). */
let webgpuFound: Promise<{ ok: true; name: string; software: boolean } | { ok: false; reason: string }> | null = null;

async function tryWebgpu(explicit: boolean): Promise<Attempt> {
  webgpuFound ??= findWebgpu();
  const found = await webgpuFound;
  if (!found.ok) return found;
  const { name, software } = found;
  if (software && !explicit) return { ok: false, reason: `only a software adapter (${name}) is available, slower than wasm` };
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: `tfjs could not start WebGPU on ${name}` };
  const kernels = webgpuKernelsFromEnv();
  setGpuKernels(kernels);
  const which = kernels === 'fused' ? "the lab's fused WGSL kernels" : "tfjs's stock kernels (FERNN_WEBGPU_KERNELS=stock)";
  return { ok: true, detail: `WebGPU (Dawn) on ${name}, ${which}`, warning: software ? `${name} is a software adapter: expect it to be slower than wasm` : undefined };
}

async function findWebgpu(): Promise<{ ok: true; name: string; software: boolean } | { ok: false; reason: string }> {
  if (linuxVulkanLoaderMissing()) return { ok: false, reason: 'no Vulkan loader (libvulkan.so.1) is installed, so Dawn cannot reach a GPU' };
  let gpu: GPU;
  try {
    const mod = (await import(/* @vite-ignore */ 'webgpu')) as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    Object.assign(globalThis, mod.globals);
    gpu = mod.create([]);
  } catch (e) {
    return { ok: false, reason: `the 'webgpu' package (Dawn) could not load: ${(e as Error).message.split('\n')[0]}` };
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter (no GPU with a Vulkan/Metal/D3D12 driver was found)' };
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return { ok: true, name, software: SOFTWARE_ADAPTER.test(name) };
}

/**
 * Threads for tfjs wasm (XNNPACK) when the caller does not say: FERNN_WASM_THREADS (at most 8), else 1. XNNPACK's
 * pool spin-waits: on a machine whose cores are busy with other work, 2 threads made a G-RNN step 2x slower.
 */
export function defaultWasmThreads(): number {
  const env = Number(process.env.FERNN_WASM_THREADS);
  return Number.isInteger(env) && env >= 1 ? Math.min(env, 8) : 1;
}

let wasmThreadsInUse: number | null = null;

async function tryWasm(threads: number): Promise<Attempt> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    // A process starts the wasm module once: the first thread count sticks.
    if (wasmThreadsInUse === null) {
      wasm.setWasmPaths(dir);
      shareIdentityOnWasm();
      if (threads > 1) enableWasmThreads();
      wasm.setThreadsCount(threads);
    }
    const started = await withCoreCount(threads, () => tf.setBackend('wasm'));
    if (!started) return { ok: false, reason: 'the wasm backend did not start' };
    wasmThreadsInUse = wasm.getThreadsCount();
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD';
    return { ok: true, detail: `WebAssembly (${simd}, ${wasmThreadsInUse === 1 ? 'single thread' : `${wasmThreadsInUse} threads`})` };
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
  return { ok: true, detail: 'plain JavaScript (slowest)' };
}

/**
 * Activates a tfjs backend. 'auto' tries tensorflow > webgpu (hardware adapter) > wasm > cpu and reports why each
 * earlier one was skipped; a named backend is used or the call fails with the reason.
 * @param opts.wasmThreads XNNPACK threads for wasm (default `defaultWasmThreads()`); fixed at the first wasm start
 */
export async function selectBackend(choice: BackendChoice = 'auto', opts: { wasmThreads?: number } = {}): Promise<BackendReport> {
  // PROD silences tfjs's console advice ("install tfjs-node"); we report the backend and why ourselves.
  tf.env().set('PROD', true);
  const order: BackendName[] = choice === 'auto' ? [...BACKENDS] : [choice];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    const r =
      name === 'tensorflow' ? await tryTensorflow() : name === 'webgpu' ? await tryWebgpu(choice === 'webgpu') : name === 'wasm' ? await tryWasm(opts.wasmThreads ?? defaultWasmThreads()) : await tryCpu();
    if (r.ok) {
      await tf.ready();
      let warning = r.warning;
      if (!warning && (name === 'wasm' || name === 'cpu') && choice === 'auto') {
        warning = `training on ${name}: no faster backend is available here (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`;
      }
      active = { name, detail: r.detail, skipped, warning };
      return active;
    }
    skipped.push({ name, reason: r.reason });
  }
  throw new Error(`backend ${choice} is not available: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The report of the last selectBackend call, or null. */
export function activeBackend(): BackendReport | null {
  return active;
}
