import { FrameKind, MessageType } from '@parlor/squish';
import { sanitizeResult } from '../../engine/durable.js';
import {
  ENGINE_MESSAGE_LIMITS,
  type EndedMessage,
  type EngineToHostMessage,
  type FramesMessage,
  type OrderResultEngineMessage,
  type SavedMessage,
  type TurnResultMessage,
} from '../../engine/messages.js';

/**
 * What crosses from a sandbox, checked: every message a sandboxed engine sends is hostile input.
 * These pure functions type-check it before use (never a `String()`, template literal or getter
 * on an unchecked value), apply the caps of {@link ENGINE_MESSAGE_LIMITS}, and let only squish
 * frames through. The supervisor (supervisor.ts) ends a room on the first violation.
 */

/** A finite number. */
export function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** An object that is not an array or bytes (a msgpack map). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** A string field: truncated to `max` characters; `null` (a violation) when it is not a string. */
export function str(v: unknown, max: number, dflt?: string): string | null {
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'string') return null;
  return v.length > max ? v.slice(0, max) : v;
}

/** A protocol violation: the reason the room ends. */
export interface ChannelViolation {
  violation: string;
}

/**
 * Reads the varint at `b[at..]` (squish `uv`); -1 when it is malformed or runs past the end.
 * Header-sized values only (≤ 2^53).
 */
function readUv(b: Uint8Array, at: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (at + i >= b.length) return -1;
    const byte = b[at + i];
    v += (byte & 127) * mul;
    if (byte < 128) return v;
    mul *= 128;
  }
  return -1;
}

/**
 * Whether `part` starts a squish frame message of sequence `seq`: message type byte
 * `MessageType.FRAME`, frame kind `FrameKind.FULL` or `DELTA`, then the varint `seq`. A cheap header
 * parse: the ops after it are decoded by the clients (whose decoder treats them as hostile); what
 * matters here is that the host never forwards any other protocol message (e.g. a `redirect`)
 * built by a game.
 */
export function isFrameHead(part: Uint8Array, seq: number): boolean {
  return part.length >= 3 && part[0] === MessageType.FRAME && (part[1] === FrameKind.FULL || part[1] === FrameKind.DELTA) && readUv(part, 2) === seq;
}

/**
 * Validates a `frames` message from an untrusted engine: shapes and types, caps
 * ({@link ENGINE_MESSAGE_LIMITS}), indices in range, at most `maxMessageBytes` per recipient,
 * the head part of every recipient's message a squish frame header ({@link isFrameHead}), and a
 * boolean `full` mark per recipient.
 */
function checkFrames(msg: Record<string, unknown>, maxMessageBytes: number): FramesMessage | ChannelViolation {
  const { seq, parts, sends, tickMs } = msg;
  const L = ENGINE_MESSAGE_LIMITS;
  if (!isNum(seq) || !Number.isSafeInteger(seq) || seq < 0 || !isNum(tickMs) || !Array.isArray(parts) || !Array.isArray(sends)) {
    return { violation: 'malformed frames message' };
  }
  if (parts.length > L.partsPerTick) return { violation: `a frames message with ${parts.length} parts (limit ${L.partsPerTick})` };
  if (sends.length > L.sendsPerTick) return { violation: `a frames message with ${sends.length} recipients (limit ${L.sendsPerTick})` };
  for (let i = 0; i < parts.length; i++) {
    const p: unknown = parts[i];
    if (!(p instanceof Uint8Array) || p.byteLength === 0) return { violation: 'a frame part that is not a non-empty byte array' };
  }
  const ps = parts as Uint8Array[];
  for (let j = 0; j < sends.length; j++) {
    const s: unknown = sends[j];
    if (!isPlainObject(s)) return { violation: 'malformed frame recipient' };
    const pid = s.playerId;
    const idx = s.parts;
    if (!isNum(pid) || !Number.isSafeInteger(pid) || pid <= 0 || !Array.isArray(idx)) return { violation: 'malformed frame recipient' };
    if (idx.length === 0 || idx.length > L.partsPerSend) return { violation: `a frame of ${idx.length} parts for one recipient (limit ${L.partsPerSend})` };
    let bytes = 0;
    for (let k = 0; k < idx.length; k++) {
      const i: unknown = idx[k];
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= ps.length) return { violation: 'a frame part index out of range' };
      bytes += ps[i].byteLength;
    }
    if (bytes > maxMessageBytes) return { violation: `the game sent a frame too large (${bytes} bytes for one recipient, limit ${maxMessageBytes})` };
    if (!isFrameHead(ps[idx[0] as number], seq)) return { violation: 'a frame part that is not a squish frame (the host forwards frames only)' };
    // The full/delta mark decides only whether fan-out forwards this frame to a member waiting
    // for a full one; a lie can only break this room's own players' pictures. Its type is checked.
    if (typeof s.full !== 'boolean') return { violation: 'a frame recipient without a boolean full mark' };
  }
  return { type: 'frames', seq, tickMs: tickMs < 0 ? 0 : tickMs, parts: ps, sends: sends as FramesMessage['sends'] };
}

/**
 * Validates one message from an untrusted room process: the heartbeat `'hb'`, a checked
 * {@link EngineToHostMessage} (built afresh, string fields truncated to their caps), or a
 * {@link ChannelViolation} saying what is wrong. Never throws, never calls a getter, `String()`
 * or `toString` on the input.
 * @param maxMessageBytes largest message one recipient may get (bytes)
 */
