/**
 * The squish node codec (version 1): how one node and its subtree are laid out in bytes.
 *
 * node    := uv id · uv head · payload(mask) · [uv childCount · node*]   (children only if head bit 2)
 * head    := mask << 3 | hasChildren << 2 | kind
 * payload := the fields whose bit is set in `mask`, in ascending bit order
 *
 * Numbers are fixed-point hundredths (zigzag varints), so every coordinate round-trips to
 * 0.01 plane units; colours are a tag byte (0 none, 1 opaque RGB, 2 RGBA) and the channels;
 * strings are UTF-8 with a varint length. In a full node only fields that differ from the
 * defaults are present, so a filled rectangle costs about 16 bytes.
 */
import { MAX_DEPTH, SquishEncodeError } from './errors.js';
import { Reader, Writer } from './bytes.js';
import { KIND_FIELDS, WIRE_LIST } from './fields.js';
import { Asset, Group, type Node, NodeKind, Shape, Text } from './nodes.js';
import { writePointsQ } from './values.js';
import { FAST_MASKS, fastMask, fastRead, fastWrite } from './fast-fields.js';

export { KIND_FIELDS } from './fields.js';
export { quantizeFixed, quantizePoints, readPoints, REMOTE_CLICK, writePointsQ } from './values.js';

// ------------------------------------------------------------------ viewers

/** Encode every node regardless of `playerIds` (standalone `squish`). */
export const VIEW_ALL = -1;
/** Encode only nodes visible to everyone (the shared part of a frame). */
export const VIEW_PUBLIC = -2;

/** Whether a child is included for a viewer (a player id, {@link VIEW_ALL} or {@link VIEW_PUBLIC}). */
export function includes(child: Node, viewer: number): boolean {
  const ids = child._playerIds;
  return ids === null || viewer === VIEW_ALL || (viewer >= 0 && ids.includes(viewer));
}

// ------------------------------------------------------------------ fields (driven by the field table, fields.ts)

type Slots = Record<string, unknown>;

/** Table-driven: the bits of fields that differ from their defaults. */
function tableMask(n: Node): number {
  const list = WIRE_LIST[n.kind];
  const o = n as unknown as Slots;
  let m = 0;
  for (let i = 0; i < list.length; i++) {
    const f = list[i];
    if (!f.wire.same(o[f.slot], f.def)) m |= f.mask;
  }
  return m;
}

/** Table-driven: writes the payloads of the fields in `mask`, in ascending bit order. */
function tableWrite(w: Writer, n: Node, mask: number, points?: readonly number[]): void {
  const list = WIRE_LIST[n.kind];
  const o = n as unknown as Slots;
  for (let i = 0; i < list.length; i++) {
    const f = list[i];
    if ((mask & f.mask) === 0) continue;
    if (points !== undefined && f.pos === 'points') writePointsQ(w, points);
    else f.wire.write(w, o[f.slot]);
  }
}

/** Table-driven: applies the payloads of `mask` to a node. */
function tableRead(r: Reader, n: Node, mask: number): void {
  const list = WIRE_LIST[n.kind];
  const o = n as unknown as Slots;
  for (let i = 0; i < list.length; i++) {
    const f = list[i];
    if (mask & f.mask) o[f.slot] = f.wire.read(r);
  }
}

/**
 * Whether the hand-specialised path (fast-fields.ts) covers exactly the fields of the table; if
 * not (a field was added to the table only), the codec runs on the table-driven path.
 */
const FAST = FAST_MASKS.length === KIND_FIELDS.length && FAST_MASKS.every((m, kind) => m === KIND_FIELDS[kind]);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The bits of fields that differ from their defaults (what a full node carries). */
export const fullMask: (n: Node) => number = FAST ? fastMask : tableMask;

/**
 * Writes the payloads of the fields in `mask`, in ascending bit order; `points`, when given, is
 * the points field already quantized (the Squisher keeps them).
 */
export const writeFields: (w: Writer, n: Node, mask: number, points?: readonly number[]) => void = FAST ? fastWrite : tableWrite;

/**
 * Checks the hand-specialised field code against the table, field by field: a node of each kind
 * with one field set to its wire type's sample must give the same mask, the same bytes and the
 * same decoded value both ways. Returns the disagreements (the tests run this; running it at
 * load measurably slowed the decoder).
 */
export function checkFastPaths(): string[] {
  const problems: string[] = [];
  const blank = (kind: number): Node =>
    kind === NodeKind.GROUP ? new Group({}, 0) : kind === NodeKind.SHAPE ? new Shape({}, 0) : kind === NodeKind.TEXT ? new Text({}, 0) : new Asset({ assetId: '' }, 0);
  WIRE_LIST.forEach((list, kind) => {
    if (fastMask(blank(kind)) !== 0) problems.push(`kind ${kind}: a default node has a non-empty mask`);
    for (const f of list) {
      const n = blank(kind) as unknown as Slots;
      n[f.slot] = f.wire.sample;
      const mask = tableMask(n as unknown as Node);
      if (mask !== f.mask) problems.push(`${f.key} (kind ${kind}): its wire type's sample equals its default`);
      const fm = fastMask(n as unknown as Node);
      const a = new Writer(64), b = new Writer(64);
      tableWrite(a, n as unknown as Node, mask);
      fastWrite(b, n as unknown as Node, mask);
      const ta = a.finish(), tb = b.finish();
      const back = blank(kind);
      const r = new Reader(ta);
      fastRead(r, back, mask, 0);
      const c = new Writer(64);
      tableWrite(c, back, tableMask(back));
      const tc = c.finish();
      if (fm !== mask || !sameBytes(ta, tb) || r.remaining !== 0 || !sameBytes(ta, tc)) {
        problems.push(`${f.key} (kind ${kind}): the fast path disagrees with the field table`);
      }
    }
  });
  return problems;
}

