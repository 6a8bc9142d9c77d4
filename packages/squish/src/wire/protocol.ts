/**
 * Binary layouts of every protocol message (protocol version 2). Each message starts with its
 * {@link MessageType} byte; numbers are varints, coordinates fixed-point hundredths, strings
 * UTF-8 with a varint length, times float64 ms. Decoders treat input as hostile and throw only
 * {@link SquishDecodeError}; trailing bytes are an error.
 */
import { Reader, Writer } from '../codec/bytes.js';
import { SquishEncodeError } from './errors.js';
import { ROOM_STATUSES } from './lifecycle.js';
import {
  type ClientMessage, type InputEvent, type JoinMessage, MessageType, type ServerMessage, type FrameMessage,
} from './protocol-types.js';

const INPUT_KINDS = ['keydown', 'keyup', 'pointerdown', 'pointermove', 'pointerup', 'click', 'gamepad', 'text'] as const;
const ASSET_TYPES = ['image', 'audio'] as const;
const STATUSES = ROOM_STATUSES;

const w = new Writer(1024);

/**
 * Encodes a server→client message other than `frame` (frames come from the {@link Squisher}).
 * @throws {SquishEncodeError} for a non-finite number.
 */
export function encodeServerMessage(msg: Exclude<ServerMessage, FrameMessage>): Uint8Array {
  w.reset();
  switch (msg.type) {
    case 'init':
      w.u8(MessageType.INIT);
      w.uv(msg.protocolVersion);
      w.uv(msg.squishVersion);
      w.uv(msg.playerId);
      w.u8(msg.spectator ? 1 : 0);
      w.fx(msg.aspectRatio.x);
      w.fx(msg.aspectRatio.y);
      w.fx(msg.tickRate);
      w.str(msg.reconnectToken);
      w.str(msg.roomId);
      w.str(msg.game);
      w.str(msg.title);
      break;
    case 'assets':
      w.u8(MessageType.ASSETS);
      w.uv(msg.assets.length);
      for (const a of msg.assets) {
        w.str(a.id);
        w.u8(ASSET_TYPES.indexOf(a.type) & 1);
        w.str(a.hash);
        w.str(a.url);
      }
      break;
    case 'redirect':
      w.u8(MessageType.REDIRECT);
      w.str(msg.url);
      w.str(msg.ticket);
      w.str(msg.reason);
      break;
    case 'error':
      w.u8(MessageType.ERROR);
      w.uv(msg.code);
      w.str(msg.message);
      break;
    case 'pong':
      w.u8(MessageType.PONG);
      w.f64(msg.clientTime);
      w.f64(msg.serverTime);
      break;
    case 'state': {
      const st = STATUSES.indexOf(msg.status);
      if (st < 0) throw new SquishEncodeError(`unknown room status ${msg.status}`);
      checkTurn(msg.turn);
      w.u8(MessageType.STATE);
      w.u8(st);
      w.uv(msg.turn);
      w.f64(msg.nextTurnAt ?? -1);
      w.str(msg.reason);
      break;
    }
    case 'orderResult':
      checkTurn(msg.turn);
      if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > 0xffffffff) throw new SquishEncodeError(`orderResult id ${msg.id} is not an integer in 0…2^32-1`);
      w.u8(MessageType.ORDER_RESULT);
      w.uv(msg.id);
      w.u8(msg.accepted ? 1 : 0);
      w.str(msg.code);
      w.str(msg.message);
      w.uv(msg.turn);
      break;
    default:
      throw new SquishEncodeError(`unknown server message type ${(msg as { type: string }).type}`);
  }
  return w.finish();
}

/**
 * Decodes a server→client message. A `frame` is returned with its header read and its whole
 * bytes, for {@link SceneMirror.apply}.
 * @throws {SquishDecodeError} on anything malformed.
 */
export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  const r: Reader = new Reader(bytes);
  const type = r.u8();
  let msg: ServerMessage;
  switch (type) {
    case MessageType.INIT:
      msg = {
        type: 'init', protocolVersion: r.uv(), squishVersion: r.uv(), playerId: r.uv(), spectator: readFlag(r),
        aspectRatio: { x: r.fx(), y: r.fx() }, tickRate: r.fx(), reconnectToken: r.str(), roomId: r.str(),
        game: r.str(), title: r.str(),
      };
      break;
    case MessageType.ASSETS: {
      const n = r.count(4);
      const assets = [];
      for (let i = 0; i < n; i++) {
        const id = r.str();
        const at = r.pos;
        const t = r.u8();
        if (t > 1) r.fail(`bad asset type ${t}`, at);
        assets.push({ id, type: ASSET_TYPES[t], hash: r.str(), url: r.str() });
      }
      msg = { type: 'assets', assets };
      break;
    }
    case MessageType.FRAME: {
      const at = r.pos;
      const kind = r.u8();
      if (kind > 1) r.fail(`bad frame kind ${kind}`, at);
      return { type: 'frame', full: kind === 0, seq: r.uv(), bytes };
    }
    case MessageType.REDIRECT:
      msg = { type: 'redirect', url: r.str(), ticket: r.str(), reason: r.str() };
      break;
    case MessageType.ERROR:
      msg = { type: 'error', code: r.uv(), message: r.str() };
      break;
    case MessageType.PONG:
      msg = { type: 'pong', clientTime: r.f64(), serverTime: r.f64() };
      break;
    case MessageType.STATE: {
      const at = r.pos;
      const st = r.u8();
      if (st >= STATUSES.length) r.fail(`bad room status ${st}`, at);
      const turn = r.uv();
      const next = r.f64();
      msg = { type: 'state', status: STATUSES[st], turn, nextTurnAt: next < 0 || !Number.isFinite(next) ? null : next, reason: r.str() };
      break;
    }
    case MessageType.ORDER_RESULT:
      msg = { type: 'orderResult', id: r.uv(), accepted: readFlag(r), code: r.str(), message: r.str(), turn: r.uv() };
      break;
    default:
      return r.fail(`unknown server message type ${type}`, 0);
  }
  if (r.remaining) r.fail(`${r.remaining} trailing bytes`);
  return msg;
}

