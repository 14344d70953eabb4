import { describe, expect, it } from 'vitest';
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import { SERVICE_METHODS } from '../../src/core/protocol/service';
import { PROGRESS_CHANNEL, serveLabOverIpc } from '../../src/main/ipc';
import { createFakeLabService } from '../helpers/fakeLabService';

/** The IPC transport with a stand-in ipcMain: what the Electron main process does with each call, without Electron. */
function fakeIpcMain() {
  const handlers = new Map<string, (e: IpcMainInvokeEvent, arg: unknown) => Promise<unknown>>();
  const ipc = {
    handle: (ch: string, fn: (e: IpcMainInvokeEvent, arg: unknown) => Promise<unknown>) => handlers.set(ch, fn),
    removeHandler: (ch: string) => handlers.delete(ch),
  } as unknown as IpcMain;
  const invoke = (ch: string, arg: unknown, url = 'app://lab/index.html') => {
    const h = handlers.get(ch);
    if (!h) throw new Error(`no handler for ${ch}`);
    return h({ senderFrame: { url } } as unknown as IpcMainInvokeEvent, arg);
  };
  return { ipc, handlers, invoke };
}

describe('lab over IPC', () => {
  it('has one channel per method and removes them on dispose', () => {
    const { ipc, handlers } = fakeIpcMain();
    const dispose = serveLabOverIpc(ipc, createFakeLabService(), () => []);
    expect([...handlers.keys()].sort()).toEqual(SERVICE_METHODS.map((m) => `lab:${m}`).sort());
    dispose();
    expect(handlers.size).toBe(0);
  });

  it('validates every argument and names the field', async () => {
    const { ipc, invoke } = fakeIpcMain();
    const svc = createFakeLabService();
    serveLabOverIpc(ipc, svc, () => []);
    expect(await invoke('lab:startRun', { config: { model: 'fernn', vRange: 9, hidden: 4, steps: 5 } })).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'bad_argument', field: 'config.vRange' }),
    });
    expect(await invoke('lab:getRun', { id: 'x', more: true })).toMatchObject({ ok: false, error: { field: 'arguments' } });
    expect(await invoke('lab:getRun', { id: 'x' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(svc.calls.map((c) => c.method)).toEqual(['getRun']);
    expect(await invoke('lab:info', undefined)).toMatchObject({ ok: true, result: { version: 'fake' } });
  });

  it('refuses calls from any page but the app', async () => {
    const { ipc, invoke } = fakeIpcMain();
    const svc = createFakeLabService();
    serveLabOverIpc(ipc, svc, () => []);
    for (const url of ['https://example.com/', 'file:///etc/passwd', 'app://evil/index.html', '']) {
      expect(await invoke('lab:info', undefined, url)).toMatchObject({ ok: false, error: { field: 'sender' } });
    }
    expect(svc.calls).toHaveLength(0);
  });

  it('forwards progress to live windows', () => {
    const { ipc } = fakeIpcMain();
    const svc = createFakeLabService();
    const sent: [string, unknown][] = [];
    const wc = { isDestroyed: () => false, send: (ch: string, e: unknown) => sent.push([ch, e]) } as unknown as WebContents;
    const dead = { isDestroyed: () => true, send: () => expect.unreachable() } as unknown as WebContents;
    const dispose = serveLabOverIpc(ipc, svc, () => [wc, dead]);
    const e = { runId: 'r', step: 1, totalSteps: 2, epoch: 0, loss: 1, valMse: null, bestValMse: null, stepsPerSec: 1, etaSec: 1, status: 'running' as const };
    svc.emit(e);
    expect(sent).toEqual([[PROGRESS_CHANNEL, e]]);
    dispose();
    expect(svc.listenerCount()).toBe(0);
  });
});
