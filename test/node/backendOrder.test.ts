import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ADAPTER_PROBE_ENV,
  missingCudaLibraries,
  probeWebgpuAdapter,
  setAdapterProbe,
  noGpuDeviceReason,
  selectBackend,
  TFJS_NODE_GPU_NEEDS,
  type AdapterProbe,
  type TensorflowLoader,
  type TfjsNodePackage,
} from '../../src/node/backend';

/**
 * The order of 'auto' with a stand-in for tfjs-node(-gpu), which cannot be installed here (its install script
 * downloads libtensorflow). Like the real package, importing the stand-in registers a 'tensorflow' backend whose
 * instance says whether it is the GPU package (isGPUPackage) and whether it found a GPU device (isUsingGpuDevice).
 */
type TfState = 'gpu-device' | 'gpu-package-no-device' | 'cpu-package' | 'not-installed';

class StandInNodeBackend extends MathBackendCPU {
  constructor(
    readonly isGPUPackage: boolean,
    readonly isUsingGpuDevice: boolean,
  ) {
    super();
  }
}

function standIn(state: TfState): { load: TensorflowLoader; imported: TfjsNodePackage[] } {
  const imported: TfjsNodePackage[] = [];
  const installed: TfjsNodePackage | null = state === 'not-installed' ? null : state === 'cpu-package' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
  const load: TensorflowLoader = async (pkg) => {
    imported.push(pkg);
    if (pkg !== installed) throw new Error(`Cannot find module '${pkg}'`);
    if (tf.findBackendFactory('tensorflow')) tf.removeBackend('tensorflow');
    tf.registerBackend('tensorflow', () => new StandInNodeBackend(pkg === '@tensorflow/tfjs-node-gpu', state === 'gpu-device'));
    return {};
  };
  return { load, imported };
}

const noAdapter = (): Promise<AdapterProbe> => Promise.resolve({ ok: false, reason: 'no WebGPU adapter (stand-in)' });
const softwareAdapter = (): Promise<AdapterProbe> => Promise.resolve({ ok: true, name: 'llvmpipe (stand-in)', software: true });

/** A hardware adapter by name; Dawn then starts on whatever adapter this machine has (in CI, lavapipe). */
const hardwareAdapter = (): Promise<AdapterProbe> => Promise.resolve({ ok: true, name: 'NVIDIA H100 (stand-in)', software: false });

