import os from 'node:os';

/** XNNPACK's pool beyond this gains little for our convolution sizes and only adds spinning threads. */
export const MAX_WASM_THREADS = 8;

export interface ThreadBudgetInput {
  /** Logical cores of the machine (os.availableParallelism()). */
  cores: number;
  /** Cores busy right now, all work included (the lab's own runs too): min(1-minute load, sampled busy cores). */
  busy: number;
  /** Threads the lab's other running trainings already hold (counted in `busy`). */
  labThreads: number;
  /** Trainings of the lab that will run at once, this one included (>= 1; a sweep or `reproduce` plans several). */
  concurrentRuns: number;
}

export interface ThreadChoice {
  threads: number;
  /** Why, for the backend line: "2 of 2 cores free" and the like. */
  why: string;
}

/**
 * XNNPACK threads for one wasm training. Its pool threads spin while they wait, so a thread on a core that other work
 * holds slows the whole step: the choice takes only cores that nothing else uses. Work outside the lab (`busy` less
 * the lab's own threads, rounded) is taken off the cores first; the rest is shared evenly by the lab's concurrent
 * runs, and no more than is still unheld is taken. Always at least 1, at most MAX_WASM_THREADS.
 */
export function chooseWasmThreads(b: ThreadBudgetInput): ThreadChoice {
  for (const [k, v] of Object.entries(b)) if (!Number.isFinite(v) || v < 0) throw new Error(`chooseWasmThreads: ${k} must be a finite number >= 0, got ${v}`);
  if (!Number.isInteger(b.cores) || b.cores < 1) throw new Error(`chooseWasmThreads: cores must be an integer >= 1, got ${b.cores}`);
  const runs = Math.max(1, Math.floor(b.concurrentRuns));
  const outside = Math.min(b.cores, Math.max(0, Math.round(b.busy - b.labThreads)));
  const usable = b.cores - outside;
  const share = Math.floor(usable / runs);
  const unheld = usable - b.labThreads;
  const threads = Math.max(1, Math.min(share, unheld, MAX_WASM_THREADS));
  const parts = [`${usable} of ${b.cores} cores free`];
  if (runs > 1) parts.push(`shared by ${runs} concurrent runs`);
  if (b.labThreads > 0) parts.push(`${b.labThreads} held by the lab's other runs`);
  return { threads, why: parts.join(', ') };
}

/**
 * Busy cores over a short window, from the kernel's per-core time counters (os.cpus). Unlike the 1-minute load average
 * it does not lag behind work that has just ended; the load average sees waiting threads beyond the core count that
 * this cannot. Callers take the smaller of the two.
 */
export async function sampleBusyCores(ms = 200): Promise<number> {
  const total = (): { busy: number; all: number } => {
    let busy = 0;
    let all = 0;
    for (const c of os.cpus()) {
      const t = c.times;
      const sum = t.user + t.nice + t.sys + t.idle + t.irq;
      all += sum;
      busy += sum - t.idle;
    }
    return { busy, all };
  };
  const a = total();
  await new Promise((r) => setTimeout(r, ms));
  const b = total();
  const span = b.all - a.all;
  return span > 0 ? ((b.busy - a.busy) / span) * os.cpus().length : 0;
}

/** The machine's cores and how busy they are now (see sampleBusyCores). */
export async function machineLoad(): Promise<{ cores: number; busy: number }> {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const sampled = await sampleBusyCores();
  return { cores, busy: Math.min(os.loadavg()[0], sampled) };
}

/** FERNN_WASM_THREADS when set (an integer 1..MAX_WASM_THREADS), else undefined; anything else is an error naming it. */
export function wasmThreadsFromEnv(): number | undefined {
  const v = process.env.FERNN_WASM_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) throw new Error(`FERNN_WASM_THREADS must be an integer from 1 to ${MAX_WASM_THREADS}, got '${v}'`);
  return n;
}

/**
 * XNNPACK threads for a wasm training that the caller did not fix: FERNN_WASM_THREADS, else chooseWasmThreads on
 * this machine's load. `lab` describes the lab's other concurrent trainings (none by default).
 */
export async function wasmThreadsForThisMachine(
  lab: { labThreads: number; concurrentRuns: number } = { labThreads: 0, concurrentRuns: 1 },
): Promise<ThreadChoice> {
  const env = wasmThreadsFromEnv();
  if (env !== undefined) return { threads: env, why: 'FERNN_WASM_THREADS' };
  return chooseWasmThreads({ ...(await machineLoad()), ...lab });
}
