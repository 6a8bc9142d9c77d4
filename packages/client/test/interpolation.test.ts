import { describe, expect, it } from 'vitest';
import { Group, messageFor, SceneMirror, Shape, ShapeUtils, Squisher, Text, type Node } from '@parlor/squish';
import { Interpolator } from '../src/render/interpolation.js';

/** A room's scene on the server side, and a mirror of it with an interpolator, fed frame by frame at given arrival times. */
function room() {
  const dot = new Shape({ shapeType: 'circle', x: 10, y: 50, radius: 1 });
  const box = new Shape({ points: ShapeUtils.rectangle(10, 10, 4, 4), fill: [255, 0, 0, 255] });
  const cursor = new Text({ text: '+', x: 10, y: 80, interpolate: false });
  const camera = new Group({ x: 0, y: 0, scale: 1 });
  camera.addChild(dot, box, cursor);
  const sq = new Squisher({ layers: () => [camera] });
  sq.addPlayer(1);
  const mirror = new SceneMirror();
  const motion = new Interpolator({ teleportDistance: 25 });
  motion.setTickRate(10); // 100 ms frames
  const send = (at: number): void => {
    const msg = messageFor(sq.flush(), 1);
    if (!msg) return;
    const info = mirror.apply(msg);
    motion.frame(mirror.root, info.full, at);
  };
  const drawn = <T extends Node>(n: T, at: number): T => {
    motion.pose(at);
    const copy = { ...(mirror.nodes.get(n.id) as unknown as Record<string, unknown>) } as unknown as T;
    motion.restore();
    return copy;
  };
  return { dot, box, cursor, camera, mirror, motion, send, drawn };
}

describe('Interpolator', () => {
  it('draws one frame interval behind, between the two latest frames, never past the newest; snaps opted-out nodes', () => {
    const r = room();
    r.send(0); // full frame at x = 10
    expect(r.drawn(r.dot, 50)._x).toBe(10);
    r.dot.x = 12;
    r.box.translate(2, 0);
    r.cursor.x = 12;
    r.camera.scale = 2;
    r.send(100);
    // at the arrival: still the previous frame; a quarter of the way 25 ms later; the newest frame after one interval
    expect(r.drawn(r.dot, 100)._x).toBe(10);
    expect(r.drawn(r.dot, 125)._x).toBeCloseTo(10.5, 9);
    expect(r.drawn(r.dot, 150)._x).toBeCloseTo(11, 9);
    expect(r.drawn(r.box, 150)._points[0][0]).toBeCloseTo(11, 9);
    expect(r.drawn(r.camera, 150)._scale).toBeCloseTo(1.5, 9);
    expect(r.drawn(r.dot, 200)._x).toBe(12);
    expect(r.drawn(r.dot, 900)._x).toBe(12); // no extrapolation
    expect(r.motion.pending(150)).toBe(true);
    expect(r.motion.pending(200)).toBe(false);
    // the opted-out node is drawn at the frame's value at once
    expect(r.drawn(r.cursor, 100)._x).toBe(12);
    expect(r.drawn(r.cursor, 150)._x).toBe(12);
    // restore puts the frame's values back: the mirror itself always holds the newest frame
    r.motion.pose(150);
    r.motion.restore();
    expect((r.mirror.nodes.get(r.dot.id) as Shape).x).toBe(12);
    expect((r.mirror.nodes.get(r.box.id) as Shape).points[0][0]).toBe(12);
  });

  it('snaps on a teleport, a new node and a full frame; withPose runs with drawn values and puts them back', () => {
    const r = room();
    r.send(0);
    r.dot.x = 60; // 50 units: a teleport
    const fresh = new Shape({ shapeType: 'circle', x: 30, y: 30, radius: 1 });
    r.camera.addChild(fresh);
    r.box.translate(1, 0);
    r.send(100);
    expect(r.drawn(r.dot, 110)._x).toBe(60);
    expect(r.drawn(fresh, 110)._x).toBe(30);
    expect(r.drawn(r.box, 150)._points[0][0]).toBeCloseTo(10.5, 9);
    const seen = r.motion.withPose(150, () => (r.mirror.nodes.get(r.box.id) as Shape).points[0][0]);
    expect(seen).toBeCloseTo(10.5, 9);
    expect((r.mirror.nodes.get(r.box.id) as Shape).points[0][0]).toBe(11);
    // a full frame (a resync) is drawn as it is
    r.box.translate(1, 0);
    r.dot.x = 61;
    r.send(200);
    expect(r.drawn(r.dot, 200)._x).toBeCloseTo(60, 9);
    r.motion.frame(r.mirror.root, true, 300);
    expect(r.drawn(r.dot, 300)._x).toBe(61);
    expect(r.motion.movingNodes).toBe(0);
  });

  it('after a pause, the next move takes one interval from where it was drawn, with no jump', () => {
    const r = room();
    r.send(0);
    r.dot.x = 12;
    r.send(100);
    expect(r.drawn(r.dot, 200)._x).toBe(12);
    r.dot.x = 14;
    r.send(5000); // nothing changed for 4.9 s
    expect(r.motion.interval).toBe(100); // the pause is not a frame rate
    expect(r.drawn(r.dot, 5000)._x).toBe(12);
    expect(r.drawn(r.dot, 5050)._x).toBeCloseTo(13, 9);
    expect(r.drawn(r.dot, 5100)._x).toBe(14);
  });

  it('estimates the interval from arrivals (median gap), at least one tick', () => {
    const m = new Interpolator();
    m.setTickRate(20);
    expect(m.interval).toBe(50);
    const root = new Group();
    for (const t of [0, 200, 400, 610, 800, 1000]) m.frame(root, false, t);
    expect(m.interval).toBe(200);
    for (const t of [1010, 1020, 1030, 1040, 1050, 1060, 1070, 1080, 1090]) m.frame(root, false, t);
    expect(m.interval).toBe(50);
  });
});
