import type { ProgressEvent } from '../core/protocol/run';
import type { ILabService, RunList, RunListHead } from '../core/protocol/service';
import type { RunSummary } from '../core/protocol/runSummary';
import { LAB_METHODS, type CallMethod } from '../core/protocol/methods';
import { LIST_PARTS_HEADER, PACKED_JSON_TYPE, unpack, type Packed } from '../core/protocol/packedJson';

/**
 * The lab service in a browser: ILabService over the web host's HTTP API (`POST /api/<method>`, bearer token) and
 * its WebSocket for progress. The Electron shell never loads this: its preload sets `window.lab` over IPC.
 */

const TOKEN_KEY = 'fernn-lab.token';
const WS_PROTOCOL = 'fernn-lab.v1';

/** An error the service (or the transport) returned; `field` names the argument that was wrong. */
export class LabError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

/**
 * Takes the token from the page address (`#token=…`, put there by the host at launch) into sessionStorage and
 * removes it from the address bar and history. Returns the token to use, or null when there is none.
 */
export function takeToken(): string | null {
  const m = /(?:^#|&)token=([A-Za-z0-9_-]{16,128})/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, m[1]);
    const rest = location.hash.replace(/(^#|&)token=[A-Za-z0-9_-]+&?/, '$1').replace(/^#$/, '');
    history.replaceState(null, '', `${location.pathname}${location.search}${rest && rest !== '#' ? rest : '#/runs'}`);
    return m[1];
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The web client: the service, and the run list in two parts for the page's first list (RunListHead). */
export type WebLabClient = ILabService & { listRunsInParts(): Promise<RunListHead> };

export function createWebLabClient(token: string, origin: string = location.origin): WebLabClient {
  /** POST /api/<method> with the token; a host that does not answer is a LabError saying so. */
  const post = async (method: CallMethod, headers: Record<string, string>, body?: string): Promise<Response> => {
    try {
      return await fetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, ...headers },
        body,
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new LabError('the lab host does not answer: was `npm start` stopped? Start it again and open the new address.', 'unreachable');
    }
  };

  const call = async (method: CallMethod, arg?: unknown): Promise<unknown> => {
    const res = await post(
      method,
      {
        // The run list may come packed (half the bytes: core/protocol/packedJson.ts).
        ...(method === 'listRuns' ? { Accept: `${PACKED_JSON_TYPE}, application/json` } : {}),
        ...(arg === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      arg === undefined ? undefined : JSON.stringify(arg),
    );
    let body: { result?: unknown; error?: { code: string; field?: string; message: string } };
    try {
      body = (await res.json()) as typeof body;
    } catch {
      throw new LabError(`the lab host answered ${res.status} without JSON`, 'internal', undefined, res.status);
    }
    if (res.status === 401) {
      throw new LabError('access token rejected: the lab was restarted. Open the address `npm start` printed last.', 'unauthorized', 'token', 401);
    }
    if (!res.ok || body.error) {
      const e = body.error ?? { code: 'internal', message: `HTTP ${res.status}` };
      throw new LabError(e.message, e.code, e.field, res.status);
    }
    if ((res.headers.get('Content-Type') ?? '').startsWith(PACKED_JSON_TYPE)) {
      try {
        return unpack(body.result as Packed);
      } catch (e) {
        throw new LabError(`the lab host's answer to ${method} is unreadable: ${(e as Error).message}`, 'internal', undefined, res.status);
      }
    }
    return body.result;
  };

  /** The run list as two JSON lines (the head, then the whole list with the head's runs as their index in it). */
  const listRunsInParts = async (): Promise<RunListHead> => {
    const res = await post('listRuns', { Accept: PACKED_JSON_TYPE, [LIST_PARTS_HEADER]: 'head' });
    const text = await res.text();
    const cut = text.indexOf('\n');
    // Anything but the two-part answer (an error, an older host) is read as one answer.
    if (!res.ok || cut < 0 || !(res.headers.get('Content-Type') ?? '').startsWith(PACKED_JSON_TYPE)) {
      const list = (await call('listRuns')) as RunList;
      return { ...list, total: list.runs.length, rest: () => list };
    }
    const part = (json: string): unknown => {
      try {
        return unpack((JSON.parse(json) as { result: Packed }).result);
      } catch (e) {
        throw new LabError(`the lab host's answer to listRuns is unreadable: ${(e as Error).message}`, 'internal', undefined, res.status);
      }
    };
    const head = part(text.slice(0, cut)) as RunList & { total: number };
    return {
      ...head,
      rest() {
        const whole = part(text.slice(cut + 1)) as { runs: (RunSummary | number)[]; problems: RunList['problems'] };
        return { runs: whole.runs.map((r) => (typeof r === 'number' ? head.runs[r] : r)), problems: whole.problems };
      },
    };
  };

  const listeners = new Set<(e: ProgressEvent) => void>();
  let ws: WebSocket | null = null;
  let retry = 1000;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const connect = () => {
    if (ws || listeners.size === 0) return;
    const socket = new WebSocket(`${origin.replace(/^http/, 'ws')}/api/events`, [WS_PROTOCOL, `bearer.${token}`]);
    ws = socket;
    socket.onopen = () => {
      retry = 1000;
    };
    socket.onmessage = (m) => {
      let msg: { type?: string; event?: ProgressEvent };
      try {
        msg = JSON.parse(String(m.data)) as typeof msg;
      } catch {
        return;
      }
      if (msg.type === 'progress' && msg.event) for (const l of listeners) l(msg.event);
    };
    socket.onclose = () => {
      ws = null;
      if (listeners.size === 0) return;
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10_000);
    };
  };

  const client = {} as Record<CallMethod, (arg?: unknown) => Promise<unknown>>;
  for (const m of LAB_METHODS) client[m] = (arg?: unknown) => call(m, arg);
  return {
    ...(client as unknown as Omit<ILabService, 'onDidProgress'>),
    listRunsInParts,
    onDidProgress(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          if (timer) clearTimeout(timer);
          ws?.close();
          ws = null;
        }
      };
    },
  };
}
