import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ProgressEvent } from '../../core/protocol/run';
import type { ILabService, RunList } from '../../core/protocol/service';
import { listHead } from '../../core/protocol/runSummary';
import { JsonPacker, LIST_PARTS_HEADER, PACKED_JSON_TYPE } from '../../core/protocol/packedJson';
import { dispatchCall, type WireError, type WireReply } from '../transport/call';

/**
 * The lab service over HTTP + WebSocket for the browser shell, bound to 127.0.0.1 only.
 *
 * - `POST /api/<method>` with the JSON argument as body; `Authorization: Bearer <token>`. Replies `{result}` or
 *   `{error: {code, field?, message}}` with 400 (bad argument), 404 (missing run / unknown method), 401 (token).
 * - `GET /api/events` upgraded to a WebSocket; the browser cannot set headers there, so the token travels as the
 *   subprotocol `bearer.<token>` next to `fernn-lab.v1`. Progress events arrive as `{type: 'progress', event}`.
 * - Everything else is the built renderer (static files, no token: they hold no data). The token reaches the page
 *   in the URL fragment, which browsers never send to a server.
 * - DNS rebinding: requests whose Host is not this loopback address and port are refused (421); cross-origin API
 *   calls fail because we answer no CORS preflight and require a JSON content type.
 */
export interface WebHostOptions {
  service: ILabService;
  /** Built renderer folder (dist/renderer); absent: the API only. */
  rendererDir?: string;
  /** 0 (default): an ephemeral port. */
  port?: number;
  /** Random per launch by default. */
  token?: string;
}

export interface WebHost {
  readonly server: Server;
  readonly port: number;
  readonly token: string;
  /** The page address with the token in the fragment. */
  readonly url: string;
  /**
   * Reads the renderer's assets into memory, lists the runs once and packs the list, then asks for the lab's info, so
   * the first page to open finds its scripts in memory, the store's summary index read, the summaries' packed texts
   * made and the backends probed (issue 16: a first listing after a start reads the index file, a first packing of
   * 5,000 summaries takes ~60 ms, the backends' probe starts a worker that loads tfjs, all CPU the page's first open
   * would share). Failures are left to the page's own requests to report.
   */
  warm(): Promise<void>;
  close(): Promise<void>;
}

export const LOOPBACK = '127.0.0.1';
export const WS_PROTOCOL = 'fernn-lab.v1';
const MAX_BODY = 1 << 20;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** The renderer's Content-Security-Policy: our own files only; the WebSocket back to this host. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://${LOOPBACK}:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The rows of the Runs view the head of a list in two parts holds: more than any screen shows. */
const HEAD_ROWS = 100;
/** How long a run list started by the page's own request waits for the page's first `listRuns` (see `early`). */
const EARLY_LIST_MS = 3_000;
/** Calls that only read: they leave a run list started by the page request usable. */
const READ_CALLS = new Set(['info', 'listRuns', 'listFlows']);

