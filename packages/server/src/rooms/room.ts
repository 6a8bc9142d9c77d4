/**
 * One room: its members, their reconnect tokens and grace timers,
 * and the channel to its engine, with the engine's messages (frames, errors, stop) handled in
 * the room's own lifecycle. About 430 lines because the engine-message handling belongs to the
 * same owner (the room's state); fan-out and backpressure are in `fanout.ts`.
 */
import { randomBytes } from 'node:crypto';
import {
  CloseCode,
  PROTOCOL_VERSION,
  encodeServerMessage,
  type ErrorMessage,
  type InputEvent,
  type PlayerId,
  type PlayerIdentity,
  type RedirectMessage,
} from '@parlor/squish';
import { WebSocket } from 'ws';
import { reportRoomError, roomDiagnostic } from '../dev/diagnostics.js';
import { codeFrame, formatLocation, mapStack } from '../dev/locate.js';
import type { DevStatus } from '../dev/status.js';
import type { EngineErrorMessage, EngineToHostMessage } from '../engine/messages.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomChannel, RoomRuntime } from '../runtime/runtime.js';
import { Fanout, freshDelivery, type Recipient } from './fanout.js';

/** How long `dispose` waits for the engine's `stopped` before terminating it (ms). */
const STOP_TIMEOUT_MS = 2000;
/** Game error lines logged per room per second before the rest are summarised. */
const ERROR_LINES_PER_SECOND = 5;

/** A live room as listed in the lobby and `/parlor/api/rooms`. */
export interface RoomInfo {
  id: string;
  /** Game route name. */
  game: string;
  /** Game display title. */
  title: string;
  /** Players, including those within their reconnect grace period. */
  players: number;
  /** Players connected right now. */
  connectedPlayers: number;
  spectators: number;
  maxPlayers: number;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** The catalog version the room runs (`1.2.0`); absent for a game served from source. */
  version?: string;
  /** The sha256 of that version's artifact; absent for a game served from source. */
  sha256?: string;
}

/** What a {@link Room} needs from the server: settings and shared services, no state of the server's. */
export interface RoomHost {
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly runtime: RoomRuntime;
  readonly reconnectGraceMs: number;
  readonly backpressureBytes: number;
  readonly maxConsecutiveErrors: number;
  /** `parlor dev`'s status: game errors are reported to it (kind `room`) as well as logged. */
  readonly devStatus?: DevStatus;
}

/**
 * Who is told when members and the room end (the room registry, which keeps the reconnect
 * tokens). Notifications only: the room never reads the listener's state.
 */
export interface RoomListener {
  /** A member left for good (grace period over, or the room ended): its reconnect token is void. */
  memberGone(room: Room, member: Member): void;
  /** Called once when the room is gone (empty, failed, reloaded or server closing). */
  disposed(room: Room): void;
}

/** A player or spectator of a room, connected or within its reconnect grace period. */
export interface Member extends Recipient {
  readonly spectator: boolean;
  readonly name: string;
  /** The signed-in player's user id (verified at join; kept across reconnects); `undefined` when anonymous. */
  readonly userId?: string;
  /** The signed-in player's roles; empty when anonymous. */
  readonly roles: readonly string[];
  /** @internal secret: never logged */
  readonly token: string;
  graceTimer: ReturnType<typeof setTimeout> | null;
}

/** Why a room ends and what its clients are told. */
export interface DisposeReason {
  /** WebSocket close code for connected clients. */
  code: number;
  /** Close reason text (≤ 123 bytes). */
  reason: string;
  /** A message sent to every connected client before closing (`error` or `redirect`). */
  message?: ErrorMessage | RedirectMessage;
}

/**
 * A live room (a room) as the host sees it: its members (players and spectators) with their
 * sockets, reconnect tokens and grace timers, and the runtime channel to its engine. Each tick's
 * frames go out through its {@link Fanout} (backpressure, full frames: see `fanout.ts`). It
 * disposes itself when nobody is left. It knows nothing of other rooms: the registry
 * (`registry.ts`) indexes rooms and tokens and hears from it through a {@link RoomListener}.
 */
