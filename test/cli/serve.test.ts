import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, until } from '../helpers/sweeps';

describe('fernn-lab serve', () => {
  it('serves the lab on 127.0.0.1 with the store given, and stops on SIGTERM', async () => {
    const store = join(await mkdtemp(join(tmpdir(), 'fernn-serve-')), 'runs');
    const child = spawn(process.execPath, [BIN, 'serve', '--store', store, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const line = await until(async () => out.includes('\n') && out.split('\n')[0]);
    const info = JSON.parse(line) as { url: string; port: number; store: string };
    expect(info.store).toBe(store);
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    expect((await fetch(`http://127.0.0.1:${info.port}/`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
