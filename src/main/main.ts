/**
 * Electron main process: one window with the lab's renderer, the lab service (training in worker threads) served
 * over IPC, the run store in the app's user-data folder, and a graceful quit that checkpoints a running training
 * and marks it interrupted.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, session, shell } from 'electron';
import { createLabService, LAB_VERSION, type LabService } from '../node/lab/labService';
import { serveLabOverIpc } from './ipc';
import { menuTemplate } from './menu';
import { serveRenderer } from './protocol';
import { APP_ORIGIN, APP_SCHEME, guardWebContents, lockDownSession, secureWebPreferences } from './security';

const here = dirname(fileURLToPath(import.meta.url));
/** Inside a packaged app the worker must load from the unpacked copy (worker threads cannot read app.asar). */
const unpacked = (p: string) => p.replace(`${sep()}app.asar${sep()}`, `${sep()}app.asar.unpacked${sep()}`);
function sep(): string {
  return process.platform === 'win32' ? '\\' : '/';
}

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
app.enableSandbox();
guardWebContents(app);

let service: LabService | null = null;
let window: BrowserWindow | null = null;
let quitting: 'no' | 'stopping' | 'done' = 'no';

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });
  app.whenReady().then(start, (e: unknown) => fatal(e));
}

function fatal(e: unknown): void {
  dialog.showErrorBox('FERNN Lab could not start', e instanceof Error ? (e.stack ?? e.message) : String(e));
  app.exit(1);
}

async function start(): Promise<void> {
  try {
    const storeRoot = join(app.getPath('userData'), 'runs');
    const workerPath = unpacked(join(here, 'labWorker.js'));
    service = await createLabService({
      storeRoot,
      shell: { kind: 'electron' },
      ...(existsSync(workerPath) ? { workerPath } : {}),
      flowsFile: join(app.getPath('userData'), 'flows.json'),
    });
    // Warm the run list (the summary index, read from disk or built), then probe the backends (a worker loading tfjs),
    // while the window opens (issue 16).
    const warming = service;
    void warming.store
      .listSummaries()
      .then(() => warming.info())
      .catch(() => undefined);
    lockDownSession(session.defaultSession);
    serveRenderer(protocol, join(here, 'renderer'));
    serveLabOverIpc(ipcMain, service, () => BrowserWindow.getAllWindows().map((w) => w.webContents));
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuTemplate(process.platform, {
          devTools: !app.isPackaged,
          openStore: () => void shell.openPath(storeRoot),
          openPaper: () => void shell.openExternal('https://arxiv.org/abs/2507.14793'),
          about: () =>
            void dialog.showMessageBox({
              type: 'info',
              title: 'About FERNN Lab',
              message: `FERNN Lab ${LAB_VERSION}`,
              detail: `Flow-equivariant recurrent networks.\nElectron ${process.versions.electron}, Node ${process.versions.node}, Chromium ${process.versions.chrome}\nRuns: ${storeRoot}`,
            }),
        }),
      ),
    );
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  } catch (e) {
    fatal(e);
  }
}

function createWindow(): void {
  window = new BrowserWindow({
    width: 1320,
    height: 900,
    minWidth: 800,
    minHeight: 600,
    show: false,
    title: 'FERNN Lab',
    backgroundColor: '#121417',
    webPreferences: secureWebPreferences(join(here, 'preload.cjs')),
  });
  window.once('ready-to-show', () => window?.show());
  window.on('closed', () => {
    window = null;
  });
  void window.loadURL(`${APP_ORIGIN}/index.html#/runs`);
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

// Graceful quit: stop training (checkpoint, mark interrupted) before the process ends.
app.on('before-quit', (event) => {
  if (quitting === 'done' || !service) return;
  event.preventDefault();
  if (quitting === 'stopping') return;
  quitting = 'stopping';
  const s = service;
  void s
    .dispose()
    .catch((e: unknown) => console.error('while stopping training:', e))
    .finally(() => {
      quitting = 'done';
      app.quit();
    });
});
