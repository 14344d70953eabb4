import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { parseFlags } from '../io';
import { intFlag } from '../options';

/** The built web host beside this bundle (dist/webHost.js). */
const webHostEntry = (): string => fileURLToPath(new URL('./webHost.js', import.meta.url));

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("The lab's web host on 127.0.0.1 (e.g. on a cluster login node: reach it with ssh -L PORT:127.0.0.1:PORT)")
    .option('--store <dir>', 'run store folder (default ~/.fernn-lab/runs or $FERNN_LAB_STORE)')
    .option('--port <N>', 'port on 127.0.0.1 (default: any free port; give one for ssh -L)')
    .option('--json', 'print {url, port, store} as JSON')
    .action(async (raw: Record<string, unknown>) => {
      const f = parseFlags(z.object({ store: z.string().optional(), port: intFlag(0, 65535).optional(), json: z.boolean().default(false) }), raw);
      const entry = webHostEntry();
      if (!existsSync(entry)) throw new Error(`the web host is not built (${entry}); run npm run build`);
      const args = [
        entry,
        ...(f.store ? ['--store', f.store] : []),
        ...(f.port !== undefined ? ['--port', String(f.port)] : []),
        ...(f.json ? ['--json'] : []),
      ];
      const child = spawn(process.execPath, args, { stdio: 'inherit' });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      process.exitCode = code ?? 1;
    });
}