/** Whether Dawn can start here at all (in CI, on lavapipe); without it the webgpu cases are skipped, unless CI requires it. */
const dawnHere = await selectBackend('webgpu').then(
  () => true,
  () => false,
);
await tf.setBackend('cpu');
const requireWebgpu = process.env.FERNN_REQUIRE_WEBGPU === '1';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe("'auto' with tfjs-node(-gpu) in its three states", () => {
  it('tfjs-node-gpu with a GPU device comes first, before any WebGPU adapter is looked at', async () => {
    const { load } = standIn('gpu-device');
    let probed = false;
    const r = await selectBackend('auto', {
      loadTensorflow: load,
      probeAdapter: () => {
        probed = true;
        return hardwareAdapter();
      },
    });
    expect(r.name).toBe('tensorflow');
    expect(r.gpu).toBe(true);
    expect(r.detail).toMatch(/tfjs-node-gpu on a GPU device/);
    expect(r.skipped).toEqual([]);
    expect(probed).toBe(false);
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it.skipIf(!dawnHere && !requireWebgpu)('tfjs-node-gpu without a GPU device (CUDA 12 machine): WebGPU on the GPU, and the line says why', async () => {
    const { load } = standIn('gpu-package-no-device');
    const r = await selectBackend('auto', { loadTensorflow: load, probeAdapter: hardwareAdapter });
    expect(r.name).toBe('webgpu');
    expect(r.gpu).toBe(true);
    expect(r.detail).toMatch(/on the GPU NVIDIA H100 \(stand-in\)/);
    expect(r.detail).toMatch(/WebGPU was chosen instead of the tensorflow backend: @tensorflow\/tfjs-node-gpu found no GPU device/);
    expect(r.detail).toContain(`CUDA ${TFJS_NODE_GPU_NEEDS.cuda} and cuDNN ${TFJS_NODE_GPU_NEEDS.cudnn}`);
    const skip = r.skipped.find((s) => s.name === 'tensorflow');
    expect(skip?.reason).toMatch(/found no GPU device.*WebGPU was chosen instead/);
    expect(tf.getBackend()).toBe('webgpu');
  });

  it('tfjs-node-gpu without a GPU device and no hardware adapter: tensorflow on the CPU, with the reason as a warning', async () => {
    const { load } = standIn('gpu-package-no-device');
    const r = await selectBackend('auto', { loadTensorflow: load, probeAdapter: softwareAdapter });
    expect(r.name).toBe('tensorflow');
    expect(r.gpu).toBe(false);
    expect(r.detail).toMatch(/tfjs-node-gpu on the CPU: no GPU device/);
    expect(r.warning).toContain(`CUDA ${TFJS_NODE_GPU_NEEDS.cuda} and cuDNN ${TFJS_NODE_GPU_NEEDS.cudnn}`);
    expect(r.warning).toMatch(/only a software adapter \(llvmpipe \(stand-in\)\)/);
    expect(r.skipped.map((s) => s.name)).toEqual(['webgpu']);
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it.skipIf(!dawnHere && !requireWebgpu)('tfjs-node (CPU package) loses to a hardware WebGPU adapter', async () => {
    const { load } = standIn('cpu-package');
    const r = await selectBackend('auto', { loadTensorflow: load, probeAdapter: hardwareAdapter });
    expect(r.name).toBe('webgpu');
    expect(r.gpu).toBe(true);
    expect(r.skipped[0].name).toBe('tensorflow');
    expect(r.skipped[0].reason).toMatch(/@tensorflow\/tfjs-node runs on the CPU/);
  });

  it('tfjs-node (CPU package) without a GPU adapter: tensorflow on the CPU, ahead of wasm', async () => {
    const { load, imported } = standIn('cpu-package');
    const r = await selectBackend('auto', { loadTensorflow: load, probeAdapter: noAdapter });
    expect(imported).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    expect(r.name).toBe('tensorflow');
    expect(r.gpu).toBe(false);
    expect(r.detail).toBe('@tensorflow/tfjs-node on the CPU (libtensorflow)');
    expect(r.skipped).toEqual([{ name: 'webgpu', reason: 'no WebGPU adapter (stand-in)' }]);
  });

  it('neither installed nor an adapter: wasm on the CPU, each skip with its reason', async () => {
    const { load } = standIn('not-installed');
    const r = await selectBackend('auto', { loadTensorflow: load, probeAdapter: noAdapter, wasmThreads: 1 });
    expect(r.name).toBe('wasm');
    expect(r.gpu).toBe(false);
    expect(r.threads).toBe(1);
    expect(r.detail).toMatch(/^WebAssembly on the CPU \(.*1 thread/);
    expect(r.skipped.map((s) => s.name)).toEqual(['tensorflow', 'webgpu']);
    expect(r.skipped[0].reason).toMatch(/tfjs-node-gpu is not installed.*tfjs-node is not installed/);
    expect(r.warning).toMatch(/^running on the CPU \(wasm\): no GPU backend/);
  });

  it('--backend tensorflow with tfjs-node-gpu but no GPU device is used, and warns that it runs on the CPU', async () => {
    const { load } = standIn('gpu-package-no-device');
    const r = await selectBackend('tensorflow', { loadTensorflow: load, probeAdapter: noAdapter });
    expect(r.name).toBe('tensorflow');
    expect(r.gpu).toBe(false);
    expect(r.warning).toMatch(/found no GPU device and runs on the CPU/);
  });

  it('--backend tensorflow when nothing is installed fails with the reason', async () => {
    const { load } = standIn('not-installed');
    await expect(selectBackend('tensorflow', { loadTensorflow: load })).rejects.toThrow(/tfjs-node-gpu is not installed/);
  });
});

describe('what tfjs-node-gpu 4.22 needs', () => {
  it('lists the CUDA 11.2 / cuDNN 8.1 libraries not found in any library folder', () => {
    const present = new Set(['/opt/cuda/lib64/libcudart.so.11.0', '/usr/lib/libcublas.so.11']);
    expect(missingCudaLibraries((f) => present.has(f), ['/opt/cuda/lib64', '/usr/lib'])).toEqual(['libcudnn.so.8']);
    expect(missingCudaLibraries(() => false, ['/usr/lib'])).toEqual(['libcudart.so.11.0', 'libcublas.so.11', 'libcudnn.so.8']);
    expect(missingCudaLibraries(() => true, ['/usr/lib'])).toEqual([]);
  });

  it('says what it needs and what is missing', () => {
    expect(noGpuDeviceReason(['libcudart.so.11.0'])).toBe(
      '@tensorflow/tfjs-node-gpu found no GPU device and runs on the CPU (it needs CUDA 11.2 and cuDNN 8.1; not found: libcudart.so.11.0)',
    );
    expect(noGpuDeviceReason([])).not.toMatch(/not found/);
  });
});

describe('the adapter probe handed to workers', () => {
  it('a probe result given by the lab service is what this thread uses, and travels on in the environment', async () => {
    const before = process.env[ADAPTER_PROBE_ENV];
    try {
      setAdapterProbe({ ok: false, reason: 'probed by the service (stand-in)' });
      expect(await probeWebgpuAdapter()).toEqual({ ok: false, reason: 'probed by the service (stand-in)' });
      expect(JSON.parse(process.env[ADAPTER_PROBE_ENV] ?? 'null')).toEqual({ ok: false, reason: 'probed by the service (stand-in)' });
      await expect(selectBackend('webgpu')).rejects.toThrow(/probed by the service \(stand-in\)/);
      expect(() => setAdapterProbe({ ok: true, name: 'x' } as unknown as AdapterProbe)).toThrow();
    } finally {
      if (before === undefined) delete process.env[ADAPTER_PROBE_ENV];
      else process.env[ADAPTER_PROBE_ENV] = before;
    }
  });
});
