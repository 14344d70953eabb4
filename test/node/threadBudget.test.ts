import { afterEach, describe, expect, it } from 'vitest';
import { chooseWasmThreads, MAX_WASM_THREADS, wasmThreadsForThisMachine, wasmThreadsFromEnv } from '../../src/node/threadBudget';

const idle = { busy: 0, labThreads: 0, concurrentRuns: 1 };

describe('chooseWasmThreads', () => {
  it('a run alone on an idle machine takes every core, up to the cap', () => {
    expect(chooseWasmThreads({ cores: 2, ...idle })).toEqual({ threads: 2, why: '2 of 2 cores free' });
    expect(chooseWasmThreads({ cores: 6, ...idle }).threads).toBe(6);
    expect(chooseWasmThreads({ cores: 64, ...idle }).threads).toBe(MAX_WASM_THREADS);
  });

  it('leaves the cores that work outside the lab holds', () => {
    expect(chooseWasmThreads({ cores: 8, ...idle, busy: 3 }).threads).toBe(5);
    expect(chooseWasmThreads({ cores: 2, ...idle, busy: 1.2 }).threads).toBe(1);
    // A trace of load (an editor, a shell) does not cost a core; half a core's worth does.
    expect(chooseWasmThreads({ cores: 2, ...idle, busy: 0.3 }).threads).toBe(2);
    expect(chooseWasmThreads({ cores: 2, ...idle, busy: 0.6 }).threads).toBe(1);
  });

  it('never goes below one thread, however busy the machine', () => {
    expect(chooseWasmThreads({ cores: 2, ...idle, busy: 7.6 }).threads).toBe(1);
    expect(chooseWasmThreads({ cores: 1, ...idle }).threads).toBe(1);
  });

  it("shares the cores among the lab's concurrent runs without oversubscribing", () => {
    // reproduce --parallel 2 on 2 cores: the first run plans for the second, which takes what is left.
    const first = chooseWasmThreads({ cores: 2, busy: 0, labThreads: 0, concurrentRuns: 2 });
    expect(first.threads).toBe(1);
    expect(first.why).toMatch(/shared by 2 concurrent runs/);
    const second = chooseWasmThreads({ cores: 2, busy: 1, labThreads: first.threads, concurrentRuns: 2 });
    expect(second.threads).toBe(1);
    // 8 cores, 3 runs: 2 each, and the sum stays within the cores.
    let held = 0;
    for (let i = 0; i < 3; i++) held += chooseWasmThreads({ cores: 8, busy: held, labThreads: held, concurrentRuns: 3 }).threads;
    expect(held).toBe(6);
  });

  it("the lab's own threads are not counted twice as outside load", () => {
    // 4 cores, one lab run holding 2 (busy 2): 2 remain for a second planned run.
    expect(chooseWasmThreads({ cores: 4, busy: 2, labThreads: 2, concurrentRuns: 2 }).threads).toBe(2);
    // A run that started unplanned took all 4: a second run gets the minimum, not more.
    expect(chooseWasmThreads({ cores: 4, busy: 4, labThreads: 4, concurrentRuns: 2 }).threads).toBe(1);
  });

  it('rejects nonsense, naming the field', () => {
    expect(() => chooseWasmThreads({ cores: 0, ...idle })).toThrow(/cores/);
    expect(() => chooseWasmThreads({ cores: 2, ...idle, busy: Number.NaN })).toThrow(/busy/);
    expect(() => chooseWasmThreads({ cores: 2, ...idle, labThreads: -1 })).toThrow(/labThreads/);
  });
});

describe('FERNN_WASM_THREADS', () => {
  const before = process.env.FERNN_WASM_THREADS;
  afterEach(() => {
    if (before === undefined) delete process.env.FERNN_WASM_THREADS;
    else process.env.FERNN_WASM_THREADS = before;
  });

  it('overrides the choice', async () => {
    process.env.FERNN_WASM_THREADS = '3';
    expect(wasmThreadsFromEnv()).toBe(3);
    expect(await wasmThreadsForThisMachine({ labThreads: 5, concurrentRuns: 4 })).toEqual({ threads: 3, why: 'FERNN_WASM_THREADS' });
  });

  it('is rejected with its name when it is not a thread count', () => {
    for (const v of ['0', '2.5', 'many', String(MAX_WASM_THREADS + 1)]) {
      process.env.FERNN_WASM_THREADS = v;
      expect(() => wasmThreadsFromEnv()).toThrow(new RegExp(`FERNN_WASM_THREADS .*'${v}'`));
    }
    delete process.env.FERNN_WASM_THREADS;
    expect(wasmThreadsFromEnv()).toBeUndefined();
  });
});
