/**
 * Sandboxed preload: exposes exactly the lab service as `window.lab`, nothing else. Each method forwards to one IPC
 * channel `lab:<method>` from a fixed list (no channel name comes from the page); progress arrives on `lab:progress`.
 * From the protocol come only types and the dependency-free method list, so this bundle requires nothing but
 * 'electron'.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ProgressEvent } from '../core/protocol/run';
import type { ILabService } from '../core/protocol/service';
import { LAB_METHODS, type CallMethod } from '../core/protocol/methods';

const PROGRESS_CHANNEL = 'lab:progress';

type Reply = { ok: true; result: unknown } | { ok: false; error: { code: string; field?: string; message: string } };

/** A failure from the main process: the message names the field (`config.hidden: …`). */
function fail(error: { code: string; field?: string; message: string }): never {
  const e = new Error(error.message);
  e.name = error.code === 'not_found' ? 'NotFoundError' : error.code === 'bad_argument' ? 'InputError' : 'LabError';
  throw e;
}

const api = {} as Record<CallMethod, (arg?: unknown) => Promise<unknown>>;
for (const method of LAB_METHODS) {
  api[method] = async (arg?: unknown) => {
    const reply = (await ipcRenderer.invoke(`lab:${method}`, arg)) as Reply;
    if (!reply.ok) fail(reply.error);
    return reply.result;
  };
}

const lab: ILabService = {
  ...(api as unknown as Omit<ILabService, 'onDidProgress'>),
  onDidProgress(listener: (e: ProgressEvent) => void) {
    const handler = (_: IpcRendererEvent, e: ProgressEvent) => listener(e);
    ipcRenderer.on(PROGRESS_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(PROGRESS_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('lab', lab);
