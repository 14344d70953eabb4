import { FLOW_GRAMMARS, MAX_OMEGA, MAX_TRANSLATION_SPEED, flowSpecOrNull, formatFlow, type FlowKind, type FlowSpec } from '../core/flows/flowGrammar';

/**
 * The service's flow texts on the renderer side: read and written by the one flow grammar
 * (core/flows/flowGrammar.ts, dependency-free, the only core module besides protocol types the renderer may import),
 * plus what the forms need on top (typed ω checks, words for a flow).
 */
export type { FlowKind, FlowSpec };
export { formatFlow };

/** The rotation flow's limit: angular speeds beyond a full turn per frame are refused. */
export const OMEGA_MAX = MAX_OMEGA;
/** The largest translation velocity component the flow text carries (px/frame). */
export const MAX_SPEED = MAX_TRANSLATION_SPEED;

/** The flow of a text, or null when no flow kind's grammar reads it. */
export const parseFlowSpec = (flow: string): FlowSpec | null => flowSpecOrNull(flow);

export const flowKindOf = (flow: string): FlowKind | null => parseFlowSpec(flow)?.kind ?? null;

/** The message for an angular velocity as typed (degrees per frame), or null when it is fine. */
export function checkOmega(raw: string): string | null {
  const text = raw.trim();
  const spec = flowSpecOrNull(`${FLOW_GRAMMARS.rotation.prefix}:${text}`);
  if (!FLOW_GRAMMARS.rotation.pattern.test(`${FLOW_GRAMMARS.rotation.prefix}:${text}`))
    return `ω must be a number of degrees per frame with at most 3 decimals (e.g. 30, −22.5)`;
  if (spec === null) return `ω must be within −${OMEGA_MAX}..${OMEGA_MAX} degrees per frame`;
  return null;
}

/** The flow text of an angular velocity that passed checkOmega (`rotate:30`, `rotate:-22.5`). */
export const rotateSpec = (omega: string | number): string => formatFlow({ kind: 'rotation', omega: Number(omega) });

/** The flow text of a translation velocity (`translate:1,0`). */
export const translateSpec = (vx: string | number, vy: string | number): string => formatFlow({ kind: 'translation', vx: Number(vx), vy: Number(vy) });

/** Degrees as the lab writes them: `30°`, `−22.5°` (a true minus sign). */
export const degrees = (d: number): string => `${d < 0 ? '−' : ''}${Math.abs(Number(d.toFixed(3)))}°`;

/** Words for each flow kind's motion: the record makes a kind without words a compile error. */
const DESCRIBE: { [K in FlowKind]: (f: Extract<FlowSpec, { kind: K }>) => string } = {
  translation: (f) => `translation (${f.vx}, ${f.vy}) px/frame`,
  rotation: (f) => `rotation ${degrees(f.omega)}/frame ${f.omega >= 0 ? '↺' : '↻'}`,
};

/** A saved flow's motion in words: "translation (2, 1) px/frame", "rotation 30°/frame ↺", or the text itself. */
export function describeFlow(flow: string): string {
  const f = parseFlowSpec(flow);
  if (!f) return flow;
  return f.kind === 'translation' ? DESCRIBE.translation(f) : DESCRIBE.rotation(f);
}