export class Room {
  readonly createdAt = Date.now();
  private readonly members = new Map<PlayerId, Member>();
  private nextPlayerId = 1;
  private readonly engine: RoomChannel;
  private disposed = false;
  private disposing: Promise<void> | null = null;
  private stoppedResolve: (() => void) | null = null;
  private engineStopped = false;
  private errorWindowStart = 0;
  private errorLinesInWindow = 0;
  private suppressedErrors = 0;
  private readonly fanout: Fanout;
  /** End the engine at once, without asking it to stop (it misbehaved). */
  private killEngine = false;
  /** This room's logger: a child of the host's carrying `game` and `room`. */
  private readonly log: Logger;

  /**
   * Starts the engine through the host's runtime.
   * @throws whatever the runtime throws when it cannot start an engine.
   */
  constructor(
    readonly id: string,
    readonly game: LoadedGame,
    private readonly host: RoomHost,
    private readonly listener: RoomListener,
    /** Create-time options handed to the game's constructor (e.g. from a fleet `createRoom`); default `{}`. */
    readonly options: Record<string, unknown> = {},
  ) {
    this.log = host.logger.child({ game: game.name, room: id });
    this.engine = host.runtime.start({
      roomId: id,
      game: game.name,
      gameClass: game.gameClass,
      bundle: game.bundle ?? undefined,
      maxConsecutiveErrors: host.maxConsecutiveErrors,
      options,
      baseDir: game.baseDir,
      logger: this.log,
      tickRate: game.metadata.tickRate,
    });
    this.fanout = new Fanout({
      metrics: host.metrics,
      logger: host.logger,
      backpressureBytes: host.backpressureBytes,
      logFields: { game: game.name, room: id },
      requestFull: (playerId) => this.engine.send({ type: 'resync', playerId }),
    });
    this.engine.onMessage((msg) => {
      // Last resort: whatever throws while handling this room's engine ends this room only.
      try {
        this.onEngineMessage(msg);
      } catch (err) {
        this.log.error({ error: err instanceof Error ? err.message : 'unknown' }, 'room host error');
        this.fail('the server could not handle the game\u2019s output');
      }
    });
    this.log.info({ runtime: host.runtime.name }, 'room created');
  }

