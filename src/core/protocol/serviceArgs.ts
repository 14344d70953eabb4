import type { z } from 'zod';
import { InputError } from '../util/errors';
import { serviceSchemas, type ServiceMethod } from './service';

/** A method's argument after validation (defaults applied); undefined for the no-argument methods. */
export type ServiceArgs<M extends ServiceMethod> = (typeof serviceSchemas)[M] extends z.ZodType ? z.output<(typeof serviceSchemas)[M]> : undefined;

/**
 * The one validation of a service call, at the service boundary (lab/labService.ts, and any other implementation of
 * ILabService): `raw` against the method's schema, defaults applied. No-argument methods accept only nothing
 * (undefined, null or {}). Transports pass through what they receive; workers receive what this returned.
 * @throws InputError naming the field (e.g. `config.hidden`) and the rule it broke.
 */
export function parseServiceArgs<M extends ServiceMethod>(method: M, raw: unknown): ServiceArgs<M> {
  const schema = serviceSchemas[method] as z.ZodType | null;
  if (!schema) {
    const empty = raw === undefined || raw === null || (typeof raw === 'object' && !Array.isArray(raw) && Object.keys(raw).length === 0);
    if (!empty) throw new InputError('arguments', `${method} takes no arguments`);
    return undefined as ServiceArgs<M>;
  }
  const r = schema.safeParse(raw === null ? undefined : raw);
  if (r.success) return r.data as ServiceArgs<M>;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.map(String).join('.') : 'arguments';
  throw new InputError(field, issue.message);
}
