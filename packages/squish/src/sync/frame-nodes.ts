/**
 * What a frame message carries, node by node, read without applying it: for checks on the bytes
 * a recipient was sent (a test kit's privacy check, a bot's accounting), where the mirror's result
 * alone would hide a node that a frame carried and then dropped.
 */
import { Reader } from '../codec/bytes.js';
import { readFields, readNode } from '../codec/codec.js';
import { FrameKind, OpCode } from '../codec/frame.js';
import { createNode } from '../codec/generated/field-codec.js';
import type { Node } from '../scene/nodes.js';
import { MessageType } from '../wire/protocol-types.js';

/**
 * One node a frame message carries something of.
 * @example
 * const moved = frameNodes(bytes, mirror.nodes).filter((e: FrameNodeEntry) => e.op === 'translate');
 */
export interface FrameNodeEntry {
  /** The node's id. */
  id: number;
  /**
   * What of it: `'node'` — the whole node (a full frame's tree, or a child added by a delta);
   * `'props'` — new values of some of its fields; `'translate'` — a move; `'children'` — its
   * child list (ids of children it already had are references, not entries of their own).
   */
  op: 'node' | 'props' | 'translate' | 'children';
}

/**
 * Lists every node a `frame` message carries, in the order of its bytes, without changing
 * anything: nodes are decoded into scratch copies. `known` is the recipient's scene before this
 * frame (e.g. its `SceneMirror.nodes`), needed to read a delta's field updates; a full frame
 * ignores it.
 * @throws {SquishDecodeError} on bytes that are not a well-formed frame, or a delta naming a node
 *   neither `known` nor the frame itself has
 * @example
 * const carried = frameNodes(bytes, mirror.nodes); // before mirror.apply(bytes)
 * for (const { id, op } of carried) console.log(id, op);
 */
export function frameNodes(bytes: Uint8Array, known: ReadonlyMap<number, Node>): FrameNodeEntry[] {
  const out: FrameNodeEntry[] = [];
  const r: Reader = new Reader(bytes);
  const type = r.u8();
  if (type !== MessageType.FRAME) r.fail(`not a frame message (type ${type})`, 0);
  const kindAt = r.pos;
  const kind = r.u8();
  if (kind !== FrameKind.FULL && kind !== FrameKind.DELTA) r.fail(`bad frame kind ${kind}`, kindAt);
  r.uv(); // seq
  const added = new Map<number, Node>();
  const onNode = (n: Node): void => {
    added.set(n.id, n);
    out.push({ id: n.id, op: 'node' });
  };
  const full = kind === FrameKind.FULL;
  if (full) readNode(r, 1, onNode);
  while (r.remaining > 0) {
    const at = r.pos;
    const word = r.uv();
    const code = word % 4;
    const id = (word - code) / 4;
    const node = added.get(id) ?? (full ? undefined : known.get(id));
    if (!node) r.fail(`op on unknown node ${id}`, at);
    if (code === OpCode.PROPS) {
      readFields(r, createNode(node.kind, id), r.uv(), at);
      out.push({ id, op: 'props' });
    } else if (code === OpCode.TRANSLATE) {
      r.fq();
      r.fq();
      out.push({ id, op: 'translate' });
    } else if (code === OpCode.CHILDREN) {
      out.push({ id, op: 'children' });
      const count = r.count(1);
      for (let i = 0; i < count; i++) {
        const tagAt = r.pos;
        const tag = r.uv();
        if (tag === 1) readNode(r, 2, onNode);
        else if (tag % 2 !== 0) r.fail(`bad child entry ${tag}`, tagAt);
      }
    } else {
      r.fail(`unknown op code ${code}`, at);
    }
  }
  return out;
}