export function checkEngineMessage(m: unknown, maxMessageBytes: number): EngineToHostMessage | 'hb' | ChannelViolation {
  if (!isPlainObject(m)) return { violation: 'a channel message that is not an object' };
  switch (m.type) {
    case 'hb':
      return 'hb';
    case 'stopped':
      return { type: 'stopped' };
    case 'error': {
      const L = ENGINE_MESSAGE_LIMITS;
      const where = str(m.where, L.whereChars, '');
      const message = str(m.message, L.messageChars, '');
      const stack = str(m.stack, L.stackChars, '');
      if (where === null || message === null || stack === null || (m.fatal !== undefined && typeof m.fatal !== 'boolean')) {
        return { violation: 'malformed error message (where, message and stack must be strings)' };
      }
      return { type: 'error', where, message, stack, fatal: m.fatal === true };
    }
    case 'frames':
      return checkFrames(m, maxMessageBytes);
    case 'orderResult':
      return checkOrderResult(m);
    case 'turnResult':
      return checkTurnResult(m);
    case 'saved':
      return checkSaved(m);
    case 'ended':
      return checkEnded(m);
    case 'turnRequest':
      return { type: 'turnRequest' };
    default:
      return { violation: 'unknown message type' };
  }
}


/** A non-negative safe integer (turns, ids, player ids). */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * A snapshot field: `null`, or JSON text of at most `ENGINE_MESSAGE_LIMITS.snapshotBytes` UTF-8
 * bytes (the host stores it and later hands it to the game's `restore`, so it must parse). An
 * over-cap or non-JSON snapshot is a violation: the engine's own `save` path never sends one.
 */
function snapshotField(v: unknown): string | null | ChannelViolation {
  if (v === null) return null;
  if (typeof v !== 'string') return { violation: 'a snapshot that is not a string or null' };
  const L = ENGINE_MESSAGE_LIMITS;
  // Cheap bound first: a UTF-16 length over the cap is over it in UTF-8 too.
  if (v.length > L.snapshotBytes || Buffer.byteLength(v, 'utf8') > L.snapshotBytes) {
    return { violation: `a snapshot over ${L.snapshotBytes} bytes` };
  }
  try {
    JSON.parse(v);
  } catch {
    return { violation: 'a snapshot that is not JSON' };
  }
  return v;
}

/** `orderResult`: ids, `accepted` with a snapshot (required) or refused without one; code and message cut to `orderMessageChars`. */
function checkOrderResult(m: Record<string, unknown>): OrderResultEngineMessage | ChannelViolation {
  const L = ENGINE_MESSAGE_LIMITS;
  const { playerId, id, accepted, turn } = m;
  if (!isCount(playerId) || playerId === 0 || !isCount(id) || id > 0xffffffff || typeof accepted !== 'boolean' || !isCount(turn)) {
    return { violation: 'malformed orderResult message' };
  }
  const code = str(m.code, L.orderMessageChars);
  const message = str(m.message, L.orderMessageChars);
  if (code === null || message === null) return { violation: 'malformed orderResult message (code and message must be strings)' };
  const snapshot = snapshotField(m.snapshot);
  if (snapshot !== null && typeof snapshot !== 'string') return snapshot;
  if (accepted && snapshot === null) return { violation: 'an accepted order without the snapshot after it' };
  if (!accepted && code === '') return { violation: 'a refused order without a code' };
  return accepted
    ? { type: 'orderResult', playerId, id, accepted, code: '', message: '', turn, snapshot }
    : { type: 'orderResult', playerId, id, accepted, code, message, turn, snapshot: null };
}

/** `turnResult`: `ok` with a snapshot (required), or not with the error's message and stack (truncated). */
function checkTurnResult(m: Record<string, unknown>): TurnResultMessage | ChannelViolation {
  const L = ENGINE_MESSAGE_LIMITS;
  const { turn, ok } = m;
  if (!isCount(turn) || typeof ok !== 'boolean') return { violation: 'malformed turnResult message' };
  const message = str(m.message, L.messageChars, '');
  const stack = str(m.stack, L.stackChars, '');
  if (message === null || stack === null) return { violation: 'malformed turnResult message (message and stack must be strings)' };
  const snapshot = snapshotField(m.snapshot);
  if (snapshot !== null && typeof snapshot !== 'string') return snapshot;
  if (ok && snapshot === null) return { violation: 'a generated turn without the snapshot after it' };
  return ok ? { type: 'turnResult', turn, ok, snapshot, message: '', stack: '' } : { type: 'turnResult', turn, ok, snapshot: null, message, stack };
}

/** `saved`: a snapshot, or `null` with an error line (truncated). */
function checkSaved(m: Record<string, unknown>): SavedMessage | ChannelViolation {
  const { id } = m;
  if (!isCount(id)) return { violation: 'malformed saved message' };
  const error = str(m.error, ENGINE_MESSAGE_LIMITS.messageChars, '');
  if (error === null) return { violation: 'malformed saved message (error must be a string)' };
  const snapshot = snapshotField(m.snapshot);
  if (snapshot !== null && typeof snapshot !== 'string') return snapshot;
  if (snapshot === null && error === '') return { violation: 'a saved message with neither a snapshot nor an error' };
  return snapshot !== null ? { type: 'saved', id, snapshot, error: '' } : { type: 'saved', id, snapshot: null, error };
}

/** `ended`: the result rebuilt with the engine's own bounds (`sanitizeResult`). */
function checkEnded(m: Record<string, unknown>): EndedMessage | ChannelViolation {
  if (!isPlainObject(m.result)) return { violation: 'malformed ended message' };
  return { type: 'ended', result: sanitizeResult(m.result) };
}
