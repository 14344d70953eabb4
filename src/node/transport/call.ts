import type { ZodType } from 'zod';
import { SERVICE_METHODS, serviceSchemas, type ILabService, type ServiceMethod } from '../../core/protocol/service';
import { InputError } from '../../core/util/errors';

/**
 * What every transport (IPC in the Electron main process, HTTP in the web host) does with a call: check the method
 * name, validate the argument with the method's schema (the error names the field), invoke the service, and turn
 * any failure into one JSON error shape the renderer understands.
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

/**
 * Validates `raw` with the schema of `method`. No-argument methods accept only nothing (undefined, null or {}).
 * @throws InputError naming the field (e.g. `config.hidden`) and the rule it broke.
 */
export function validateCall(method: ServiceMethod, raw: unknown): unknown {
  const schema = serviceSchemas[method] as ZodType | null;
  if (!schema) {
    const empty = raw === undefined || raw === null || (typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0);
    if (!empty) throw new InputError('arguments', `${method} takes no arguments`);
    return undefined;
  }
  const r = schema.safeParse(raw === null ? undefined : raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.map(String).join('.') : 'arguments';
  throw new InputError(field, issue.message);
}

/** Maps a failure to the wire: bad input names its field; a missing run is not_found; the rest is internal. */
export function toWireError(e: unknown): WireError {
  if (e instanceof InputError) {
    const detail = e.message.startsWith(`${e.field}: `) ? e.message.slice(e.field.length + 2) : e.message;
    const notFound = /^no (run|saved flow)\b/.test(detail);
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
    const arg = validateCall(method, raw);
    const fn = service[method] as (a?: unknown) => Promise<unknown>;
    const result = await fn.call(service, arg);
    return { ok: true, result };
  } catch (e) {
    return { ok: false, error: toWireError(e) };
  }
}
