import { InputError } from '../core/util/errors';
import type { ZodType } from 'zod';

/** Exit codes: 2 for bad input (flags, files), 1 for failures of the run itself. */
export const EXIT_BAD_INPUT = 2;
export const EXIT_FAILURE = 1;

/** A camelCase key as its kebab-case flag name without the dashes (vRange -> v-range). */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** A camelCase key as the flag the user types (vRange -> --v-range). */
export const flagName = (key: string): string => `--${kebab(key)}`;

/**
 * Validates parsed flags against a schema whose keys are the flags' camelCase names; the error names the flag as
 * the user typed it (--v-range) and says what is allowed.
 */
export function parseFlags<T>(schema: ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = String(issue.path[0] ?? 'arguments');
  throw new InputError(flagName(key), issue.message);
}

/** Human output goes to stderr so that stdout carries only results (and only JSON with --json). */
export function info(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** A fixed-width text table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i])).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Formats a relative error for people: 3 significant digits in scientific notation, or "n/a". */
export function fmtErr(x: number | null): string {
  return x === null ? 'n/a' : x.toExponential(2);
}
