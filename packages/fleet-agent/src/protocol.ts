/**
 * The Parlor fleet wire protocol (agent ⇄ orchestrator), modelled on the Rivalis fleet protocol v3.
 *
 * Every frame is one msgpackr-encoded object `{ v: [major, minor], t: <type>, ... }`. The
 * orchestrator drives: `poll` → `state`, `cmd` → `ack` (correlation id). The agent speaks first
 * only with `hello` (once), `dirty` (a rate-limited nudge), since 1.1 `place` (a rate-limited
 * request to place a room, answered by `placed` with the same id) and, since 1.3, `roomEvent`
 * (a typed room event of its host, rate-limited, sent only to an orchestrator of minor ≥ 3). The agent key travels in
 * `Sec-WebSocket-Protocol` next to {@link FLEET_SUBPROTOCOL}, which is the only value echoed back.
 *
 * It lives here, with the agent; the orchestrator imports it from `@parlor/fleet-agent`, so both sides speak one definition.
 */
import type { ArtifactRef, OperationSource, RoomEvent, RoomState, RoomStatus } from '@parlor/squish';
import { Packr } from 'msgpackr';

/** Protocol major version: a different major is refused at `hello`. */
export const FLEET_PROTOCOL_MAJOR = 1;
/**
 * Protocol minor version: additive changes only. 1.1 added `place` / `placed`; 1.2 added catalog
 * rooms: `hello.squishVersions`, `cmd.artifact` (createRoom of a catalog version) and the rooms'
 * `version` / `sha256`; 1.3 added room lifecycle operations: the `roomOp` command (pause, resume,
 * restart, patch, turn; its ack carries the room's `state` and `version`), `roomEvent` frames
 * (agent → orchestrator) and the rooms' `status` / `turn`.
 */
export const FLEET_PROTOCOL_MINOR = 3;
/** The first minor version with `place` / `placed`: an agent sends `place` only to an orchestrator at least this new. */
export const FLEET_PLACE_MINOR = 1;
/**
 * The first minor version with `roomOp` and `roomEvent`: the orchestrator sends `roomOp` only to an
 * agent at least this new (an older one is refused before anything is sent), and an agent sends
 * `roomEvent` only to an orchestrator at least this new.
 */
export const FLEET_ROOM_OP_MINOR = 3;
/**
 * Bounds on `roomEvent` frames: an event's JSON is at most `eventBytes` UTF-8 bytes (the agent drops
 * a larger one with a warning); an agent sends at most `perSecond` events per second with bursts of
 * `burst` (it queues the rest, at most `queue` events, oldest dropped first with a warning, also
 * while disconnected); an orchestrator closes with `PROTOCOL` an agent over twice that rate.
 */
export const ROOM_EVENT_LIMITS = Object.freeze({ eventBytes: 16 * 1024, perSecond: 100, burst: 200, queue: 1000 });
/** The fixed sub-protocol the orchestrator echoes back (never the key). */
export const FLEET_SUBPROTOCOL = 'parlor-fleet.v1';
/** Prefix of the sub-protocol entry that carries the agent key (base64url of its UTF-8 bytes). */
export const FLEET_KEY_PREFIX = 'parlor-key.';
/** Path of the agent WebSocket on the orchestrator. */
export const FLEET_WS_PATH = '/v1/agent';
/** Largest frame accepted in either direction (bytes). */
export const FLEET_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * WebSocket close codes of the fleet protocol (agent ⇄ orchestrator): 4900–4949, squish's
 * `CLOSE_CODE_RANGES.fleet`, disjoint from the game protocol's 4400–4599 so a code names one thing.
 * What the agent does after each is in {@link FLEET_CLOSE_CODES}. Both peers use these names, never numbers.
 */
export const FleetCloseCode = {
  /** Protocol version not supported (hello refused). */
  VERSION: 4900,
  /** Unsolicited, duplicate, malformed or unknown frame. */
  PROTOCOL: 4901,
  /** Evicted after missed polls. */
  EVICTED: 4902,
  /** Another connection with the same processUid replaced this one. */
  REPLACED: 4903,
  /** Orchestrator shutting down. */
  SHUTDOWN: 4904,
  /** Agent closing on purpose (disconnect). */
  BYE: 4905,
  /**
   * Since 1.2: a live session of the same processUid is answering its polls, so this new one is
   * refused (a cloned processUid; the first connection is kept, nothing flaps). A reconnect is
   * accepted once the old session is gone or silent (it missed a poll).
   */
  DUPLICATE_PROCESS: 4906,
  /** The key this session authenticated with was removed from the orchestrator's accepted keys (a reload that revokes it). */
  KEY_REVOKED: 4910,
} as const;

