import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { TrainConfig } from '../core/protocol/run';
import { expandSweep, groupKey, memberLabel, sweepSpecSchema, type SweepSpec, type SweepValue } from '../core/sweeps/spec';
import { InputError } from '../core/util/errors';
import { configFromFlags, trainFlagsSchema } from './commands/train';
import { kebab } from './io';

export interface ValidatedMember {
  index: number;
  overrides: Record<string, SweepValue>;
  group: string;
  config: TrainConfig;
}

const camel = (k: string): string => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
/** Flags of `train` that a spec may set: the model/data flags (not --store, --json or --name: the sweep owns those). */
export const SPEC_FLAGS: readonly string[] = Object.keys(trainFlagsSchema.shape).map(kebab);

/** Parses a spec's text (YAML, of which JSON is a subset); syntax errors name the line. */
export function parseSpecText(text: string, file: string): SweepSpec {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new InputError(file, `not valid YAML or JSON at line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  const r = sweepSpecSchema.safeParse(doc.toJS());
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new InputError(`${file}: ${issue.path.map(String).join('.') || '(root)'}`, issue.message);
  }
  return r.data;
}

/**
 * Every member of the spec through the same validation as `train` (the same flag schema and config rules, the same
 * required flags), before anything runs. The first bad member is an InputError naming the member and the flag.
 */
export function validateMembers(spec: SweepSpec): ValidatedMember[] {
  return expandSweep(spec).map((m) => {
    const where = memberLabel(m);
    for (const k of Object.keys(m.flags)) {
      if (!SPEC_FLAGS.includes(k)) throw new InputError(`${where}: ${k}`, `not a train flag; use one of ${SPEC_FLAGS.join(', ')}`);
    }
    const raw = Object.fromEntries(Object.entries(m.flags).map(([k, v]) => [camel(k), v]));
    try {
      const r = trainFlagsSchema.safeParse(raw);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new InputError(kebab(String(issue.path[0] ?? 'arguments')), issue.message);
      }
      for (const req of ['model', 'hidden', 'steps'] as const) if (r.data[req] === undefined) throw new InputError(kebab(req), 'is required');
      return { index: m.index, overrides: m.overrides, group: groupKey(m.overrides), config: configFromFlags(r.data) };
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      throw new InputError(`${where}: ${e.field.replace(/^--/, '')}`, e.message.slice(e.field.length + 2));
    }
  });
}

/** Reads, parses and validates a spec file. */
export async function readSpecFile(file: string): Promise<{ spec: SweepSpec; members: ValidatedMember[] }> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new InputError(file, e.code === 'ENOENT' ? 'no such file' : `cannot read (${e.message})`);
  });
  const spec = parseSpecText(text, file);
  return { spec, members: validateMembers(spec) };
}
