import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gateFolder, type Gates } from '../../helpers/gates';

export interface LabHost {
  url: string;
  origin: string;
  port: number;
  token: string;
  store: string;
  /** Holds on named runs, for tests that act on a run in the middle of its training (src/node/lab/testGate.ts). */
  gates: Gates;
  /** POST /api/<method> with the token; returns status and parsed body. */
  call(
    method: string,
    arg?: unknown,
    token?: string,
  ): Promise<{ status: number; body: { result?: unknown; error?: { code: string; field?: string; message: string } } }>;
  /** SIGTERM (the host stops training gracefully), then removes the store unless asked to keep it (call again to remove). */
  stop(opts?: { keepStore?: boolean }): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * Starts the built web host (dist/webHost.js) on 127.0.0.1 with an ephemeral port and a fresh temporary store;
 * `env` is added to this process's environment (e.g. a PATH without sbatch); `prepare` fills the store before the
 * host starts (as a user's store is there when the lab starts).
 */
export async function startLabHost(options: { env?: NodeJS.ProcessEnv; prepare?: (store: string) => Promise<unknown> } = {}): Promise<LabHost> {
  const entry = join(ROOT, 'dist/webHost.js');
  if (!existsSync(entry) || !existsSync(join(ROOT, 'dist/renderer/index.html')))
    throw new Error('build first: npm run build (dist/webHost.js and dist/renderer are missing)');
  const dir = await mkdtemp(join(tmpdir(), 'fernn-e2e-'));
  const store = join(dir, 'runs');
  const gates = await gateFolder(join(dir, 'gates'));
  await options.prepare?.(store);
  const child: ChildProcess = spawn(process.execPath, [entry, '--port', '0', '--store', store, '--json', '--note', 'end-to-end test'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, FERNN_TEST_GATES: gates.dir },
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the web host exited with ${code}: ${stderr}`)));
  });
  const info = JSON.parse(first) as { url: string; port: number };
  const token = /#token=(.+)$/.exec(info.url)![1];
  const origin = `http://127.0.0.1:${info.port}`;
  return {
    url: info.url,
    origin,
    port: info.port,
    token,
    store,
    gates,
    async call(method, arg, tok = token) {
      const res = await fetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tok}`, ...(arg === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: arg === undefined ? undefined : JSON.stringify(arg),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async stop(opts = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!opts.keepStore) await rm(dir, { recursive: true, force: true });
    },
  };
}
