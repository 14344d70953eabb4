import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SERVICE_METHODS } from '../../src/core/protocol/service';

/**
 * The Electron main process with stand-ins for Electron's modules (its binary cannot be downloaded on CI): what it
 * sets up — window security, the app:// scheme, session lockdown, navigation guards, IPC — and its graceful quit.
 */
const h = vi.hoisted(() => {
  type Fn = (...a: unknown[]) => unknown;
  const appHandlers = new Map<string, Fn[]>();
  const rec = {
    windows: [] as { opts: Record<string, unknown>; url?: string }[],
    ipc: new Map<string, Fn>(),
    protocolHandler: null as null | ((r: Request) => Promise<Response>),
    privileged: [] as unknown[],
    beforeRequest: null as null | ((d: { url: string }, cb: (r: { cancel: boolean }) => void) => void),
    permission: null as null | ((wc: unknown, p: string, cb: (ok: boolean) => void) => void),
    quitCalls: 0,
    sandboxEnabled: false,
    disposed: 0,
    /** Reads of the run list's cache by main at start (it warms the cache while the window opens). */
    warmed: 0,
    userData: '',
  };
  const app = {
    on: (ev: string, fn: Fn) => appHandlers.set(ev, [...(appHandlers.get(ev) ?? []), fn]),
    emit: (ev: string, ...args: unknown[]) => (appHandlers.get(ev) ?? []).forEach((f) => f(...args)),
    enableSandbox: () => (rec.sandboxEnabled = true),
    requestSingleInstanceLock: () => true,
    whenReady: () => Promise.resolve(),
    getPath: () => rec.userData,
    isPackaged: false,
    quit: () => {
      rec.quitCalls++;
      const ev = { defaultPrevented: false, preventDefault: () => (ev.defaultPrevented = true) };
      app.emit('before-quit', ev);
      return ev;
    },
    exit: vi.fn(),
  };
  class BrowserWindow {
    webContents = { send: vi.fn(), isDestroyed: () => false };
    private entry: { opts: Record<string, unknown>; url?: string };
    constructor(opts: Record<string, unknown>) {
      this.entry = { opts };
      rec.windows.push(this.entry);
    }
    static getAllWindows = () => [];
    once() {}
    on() {}
    loadURL(url: string) {
      this.entry.url = url;
      return Promise.resolve();
    }
  }
  const electron = {
    app,
    BrowserWindow,
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: (t: unknown) => t },
    dialog: { showErrorBox: vi.fn(), showMessageBox: vi.fn() },
    shell: { openPath: vi.fn(), openExternal: vi.fn() },
    ipcMain: { handle: (ch: string, fn: Fn) => rec.ipc.set(ch, fn), removeHandler: (ch: string) => rec.ipc.delete(ch) },
    protocol: {
      registerSchemesAsPrivileged: (s: unknown) => rec.privileged.push(s),
      handle: (_scheme: string, fn: (r: Request) => Promise<Response>) => (rec.protocolHandler = fn),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: typeof rec.permission) => (rec.permission = fn),
        setPermissionCheckHandler: vi.fn(),
        webRequest: { onBeforeRequest: (fn: typeof rec.beforeRequest) => (rec.beforeRequest = fn) },
      },
    },
  };
  return { rec, app, electron };
});

vi.mock('electron', () => h.electron);
vi.mock('../../src/node/lab/labService', async () => {
  const { createFakeLabService } = await import('../helpers/fakeLabService');
  return {
    LAB_VERSION: 'test',
    createLabService: async () => ({
      ...createFakeLabService(),
      store: {
        listSummaries: async () => {
          h.rec.warmed++;
          return [];
        },
      },
      dispose: async () => {
        await new Promise((r) => setTimeout(r, 20));
        h.rec.disposed++;
      },
    }),
  };
});