/** One row of {@link FLEET_CLOSE_CODES}. */
export interface FleetCloseCodeInfo {
  /** The close code. */
  readonly code: number;
  /** Its {@link FleetCloseCode} key. */
  readonly name: keyof typeof FleetCloseCode;
  /** Who closes with it. */
  readonly sentBy: 'orchestrator' | 'agent' | 'both';
  /**
   * What the agent does after it: `'backoff'` reconnects with squish's `backoffDelay` (the agent
   * never gives up on its own; `disconnect()` stops it); `'none'` for its own closes.
   */
  readonly retry: 'backoff' | 'none';
  /** Short meaning. */
  readonly meaning: string;
}

/** Every {@link FleetCloseCode} with who sends it and the agent's retry policy (docs/ERRORS.md documents each). */
export const FLEET_CLOSE_CODES: readonly FleetCloseCodeInfo[] = Object.freeze(([
  { code: FleetCloseCode.VERSION, name: 'VERSION', sentBy: 'orchestrator', retry: 'backoff', meaning: 'protocol version not supported (logged as an error; an upgrade is needed)' },
  { code: FleetCloseCode.PROTOCOL, name: 'PROTOCOL', sentBy: 'both', retry: 'backoff', meaning: 'unsolicited, duplicate, malformed or unknown frame' },
  { code: FleetCloseCode.EVICTED, name: 'EVICTED', sentBy: 'orchestrator', retry: 'backoff', meaning: 'evicted after missed polls' },
  { code: FleetCloseCode.REPLACED, name: 'REPLACED', sentBy: 'orchestrator', retry: 'backoff', meaning: 'replaced by a newer connection of the same process' },
  { code: FleetCloseCode.SHUTDOWN, name: 'SHUTDOWN', sentBy: 'orchestrator', retry: 'backoff', meaning: 'orchestrator shutting down' },
  { code: FleetCloseCode.BYE, name: 'BYE', sentBy: 'agent', retry: 'none', meaning: 'the agent disconnected on purpose' },
  { code: FleetCloseCode.DUPLICATE_PROCESS, name: 'DUPLICATE_PROCESS', sentBy: 'orchestrator', retry: 'backoff', meaning: 'another live session has this processUid (logged as an error: two processes share one processUid)' },
  { code: FleetCloseCode.KEY_REVOKED, name: 'KEY_REVOKED', sentBy: 'orchestrator', retry: 'backoff', meaning: "the session's key was removed from the accepted keys (logged as an error: give the agent a current key)" },
] satisfies FleetCloseCodeInfo[]).map((r): FleetCloseCodeInfo => Object.freeze(r)));

/**
 * The `error.code` of a refused `ack` when the agent itself refuses a command. Wire values shared
 * with the orchestrator (which keeps `ROOM_EXISTS`, `ROOM_NOT_FOUND` and `INSTANCE_DRAINING` as its
 * own REST causes and reports the rest as `COMMAND_FAILED` with `agentCode`). When the host throws, the ack carries
 * the host error's own `code` unchanged (e.g. a server's `SERVER_ROOM_NOT_FOUND`), else `HOST_FAILED`.
 */
