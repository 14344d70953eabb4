import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { InputError } from '../../core/util/errors';
import { createLabService } from '../lab/labService';
import { RunStore } from '../store/runStore';
import { startWebHost } from './webHost';

/**
 * `node dist/webHost.js [--port N] [--store DIR] [--note TEXT]`: the lab in a browser. Serves dist/renderer and the
 * lab service on 127.0.0.1 and prints the address (with this launch's token) on stdout.
 */
const USAGE = 'usage: node dist/webHost.js [--port N] [--store DIR] [--renderer DIR] [--note TEXT] [--open] [--json]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.FERNN_LAB_PORT ?? '0' },
      store: { type: 'string' },
      renderer: { type: 'string' },
      note: { type: 'string' },
      json: { type: 'boolean', default: false },
      open: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535)
    throw new InputError('--port', `must be an integer 0..65535 (0: any free port); got ${JSON.stringify(values.port)}`);
  const rendererDir = values.renderer ?? fileURLToPath(new URL('./renderer/', import.meta.url));
  if (!existsSync(`${rendererDir}/index.html`)) throw new InputError('--renderer', `${rendererDir} has no index.html; run npm run build`);
  const storeRoot = values.store ?? RunStore.defaultRoot();
  const service = await createLabService({ storeRoot, shell: { kind: 'web', ...(values.note ? { note: values.note } : {}) } });
  const host = await startWebHost({ service, rendererDir, port: Number(values.port) });
  // The renderer's assets into memory, the run list (the summary index, read from disk or built, and its packed form)
  // made while the browser opens (issue 16).
  void host.warm().catch(() => undefined);

  if (values.json) process.stdout.write(`${JSON.stringify({ url: host.url, port: host.port, store: storeRoot })}\n`);
  else {
    process.stdout.write(`FERNN Lab is running in your browser at:\n\n    ${host.url}\n\n`);
    process.stdout.write(`(only this machine can reach it; the address carries this launch's access token)\n`);
    process.stdout.write(`runs are stored in ${storeRoot}\npress Ctrl+C to stop (a running training is checkpointed and marked interrupted)\n`);
  }
  if (values.open) openQuietly(host.url);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`\n${signal}: stopping the lab…\n`);
    const force = setTimeout(() => process.exit(1), 150_000);
    force.unref();
    await host.close();
    await service.dispose();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/** Tries the desktop's browser opener; any failure is silent (the address is printed above). */
function openQuietly(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener: the printed address is enough
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof InputError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
});
