import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startWebHost, WS_PROTOCOL, type WebHost } from '../../src/node/web/webHost';
import { createFakeLabService, type FakeLabService } from '../helpers/fakeLabService';

let host: WebHost;
let svc: FakeLabService;
let rendererDir: string;

beforeAll(async () => {
  rendererDir = await mkdtemp(join(tmpdir(), 'fernn-renderer-'));
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>lab</title>');
  await writeFile(join(rendererDir, '.secret'), 'x');
  svc = createFakeLabService();
  host = await startWebHost({ service: svc, rendererDir });
});
afterAll(async () => {
  await host.close();
  await rm(rendererDir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function http(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: host.port, path, method: opts.method ?? 'POST', headers: { Host: opts.host ?? `127.0.0.1:${host.port}`, ...opts.headers } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
const auth = () => ({ Authorization: `Bearer ${host.token}`, 'Content-Type': 'application/json' });

describe('web host', () => {
  it('listens on 127.0.0.1 only', () => {
    const addr = host.server.address() as AddressInfo;
    expect(addr.address).toBe('127.0.0.1');
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/#token=${host.token}`);
  });

  it('is not reachable on the machine’s other addresses', async () => {
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal)
      .map((a) => a!.address);
    for (const address of others) {
      const outcome = await new Promise<string>((resolve) => {
        const s = connect({ host: address, port: host.port });
        s.setTimeout(2000, () => (s.destroy(), resolve('timeout')));
        s.on('connect', () => (s.destroy(), resolve('connected')));
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(outcome, address).not.toBe('connected');
    }
  });

  it('answers 401 without the token or with a wrong one', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { Authorization: 'Bearer nope' },
      { Authorization: `Basic ${host.token}` },
      { Authorization: `Bearer ${host.token}x` },
    ]) {
      const r = await http('/api/info', { headers });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(JSON.parse(r.body).error.field).toBe('token');
    }
    expect(svc.calls.filter((c) => c.method === 'info')).toHaveLength(0);
  });

  it('answers a call with the token', async () => {
    const r = await http('/api/info', { headers: auth() });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(r.body).result.version).toBe('fake');
  });

  it('rejects malformed arguments with 400 naming the field', async () => {
    const cases: [string, unknown, string][] = [
      ['startRun', { config: { model: 'fernn', vRange: 1, hidden: 'many', steps: 5 } }, 'config.hidden'],
      ['startRun', { config: { model: 'grnn', vRange: 1, hidden: 4, steps: 5 } }, 'config.vRange'],
      ['getRun', { id: '../../etc/passwd' }, 'id'],
      ['previewFlow', { flow: 'translate:1' }, 'flow'],
      ['predictions', { id: 'a', count: 99 }, 'count'],
    ];
    for (const [method, arg, field] of cases) {
      const r = await http(`/api/${method}`, { headers: auth(), body: JSON.stringify(arg) });
      expect(r.status, method).toBe(400);
      const err = JSON.parse(r.body).error;
      expect(err.field).toBe(field);
      expect(err.message).toContain(field);
    }
    const bad = await http('/api/getRun', { headers: auth(), body: '{"id":' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.field).toBe('body');
  });

  it('answers 404 for a missing run and an unknown method, 405 for GET, 415 for a non-JSON body', async () => {
    expect((await http('/api/getRun', { headers: auth(), body: '{"id":"nope"}' })).status).toBe(404);
    expect((await http('/api/rmrf', { headers: auth() })).status).toBe(404);
    expect((await http('/api/info', { method: 'GET', headers: auth() })).status).toBe(405);
    expect((await http('/api/getRun', { headers: { Authorization: `Bearer ${host.token}`, 'Content-Type': 'text/plain' }, body: '{"id":"x"}' })).status).toBe(
      415,
    );
  });

  it('refuses another Host (DNS rebinding)', async () => {
    const r = await http('/api/info', { headers: auth(), host: 'evil.example:80' });
    expect(r.status).toBe(421);
  });

  it('serves the renderer with a strict CSP and nothing outside it', async () => {
    const r = await http('/', { method: 'GET' });
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toMatch(/default-src 'none'.*script-src 'self'/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/.secret', '/nope.js']) expect((await http(p, { method: 'GET' })).status, p).toBe(404);
  });

  it('streams progress over the WebSocket only with the token', async () => {
    const url = `ws://127.0.0.1:${host.port}/api/events`;
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(url, [WS_PROTOCOL, 'bearer.wrong']);
      ws.on('open', () => resolve('open'));
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', () => resolve('error'));
    });
    expect(refused).toBe('401');

    const ws = new WebSocket(url, [WS_PROTOCOL, `bearer.${host.token}`]);
    const messages: { type: string; event?: { runId: string } }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(JSON.parse(String(m)));
        if (messages.length === 1) {
          svc.emit({ runId: 'r1', step: 3, totalSteps: 10, epoch: 0, loss: 0.1, valMse: null, bestValMse: null, stepsPerSec: 1, etaSec: 7, status: 'running' });
        } else resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    expect(messages[0].type).toBe('hello');
    expect(messages[1]).toMatchObject({ type: 'progress', event: { runId: 'r1' } });
  });
});