export const FleetAckCode = {
  /** A malformed command (e.g. an invalid roomId). */
  VALIDATION: 'VALIDATION',
  /** A create while the instance drains (without `force`). */
  INSTANCE_DRAINING: 'INSTANCE_DRAINING',
  /** A create for a room type this host does not serve. */
  UNKNOWN_ROOM_TYPE: 'UNKNOWN_ROOM_TYPE',
  /** A create for a roomId that already exists on this host (also when it appeared while the host was creating it). */
  ROOM_EXISTS: 'ROOM_EXISTS',
  /** `reserveSeats` for a room that is not live on this host (or that ended while the host was reserving). */
  ROOM_NOT_FOUND: 'ROOM_NOT_FOUND',
  /**
   * `reserveSeats` for more seats than the room has free (players + live tickets + count would
   * exceed its player cap); a host signals it by throwing an error with this `code`.
   */
  ROOM_FULL: 'ROOM_FULL',
  /** `reserveSeats` on a host that does not implement it. */
  UNSUPPORTED: 'UNSUPPORTED',
  /** An `op` this agent does not know. */
  UNKNOWN_COMMAND: 'UNKNOWN_COMMAND',
  /** The host threw an error without a string `code`. */
  HOST_FAILED: 'HOST_FAILED',
  /**
   * Since 1.2: the command's deadline (`cmd.expiresInMs` from `cmd.now`) had passed when the agent
   * read it (it sat in a socket buffer while the process was stopped or wedged): never run.
   */
  COMMAND_EXPIRED: 'COMMAND_EXPIRED',
  /** Since 1.2: the command belongs to another session than the agent's current one (`cmd.session` ≠ `welcome.session`): never run. */
  STALE_SESSION: 'STALE_SESSION',
  /** Since 1.3, `roomOp` patch: the version is not the same major.minor as the room's (semver patch only). */
  PATCH_SEMVER_INCOMPATIBLE: 'PATCH_SEMVER_INCOMPATIBLE',
  /** Since 1.3, `roomOp` turn: the room's game is not turn-based. */
  NOT_TURN_BASED: 'NOT_TURN_BASED',
  /** Since 1.3, `roomOp` patch: the room runs a game from source (a local folder), not a catalog version. */
  NOT_VERSIONED: 'NOT_VERSIONED',
  /** Since 1.3, `roomOp`: the room has finished (its game ended itself); only a stop (`destroyRoom`) remains. */
  ROOM_FINISHED: 'ROOM_FINISHED',
  /** Since 1.3, `roomOp` turn: the room is paused (resume it first). */
  ROOM_PAUSED: 'ROOM_PAUSED',
} as const;

/** One of {@link FleetAckCode}'s values. */
export type FleetAckCodeValue = (typeof FleetAckCode)[keyof typeof FleetAckCode];

/** Where a room came from: created by an orchestrator command, or locally (a player's first join). */
export type RoomProvenance = 'fleet' | 'local';

/** One room in an agent snapshot. */
export interface RoomSnapshot {
  /** Room id (the game server's room id): 1–64 of `A–Z a–z 0–9 _ -`. */
  roomId: string;
  /** Room type (= game name). */
  type: string;
  /** Connected or reconnecting clients (players + spectators). */
  clientCount: number;
  /** Free-form metadata (JSON-compatible, ≤ 4 KiB encoded). */
  metadata: Record<string, unknown>;
  /** Where the room came from. */
  provenance: RoomProvenance;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** Since 1.2: the catalog version the room runs (`1.2.0`); absent for a room of a local game folder. */
  version?: string;
  /** Since 1.2: sha256 of the catalog artifact the room runs; absent for a room of a local game folder. */
  sha256?: string;
  /** Since 1.3: the room's runtime status (absent from older agents and hosts that do not say). */
  status?: RoomStatus;
  /** Since 1.3: the turn whose orders are open (0 for a real-time game); absent when {@link RoomSnapshot.status} is. */
  turn?: number;
}

/** A full agent snapshot. */
export interface AgentSnapshot {
  /** `true` while the instance is draining (no new placements). */
  draining: boolean;
  /** Room types (game names) this instance can create. */
  roomTypes: string[];
  rooms: RoomSnapshot[];
  /**
   * Since 1.2: room ids whose `createRoom` is running on the host now (accepted, not finished).
   * With `rooms`, it lets the orchestrator learn the outcome of a create whose ack it never got.
   */
  creating?: string[];
}

/** Capacity an instance declares. */
export interface InstanceCapacity {
  /** Most concurrent clients (placement load denominator). */
  maxConnections: number;
  /** Most rooms; in-flight creates count against it. */
  maxRooms: number;
}