export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  const tokenDigest = digest(token);
  const tokenOk = (candidate: string | undefined): boolean => candidate !== undefined && timingSafeEqual(digest(candidate), tokenDigest);
  const rendererDir = opts.rendererDir ? resolve(opts.rendererDir) : undefined;
  const sockets = new Set<WebSocket>();
  let port = 0;
  /**
   * The run list, started when the page itself (index.html) has been sent (issue 16): the page's first `listRuns`
   * comes ~100 ms later, once its first script has run, and takes this listing instead of starting another, so the
   * listing overlaps the page's loading. It is a listing of the store as of the page's request; it is dropped (and
   * that call lists afresh) when anything could have changed the store through this host since — any call but a
   * read, a progress event — or when it is older than EARLY_LIST_MS. One at a time: a reload while one is in flight
   * starts none.
   */
  let early: { reply: Promise<WireReply>; at: number } | null = null;
  /** The renderer's content-hashed assets, as read once (see serveStatic). */
  const assets = new Map<string, Buffer>();
  /** Packs run lists; it remembers the text of every summary the store has frozen, so a list that did not change is joined, not written again. */
  const packer = new JsonPacker();
  const startEarlyList = () => {
    if (early && performance.now() - early.at < EARLY_LIST_MS) return;
    const reply = dispatchCall(opts.service, 'listRuns', undefined);
    early = { reply, at: performance.now() };
  };
  const takeEarlyList = (): Promise<WireReply> | null => {
    const e = early;
    early = null;
    return e && performance.now() - e.at < EARLY_LIST_MS ? e.reply : null;
  };

  const hostOk = (req: IncomingMessage): boolean => req.headers.host === `${LOOPBACK}:${port}` || req.headers.host === `localhost:${port}`;
  const originOk = (req: IncomingMessage): boolean => {
    const o = req.headers.origin;
    return o === undefined || o === `http://${LOOPBACK}:${port}` || o === `http://localhost:${port}`;
  };

  const securityHeaders = (res: ServerResponse) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
    res.end(text);
  };
  const sendError = (res: ServerResponse, status: number, error: WireError, extra: Record<string, string> = {}) => sendJson(res, status, { error }, extra);

  const readBody = (req: IncomingMessage): Promise<string | null> =>
    new Promise((resolveBody, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          resolveBody(null);
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const handleApi = async (req: IncomingMessage, res: ServerResponse, method: string) => {
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : undefined;
    if (!tokenOk(bearer)) {
      sendError(
        res,
        401,
        { code: 'bad_argument', field: 'token', message: 'missing or wrong token: send Authorization: Bearer <token> (printed when the lab starts)' },
        { 'WWW-Authenticate': 'Bearer realm="fernn-lab"' },
      );
      return;
    }
    if (req.method !== 'POST') {
      sendError(res, 405, { code: 'bad_argument', message: `use POST /api/${method}` }, { Allow: 'POST' });
      return;
    }
    const body = await readBody(req);
    if (body === null) {
      sendError(res, 413, { code: 'bad_argument', field: 'body', message: `the request body exceeds ${MAX_BODY} bytes` });
      return;
    }
    let arg: unknown = undefined;
    if (body.trim() !== '') {
      if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
        sendError(res, 415, { code: 'bad_argument', field: 'body', message: 'the body must be JSON (Content-Type: application/json)' });
        return;
      }
      try {
        arg = JSON.parse(body);
      } catch (e) {
        sendError(res, 400, { code: 'bad_argument', field: 'body', message: `body: not valid JSON (${(e as Error).message})` });
        return;
      }
    }
    if (!READ_CALLS.has(method)) early = null;
    const t0 = performance.now();
    const reply = await ((method === 'listRuns' && arg === undefined ? takeEarlyList() : null) ?? dispatchCall(opts.service, method, arg));
    // Server-Timing: how long the service took, for the page's resource timing (the Runs view's bench reads it).
    const timing = { 'Server-Timing': `call;dur=${(performance.now() - t0).toFixed(1)}` };
    // The run list in the packed form when the page asks for it (core/protocol/packedJson.ts): half the bytes.
    const packed = reply.ok && method === 'listRuns' && (req.headers.accept ?? '').includes(PACKED_JSON_TYPE);
    if (packed) {
      res.writeHead(200, { 'Content-Type': `${PACKED_JSON_TYPE}; charset=utf-8`, 'Cache-Control': 'no-store', ...timing });
      if (req.headers[LIST_PARTS_HEADER] === 'head') {
        // Two JSON lines: the head of the list (its first rows, the count), then the whole list with the head's runs
        // as their index in the head, so the page draws the head before it parses the rest (RunListHead).
        const list = reply.result as RunList;
        const head = listHead(list.runs, HEAD_ROWS);
        const inHead = new Map(head.map((r, i) => [r, i]));
        const whole = list.runs.map((r) => inHead.get(r) ?? r);
        res.write(`{"result":${packer.text({ runs: head, problems: list.problems, total: list.runs.length })}}\n`);
        res.end(`{"result":${packer.text({ runs: whole, problems: list.problems })}}`);
      } else res.end(`{"result":${packer.text(reply.result)}}`);
    } else if (reply.ok) sendJson(res, 200, { result: reply.result }, timing);
    else sendError(res, reply.error.code === 'internal' ? 500 : reply.error.code === 'bad_argument' ? 400 : 404, reply.error);
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (!rendererDir) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('no renderer is served by this host\n');
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    // The page's request starts its run list, once the page itself has gone out (see `early`).
    if (rel === '/index.html' && req.method === 'GET') res.once('finish', startEarlyList);
    const file = normalize(join(rendererDir, rel));
    if (!file.startsWith(rendererDir + sep) || rel.split('/').some((p) => p.startsWith('.'))) {
      res.writeHead(404).end();
      return;
    }
    try {
      // The build's assets are named by their content hash, so they never change under a name: read once, kept in
      // memory and served without touching the disk (issue 16: the first open's scripts no longer wait behind the
      // run list for the disk), and cacheable for good. Anything else is read each time.
      const immutable = rel.startsWith('/assets/');
      let data = immutable ? assets.get(rel) : undefined;
      if (!data) {
        const st = await stat(file);
        if (!st.isFile()) throw new Error('not a file');
        data = await readFile(file);
        if (immutable) assets.set(rel, data);
      }
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': String(data.length),
        'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : extname(file) === '.html' ? 'no-store' : 'no-cache',
        'Content-Security-Policy': contentSecurityPolicy(port),
      });
      res.end(req.method === 'HEAD' ? undefined : data);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  };

  const server = createServer((req, res) => {
    securityHeaders(res);
    if (!hostOk(req)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`this lab answers only on http://${LOOPBACK}:${port}\n`);
      return;
    }
    const pathname = new URL(req.url ?? '/', `http://${LOOPBACK}`).pathname;
    const api = /^\/api\/([^/]*)$/.exec(pathname);
    const done = api ? handleApi(req, res, api[1]) : serveStatic(req, res, pathname);
    done.catch((e: unknown) => {
      if (!res.headersSent) sendError(res, 500, { code: 'internal', message: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // long calls (evaluations, probes) can take minutes

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 4096,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const refuseUpgrade = (socket: Duplex, status: string) => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  server.on('upgrade', (req, socket, head) => {
    const pathname = new URL(req.url ?? '/', `http://${LOOPBACK}`).pathname;
    if (!hostOk(req) || !originOk(req)) return refuseUpgrade(socket, '403 Forbidden');
    if (pathname !== '/api/events') return refuseUpgrade(socket, '404 Not Found');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    const bearer = offered.find((p) => p.startsWith('bearer.'))?.slice('bearer.'.length);
    if (!tokenOk(bearer) || !offered.includes(WS_PROTOCOL)) return refuseUpgrade(socket, '401 Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      ws.send(JSON.stringify({ type: 'hello' }));
    });
  });

  const unsubscribe = opts.service.onDidProgress((event: ProgressEvent) => {
    early = null;
    const msg = JSON.stringify({ type: 'progress', event });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(msg);
  });
  const keepAlive = setInterval(() => sockets.forEach((ws) => ws.ping()), 25_000);
  keepAlive.unref();

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, LOOPBACK, () => {
      server.off('error', fail);
      ok();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    server,
    port,
    token,
    url: `http://${LOOPBACK}:${port}/#token=${token}`,
    async warm() {
      if (rendererDir) {
        const names = await readdir(join(rendererDir, 'assets')).catch(() => [] as string[]);
        for (const name of names) {
          const data = await readFile(join(rendererDir, 'assets', name)).catch(() => null);
          if (data && !name.startsWith('.')) assets.set(`/assets/${name}`, data);
        }
      }
      const reply = await dispatchCall(opts.service, 'listRuns', undefined);
      if (reply.ok) packer.text(reply.result);
      // Then the backends' probe behind `info` (a worker loading tfjs): not while the first page opens.
      await dispatchCall(opts.service, 'info', undefined);
    },
    async close() {
      unsubscribe();
      clearInterval(keepAlive);
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
