/**
 * One room: its members, their reconnect tokens and grace timers, and the channel to its engine,
 * with the engine's messages handled in the room's own lifecycle: frames (fan-out and
 * backpressure are in `fanout.ts`), errors (`game-errors.ts`), and the lifecycle messages (status,
 * turns, orders, snapshots: `lifecycle.ts`). Restart and patch swap the engine under connected
 * members; a store (`RoomStateStore`) keeps what a restarted host needs to bring the room back.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  CloseCode,
  PROTOCOL_VERSION,
  encodeServerMessage,
  type ErrorMessage,
  type GameResult,
  type InputEvent,
  type PlayerId,
  type PlayerIdentity,
  type RedirectMessage,
  type RoomEvent,
  type RoomState,
  type ServerMessage,
} from '@parlor/squish';
import { WebSocket } from 'ws';
import type { DevStatus } from '../dev/status.js';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RoomChannel, RoomRuntime, RoomSpec } from '../runtime/runtime.js';
import type { RoomStateStore, StoredMember, StoredRoom, StoredSnapshot } from '../state/store.js';
import { Fanout, freshDelivery, type Recipient } from './fanout.js';
import { GameErrorLog, text, truncate } from './game-errors.js';
import { RoomLifecycle } from './lifecycle.js';

/** How long stopping an engine waits for its `stopped` before terminating it (ms). */
const STOP_TIMEOUT_MS = 2000;
/** How long a finished room waits for its final frame before it closes anyway (ms). */
const FINAL_FRAME_TIMEOUT_MS = 1000;

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
  /** Runtime status: `running`, `generation_in_progress`, `paused` or `finished`. */
  status: RoomState['status'];
  /** The open turn of a turn-based game (1 first); 0 for a real-time game. */
  turn: number;
  /** The next turn's cutoff, ms since the epoch; `null` when none is scheduled. */
  nextTurnAt: number | null;
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
  /** Durable room state (rooms, snapshots, members); none: nothing survives the process. */
  readonly stateStore?: RoomStateStore;
  /** How often a real-time room whose game saves is snapshotted, with a store (ms). */
  readonly snapshotIntervalMs: number;
  /** Where the room's events go (the server's `events`). */
  emit(event: RoomEvent): void;
}

/**
 * Who is told when members and the room end (the room registry, which keeps the reconnect
 * tokens). Notifications only: the room never reads the listener's state.
 */
export interface RoomListener {
  /** A member left for good (grace period over, or the room ended): its reconnect token is void. */
  memberGone(room: Room, member: Member): void;
  /** A restored member got a new reconnect token (its old hash is void). */
  tokenChanged(room: Room, member: Member, oldHash: string): void;
  /** Called once when the room is gone (empty, failed, reloaded, finished, stopped or server closing). */
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
  /** @internal secret: never logged; `''` for a member restored from a store until it reconnects */
  token: string;
  /** sha256 (hex) of {@link token}: what the registry and the store index. */
  tokenHash: string;
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
  /** Keep the room in the host's store (server shutting down: it comes back at the next start). */
  keep?: boolean;
}

/** A room brought back from a store: its record, last snapshot and members. */
export interface RestoredRoom {
  room: StoredRoom;
  snapshot: StoredSnapshot | undefined;
  members: StoredMember[];
}

/** sha256 (hex) of a reconnect token. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * A live room as the host sees it: its members (players and spectators) with their sockets,
 * reconnect tokens and grace timers, its state ({@link RoomLifecycle}), and the runtime channel
 * to its engine. A real-time room disposes itself when nobody is left; a turn-based one stays.
 */
export class Room {
  readonly createdAt: number;
  private readonly members = new Map<PlayerId, Member>();
  private nextPlayerId = 1;
  private engine: RoomChannel;
  private current: LoadedGame;
  private disposed = false;
  private disposing: Promise<void> | null = null;
  /** Channels being stopped, with the resolver of their `stopped`. */
  private readonly stopping = new Map<RoomChannel, () => void>();
  /** Channels whose engine stopped by itself (nothing to wait for). */
  private readonly dead = new WeakSet<RoomChannel>();
  private readonly fanout: Fanout;
  private readonly errors: GameErrorLog;
  /** Lifecycle operations (pause, restart, …) run one at a time. */
  private ops: Promise<unknown> = Promise.resolve();
  private finalFrame: ReturnType<typeof setTimeout> | null = null;
  private periodic: ReturnType<typeof setInterval> | null = null;
  /** End the engine at once, without asking it to stop (it misbehaved). */
  private killEngine = false;
  /** This room's logger: a child of the host's carrying `game` and `room`. */
  readonly log: Logger;
  readonly lifecycle: RoomLifecycle;

