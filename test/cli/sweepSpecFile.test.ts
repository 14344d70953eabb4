import { describe, expect, it } from 'vitest';
import { parseSpecText, validateMembers } from '../../src/cli/sweepSpecFile';

const YAML = `
name: fernn-vs-grnn
base: { hidden: 4, image-size: 8, steps: 10, data-v-range: 1, batch: 2 }
variants: [ { model: grnn, v-range: 0 }, { model: fernn, v-range: 1 } ]
grid: { seed: [0, 1, 2] }
`;

describe('sweep spec files', () => {
  it('YAML (and JSON) members validate into train configs with groups without the seed', () => {
    const members = validateMembers(parseSpecText(YAML, 'spec.yaml'));
    expect(members).toHaveLength(6);
    expect(members[0].config).toMatchObject({ model: 'grnn', vRange: 0, hidden: 4, imageSize: 8, steps: 10, seed: 0, dataVRange: 1 });
    expect(members[4].config).toMatchObject({ model: 'fernn', vRange: 1, seed: 1 });
    expect(members.map((m) => m.group)).toEqual([...Array(3).fill('model=grnn,v-range=0'), ...Array(3).fill('model=fernn,v-range=1')]);
    const json = parseSpecText(JSON.stringify({ name: 'j', base: { model: 'grnn', hidden: 2, steps: 3 } }), 'spec.json');
    expect(validateMembers(json)[0].config.hidden).toBe(2);
  });

  it('a bad member names the member and the flag', () => {
    const bad = (text: string) => {
      try {
        validateMembers(parseSpecText(text, 's.yaml'));
        return null;
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(bad(YAML.replace('v-range: 1 }', 'v-range: 9 }'))).toBe('member 3 (model=fernn, v-range=9, seed=0): v-range: must be <= 4');
    expect(bad(YAML.replace('hidden: 4,', 'hiden: 4,'))).toMatch(/^member 0 \(model=grnn, v-range=0, seed=0\): hiden: not a train flag/);
    expect(bad(YAML.replace('hidden: 4,', ''))).toMatch(/^member 0 .*: hidden: is required/);
    expect(bad(YAML.replace('seed: [0, 1, 2]', 'seed: [0, -1]'))).toMatch(/^member 1 \(model=grnn, v-range=0, seed=-1\): seed: must be >= 0/);
    expect(bad('name: x\nbase: [1')).toMatch(/^s\.yaml: not valid YAML or JSON at line/);
    expect(bad('name: x\ngrid: { seed: 3 }')).toMatch(/^s\.yaml: grid\.seed: /);
  });
});
