/**
 * Frame layout (squish v1), inside a protocol `frame` message:
 *
 * frame := u8 MessageType.FRAME · u8 kind (0 full, 1 delta) · uv seq · [root node if full] · op*
 * op    := uv (nodeId * 4 + code) · body
 *   code 0 PROPS      uv mask · field payloads (see codec.ts)
 *   code 1 CHILDREN   uv count · entry*   entry := uv (childId * 2)  → keep that existing node
 *                                                  | uv 1 · node         → a node sent inline (with its subtree)
 *   code 2 TRANSLATE  fq dx · fq dy  (hundredths) → moves a polygon/line's points, or the x/y of any other node
 *
 * Ops run in order after the root; a node dropped from every child list by the end of the frame is
 * gone. Because a frame is just a header followed by ops, the bytes every player shares and the
 * bytes private to one player can be sent back to back as one WebSocket message.
 */
import { Writer } from './bytes.js';
import { MessageType } from '../wire/protocol-types.js';

/** Frame kinds (second byte of a frame message). */
export const FrameKind = { FULL: 0, DELTA: 1 } as const;

/** Op codes (low two bits of an op word). */
export const OpCode = { PROPS: 0, CHILDREN: 1, TRANSLATE: 2 } as const;

/** Writes a frame message header. */
export function writeFrameHeader(w: Writer, full: boolean, seq: number): void {
  w.u8(MessageType.FRAME);
  w.u8(full ? FrameKind.FULL : FrameKind.DELTA);
  w.uv(seq);
}

/** Writes an op word. */
export function writeOp(w: Writer, id: number, code: number): void {
  w.uv(id * 4 + code);
}
