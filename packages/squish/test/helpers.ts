import { type Node, type Shape, type Text, type Asset, type Group, NodeKind, quantize } from '../src/index.js';

const qc = (c: readonly number[] | null) => (c ? c.map((v) => Math.max(0, Math.min(255, Math.round(v)))) : null);

/**
 * A plain, comparable description of a node subtree as a viewer should receive it:
 * numbers quantized to the wire's 0.01, children filtered by `playerIds` for `viewer`
 * (`'all'` keeps everything, `'public'` keeps only unrestricted nodes).
 */
export function describe(n: Node, viewer: number | 'all' | 'public' = 'all'): unknown {
  const kids = n.children.filter((c) => viewer === 'all' || c.playerIds === null || (viewer !== 'public' && c.playerIds.includes(viewer)));
  const base = {
    id: n.id,
    kind: n.kind,
    clickable: n.clickable,
    interpolate: n.interpolate,
    shadow: n.shadow ? { color: qc(n.shadow.color), blur: quantize(n.shadow.blur ?? 0), ox: quantize(n.shadow.offsetX ?? 0), oy: quantize(n.shadow.offsetY ?? 0) } : null,
    children: kids.map((c) => describe(c, viewer)),
  };
  switch (n.kind) {
    case NodeKind.SHAPE: {
      const s = n as Shape;
      return { ...base, shapeType: s.shapeType, points: s.points.map(([x, y]) => [quantize(x), quantize(y)]), x: quantize(s.x), y: quantize(s.y), radius: quantize(s.radius), fill: qc(s.fill), stroke: qc(s.stroke), strokeWidth: quantize(s.strokeWidth) };
    }
    case NodeKind.TEXT: {
      const t = n as Text;
      return { ...base, text: t.text, x: quantize(t.x), y: quantize(t.y), size: quantize(t.size), color: qc(t.color), align: t.align, font: t.font };
    }
    case NodeKind.ASSET: {
      const a = n as Asset;
      return { ...base, assetId: a.assetId, x: quantize(a.x), y: quantize(a.y), width: quantize(a.width), height: quantize(a.height), crop: a.crop ? [a.crop.x, a.crop.y, a.crop.width, a.crop.height].map(quantize) : null, startTime: quantize(a.startTime), loop: a.loop, volume: quantize(a.volume) };
    }
    default: {
      const g = n as Group;
      return { ...base, x: quantize(g.x), y: quantize(g.y), scale: Math.fround(g.scale) };
    }
  }
}

/** The message one recipient receives (re-exported so the tests keep one import). */
export { messageFor } from '../src/index.js';

/** Whether `needle` (UTF-8) occurs in `bytes`. */
export function containsText(bytes: Uint8Array, needle: string): boolean {
  return Buffer.from(bytes).includes(Buffer.from(needle, 'utf8'));
}
