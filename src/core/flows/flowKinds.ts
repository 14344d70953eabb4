import type { Flow } from './flow';
import { parseFlowText, type FlowKind, type FlowSpec, type FlowSpecOf } from './flowGrammar';
import { TranslationFlow } from './translation';
import { RotationFlow } from './rotation';

/**
 * The registry of flow kinds on the tensor side: how a parsed spec becomes a `Flow` (its actions on frames, lifted
 * states and fields). Its text form is in flowGrammar.ts, the lifted axis it acts on in flow.ts (`LiftAxisFields`);
 * the mapped type makes a kind missing here a compile error. See docs/architecture.md, "Adding a flow kind".
 */
interface FlowKindEntry<K extends FlowKind> {
  create(spec: FlowSpecOf<K>): Flow;
}

export const FLOW_REGISTRY: { readonly [K in FlowKind]: FlowKindEntry<K> } = {
  translation: { create: (s) => new TranslationFlow({ vx: s.vx, vy: s.vy }) },
  rotation: { create: (s) => new RotationFlow(s.omega) },
};

/** The flow of a spec. */
export function flowFromSpec(spec: FlowSpec): Flow {
  return createAs(FLOW_REGISTRY[spec.kind] as FlowKindEntry<FlowKind>, spec);
}

function createAs<K extends FlowKind>(entry: FlowKindEntry<K>, spec: FlowSpecOf<K>): Flow {
  return entry.create(spec);
}

/**
 * Parses any flow text (the CLI's, the service's and the store's forms; surrounding blanks ignored). Throws
 * FlowTextError (flowGrammar.ts) naming the forms.
 */
export function parseFlow(text: string): Flow {
  return flowFromSpec(parseFlowText(text.trim()));
}