/** vi.waitFor gives up after 1 s by default, which a loaded machine can exceed: wait until it counts as hung. */
const HANG_MS = { timeout: 120_000 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fernn-main-'));
  h.rec.userData = dir;
  await import('../../src/main/main');
  await vi.waitFor(() => expect(h.rec.windows).toHaveLength(1), HANG_MS);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Electron main process', () => {
  it('opens one window with secure defaults on the app scheme', () => {
    const [w] = h.rec.windows;
    expect(w.opts.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
    });
    expect(String((w.opts.webPreferences as { preload: string }).preload)).toMatch(/preload\.cjs$/);
    expect(w.url).toBe('app://lab/index.html#/runs');
    // The run list's cache is read once while the window opens, so the app's first listRuns reads no run.json.
    expect(h.rec.warmed).toBe(1);
    expect(h.rec.sandboxEnabled).toBe(true);
    expect(h.rec.privileged).toEqual([[{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]]);
  });

  it('serves the lab over IPC with a channel per method', async () => {
    expect(h.rec.ipc.size).toBe(SERVICE_METHODS.length);
    const call = h.rec.ipc.get('lab:getRun')!;
    expect(await call({ senderFrame: { url: 'app://lab/index.html' } }, { id: 42 })).toMatchObject({ ok: false, error: { field: 'id' } });
  });

  it('refuses remote requests and every permission', () => {
    const cancelled = (url: string) => {
      let out: boolean | undefined;
      h.rec.beforeRequest!({ url }, (r) => (out = r.cancel));
      return out;
    };
    expect(cancelled('https://cdn.example.com/x.js')).toBe(true);
    expect(cancelled('http://127.0.0.1:8080/')).toBe(true);
    expect(cancelled('file:///etc/passwd')).toBe(true);
    expect(cancelled('app://evil/index.html')).toBe(true);
    expect(cancelled('app://lab/assets/index.js')).toBe(false);
    let granted: boolean | undefined;
    h.rec.permission!({}, 'media', (ok) => (granted = ok));
    expect(granted).toBe(false);
  });

  it('blocks navigation away, new windows and webviews', () => {
    const handlers = new Map<string, (ev: { preventDefault(): void }, url?: string) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | null = null;
    const contents = {
      on: (ev: string, fn: (ev: { preventDefault(): void }, url?: string) => void) => handlers.set(ev, fn),
      setWindowOpenHandler: (fn: typeof openHandler) => (openHandler = fn),
    };
    h.app.emit('web-contents-created', {}, contents);
    const prevented = (ev: string, url?: string) => {
      let p = false;
      handlers.get(ev)!({ preventDefault: () => (p = true) }, url);
      return p;
    };
    expect(prevented('will-navigate', 'https://example.com')).toBe(true);
    expect(prevented('will-navigate', 'app://lab/index.html#/compare')).toBe(false);
    expect(prevented('will-redirect', 'http://localhost/')).toBe(true);
    expect(prevented('will-attach-webview')).toBe(true);
    expect(openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
  });

  it('serves the renderer with the CSP and nothing outside it', async () => {
    const { serveRenderer } = await import('../../src/main/protocol');
    await writeFile(join(dir, 'index.html'), '<!doctype html>');
    let handler: ((r: Request) => Promise<Response>) | null = null;
    serveRenderer({ handle: (_s: string, fn: typeof handler) => (handler = fn) } as never, dir);
    const ok = await handler!(new Request('app://lab/index.html'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toMatch(/default-src 'none'.*connect-src 'self'/);
    for (const u of ['app://lab/../../etc/passwd', 'app://lab/%2e%2e/%2e%2e/etc/passwd', 'app://other/index.html', 'app://lab/nope.js']) {
      expect((await handler!(new Request(u))).status, u).toBe(404);
    }
  });

  it('on quit, stops training first (checkpointed, interrupted), then quits', async () => {
    const ev = h.app.quit();
    expect(ev.defaultPrevented).toBe(true);
    expect(h.rec.disposed).toBe(0);
    await vi.waitFor(() => expect(h.rec.disposed).toBe(1), HANG_MS);
    await vi.waitFor(() => expect(h.rec.quitCalls).toBe(2), HANG_MS);
    const again = { defaultPrevented: false, preventDefault: () => (again.defaultPrevented = true) };
    h.app.emit('before-quit', again);
    expect(again.defaultPrevented).toBe(false);
  });
});