/** Agent → orchestrator, first frame. */
export interface HelloFrame {
  t: 'hello';
  processUid: string;
  name: string;
  endpointUrl: string;
  labels: Record<string, string>;
  capacity: InstanceCapacity;
  autoCreate: boolean;
  /**
   * Since 1.2: the squish (codec) versions the host can encode (`SUPPORTED_SQUISH_VERSIONS`);
   * catalog rooms are placed only where their game's `squishVersion` is listed. Absent from older
   * agents, which count as `[1]` and are not given catalog rooms (they cannot fetch artifacts).
   */
  squishVersions?: number[];
}
/** Orchestrator → agent, reply to `hello`. */
export interface WelcomeFrame {
  t: 'welcome';
  instanceId: string;
  pollMs: number;
  /** Since 1.2: this connection's epoch (unique per connection); the agent runs only commands carrying it. */
  session?: string;
  /** Since 1.2: the orchestrator's monotonic clock (ms) when sent (see {@link CmdFrame.expiresInMs}). */
  now?: number;
}
/** Orchestrator → agent: send your state (full if `hash` differs from yours or is `null`). */
export interface PollFrame {
  t: 'poll';
  seq: number;
  hash: string | null;
  /** Since 1.2: the orchestrator's monotonic clock (ms) when sent. */
  now?: number;
}
/** Agent → orchestrator: reply to `poll`. `snapshot` is absent when the hash matched. */
export interface StateFrame {
  t: 'state';
  seq: number;
  hash: string;
  snapshot?: AgentSnapshot;
}
/** Commands the orchestrator sends (`roomOp` since 1.3). */
export type CommandOp = 'createRoom' | 'destroyRoom' | 'drain' | 'undrain' | 'reserveSeats' | 'roomOp';
/**
 * The lifecycle operations a `roomOp` command carries (since 1.3): `pause` (ticks and turns stop,
 * players stay connected), `resume`, `restart` (the same version again, state restored), `patch`
 * (to `cmd.artifact`, a version of the same game within the same major.minor, state restored),
 * `turn` (generate the next turn now). Start and stop are `createRoom` and `destroyRoom`.
 */
export type FleetRoomOp = 'pause' | 'resume' | 'restart' | 'patch' | 'turn';
/** Every {@link FleetRoomOp}. */
export const FLEET_ROOM_OPS: readonly FleetRoomOp[] = Object.freeze(['pause', 'resume', 'restart', 'patch', 'turn'] as const);
/** Orchestrator → agent: a command. */
export interface CmdFrame {
  t: 'cmd';
  id: number;
  op: CommandOp;
  type?: string;
  roomId?: string;
  options?: Record<string, unknown>;
  /** `createRoom` on a draining instance (placement `force`). */
  force?: boolean;
  /** `reserveSeats`: how many tickets. */
  count?: number;
  /** `reserveSeats`: ticket lifetime (ms). */
  ttlMs?: number;
  /**
   * Since 1.2, `reserveSeats`: one user id per ticket (in order); ticket i then admits only the
   * signed-in player with that `userId` (others get close code 4403). Absent: anyone holding it.
   * An older agent ignores it (its tickets admit anyone).
   */
  userIds?: string[];
  /**
   * Since 1.2, `createRoom` of a catalog version: the resolved artifact the host fetches (verifying
   * its sha256) and runs; `type` is then its slug. Since 1.3, `roomOp` patch: the version to patch
   * the room to, fetched and loaded the same way first (its `slug` is the room's game).
   */
  artifact?: ArtifactRef;
  /** Since 1.3, `roomOp`: which lifecycle operation to run on `roomId`. */
  roomOp?: FleetRoomOp;
  /** Since 1.3, `roomOp` pause: why (shown to players; default the host's `'paused by admin'`-like text). At most 200 characters. */
  reason?: string;
  /** Since 1.3, `roomOp`: who asked (the operation log's source), for the host's events and logs. */
  source?: OperationSource;
  /** Since 1.2: the session ({@link WelcomeFrame.session}) the command belongs to. */
  session?: string;
  /** Since 1.2: the orchestrator's monotonic clock (ms) when sent. */
  now?: number;
  /**
   * Since 1.2: the command's deadline, ms after `now`. The agent maps the orchestrator's clock to
   * its own from every `now` it reads (offset = max over frames of `now − own monotonic time at
   * receipt`, which is never later than the true offset, so the estimate errs only by the fastest
   * one-way delay) and refuses a command read after its deadline with `COMMAND_EXPIRED`.
   */
  expiresInMs?: number;
}
/** Agent → orchestrator: a command's result. */
export interface AckFrame {
  t: 'ack';
  id: number;
  ok: boolean;
  error?: { code: string; message: string };
  room?: RoomSnapshot;
  /** `reserveSeats`: the single-use join tickets. */
  tickets?: string[];
  /** `reserveSeats`: when the tickets expire, ms since the epoch. */
  expiresAt?: number;
  /** Since 1.2, `destroyRoom`: the room was no longer on the host (it ended by itself first); still `ok`. */
  alreadyGone?: boolean;
  /** Since 1.3, an ok `roomOp`: the room's state after the operation. */
  state?: RoomState;
  /** Since 1.3, an ok `roomOp`: the version the room runs after it (`null`: a game served from source). */
  version?: string | null;
}
/** Agent → orchestrator: local state changed, poll me soon. */
export interface DirtyFrame {
  t: 'dirty';
}

