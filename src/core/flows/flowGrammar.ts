/**
 * The text form of every flow kind ("translate:VX,VY", "rotate:OMEGA"): the one grammar that core `parseFlow`, the
 * service's `flowSpecSchema`, the CLI and the renderer (flow designer, inspector, run page) read and write.
 *
 * Dependency-free on purpose (no tfjs, no zod, no imports at all; eslint enforces it), so that the renderer may import
 * it. The tensor side of each kind (its `Flow` class) is registered in flowKinds.ts; a new flow kind adds its spec
 * type to `FlowSpec` and its entry to `FLOW_GRAMMARS` here, and the compiler then asks for the rest (docs/architecture.md).
 */

/** Translation on the pixel torus by an integer velocity (px/frame): x is the column axis, y the row axis. */
export interface TranslationSpec {
  readonly kind: 'translation';
  readonly vx: number;
  readonly vy: number;
}

/** Rotation about the frame centre by omega degrees per frame, counterclockwise as displayed. */
export interface RotationSpec {
  readonly kind: 'rotation';
  readonly omega: number;
}

/** A flow as numbers: one member per flow kind. */
export type FlowSpec = TranslationSpec | RotationSpec;
export type FlowKind = FlowSpec['kind'];
export type FlowSpecOf<K extends FlowKind> = Extract<FlowSpec, { kind: K }>;

/** Translation velocities the text form carries: up to three digits per component. */
export const MAX_TRANSLATION_SPEED = 999;
/** Angular speeds beyond a full turn per frame are pointless and usually a typo. */
export const MAX_OMEGA = 360;

/** How one flow kind is written and read. */
export interface FlowGrammar<K extends FlowKind> {
  readonly kind: K;
  /** The prefix before the colon: "translate". */
  readonly prefix: string;
  /** The form for messages: "translate:VX,VY". */
  readonly form: string;
  /** What the numbers are, for messages. */
  readonly meaning: string;
  readonly example: string;
  /** The whole text (prefix included); groups are the numbers. */
  readonly pattern: RegExp;
  read(groups: readonly string[]): FlowSpecOf<K>;
  /** A message when the numbers are out of range, else null. */
  check(spec: FlowSpecOf<K>): string | null;
  format(spec: FlowSpecOf<K>): string;
}

/** Every flow kind's grammar: the mapped type makes a kind without one a compile error. */
export const FLOW_GRAMMARS: { readonly [K in FlowKind]: FlowGrammar<K> } = {
  translation: {
    kind: 'translation',
    prefix: 'translate',
    form: 'translate:VX,VY',
    meaning: `integer VX, VY in px/frame, |VX|, |VY| <= ${MAX_TRANSLATION_SPEED}`,
    example: 'translate:1,0',
    pattern: /^translate:(-?\d{1,3}),(-?\d{1,3})$/,
    read: (g) => ({ kind: 'translation', vx: Number(g[0]), vy: Number(g[1]) }),
    check: (s) =>
      Number.isInteger(s.vx) && Number.isInteger(s.vy) && Math.abs(s.vx) <= MAX_TRANSLATION_SPEED && Math.abs(s.vy) <= MAX_TRANSLATION_SPEED
        ? null
        : `a translation velocity has integer components in -${MAX_TRANSLATION_SPEED}..${MAX_TRANSLATION_SPEED} px/frame`,
    format: (s) => `translate:${s.vx},${s.vy}`,
  },
  rotation: {
    kind: 'rotation',
    prefix: 'rotate',
    form: 'rotate:OMEGA',
    meaning: `OMEGA in degrees per frame, at most 3 decimals, |OMEGA| <= ${MAX_OMEGA}`,
    example: 'rotate:30',
    pattern: /^rotate:(-?\d{1,3}(?:\.\d{1,3})?)$/,
    read: (g) => ({ kind: 'rotation', omega: Number(g[0]) }),
    check: (s) => (Number.isFinite(s.omega) && Math.abs(s.omega) <= MAX_OMEGA ? null : `a rotation turns at most ${MAX_OMEGA} degrees per frame`),
    format: (s) => `rotate:${s.omega}`,
  },
};

export const FLOW_KINDS = Object.keys(FLOW_GRAMMARS) as FlowKind[];

/** The grammar of one kind, typed by it. */
export function flowGrammar<K extends FlowKind>(kind: K): FlowGrammar<K> {
  return FLOW_GRAMMARS[kind];
}

/** A flow text that no kind's grammar reads, or whose numbers are out of range. */
export class FlowTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlowTextError';
  }
}

/** Every form, for messages: "translate:VX,VY (integer VX, VY …) or rotate:OMEGA (…)". */
export const FLOW_FORMS = FLOW_KINDS.map((k) => `${FLOW_GRAMMARS[k].form} (${FLOW_GRAMMARS[k].meaning}, e.g. ${FLOW_GRAMMARS[k].example})`).join(' or ');

/** The flow of a text, or the reason there is none. The text is read as is (no trimming). */
export function readFlowText(text: string): { spec: FlowSpec; error?: undefined } | { spec?: undefined; error: string } {
  const kind = FLOW_KINDS.find((k) => text.startsWith(`${FLOW_GRAMMARS[k].prefix}:`));
  if (kind === undefined) return { error: `flow must look like ${FLOW_FORMS}; got "${text}"` };
  return readAs(flowGrammar(kind), text);
}

function readAs<K extends FlowKind>(g: FlowGrammar<K>, text: string): { spec: FlowSpec } | { error: string } {
  const m = g.pattern.exec(text);
  if (!m) return { error: `flow must look like ${g.form} with ${g.meaning} (e.g. ${g.example}); got "${text}"` };
  const spec = g.read(m.slice(1));
  const bad = g.check(spec);
  return bad === null ? { spec } : { error: `${bad}; got "${text}"` };
}

/** The flow of a text; throws FlowTextError naming the forms when no grammar reads it. */
export function parseFlowText(text: string): FlowSpec {
  const r = readFlowText(text);
  if (r.error !== undefined) throw new FlowTextError(r.error);
  return r.spec;
}

/** The flow of a text, or null (for forms that mark the field instead of throwing). */
export function flowSpecOrNull(text: string): FlowSpec | null {
  return readFlowText(text).spec ?? null;
}

/** The text of a flow: "translate:1,-2", "rotate:22.5". */
export function formatFlow(spec: FlowSpec): string {
  return formatAs(flowGrammar(spec.kind), spec);
}

function formatAs<K extends FlowKind>(g: FlowGrammar<K>, spec: FlowSpec): string {
  return g.format(spec as FlowSpecOf<K>);
}