  /**
   * Starts the engine through the host's runtime (from the stored snapshot when `restored`).
   * @throws whatever the runtime throws when it cannot start an engine.
   */
  constructor(
    readonly id: string,
    game: LoadedGame,
    private readonly host: RoomHost,
    private readonly listener: RoomListener,
    /** Create-time options handed to the game's constructor (e.g. from a fleet `createRoom`); default `{}`. */
    readonly options: Record<string, unknown> = {},
    restored?: RestoredRoom,
  ) {
    this.current = game;
    this.createdAt = restored?.room.createdAt ?? Date.now();
    this.log = host.logger.child({ game: game.name, room: id });
    this.errors = new GameErrorLog(this.log, host.devStatus);
    const stored = restored?.room;
    const snapshot = restored?.snapshot ? { snapshot: restored.snapshot.snapshot, turn: restored.snapshot.turn } : null;
    this.lifecycle = new RoomLifecycle(this, stored ? { turn: snapshot?.turn ?? stored.turn, paused: stored.status === 'paused', reason: stored.reason, snapshot } : undefined);
    this.fanout = new Fanout({
      metrics: host.metrics,
      logger: host.logger,
      backpressureBytes: host.backpressureBytes,
      logFields: { game: game.name, room: id },
      requestFull: (playerId) => this.engine.send({ type: 'resync', playerId }),
    });
    this.engine = this.startEngine(snapshot);
    for (const m of restored?.members ?? []) this.restoreMember(m);
    if (this.host.stateStore && !this.lifecycle.turnBased) {
      this.periodic = setInterval(() => this.snapshotPeriodically(), this.host.snapshotIntervalMs);
      this.periodic.unref?.();
    }
    this.lifecycle.storeRoom();
    this.log.info({ runtime: host.runtime.name, ...(restored ? { restored: true, turn: this.lifecycle.state().turn } : {}) }, restored ? 'room restored' : 'room created');
    const base = { roomId: id, game: game.name, at: Date.now() };
    if (restored) this.host.emit({ kind: 'room.restored', ...base, turn: this.lifecycle.state().turn, version: game.version ?? null });
    else this.host.emit({ kind: 'room.created', ...base, version: game.version ?? null });
    // A restored real-time room nobody had: nothing would ever end it.
    if (restored && restored.members.length === 0 && !this.lifecycle.turnBased) void this.dispose({ code: CloseCode.NORMAL, reason: 'room empty' });
  }

  /** The build the room runs (a patch changes it). */
  get game(): LoadedGame {
    return this.current;
  }

  /** The durable store of the host, if any. */
  get store(): RoomStateStore | undefined {
    return this.host.stateStore;
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

  /** Whether another player may join (players < `maxPlayers`, not finished). */
  get isOpen(): boolean {
    return !this.disposed && !this.lifecycle.isFinished && this.playerCount < this.game.metadata.maxPlayers;
  }

  /** Every member (for the registry's token index). */
  allMembers(): Member[] {
    return [...this.members.values()];
  }

  /** A summary for the lobby and `/parlor/api/rooms`. */
  info(): RoomInfo {
    const { status, turn, nextTurnAt } = this.lifecycle.state();
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
      status,
      turn,
      nextTurnAt,
    };
  }

  /** The member whose reconnect token hashes to `hash`, if any (the registry finds the room by hash). */
  memberByTokenHash(hash: string): Member | undefined {
    for (const m of this.members.values()) if (m.tokenHash === hash) return m;
    return undefined;
  }

  /**
   * Adds a new player (or spectator) on a socket: assigns a player id and a reconnect token
   * (128 random bits, base64url), sends `init`, `assets` and `state`, and tells the engine (with the
   * player's verified `identity`, if signed in).
   */
  join(ws: WebSocket, name: string, spectator: boolean, identity: PlayerIdentity | null = null): Member {
    const playerId = this.nextPlayerId++;
    const token = randomBytes(16).toString('base64url');
    const member: Member = {
      playerId,
      spectator,
      name: name || (spectator ? `Spectator ${playerId}` : `Player ${playerId}`),
      ...(identity ? { userId: identity.userId } : {}),
      roles: identity ? [...identity.roles] : [],
      token,
      tokenHash: tokenHash(token),
      socket: null,
      graceTimer: null,
      ...freshDelivery(),
    };
    this.members.set(playerId, member);
    this.attach(member, ws);
    this.engine.send(joinMessage(member));
    this.storeMember(member);
    this.log.info({ player: playerId, spectator, players: this.playerCount, spectators: this.spectatorCount }, spectator ? 'spectator joined' : 'player joined');
    this.emitMember('player.joined', member);
    return member;
  }