/**
 * Agent → orchestrator (since 1.1): place a room of `type` by the orchestrator's normal placement
 * (default policy, no pin: it may land on another instance). `id` is the agent's correlation id
 * (a non-negative safe integer, unique among its unanswered `place` frames). Rate-limited per agent;
 * over the limit the reply is `placed` with cause `INSTANCE_BUSY` (not a kick).
 */
export interface PlaceFrame {
  t: 'place';
  id: number;
  /** Room type (game name). */
  type: string;
  /** Create-time options for the game (JSON-compatible, ≤ 32 KiB). */
  options?: Record<string, unknown>;
}
/** Where a `place` landed. */
export interface PlacedRoom {
  roomId: string;
  /** A URL a browser can open to join (`<endpointUrl>/play/<type>/<roomId>`). */
  joinUrl: string;
  /** The instance that runs the room (may be another one than the asker). */
  instanceId: string;
}
/** Orchestrator → agent (since 1.1): the answer to `place`, same `id`. */
export interface PlacedFrame {
  t: 'placed';
  id: number;
  ok: boolean;
  /** When `ok`. */
  room?: PlacedRoom;
  /** When not `ok`: a REST cause (`VALIDATION`, `NO_CANDIDATE`, `INSTANCE_BUSY`, `COMMAND_TIMEOUT`…). */
  cause?: string;
  /** When not `ok`: a human-readable reason. */
  message?: string;
}

/**
 * Agent → orchestrator (since 1.3): a typed event of the host (`server.events` `'room'`): a room
 * created or ended (with its result), a player joined or left, a turn ready, a room paused,
 * resumed or restored, an operation the host finished by itself. Sent in the order the host emitted
 * them, only to an orchestrator of minor ≥ {@link FLEET_ROOM_OP_MINOR}, within {@link ROOM_EVENT_LIMITS}.
 */
export interface RoomEventFrame {
  t: 'roomEvent';
  event: RoomEvent;
}

/** Any fleet frame (without the version header). */
export type FleetFrame = HelloFrame | WelcomeFrame | PollFrame | StateFrame | CmdFrame | AckFrame | DirtyFrame | PlaceFrame | PlacedFrame | RoomEventFrame;

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Encodes a frame with the `[major, minor]` header. */
export function encodeFrame(frame: FleetFrame): Buffer {
  return packr.pack({ v: [FLEET_PROTOCOL_MAJOR, FLEET_PROTOCOL_MINOR], ...frame });
}

/** A decoded frame and its header. */
export interface DecodedFrame {
  major: number;
  minor: number;
  frame: FleetFrame;
}

/** Decodes a frame; returns `null` for anything that is not an object with a valid header and a string `t`. */
export function decodeFrame(data: Uint8Array): DecodedFrame | null {
  let obj: unknown;
  try {
    obj = packr.unpack(data);
  } catch {
    return null;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const o = obj as Record<string, unknown>;
  const v = o.v;
  if (!Array.isArray(v) || v.length !== 2 || !Number.isInteger(v[0]) || !Number.isInteger(v[1])) return null;
  if (typeof o.t !== 'string') return null;
  return { major: v[0] as number, minor: v[1] as number, frame: o as unknown as FleetFrame };
}

/** The sub-protocol list an agent offers: the sentinel and its key. */
export function agentSubprotocols(key: string): string[] {
  return [FLEET_SUBPROTOCOL, FLEET_KEY_PREFIX + Buffer.from(key, 'utf8').toString('base64url')];
}
