import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { ProgressEvent } from '../core/protocol/run';
import { SERVICE_METHODS, type ILabService } from '../core/protocol/service';
import { dispatchCall, type WireReply } from '../node/transport/call';
import { isAppUrl } from './security';

export const PROGRESS_CHANNEL = 'lab:progress';

/**
 * Serves the lab service over IPC: one `lab:<method>` channel per method. Each call is checked to come from our
 * page (app://lab), its argument validated with the method's schema, and answered with a reply object (Electron
 * would flatten a thrown error to a string prefixed with the channel name). Progress goes to every window.
 * @returns a function that removes the handlers and the progress subscription
 */
export function serveLabOverIpc(ipcMain: IpcMain, service: ILabService, windows: () => WebContents[]): () => void {
  for (const method of SERVICE_METHODS) {
    ipcMain.handle(`lab:${method}`, async (event: IpcMainInvokeEvent, arg: unknown): Promise<WireReply> => {
      if (!isAppUrl(event.senderFrame?.url))
        return { ok: false, error: { code: 'bad_argument', field: 'sender', message: 'sender: calls are accepted from the lab page only' } };
      return dispatchCall(service, method, arg);
    });
  }
  const unsubscribe = service.onDidProgress((e: ProgressEvent) => {
    for (const wc of windows()) if (!wc.isDestroyed()) wc.send(PROGRESS_CHANNEL, e);
  });
  return () => {
    unsubscribe();
    for (const method of SERVICE_METHODS) ipcMain.removeHandler(`lab:${method}`);
  };
}