  /**
   * Re-attaches a member within its grace period to a new socket (a reconnect): an older socket
   * still open is closed with 4411 (replaced); `init`, `assets` and `state` are sent again and the
   * engine is asked for a full frame. A member restored from a store takes `token` (the one it
   * presented) or, joining by identity, a fresh one.
   */
  reattach(member: Member, ws: WebSocket, token?: string): void {
    if (member.graceTimer) clearTimeout(member.graceTimer);
    member.graceTimer = null;
    if (member.token === '') {
      const old = member.tokenHash;
      member.token = token && tokenHash(token) === old ? token : randomBytes(16).toString('base64url');
      member.tokenHash = tokenHash(member.token);
      if (member.tokenHash !== old) {
        this.listener.tokenChanged(this, member, old);
        this.storeMember(member);
      }
    }
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
    this.startGrace(member);
    this.log.info(
      { player: member.playerId, spectator: member.spectator, graceMs: this.host.reconnectGraceMs },
      member.spectator ? 'spectator disconnected' : 'player disconnected',
    );
  }

  /** Routes a member's input event to the engine (spectators' input is dropped; refused while paused, generating or finished). */
  input(member: Member, event: InputEvent): void {
    if (member.spectator || this.disposed) return;
    if (!this.lifecycle.admitInput(member.playerId)) return;
    this.engine.send({ type: 'input', playerId: member.playerId, event });
  }

  /** A member's `order` (JSON text): refused with an `orderResult`, or handed to the game. */
  order(member: Member, id: number, order: string): void {
    if (this.disposed) return;
    this.lifecycle.order(member.playerId, member.spectator, id, order);
  }

  /** Answers a `ping`. */
  pong(member: Member, clientTime: number): void {
    if (member.socket) this.sendMessage(member.socket, { type: 'pong', clientTime, serverTime: Date.now() });
  }

