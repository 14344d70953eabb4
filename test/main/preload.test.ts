import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ILabService } from '../../src/core/protocol/service';
import { SERVICE_METHODS } from '../../src/core/protocol/service';

// The preload runs against Electron's contextBridge and ipcRenderer; here they are stand-ins that record use.
const exposed: Record<string, unknown> = {};
const invoked: [string, unknown][] = [];
const listeners = new Map<string, ((ev: unknown, e: unknown) => void)[]>();
vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
  ipcRenderer: {
    invoke: async (ch: string, arg: unknown) => {
      invoked.push([ch, arg]);
      if (ch === 'lab:getRun') return { ok: false, error: { code: 'not_found', field: 'run', message: 'run: no run x' } };
      return { ok: true, result: { ch } };
    },
    on: (ch: string, fn: (ev: unknown, e: unknown) => void) => listeners.set(ch, [...(listeners.get(ch) ?? []), fn]),
    removeListener: (ch: string, fn: (ev: unknown, e: unknown) => void) =>
      listeners.set(
        ch,
        (listeners.get(ch) ?? []).filter((f) => f !== fn),
      ),
  },
}));

beforeAll(async () => {
  await import('../../src/preload/preload');
});

describe('preload', () => {
  it('exposes exactly window.lab with the service’s methods', () => {
    expect(Object.keys(exposed)).toEqual(['lab']);
    const lab = exposed.lab as Record<string, unknown>;
    expect(Object.keys(lab).sort()).toEqual([...SERVICE_METHODS, 'onDidProgress'].sort());
    expect(Object.values(lab).every((v) => typeof v === 'function')).toBe(true);
  });

  it('forwards calls to lab:<method> and turns error replies into errors naming the field', async () => {
    const lab = exposed.lab as ILabService;
    await expect(lab.listRuns()).resolves.toEqual({ ch: 'lab:listRuns' });
    await expect(lab.getRun({ id: 'x' })).rejects.toThrow('run: no run x');
    expect(invoked).toEqual([
      ['lab:listRuns', undefined],
      ['lab:getRun', { id: 'x' }],
    ]);
  });

  it('delivers progress and unsubscribes', () => {
    const lab = exposed.lab as ILabService;
    const got: unknown[] = [];
    const off = lab.onDidProgress((e) => got.push(e));
    listeners.get('lab:progress')?.forEach((f) => f({}, { runId: 'r' }));
    off();
    expect(listeners.get('lab:progress')).toEqual([]);
    expect(got).toEqual([{ runId: 'r' }]);
  });
});
