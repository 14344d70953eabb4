/**
 * The service's flow texts (`translate:VX,VY`, `rotate:OMEGA`) read and written on the renderer side. The service's
 * flowSpecSchema stays the authority; a unit test keeps these patterns and limits equal to it and to the core's.
 */
export type FlowSpec = { kind: 'translation'; vx: number; vy: number } | { kind: 'rotation'; omega: number };
export type FlowKind = FlowSpec['kind'];

/** The rotation flow's limit (core MAX_OMEGA): angular speeds beyond a full turn per frame are refused. */
export const OMEGA_MAX = 360;
/** What flowSpecSchema accepts after `rotate:`: up to three digits, up to three decimals. */
const OMEGA_TEXT = /^-?\d{1,3}(\.\d{1,3})?$/;

/** The flow of a text, or null when it is neither a translation nor a rotation the service accepts. */
export function parseFlowSpec(flow: string): FlowSpec | null {
  const t = /^translate:(-?\d{1,3}),(-?\d{1,3})$/.exec(flow);
  if (t) return { kind: 'translation', vx: Number(t[1]), vy: Number(t[2]) };
  const r = /^rotate:(-?\d{1,3}(?:\.\d{1,3})?)$/.exec(flow);
  return r ? { kind: 'rotation', omega: Number(r[1]) } : null;
}

export const flowKindOf = (flow: string): FlowKind | null => parseFlowSpec(flow)?.kind ?? null;

/** The message for an angular velocity as typed (degrees per frame), or null when it is fine. */
export function checkOmega(raw: string): string | null {
  const text = raw.trim();
  if (!OMEGA_TEXT.test(text)) return `ω must be a number of degrees per frame with at most 3 decimals (e.g. 30, −22.5)`;
  if (Math.abs(Number(text)) > OMEGA_MAX) return `ω must be within −${OMEGA_MAX}..${OMEGA_MAX} degrees per frame`;
  return null;
}

/** The flow text of an angular velocity that passed checkOmega (`rotate:30`, `rotate:-22.5`). */
export const rotateSpec = (omega: string | number): string => `rotate:${Number(omega)}`;

/** Degrees as the lab writes them: `30°`, `−22.5°` (a true minus sign). */
export const degrees = (d: number): string => `${d < 0 ? '−' : ''}${Math.abs(Number(d.toFixed(3)))}°`;

/** A saved flow's motion in words: "translation (2, 1) px/frame", "rotation 30°/frame ↺", or the text itself. */
export function describeFlow(flow: string): string {
  const f = parseFlowSpec(flow);
  if (!f) return flow;
  if (f.kind === 'translation') return `translation (${f.vx}, ${f.vy}) px/frame`;
  return `rotation ${degrees(f.omega)}/frame ${f.omega >= 0 ? '↺' : '↻'}`;
}