  /**
   * Runs a lifecycle operation after the ones before it (pause, resume, restart, patch, turn).
   * @returns what `fn` returns, after it
   */
  operate<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.ops.then(fn);
    this.ops = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops the engine (after a snapshot, `save`) and starts `game`'s (the same build: restart; another
   * version: patch) from that snapshot (or the last one seen, for a game that did not answer), with
   * the same status and turn. Members stay connected: the new engine sees them join again and
   * sends each a full frame; they get `state` again.
   * @throws whatever the runtime throws when it cannot start the new engine (the room then ends with 4500).
   */
  async swapEngine(game: LoadedGame, cause: 'restart' | 'patch'): Promise<void> {
    await this.lifecycle.turnSettled();
    if (this.disposed) return;
    this.lifecycle.swapping = true;
    try {
      const saved = await this.lifecycle.save(cause);
      const known = saved !== null ? { snapshot: saved, turn: this.lifecycle.state().turn } : this.lifecycle.known;
      const old = this.engine;
      await this.stopChannel(old);
      if (this.disposed) return;
      this.current = game;
      try {
        this.engine = this.startEngine(known);
      } catch (err) {
        this.fail(`the ${cause} could not start the game: ${(err as Error)?.message ?? String(err)}`);
        throw err;
      }
      for (const m of this.members.values()) {
        Object.assign(m, freshDelivery());
        this.engine.send(joinMessage(m));
      }
      this.log.info({ cause, version: game.version, snapshot: known !== null }, 'room engine replaced');
    } finally {
      this.lifecycle.swapping = false;
    }
    this.lifecycle.changed();
  }

  /**
   * Ends the room after a snapshot (a stop: `cause` `'stop'`; the server closing: `'drain'` with
   * `reason.keep`). Without a store, or finished, it is {@link dispose} at once.
   */
  async end(reason: DisposeReason, cause: 'stop' | 'drain'): Promise<void> {
    if (this.host.stateStore && !this.disposed && !this.lifecycle.isFinished && !this.dead.has(this.engine)) await this.lifecycle.save(cause);
    await this.dispose(reason);
  }

  /**
   * Ends the room: sends `reason.message` (if any) to connected clients and closes them with
   * `reason.code`, invalidates every reconnect token, records the end (unless `reason.keep`),
   * emits `room.ended`, stops the engine (waiting up to 2 s for it) and terminates it. Idempotent.
   */
  dispose(reason: DisposeReason): Promise<void> {
    if (this.disposing) return this.disposing;
    this.disposed = true;
    if (this.finalFrame) clearTimeout(this.finalFrame);
    if (this.periodic) clearInterval(this.periodic);
    this.lifecycle.close();
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
    if (!this.lifecycle.isFinished) {
      if (!reason.keep) this.storeCall((s) => s.endRoom(this.id, reason.reason, null));
      this.host.emit({ kind: 'room.ended', roomId: this.id, game: this.game.name, reason: reason.reason, result: null, at: Date.now() });
    }
    this.listener.disposed(this);
    this.disposing = this.stopChannel(this.engine);
    return this.disposing;
  }

  // ---------------------------------------------------------------- LifecycleRoom

  /** @internal */
  send(msg: HostToEngineMessage): void {
    if (!this.disposed) this.engine.send(msg);
  }

  /** @internal */
  broadcast(msg: Exclude<ServerMessage, { type: 'frame' }>): void {
    for (const m of this.members.values()) if (m.socket) this.sendMessage(m.socket, msg);
  }

  /** @internal */
  sendTo(playerId: PlayerId, msg: Exclude<ServerMessage, { type: 'frame' }>): void {
    const ws = this.members.get(playerId)?.socket;
    if (ws) this.sendMessage(ws, msg);
  }

  /** @internal */
  emit(event: RoomEvent): void {
    this.host.emit(event);
  }

  // ---------------------------------------------------------------- internals

  private startEngine(known: { snapshot: string; turn: number } | null): RoomChannel {
    const game = this.game;
    const paused = this.lifecycle.isPaused;
    const spec: RoomSpec = {
      roomId: this.id,
      game: game.name,
      gameClass: game.gameClass,
      bundle: game.bundle ?? undefined,
      maxConsecutiveErrors: this.host.maxConsecutiveErrors,
      options: this.options,
      baseDir: game.baseDir,
      logger: this.log,
      tickRate: game.metadata.tickRate,
      ...(known ? { restore: { snapshot: known.snapshot, turn: this.lifecycle.state().turn, paused } } : {}),
    };
    const ch = this.host.runtime.start(spec);
    ch.onMessage((msg) => {
      // Last resort: whatever throws while handling this room's engine ends this room only.
      try {
        this.onEngineMessage(ch, msg);
      } catch (err) {
        this.log.error({ error: err instanceof Error ? err.message : 'unknown' }, 'room host error');
        this.fail('the server could not handle the game\u2019s output');
      }
    });
    if (paused && !known) ch.send({ type: 'pause' });
    return ch;
  }

  private restoreMember(s: StoredMember): void {
    const member: Member = {
      playerId: s.playerId,
      spectator: s.spectator,
      name: s.name,
      ...(s.userId !== null ? { userId: s.userId } : {}),
      roles: [...s.roles],
      token: '',
      tokenHash: s.tokenHash,
      socket: null,
      graceTimer: null,
      ...freshDelivery(),
    };
    this.members.set(member.playerId, member);
    this.nextPlayerId = Math.max(this.nextPlayerId, member.playerId + 1);
    this.engine.send(joinMessage(member));
    this.startGrace(member);
  }

  private startGrace(member: Member): void {
    if (member.graceTimer) clearTimeout(member.graceTimer);
    member.graceTimer = setTimeout(() => this.remove(member, 'grace period over'), this.host.reconnectGraceMs);
    member.graceTimer.unref?.();
  }

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

  /** Asks an engine to stop (up to 2 s, unless it already stopped or misbehaved), then terminates it. */
  private async stopChannel(ch: RoomChannel): Promise<void> {
    if (!this.dead.has(ch) && !this.killEngine) {
      const stopped = new Promise<void>((resolve) => this.stopping.set(ch, resolve));
      ch.send({ type: 'stop' });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, STOP_TIMEOUT_MS);
        timer.unref?.();
      });
      await Promise.race([stopped, timeout]);
      clearTimeout(timer);
      this.stopping.delete(ch);
    }
    this.dead.add(ch);
    await ch.terminate();
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
    this.sendMessage(ws, { type: 'state', ...this.lifecycle.state() });
  }

  private remove(member: Member, why: string): void {
    if (this.members.get(member.playerId) !== member) return;
    if (member.graceTimer) clearTimeout(member.graceTimer);
    member.graceTimer = null;
    this.members.delete(member.playerId);
    this.listener.memberGone(this, member);
    this.engine.send({ type: 'leave', playerId: member.playerId });
    this.storeCall((s) => s.removeMember(this.id, member.playerId));
    this.log.info({ player: member.playerId, spectator: member.spectator, why }, member.spectator ? 'spectator left' : 'player left');
    this.emitMember('player.left', member);
    // A turn-based room is kept while empty: its players may be away for days.
    if (this.members.size === 0 && !this.lifecycle.turnBased) void this.dispose({ code: CloseCode.NORMAL, reason: 'room empty' });
  }

  private emitMember(kind: 'player.joined' | 'player.left', m: Member): void {
    this.host.emit({ kind, roomId: this.id, game: this.game.name, playerId: m.playerId, userId: m.userId ?? null, spectator: m.spectator, at: Date.now() });
  }

  private storeMember(m: Member): void {
    this.storeCall((s) =>
      s.putMember({ roomId: this.id, playerId: m.playerId, name: m.name, userId: m.userId ?? null, roles: [...m.roles], spectator: m.spectator, tokenHash: m.tokenHash }),
    );
  }

  /** Runs a store write when the host has a store; a failure is logged (the room plays on). */
  private storeCall(fn: (store: RoomStateStore) => void): void {
    const store = this.host.stateStore;
    if (!store) return;
    try {
      fn(store);
    } catch (err) {
      this.log.error({ error: (err as Error)?.message ?? String(err) }, 'room state store failed');
    }
  }

  private snapshotPeriodically(): void {
    if (this.disposed || this.lifecycle.isPaused || this.lifecycle.swapping || this.lifecycle.savable === false) return;
    void this.operate(() => this.lifecycle.save('periodic'));
  }

  private sendMessage(ws: WebSocket, msg: Exclude<ServerMessage, { type: 'frame' }>): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeServerMessage(msg), { binary: true });
  }

  private onEngineMessage(ch: RoomChannel, msg: EngineToHostMessage): void {
    if (msg.type === 'stopped') {
      this.dead.add(ch);
      const waiting = this.stopping.get(ch);
      if (waiting) waiting();
      else if (ch === this.engine && !this.disposed) {
        void this.dispose({
          code: CloseCode.ROOM_FAILED,
          reason: 'room engine stopped',
          message: { type: 'error', code: CloseCode.ROOM_FAILED, message: 'The game room stopped.' },
        });
      }
      return;
    }
    if (ch !== this.engine || this.stopping.has(ch)) return; // an engine being replaced: only its `stopped` matters
    switch (msg.type) {
      case 'frames':
        if (!this.disposed) {
          const violation = this.fanout.deliver(msg, this.members, this.nextPlayerId - 1);
          if (violation) this.fail(violation);
          else if (this.lifecycle.isFinished) this.closeFinished();
        }
        return;
      case 'error':
        this.errors.error(msg, this.game);
        if (msg.fatal) {
          void this.dispose({
            code: CloseCode.ROOM_FAILED,
            reason: 'game failed',
            message: { type: 'error', code: CloseCode.ROOM_FAILED, message: `The game failed and the room ended: ${truncate(text(msg.message), 200)}` },
          });
        }
        return;
      case 'orderResult':
        this.lifecycle.onOrderResult(msg);
        return;
      case 'turnResult':
        this.lifecycle.onTurnResult(msg);
        return;
      case 'saved':
        this.lifecycle.onSaved(msg);
        return;
      case 'turnRequest':
        this.lifecycle.onTurnRequest();
        return;
      case 'ended':
        this.lifecycle.finish(gameResult(msg.result));
        // the final frame goes out with the next `frames`; close after it (or after 1 s without one)
        this.finalFrame = setTimeout(() => this.closeFinished(), FINAL_FRAME_TIMEOUT_MS);
        this.finalFrame.unref?.();
        return;
    }
  }

  private closeFinished(): void {
    void this.dispose({ code: CloseCode.NORMAL, reason: 'game finished' });
  }
}

/** The engine's `join` for a member. */
function joinMessage(m: Member): HostToEngineMessage {
  return { type: 'join', playerId: m.playerId, name: m.name, spectator: m.spectator, ...(m.userId !== undefined ? { userId: m.userId, roles: [...m.roles] } : {}) };
}

/** A game's result from an (untrusted) engine message, bounded: 64 winners, 256 scores, strings of 256 (summary 500). */
function gameResult(raw: unknown): GameResult {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<Record<keyof GameResult, unknown>>;
  const winners = Array.isArray(r.winners) ? r.winners.filter((w): w is string => typeof w === 'string').slice(0, 64).map((w) => w.slice(0, 256)) : [];
  const scores: Record<string, number> = {};
  if (typeof r.scores === 'object' && r.scores !== null) {
    for (const [k, v] of Object.entries(r.scores).slice(0, 256)) if (typeof v === 'number' && Number.isFinite(v)) scores[k.slice(0, 256)] = v;
  }
  return { winners, scores, summary: typeof r.summary === 'string' ? r.summary.slice(0, 500) : '' };
}
