import type { ILabService } from '../core/protocol/service';

declare global {
  interface Window {
    /** The lab service: set by the Electron preload (IPC) or by the web client (HTTP + WebSocket). */
    lab: ILabService;
  }
}

export {};
