import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { z } from 'zod';

/** tfjs backends the lab can train on, in order of preference (../shared/docs/compute.md). */
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

async function tryWebgpu(explicit: boolean): Promise<Attempt> {
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
  const software = SOFTWARE_ADAPTER.test(name);
  if (software && !explicit) return { ok: false, reason: `only a software adapter (${name}) is available, slower than wasm` };
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) return { ok: false, reason: `tfjs could not start WebGPU on ${name}` };
  return { ok: true, detail: `WebGPU (Dawn) on ${name}`, warning: software ? `${name} is a software adapter: expect it to be slower than wasm` : undefined };
}

async function tryWasm(): Promise<Attempt> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
    wasm.setWasmPaths(dir);
    if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'the wasm backend did not start' };
    return { ok: true, detail: `WebAssembly (${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, single thread)` };
  } catch (e) {
    return { ok: false, reason: `wasm failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function tryCpu(): Promise<Attempt> {
  await tf.setBackend('cpu');
  return { ok: true, detail: 'plain JavaScript (slowest)' };
}

/**
 * Activates a tfjs backend. 'auto' tries tensorflow > webgpu (hardware adapter) > wasm > cpu and reports why each
 * earlier one was skipped; a named backend is used or the call fails with the reason.
 */
export async function selectBackend(choice: BackendChoice = 'auto'): Promise<BackendReport> {
  // PROD silences tfjs's console advice ("install tfjs-node"); we report the backend and why ourselves.
  tf.env().set('PROD', true);
  const order: BackendName[] = choice === 'auto' ? [...BACKENDS] : [choice];
  const skipped: BackendReport['skipped'] = [];
  for (const name of order) {
    const r =
      name === 'tensorflow' ? await tryTensorflow() : name === 'webgpu' ? await tryWebgpu(choice === 'webgpu') : name === 'wasm' ? await tryWasm() : await tryCpu();
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
