import type { ILabService } from '../core/protocol/service';

/** The one way views reach the service: `window.lab`, whichever shell provided it. */
export function lab(): ILabService {
  return window.lab;
}

/** The argument field an error names: `field` from the web client, else the `field: message` prefix. */
export function errorField(e: unknown): string | undefined {
  const f = (e as { field?: unknown } | null)?.field;
  if (typeof f === 'string') return f;
  const m = /^([A-Za-z][\w.[\]-]*): /.exec(errorMessage(e));
  return m ? m[1] : undefined;
}

export function errorMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  // Electron prefixes errors thrown across IPC; the user needs only ours.
  return raw.replace(/^Error invoking remote method '[^']+': (?:\w*Error: )?/, '');
}

/** A missing run (or saved flow), as opposed to a bad argument or a failure. */
export function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'not_found' || /\bno (run|saved flow)\b/.test(errorMessage(e));
}
