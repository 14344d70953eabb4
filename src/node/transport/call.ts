import { SERVICE_METHODS, type ILabService, type ServiceMethod } from '../../core/protocol/service';
import { InputError } from '../../core/util/errors';

/**
 * What every transport (IPC in the Electron main process, HTTP in the web host) does with a call: check the method
 * name, invoke the service (which validates the argument, once: core/protocol/serviceArgs.ts) and turn any failure
 * into one JSON error shape the renderer understands.
 */
export type WireErrorCode = 'bad_argument' | 'not_found' | 'unknown_method' | 'internal';

export interface WireError {
  code: WireErrorCode;
  /** The argument field (dotted path) that was wrong, when there was one. */
  field?: string;
  message: string;
}

export type WireReply = { ok: true; result: unknown } | { ok: false; error: WireError };

export function isServiceMethod(name: unknown): name is ServiceMethod {
  return typeof name === 'string' && (SERVICE_METHODS as readonly string[]).includes(name);
}

/** Maps a failure to the wire: bad input names its field; a missing run is not_found; the rest is internal. */
export function toWireError(e: unknown): WireError {
  if (e instanceof InputError) {
    const detail = e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
    const notFound = /^no (run|saved flow|sweep)\b/.test(detail);
    return { code: notFound ? 'not_found' : 'bad_argument', field: e.field, message: e.message };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message };
}

/** Validates and invokes one method; never throws. */
export async function dispatchCall(service: ILabService, method: unknown, raw: unknown): Promise<WireReply> {
  if (!isServiceMethod(method)) {
    return { ok: false, error: { code: 'unknown_method', message: `unknown method ${JSON.stringify(method)}; one of ${SERVICE_METHODS.join(', ')}` } };
  }
  try {
    const fn = service[method] as (a?: unknown) => Promise<unknown>;
    const result = await fn.call(service, raw === null ? undefined : raw);
    return { ok: true, result };
  } catch (e) {
    return { ok: false, error: toWireError(e) };
  }
}
