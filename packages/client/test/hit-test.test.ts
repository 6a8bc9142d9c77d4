import { describe, expect, it } from 'vitest';
import { hitTest } from '@parlor/client';
import { pointInPolygon } from '../src/render/hit-test.js';
import { Asset, Colors, Group, SceneMirror, Shape, ShapeUtils, Squisher, Text, messageFor, type Node } from '@parlor/squish';

/** Squishes `layers` for one player with a real Squisher and applies the frame to a fresh mirror. */
function mirrorOf(layers: Node[], playerId = 1): SceneMirror {
  const squisher = new Squisher({ layers: () => layers });
  squisher.addPlayer(playerId);
  const tick = squisher.flush();
  const bytes = messageFor(tick, playerId);
  if (!bytes) throw new Error('no frame for the player');
  const mirror = new SceneMirror();
  expect(mirror.apply(bytes).full).toBe(true);
  return mirror;
}

const click = () => {};
const AR = { x: 16, y: 9 };

describe('hitTest on a mirrored scene', () => {
  it('finds the topmost clickable node, honouring draw order and group transforms', () => {
    const bg = new Shape({ points: ShapeUtils.rectangle(0, 0, 100, 100), fill: Colors.FELT, onClick: click });
    const low = new Shape({ points: ShapeUtils.rectangle(10, 10, 20, 20), fill: Colors.RED, onClick: click });
    const high = new Shape({ points: ShapeUtils.rectangle(20, 20, 20, 20), fill: Colors.BLUE, onClick: click });
    // a group translated by (50, 50) and scaled 0.5: its child rect 0–20 covers plane 50–60
    const inGroup = new Shape({ points: ShapeUtils.rectangle(0, 0, 20, 20), fill: Colors.GREEN, onClick: click });
    const group = new Group({ x: 50, y: 50, scale: 0.5, children: [inGroup] });
    const layer = new Group({ children: [bg, low, high, group] });
    const m = mirrorOf([layer]);
    const id = (x: number, y: number) => hitTest(m.root, x, y, AR)?.id;

    expect(id(15, 15)).toBe(low.id);
    expect(id(25, 25)).toBe(high.id); // overlap: the later sibling is on top
    expect(id(35, 35)).toBe(high.id);
    expect(id(55, 55)).toBe(inGroup.id);
    expect(id(61, 55)).toBe(bg.id); // outside the scaled child
    expect(id(5, 95)).toBe(bg.id);
    // mirrored nodes are distinct instances with the sender's ids
    expect(m.nodes.get(high.id)).not.toBe(high);
  });

  it('skips non-clickable nodes without letting them block, and bubbles to a clickable ancestor', () => {
    const button = new Shape({ points: ShapeUtils.rectangle(40, 40, 20, 20), fill: Colors.BLUE, onClick: click });
    const label = new Text({ text: 'OK', x: 50, y: 45, size: 6, align: 'center' }); // not clickable, on top
    const cover = new Shape({ points: ShapeUtils.rectangle(0, 0, 30, 30), fill: Colors.GRAY }); // not clickable
    const card = new Shape({
      points: ShapeUtils.rectangle(70, 70, 10, 20),
      fill: Colors.WHITE,
      onClick: click,
      children: [new Text({ text: 'A♠', x: 71, y: 71, size: 4 })],
    });
    const m = mirrorOf([new Group({ children: [button, label, cover, card] })]);
    expect(hitTest(m.root, 50, 47, AR)?.id).toBe(button.id); // through the label
    expect(hitTest(m.root, 10, 10, AR)).toBeNull(); // nothing clickable under the cover
    expect(hitTest(m.root, 72, 73, AR)?.id).toBe(card.id); // the card's own text → the card
    expect(hitTest(m.root, 90, 90, AR)).toBeNull();
  });

  it('tests circles in height units, lines by distance, polygons by even-odd', () => {
    // radius 10 height units = 10 y units = 10 × 9/16 x units
    const circle = new Shape({ shapeType: 'circle', x: 50, y: 50, radius: 10, fill: Colors.RED, onClick: click });
    const line = new Shape({ shapeType: 'line', points: [[0, 90], [100, 90]], stroke: Colors.WHITE, strokeWidth: 1, onClick: click });
    const m = mirrorOf([new Group({ children: [circle, line] })]);
    const id = (x: number, y: number) => hitTest(m.root, x, y, AR)?.id;
    expect(id(50, 59)).toBe(circle.id);
    expect(id(50, 61)).toBeUndefined();
    expect(id(50 + 10 * (9 / 16) - 0.2, 50)).toBe(circle.id);
    expect(id(50 + 10 * (9 / 16) + 0.2, 50)).toBeUndefined();
    expect(id(30, 90.4)).toBe(line.id);
    expect(id(30, 92)).toBeUndefined();

    // a concave "U": the notch is outside
    const u: [number, number][] = [[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]];
    expect(pointInPolygon(5, 20, u)).toBe(true);
    expect(pointInPolygon(15, 20, u)).toBe(false);
    expect(pointInPolygon(25, 20, u)).toBe(true);
  });

  it('uses the text box from measureText and alignment, and image rectangles (not audio)', () => {
    const left = new Text({ text: 'Hello', x: 10, y: 10, size: 5, onClick: click });
    const right = new Text({ text: 'Bye', x: 90, y: 10, size: 5, align: 'right', onClick: click });
    const img = new Asset({ assetId: 'card', x: 40, y: 60, width: 10, height: 20, crop: { x: 0, y: 0, width: 64, height: 96 }, onClick: click });
    const sound = new Asset({ assetId: 'boom', x: 0, y: 60, width: 30, height: 30, onClick: click });
    const m = mirrorOf([new Group({ children: [left, right, img, sound] })]);
    // each character 5 height units wide → 'Hello' = 25 height units = 25 × 9/16 x units ≈ 14.06
    const measureText = (t: string, _f: string, size: number) => t.length * size;
    const assetType = (id: string) => (id === 'boom' ? 'audio' as const : 'image' as const);
    const id = (x: number, y: number) => hitTest(m.root, x, y, AR, { measureText, assetType })?.id;
    expect(id(11, 12)).toBe(left.id);
    expect(id(23.5, 12)).toBe(left.id);
    expect(id(24.5, 12)).toBeUndefined();
    expect(id(11, 15.5)).toBeUndefined(); // below the line
    expect(id(89, 12)).toBe(right.id);
    expect(id(91, 12)).toBeUndefined(); // right-aligned text ends at x
    expect(id(45, 70)).toBe(img.id);
    expect(id(10, 70)).toBeUndefined(); // audio has no area
  });

  it('hits text in a mirrored (negative-scale) group where the renderer draws it: glyphs run right of the anchor on screen', () => {
    // the anchor x = 10 under scale -1 at x = 60 lands at screen x 50; 'Hi' is 2 × 5 height units = 10 × 9/16 x units wide
    const label = new Text({ text: 'Hi', x: 10, y: 10, size: 5, onClick: click });
    const m = mirrorOf([new Group({ x: 60, y: 40, scale: -1, children: [label] })]);
    const measureText = (t: string, _f: string, size: number) => t.length * size;
    const id = (x: number, y: number) => hitTest(m.root, x, y, AR, { measureText })?.id;
    // scale -1 flips y too: the top edge y = 10 lands at 30, the text box spans y 30..35 on screen
    expect(id(52, 32)).toBe(label.id);
    expect(id(55, 32)).toBe(label.id);
    expect(id(48, 32)).toBeUndefined(); // left of the anchor: nothing is drawn there
  });

  it('returns null for an empty mirror', () => {
    expect(hitTest(new SceneMirror().root, 50, 50, AR)).toBeNull();
  });
});
