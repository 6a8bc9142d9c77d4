/**
 * The field table (src/fields.ts) is the one declaration of every node field. These tests check
 * the hand-specialised code kept for speed (constructors, fast-fields.ts) against it, and that the
 * table drives the public properties, their setters and the codec. The first two import internal
 * modules on purpose: the agreement they check is not observable through the public API.
 */
import { describe, it, expect } from 'vitest';
import { Asset, Group, type Node, Shape, squish, Text, unsquish } from '../src/index.js';
import { checkKind, KIND_LIST } from '../src/fields.js';
import { checkFastPaths } from '../src/codec.js';

const makers: Record<number, (o: object) => Node> = {
  0: (o) => new Group(o),
  1: (o) => new Shape(o),
  2: (o) => new Text(o),
  3: (o) => new Asset({ assetId: '', ...o }),
};

describe('field table', () => {
  it('the hand-specialised encoder and decoder agree with the table on every field', () => {
    expect(checkFastPaths()).toEqual([]);
  });

  it('each node class starts with the table defaults and stores every option in its slot', () => {
    for (const [kind, make] of Object.entries(makers)) expect(checkKind(make, KIND_LIST[Number(kind)])).toEqual([]);
  });

  it('every field of the table is a property whose setter sends the new value (squish round trip)', () => {
    for (const [kind, make] of Object.entries(makers)) {
      for (const f of KIND_LIST[Number(kind)]) {
        const n = make({}) as unknown as Record<string, unknown>;
        expect(n[f.key], `${f.key} default`).toEqual(f.def);
        n[f.key] = f.wire.sample;
        const back = unsquish(squish(n as unknown as Node)) as unknown as Record<string, unknown>;
        expect(back[f.key], `${f.key} of kind ${kind}`).toEqual(f.wire.sample);
      }
    }
  });
});
