import { describe, expect, it } from 'vitest';
import { FLOW_GRAMMARS, FLOW_KINDS, FlowTextError, formatFlow, parseFlowText, readFlowText, type FlowSpec } from '../../src/core/flows/flowGrammar';
import { FLOW_REGISTRY, flowFromSpec, parseFlow } from '../../src/core/flows/flowKinds';
import { flowSpecSchema } from '../../src/core/protocol/service';
import { parseFlowSpec } from '../../src/renderer/flowSpec';

/** Texts every reader must agree on: accepted ones with their spec, refused ones with null. */
const CORPUS: [string, FlowSpec | null][] = [
  ['translate:1,0', { kind: 'translation', vx: 1, vy: 0 }],
  ['translate:-2,999', { kind: 'translation', vx: -2, vy: 999 }],
  ['rotate:30', { kind: 'rotation', omega: 30 }],
  ['rotate:-22.5', { kind: 'rotation', omega: -22.5 }],
  ['rotate:360', { kind: 'rotation', omega: 360 }],
  ['rotate:0.125', { kind: 'rotation', omega: 0.125 }],
  ['translate:1000,0', null],
  ['translate:1.5,0', null],
  ['translate:1', null],
  ['rotate:361', null],
  ['rotate:1e2', null],
  ['rotate:1.2345', null],
  ['rotate:', null],
  ['scale:2', null],
  ['', null],
  ['Translate:1,0', null],
];

describe('the one flow grammar', () => {
  it('is what the core, the service schema and the renderer all read', () => {
    for (const [text, spec] of CORPUS) {
      expect(readFlowText(text).spec ?? null, text).toEqual(spec);
      expect(flowSpecSchema.safeParse(text).success, `schema: ${text}`).toBe(spec !== null);
      expect(parseFlowSpec(text), `renderer: ${text}`).toEqual(spec);
      if (spec) expect(parseFlow(text).label, `core: ${text}`).toBe(formatFlow(spec));
      else expect(() => parseFlow(text), `core: ${text}`).toThrow(FlowTextError);
    }
  });

  it('writes what it reads, for every kind', () => {
    for (const kind of FLOW_KINDS) {
      const example = FLOW_GRAMMARS[kind].example;
      expect(formatFlow(parseFlowText(example))).toBe(example);
      expect(FLOW_REGISTRY[kind]).toBeDefined();
      expect(flowFromSpec(parseFlowText(example)).kind).toBe(kind);
      expect(flowFromSpec(parseFlowText(example)).label).toBe(example);
    }
    expect(FLOW_KINDS).toEqual(Object.keys(FLOW_REGISTRY));
  });

  it('names every form when no kind reads a text, and the kind when its numbers are wrong', () => {
    expect(() => parseFlowText('scale:2')).toThrow(/translate:VX,VY .* or rotate:OMEGA .*got "scale:2"/);
    expect(() => parseFlowText('translate:1')).toThrow(/^flow must look like translate:VX,VY/);
    expect(() => parseFlowText('rotate:361')).toThrow(/at most 360 degrees per frame; got "rotate:361"/);
    const issue = flowSpecSchema.safeParse('spin:1');
    expect(issue.success).toBe(false);
    expect(issue.error?.issues[0].message).toMatch(/flow must look like translate:VX,VY/);
  });

  it('ignores surrounding blanks on the command line only', () => {
    expect(parseFlow(' translate:1,0 ').label).toBe('translate:1,0');
    expect(flowSpecSchema.safeParse(' translate:1,0').success).toBe(false);
  });
});
