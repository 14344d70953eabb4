import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import type { CpuInfo } from 'node:os';
import path from 'node:path';

/**
 * Multi-threaded tfjs wasm (XNNPACK's thread pool) under Node. tfjs ships the threaded SIMD build but switches it off
 * in Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tfjs issue 3830), because its loader hands Emscripten
 * browser Blob URLs that Node's worker_threads cannot open:
 *  - the pthread worker script is a `blob:` URL (tfjs's locateFile), which `new Worker(url)` reads as a file path;
 *  - each worker then loads the main script from a Blob, which the worker's importScripts (fs.readFileSync) cannot.
 * Here a Worker subclass starts `blob:` workers from the worker script's source instead (an eval worker), and that
 * worker loads the main script from its file in the package. Emscripten's own Node support does the rest
 * (SharedArrayBuffer memory, Atomics).
 * tfjs also caps the pool at half the logical cores (it assumes two hyperthreads per core); on a 2-vCPU machine that
 * is 1. The core count Emscripten reads (os.cpus) is raised while the backend starts so that the cap is `threads`.
 */

const req = createRequire(import.meta.url);
let installed = false;

/** Prepares the threaded build; call before tf.setBackend('wasm') and wrap that call in `withCoreCount`. */
export function enableWasmThreads(): void {
  if (installed) return;
  const pkgDir = path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const mainScript = path.join(pkgDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = req(path.join(pkgDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // As tfjs does before making its Blob: the source's newlines sit inside string literals.
  const source =
    wasmWorkerContents.replace(/\n/g, '\\n') +
    `\n;{const onLoad = self.onmessage; self.onmessage = (e) => { if (e.data && e.data.cmd === 'load' && typeof e.data.urlOrBlob !== 'string') e.data.urlOrBlob = ${JSON.stringify(mainScript)}; onLoad(e); };}`;
  type NodeWorkerLike = { ref(): void; unref(): void };
  const threads = req('node:worker_threads') as { Worker: new (file: string | URL, options?: object) => NodeWorkerLike };
  const NodeWorker = threads.Worker;
  class BlobWorker extends NodeWorker {
    constructor(file: string | URL, options?: object) {
      if (typeof file !== 'string' || !file.startsWith('blob:')) {
        super(file, options);
        return;
      }
      super(source, { ...options, eval: true });
      // XNNPACK's pool threads wait for work forever; Emscripten refs a worker while its thread runs, which would keep
      // the process alive after its work is done. The main thread waits for them synchronously (Atomics), not through
      // the event loop, so they never need to hold it open.
      this.unref();
      this.ref = () => undefined;
    }
  }
  threads.Worker = BlobWorker;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  installed = true;
}

/** Runs `f` while Node reports 2 * `threads` logical cores (tfjs's pool is half of them). */
export async function withCoreCount<T>(threads: number, f: () => Promise<T>): Promise<T> {
  const mod = req('node:os') as { cpus: () => CpuInfo[] };
  const real = mod.cpus;
  const cores = real();
  mod.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cores[i % cores.length]);
  try {
    return await f();
  } finally {
    mod.cpus = real;
  }
}