  /** Whether the room has ended. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Players (not spectators), including those within their grace period. */
  get playerCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (!m.spectator) n++;
    return n;
  }

  /** Players connected now. */
  get connectedPlayerCount(): number {
    let n = 0;
    for (const m of this.members.values()) if (!m.spectator && m.socket) n++;
    return n;
  }

  /** Spectators, including those within their grace period. */
  get spectatorCount(): number {
    return this.members.size - this.playerCount;
  }

  /** Whether another player may join (players < `maxPlayers`). */
  get isOpen(): boolean {
    return !this.disposed && this.playerCount < this.game.metadata.maxPlayers;
  }

  /** A summary for the lobby and `/parlor/api/rooms`. */
  info(): RoomInfo {
    return {
      id: this.id,
      game: this.game.name,
      title: this.game.metadata.name,
      players: this.playerCount,
      connectedPlayers: this.connectedPlayerCount,
      spectators: this.spectatorCount,
      maxPlayers: this.game.metadata.maxPlayers,
      createdAt: this.createdAt,
      ...(this.game.version !== undefined ? { version: this.game.version, sha256: this.game.sha256 } : {}),
    };
  }

  /** The member holding a reconnect token, if any (the registry finds the room by token). */
  memberByToken(token: string): Member | undefined {
    for (const m of this.members.values()) if (m.token === token) return m;
    return undefined;
  }

  /**
   * Adds a new player (or spectator) on a socket: assigns a player id and a reconnect token
   * (128 random bits, base64url), sends `init` and `assets`, and tells the engine (with the
   * player's verified `identity`, if signed in).
   */
  join(ws: WebSocket, name: string, spectator: boolean, identity: PlayerIdentity | null = null): Member {
    const playerId = this.nextPlayerId++;
    const member: Member = {
      playerId,
      spectator,
      name: name || (spectator ? `Spectator ${playerId}` : `Player ${playerId}`),
      ...(identity ? { userId: identity.userId } : {}),
      roles: identity ? [...identity.roles] : [],
      token: randomBytes(16).toString('base64url'),
      socket: null,
      graceTimer: null,
      ...freshDelivery(),
    };
    this.members.set(playerId, member);
    this.attach(member, ws);
    this.engine.send({ type: 'join', playerId, name: member.name, spectator, ...(identity ? { userId: identity.userId, roles: [...identity.roles] } : {}) });
    this.log.info(
      { player: playerId, spectator, players: this.playerCount, spectators: this.spectatorCount },
      spectator ? 'spectator joined' : 'player joined',
    );
    return member;
  }

  /**
   * Re-attaches a member within its grace period to a new socket (a reconnect): an older socket
   * still open is closed with 4411 (replaced); `init` and `assets` are sent again and the engine
   * is asked for a full frame.
   */
  reattach(member: Member, ws: WebSocket): void {
    if (member.graceTimer) clearTimeout(member.graceTimer);
    member.graceTimer = null;
    const old = member.socket;
    member.socket = null;
    if (old && old !== ws && old.readyState === WebSocket.OPEN) {
      this.sendMessage(old, { type: 'error', code: CloseCode.REPLACED, message: 'replaced by a newer connection' });
      old.close(CloseCode.REPLACED, 'replaced by a newer connection');
    }
    this.attach(member, ws);
    this.fanout.reconnected(member);
    this.log.info({ player: member.playerId, spectator: member.spectator }, member.spectator ? 'spectator reconnected' : 'player reconnected');
  }

  /**
   * A member's socket closed: the member stays (same id, seat kept) for the reconnect grace
   * period, then leaves for good (the game's `onPlayerLeave` runs then).
   */
  detach(member: Member, ws: WebSocket): void {
    if (member.socket !== ws || this.disposed) return;
    member.socket = null;
    if (member.graceTimer) clearTimeout(member.graceTimer);
    member.graceTimer = setTimeout(() => this.remove(member, 'grace period over'), this.host.reconnectGraceMs);
    member.graceTimer.unref?.();
    this.log.info(
      { player: member.playerId, spectator: member.spectator, graceMs: this.host.reconnectGraceMs },
      member.spectator ? 'spectator disconnected' : 'player disconnected',
    );
  }

  /** Routes a member's input event to the engine (spectators' input is dropped). */
  input(member: Member, event: InputEvent): void {
    if (member.spectator || this.disposed) return;
    this.engine.send({ type: 'input', playerId: member.playerId, event });
  }

  /** Answers a `ping`. */
  pong(member: Member, clientTime: number): void {
    if (member.socket) this.sendMessage(member.socket, { type: 'pong', clientTime, serverTime: Date.now() });
  }

  /**
   * Ends the room: sends `reason.message` (if any) to connected clients and closes them with
   * `reason.code`, invalidates every reconnect token, stops the engine (waiting up to 2 s for it)
   * and terminates it. Idempotent.
   */
  dispose(reason: DisposeReason): Promise<void> {
    if (this.disposing) return this.disposing;
    this.disposed = true;
    for (const m of this.members.values()) {
      if (m.graceTimer) clearTimeout(m.graceTimer);
      m.graceTimer = null;
      this.listener.memberGone(this, m);
      const ws = m.socket;
      m.socket = null;
      if (ws && ws.readyState === WebSocket.OPEN) {
        if (reason.message) this.sendMessage(ws, reason.message);
        ws.close(reason.code, reason.reason);
      }
    }
    this.members.clear();
    this.log.info({ reason: reason.reason }, 'room disposed');
    this.listener.disposed(this);
    this.disposing = this.stopEngine();
    return this.disposing;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Ends the room because its engine misbehaved (a frame that breaks the host's rules, an
   * exception on the host in this room's path): players get 4500 with `why`, the engine is
   * terminated without waiting for it. Logged once.
   */
  private fail(why: string): void {
    if (this.disposed) return;
    this.killEngine = true;
    this.log.error({ reason: why }, 'room ended');
    void this.dispose({
      code: CloseCode.ROOM_FAILED,
      reason: 'game failed',
      message: { type: 'error', code: CloseCode.ROOM_FAILED, message: `The game failed and the room ended: ${truncate(why, 200)}` },
    }).catch(() => {});
  }

  private async stopEngine(): Promise<void> {
    if (!this.engineStopped && !this.killEngine) {
      const stopped = new Promise<void>((resolve) => {
        this.stoppedResolve = resolve;
      });
      this.engine.send({ type: 'stop' });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        timer.unref?.();
      });
      await Promise.race([stopped, timeout]);
      clearTimeout(timer);
    }
    await this.engine.terminate();
  }

  private attach(member: Member, ws: WebSocket): void {
    member.socket = ws;
    const meta = this.game.metadata;
    this.sendMessage(ws, {
      type: 'init',
      protocolVersion: PROTOCOL_VERSION,
      squishVersion: meta.squishVersion,
      playerId: member.playerId,
      spectator: member.spectator,
      aspectRatio: meta.aspectRatio,
      tickRate: meta.tickRate,
      reconnectToken: member.token,
      roomId: this.id,
      game: this.game.name,
      title: meta.name,
    });
    this.sendMessage(ws, {
      type: 'assets',
      assets: this.game.assets.map((a) => ({ id: a.id, type: a.type, hash: a.hash, url: a.url })),
    });
  }

  private remove(member: Member, why: string): void {
    if (this.members.get(member.playerId) !== member) return;
    if (member.graceTimer) clearTimeout(member.graceTimer);
    member.graceTimer = null;
    this.members.delete(member.playerId);
    this.listener.memberGone(this, member);
    this.engine.send({ type: 'leave', playerId: member.playerId });
    this.log.info({ player: member.playerId, spectator: member.spectator, why }, member.spectator ? 'spectator left' : 'player left');
    if (this.members.size === 0) void this.dispose({ code: CloseCode.NORMAL, reason: 'room empty' });
  }

  private sendMessage(ws: WebSocket, msg: Parameters<typeof encodeServerMessage>[0]): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeServerMessage(msg), { binary: true });
  }

  private onEngineMessage(msg: EngineToHostMessage): void {
    switch (msg.type) {
      case 'frames':
        if (!this.disposed) {
          const violation = this.fanout.deliver(msg, this.members, this.nextPlayerId - 1);
          if (violation) this.fail(violation);
        }
        return;
      case 'error':
        this.onEngineError(msg);
        return;
      case 'stopped':
        this.engineStopped = true;
        this.stoppedResolve?.();
        if (!this.disposed) {
          void this.dispose({
            code: CloseCode.ROOM_FAILED,
            reason: 'room engine stopped',
            message: { type: 'error', code: CloseCode.ROOM_FAILED, message: 'The game room stopped.' },
          });
        }
        return;
    }
  }

  private onEngineError(msg: EngineErrorMessage): void {
    const log = this.log;
    const fields = { where: text(msg.where), fatal: msg.fatal === true, error: oneLine(text(msg.message)) };
    if (msg.fatal) {
      this.logGameError(fields, text(msg.stack));
      void this.dispose({
        code: CloseCode.ROOM_FAILED,
        reason: 'game failed',
        message: { type: 'error', code: CloseCode.ROOM_FAILED, message: `The game failed and the room ended: ${truncate(text(msg.message), 200)}` },
      });
      return;
    }
    // Throttle: a game throwing on every tick or pointer move must not flood the log.
    const now = Date.now();
    if (now - this.errorWindowStart >= 1000) {
      if (this.suppressedErrors > 0) {
        log.error({ count: this.suppressedErrors }, 'game errors suppressed');
      }
      this.errorWindowStart = now;
      this.errorLinesInWindow = 0;
      this.suppressedErrors = 0;
    }
    if (this.errorLinesInWindow < ERROR_LINES_PER_SECOND) {
      this.errorLinesInWindow++;
      this.logGameError(fields, text(msg.stack));
    } else {
      this.suppressedErrors++;
    }
  }

  /**
   * Logs a game error at the author's line: `at` (file:line:column, the stack mapped through the
   * bundle's source map on this host) and `frame` (the source lines around it), the mapped stack
   * at debug; with a dev status, reports it there (`parlor dev` prints it with its frame).
   */
  private logGameError(fields: { where: string; fatal: boolean; error: string }, rawStack: string): void {
    const { stack, at } = mapStack(rawStack, this.game.bundle);
    const frame = at ? codeFrame(at) : undefined;
    const dev = this.host.devStatus;
    this.log.error({ ...fields, ...(at ? { at: formatLocation(at) } : {}), ...(frame && !dev ? { frame } : {}) }, 'game error');
    if (stack) this.log.debug({ stack: oneLine(stack) }, 'game error stack');
    if (dev) reportRoomError(dev, this.game.name, roomDiagnostic(fields.where, fields.error, at));
  }
}

/** A string field of an engine message ('' when it is not one: never stringify an unknown value). */
function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' | ');
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
