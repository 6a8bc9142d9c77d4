import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generate, OUTPUTS } from '../codegen/generate.mjs';
import * as table from '../codegen/fields.mjs';
import type { FieldEntry } from '../codegen/fields.mjs';
import {
  Asset, Group, messageFor, type Node, quantize, SceneMirror, Shape, squish, Squisher, Text, unsquish,
} from '../src/index.js';

const pkg = (rel: string) => fileURLToPath(new URL(`../${rel}`, import.meta.url));

describe('the node field table', () => {
  it('the checked-in generated files are exactly what the table generates (run npm run gen -w @parlor/squish)', () => {
    const files = generate();
    expect([...files.keys()].sort()).toEqual([...OUTPUTS].sort());
    for (const [rel, text] of files) expect(readFileSync(pkg(rel), 'utf8'), rel).toBe(text);
  });

  it('a new table entry changes every generated part (bit, class, codec), and bad entries are refused', () => {
    const kinds = structuredClone(table.KINDS);
    kinds[3].fields.push({ key: 'rotation', bit: 9, wire: 'fixed', def: '0', doc: 'Rotation in degrees; default 0.' });
    const next = generate({ ...table, KINDS: kinds });
    expect(next.get('src/scene/generated/field-bits.ts')).toContain('export const ASSET_ROTATION = 1 << 9;');
    expect(next.get('src/scene/nodes.ts')).toContain('set rotation(v: number) { if (v !== this._rotation) { this._rotation = v; this._touch(ASSET_ROTATION); } }');
    const codec = next.get('src/codec/generated/field-codec.ts')!;
    expect(codec).toContain('if (a._rotation !== 0) m |= ASSET_ROTATION;');
    expect(codec).toContain('if (mask & ASSET_ROTATION) w.fx(a._rotation);');
    expect(codec).toContain('if (mask & ASSET_ROTATION) a._rotation = r.fx();');

    const clash = structuredClone(table.KINDS);
    clash[1].fields.push({ key: 'corner', bit: 3, wire: 'fixed', def: '0', doc: 'x' });
    expect(() => generate({ ...table, KINDS: clash })).toThrow(/bit 3 used twice/);
    const common = structuredClone(table.KINDS);
    common[0].fields.push({ key: 'tint', bit: 12, wire: 'fixed', def: '0', doc: 'x' });
    expect(() => generate({ ...table, KINDS: common })).toThrow(/outside 0–11/);
  });
});

/** A value different from the default, of the field's wire type. */
function sample(f: FieldEntry): unknown {
  switch (f.wire) {
    case 'fixed': return 12.34;
    case 'f32': return 2.5;
    case 'str': return 'héllo';
    case 'bool': return true;
    case 'color': return [1, 2, 3, 4];
    case 'colorOrNull': return [10, 20, 30, 255];
    case 'enum': return table.ENUMS[f.enum!].values[1];
    case 'points': return [[1, 2], [3.5, 4], [5, 6.25]];
    case 'crop': return { x: 1, y: 2, width: 3, height: 4 };
    default: throw new Error(`no sample for ${f.wire}`);
  }
}

const make: Record<string, () => Node> = {
  Group: () => new Group(),
  Shape: () => new Shape(),
  Text: () => new Text(),
  Asset: () => new Asset({ assetId: '' }),
};

/** A default as written in the table (TypeScript literal source) as a value. */
const parseDefault = (src: string): unknown => JSON.parse(src.replace(/'/g, '"'));

describe('every field of the table, through the public API', () => {
  for (const k of table.KINDS) {
    for (const f of k.fields) {
      it(`${k.name}.${f.key}: defaults to ${f.def} (left out of a full node), reaches a mirror when set, and an equal set sends nothing`, () => {
        const n = make[k.name]() as Node & Record<string, unknown>;
        expect(n[f.key]).toEqual(parseDefault(f.def));
        const bare = squish(n).length;
        const layer = new Group().addChild(n);
        const sq = new Squisher({ layers: () => [layer] });
        sq.addPlayer(1);
        const mirror = new SceneMirror();
        mirror.apply(messageFor(sq.flush(), 1)!);

        const v = sample(f);
        n[f.key] = v;
        expect(n[f.key]).toEqual(v);
        mirror.apply(messageFor(sq.flush(), 1)!);
        const seen = (mirror.nodes.get(n.id) as Node & Record<string, unknown>)[f.key];
        expect(seen).toEqual(f.wire === 'fixed' ? quantize(v as number) : v);
        expect((unsquish(squish(n)) as Node & Record<string, unknown>)[f.key]).toEqual(seen);
        expect(squish(n).length).toBeGreaterThan(bare);

        n[f.key] = v;
        expect(sq.flush().sends).toHaveLength(0);
      });
    }
  }
});
