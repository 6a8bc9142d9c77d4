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
import { MAX_DEPTH, SquishEncodeError } from '../wire/errors.js';
import { Reader, Writer } from './bytes.js';
import type { Node } from '../scene/nodes.js';
import { createNode, fullMask, readFields, writeFields } from './generated/field-codec.js';
import { rethrowWithNode } from './encode-context.js';

// The per-field half of the codec is generated from the field table (codegen/fields.mjs).
export { KIND_FIELDS } from '../scene/generated/field-bits.js';
export { readFields, writeFields } from './generated/field-codec.js';
export { quantizeFixed, quantizePoints } from './values.js';

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

// ------------------------------------------------------------------ encode

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
  try {
    writeFields(w, n, mask);
  } catch (err) {
    rethrowWithNode(err, n, mask);
  }
  if (count > 0) {
    w.uv(count);
    for (let i = 0; i < kids.length; i++) {
      const c = kids[i];
      if (filter(n, c, viewer)) writeNode(w, c, viewer, depth + 1, restricted, filter);
    }
  }
}

// ------------------------------------------------------------------ decode

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