/** Decides whether a child is written for a viewer (default: {@link includes}). */
export type ChildFilter = (parent: Node, child: Node, viewer: number) => boolean;

const byPlayerIds: ChildFilter = (_parent, child, viewer) => includes(child, viewer);

/**
 * Writes a node and the subtree a viewer may see.
 * @param restricted when given (public encodes), collects nodes that have a child left out for this viewer
 * @param filter which children to write; default: by `playerIds`
 */
export function writeNode(w: Writer, n: Node, viewer: number, depth: number, restricted?: Node[], filter: ChildFilter = byPlayerIds): void {
  if (depth > MAX_DEPTH) throw new SquishEncodeError(`scene is nested deeper than ${MAX_DEPTH} levels`);
  const mask = fullMask(n);
  const kids = n._children;
  let count = 0;
  for (let i = 0; i < kids.length; i++) {
    if (filter(n, kids[i], viewer)) count++;
    else if (restricted && (restricted.length === 0 || restricted[restricted.length - 1] !== n)) restricted.push(n);
  }
  w.uv(n.id);
  w.uv(mask * 8 + (count > 0 ? 4 : 0) + n.kind);
  writeFields(w, n, mask);
  if (count > 0) {
    w.uv(count);
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (filter(n, c, viewer)) writeNode(w, c, viewer, depth + 1, restricted, filter);
    }
  }
}

// ------------------------------------------------------------------ decode

function tableReadFields(r: Reader, n: Node, mask: number, at: number): void {
  if (mask > 0x3fff || mask & ~KIND_FIELDS[n.kind]) r.fail(`field mask ${mask} not valid for node kind ${n.kind}`, at);
  tableRead(r, n, mask);
}

/** Applies the payloads of `mask` to a node (decoders and delta application share this). */
export const readFields: (r: Reader, n: Node, mask: number, at: number) => void = FAST ? fastRead : tableReadFields;

/** Creates an empty node of a wire kind with the sender's id. */
export function createNode(kind: number, id: number): Node {
  switch (kind) {
    case NodeKind.GROUP: return new Group({}, id);
    case NodeKind.SHAPE: return new Shape({}, id);
    case NodeKind.TEXT: return new Text({}, id);
    default: return new Asset({ assetId: '' }, id);
  }
}

/**
 * Reads a node and its subtree. Each node takes at least 2 bytes, so child counts larger than
 * half the remaining input are rejected before anything is allocated for them.
 */
export function readNode(r: Reader, depth: number, onNode?: (n: Node) => void): Node {
  const at = r.pos;
  if (depth > MAX_DEPTH) r.fail(`nesting deeper than ${MAX_DEPTH} levels`);
  const id = r.uv();
  const head = r.uv();
  const kind = head & 3;
  const mask = Math.floor(head / 8);
  const n = createNode(kind, id);
  readFields(r, n, mask, at);
  if (head & 4) {
    const count = r.count(2);
    if (count === 0) r.fail('empty child list flagged as present', at);
    const kids = n._children;
    for (let i = 0; i < count; i++) {
      const c = readNode(r, depth + 1, onNode);
      c._parent = n;
      kids.push(c);
    }
  }
  onNode?.(n);
  return n;
}

// ------------------------------------------------------------------ single nodes

const scratch = new Writer(4096);

/**
 * Encodes one node and its whole subtree (every child, whatever its `playerIds`; visibility is
 * applied by the {@link Squisher}, not here). Numbers are quantized to 0.01 plane units.
 * @throws {SquishEncodeError} for a non-finite number or nesting deeper than {@link MAX_DEPTH}.
 */
export function squish(node: Node): Uint8Array {
  const w = scratch.reset();
  w.u8(SQUISH_NODE_MAGIC);
  writeNode(w, node, VIEW_ALL, 1);
  return w.finish();
}

/**
 * Decodes bytes made by {@link squish} into a new node tree (real `Group`/`Shape`/`Text`/`Asset`
 * instances carrying the sender's ids; clickable nodes get a placeholder handler).
 * @throws {SquishDecodeError} on any input that is not exactly one encoded node; nothing else.
 */
export function unsquish(bytes: Uint8Array): Node {
  const r: Reader = new Reader(bytes);
  const v = r.u8();
  if (v !== SQUISH_NODE_MAGIC) r.fail(`not a squish v1 node (first byte ${v})`, 0);
  const n = readNode(r, 1);
  if (r.remaining !== 0) r.fail(`${r.remaining} trailing bytes after the node`);
  return n;
}

/** First byte of a standalone squished node: the codec version. */
export const SQUISH_NODE_MAGIC = 1;