/**
 * Encodes a client→server message.
 * @throws {SquishEncodeError} for a non-finite coordinate.
 */
export function encodeClientMessage(msg: ClientMessage): Uint8Array {
  w.reset();
  switch (msg.type) {
    case 'join':
      w.u8(MessageType.JOIN);
      w.uv(msg.protocolVersion);
      w.str(msg.game);
      w.str(msg.roomId);
      w.u8(msg.spectate ? 1 : 0);
      w.str(msg.reconnectToken);
      w.str(msg.ticket);
      w.str(msg.name);
      w.str(msg.clientInfo);
      if (msg.token) w.str(msg.token);
      break;
    case 'input':
      w.u8(MessageType.INPUT);
      writeInput(msg.event);
      break;
    case 'ping':
      w.u8(MessageType.PING);
      w.f64(msg.clientTime);
      break;
    case 'order':
      if (!Number.isInteger(msg.id) || msg.id < 1 || msg.id > 0xffffffff) throw new SquishEncodeError(`order id ${msg.id} is not an integer in 1…2^32-1`);
      w.u8(MessageType.ORDER);
      w.uv(msg.id);
      w.str(msg.order);
      break;
    default:
      throw new SquishEncodeError(`unknown client message type ${(msg as { type: string }).type}`);
  }
  return w.finish();
}

function writeInput(e: InputEvent): void {
  const k = INPUT_KINDS.indexOf(e.kind);
  if (k < 0) throw new SquishEncodeError(`unknown input kind ${e.kind}`);
  w.u8(k);
  switch (e.kind) {
    case 'keydown':
    case 'keyup':
      w.str(e.key);
      break;
    case 'pointerdown':
    case 'pointermove':
    case 'pointerup':
      w.fx(e.x);
      w.fx(e.y);
      break;
    case 'click':
      w.uv(e.nodeId);
      w.fx(e.x);
      w.fx(e.y);
      break;
    case 'gamepad':
      w.u8(e.index & 255);
      w.uv(e.buttons.length);
      for (const b of e.buttons) w.u8(Math.round(Math.max(0, Math.min(1, b)) * 255));
      w.uv(e.axes.length);
      for (const a of e.axes) w.fx(Math.max(-1, Math.min(1, a)));
      break;
    case 'text':
      w.str(e.text);
      break;
  }
}

/**
 * Decodes a client→server message.
 * @throws {SquishDecodeError} on anything malformed (the server closes that client with 4400).
 */
export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  const r: Reader = new Reader(bytes);
  const type = r.u8();
  let msg: ClientMessage;
  switch (type) {
    case MessageType.JOIN: {
      const join: JoinMessage = {
        type: 'join', protocolVersion: r.uv(), game: r.str(), roomId: r.str(), spectate: readFlag(r),
        reconnectToken: r.str(), ticket: r.str(), name: r.str(), clientInfo: r.str(),
      };
      // optional trailing identity token (absent in joins without one)
      if (r.remaining) join.token = r.str();
      msg = join;
      break;
    }
    case MessageType.INPUT:
      msg = { type: 'input', event: readInput(r) };
      break;
    case MessageType.PING:
      msg = { type: 'ping', clientTime: r.f64() };
      break;
    case MessageType.ORDER: {
      const at = r.pos;
      const id = r.uv();
      if (id < 1 || id > 0xffffffff) r.fail(`bad order id ${id}`, at);
      msg = { type: 'order', id, order: r.str() };
      break;
    }
    default:
      return r.fail(`unknown client message type ${type}`, 0);
  }
  if (r.remaining) r.fail(`${r.remaining} trailing bytes`);
  return msg;
}

/** A turn number is a non-negative safe integer (0 for a real-time game). */
function checkTurn(turn: number): void {
  if (!Number.isSafeInteger(turn) || turn < 0) throw new SquishEncodeError(`turn ${turn} is not a non-negative integer`);
}

function readFlag(r: Reader): boolean {
  const at = r.pos;
  const v = r.u8();
  if (v > 1) r.fail(`bad flag ${v}`, at);
  return v === 1;
}

function readInput(r: Reader): InputEvent {
  const at = r.pos;
  const k = r.u8();
  const kind = INPUT_KINDS[k];
  switch (kind) {
    case 'keydown':
    case 'keyup':
      return { kind, key: r.str() };
    case 'pointerdown':
    case 'pointermove':
    case 'pointerup':
      return { kind, x: r.fx(), y: r.fx() };
    case 'click':
      return { kind, nodeId: r.uv(), x: r.fx(), y: r.fx() };
    case 'gamepad': {
      const index = r.u8();
      const nb = r.count(1);
      const buttons: number[] = new Array(nb);
      for (let i = 0; i < nb; i++) buttons[i] = r.u8() / 255;
      const na = r.count(1);
      const axes: number[] = new Array(na);
      for (let i = 0; i < na; i++) axes[i] = r.fx();
      return { kind, index, buttons, axes };
    }
    case 'text':
      return { kind, text: r.str() };
    default:
      return r.fail(`unknown input kind ${k}`, at);
  }
}
