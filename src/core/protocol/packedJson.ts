/**
 * A compact JSON form for values made of many objects of few shapes, such as the run list (issue 16: 5,000 run
 * summaries are 2.84 MB of JSON, over half of it the same key names again and again). Each distinct list of keys (a
 * "shape") is written once; an object becomes `[shape index, ...its values in that order]`, an array
 * `[-1, ...its elements]`; strings, numbers, booleans and null stay as they are. `unpack(JSON.parse(text))` equals
 * `JSON.parse(JSON.stringify(v))` for the `v` that `text` was made from: members that are undefined are left out,
 * undefined elements of arrays and numbers that are not finite become null, as JSON.stringify does.
 *
 * The web host sends `listRuns` in this form when the page asks for it (an `Accept` of PACKED_JSON_TYPE): less than
 * half the bytes to send, decode and parse. Everything else, and every other client, gets plain JSON.
 */
export const PACKED_JSON_TYPE = 'application/vnd.fernn-lab.packed+json';

/** A request header: `head` asks for the packed run list in two parts (core/protocol/service.ts RunListHead). */
export const LIST_PARTS_HEADER = 'x-fernn-list-parts';

export interface Packed {
  /** Key lists, indexed by the first element of each packed object. */
  shapes: string[][];
  value: unknown;
}

const ARRAY = -1;

/** A node of the shape trie: the shape of the keys that led here (-1 while no object had exactly them), and what follows. */
interface ShapeNode {
  at: number;
  next: Map<string, ShapeNode>;
}

/**
 * Writes values in the packed form. One packer keeps its shapes, so the text of an array's element that is deeply
 * frozen (frozen, with every object in it: it cannot change) is made once and reused by every later `text` call: the
 * web host's packer answers a run list whose summaries did not change (the store freezes them) by joining the texts
 * it made before. Elements are packed as arrays and written by JSON.stringify (building the text piece by piece was
 * several times slower); the levels above them are joined.
 */
export class JsonPacker {
  private readonly shapes: string[][] = [];
  private readonly root: ShapeNode = { at: -1, next: new Map() };
  private readonly elementText = new WeakMap<object, string>();
  /** Set by `toArrays` when the value it packed holds an object that is not frozen. */
  private sawMutable = false;

  /** The JSON text of `value` packed: a `Packed` object. */
  text(value: unknown): string {
    const body = this.textOf(value);
    return `{"shapes":${JSON.stringify(this.shapes)},"value":${body}}`;
  }

  private textOf(v: unknown): string {
    if (v === null || typeof v !== 'object' || typeof (v as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(this.toArrays(v)) ?? 'null';
    if (Array.isArray(v)) {
      let out = String(ARRAY);
      for (const x of v) out += `,${this.elementTextOf(x)}`;
      return `[${out}]`;
    }
    const obj = v as Record<string, unknown>;
    const keys = this.members(obj);
    let out = String(this.shapeOf(keys));
    for (const k of keys) out += `,${this.textOf(obj[k])}`;
    return `[${out}]`;
  }

  private elementTextOf(x: unknown): string {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return x === undefined ? 'null' : this.textOf(x);
    const cached = this.elementText.get(x);
    if (cached !== undefined) return cached;
    this.sawMutable = false;
    const text = JSON.stringify(this.toArrays(x));
    if (!this.sawMutable) this.elementText.set(x, text);
    return text;
  }

  /** The packed value as arrays (for JSON.stringify); notes in `sawMutable` an object that is not frozen. */
  private toArrays(v: unknown): unknown {
    if (v === null || typeof v !== 'object') return v;
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      this.sawMutable = true;
      return this.toArrays((v as { toJSON: () => unknown }).toJSON());
    }
    if (!Object.isFrozen(v)) this.sawMutable = true;
    if (Array.isArray(v)) {
      const out: unknown[] = [ARRAY];
      for (const x of v) out.push(x === undefined ? null : this.toArrays(x));
      return out;
    }
    const obj = v as Record<string, unknown>;
    const keys = this.members(obj);
    const out: unknown[] = [this.shapeOf(keys)];
    for (const k of keys) out.push(this.toArrays(obj[k]));
    return out;
  }

  /** The members JSON.stringify writes. */
  private members(obj: Record<string, unknown>): string[] {
    return Object.keys(obj).filter((k) => {
      const t = typeof obj[k];
      return t !== 'undefined' && t !== 'function' && t !== 'symbol';
    });
  }

  /** The index of a list of keys, looked up key by key (property names, already hashed) rather than by a joined string. */
  private shapeOf(keys: readonly string[]): number {
    let node = this.root;
    for (const k of keys) {
      let n = node.next.get(k);
      if (!n) node.next.set(k, (n = { at: -1, next: new Map() }));
      node = n;
    }
    if (node.at < 0) {
      node.at = this.shapes.length;
      this.shapes.push([...keys]);
    }
    return node.at;
  }
}

/** The value a packed text held (after JSON.parse). A value that does not fit its shapes is an error saying so. */
export function unpack(p: Packed): unknown {
  if (typeof p !== 'object' || p === null || !Array.isArray(p.shapes)) throw new Error('packed JSON: no shapes');
  const { shapes } = p;
  const walk = (v: unknown): unknown => {
    if (!Array.isArray(v)) return v;
    const tag = v[0] as unknown;
    if (tag === ARRAY) {
      const out: unknown[] = new Array(v.length - 1);
      for (let i = 1; i < v.length; i++) out[i - 1] = walk(v[i]);
      return out;
    }
    const keys = typeof tag === 'number' ? shapes[tag] : undefined;
    if (!Array.isArray(keys) || keys.length !== v.length - 1) throw new Error(`packed JSON: an object of shape ${String(tag)} does not fit it`);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      // As JSON.parse does: "__proto__" is an own member, not the object's prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: walk(v[i + 1]), enumerable: true, writable: true, configurable: true });
      else out[k] = walk(v[i + 1]);
    }
    return out;
  };
  return walk(p.value);
}
