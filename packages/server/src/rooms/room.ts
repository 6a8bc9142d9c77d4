/**
 * One room: its members, their reconnect tokens and grace timers, and the channel to its engine,
 * with the engine's messages handled in the room's own lifecycle: frames (fan-out and
 * backpressure are in `fanout.ts`), errors (`game-errors.ts`), and the lifecycle messages (status,
 * turns, orders, snapshots: `lifecycle.ts`). Restart and patch swap the engine (`engine-link.ts`)
 * under connected members; a store (`RoomStateStore`) keeps what a restarted host needs to bring
 * the room back. About 560 lines: members, sockets and the engine swap share one owner (a member's
 * delivery state is reset by the swap, its socket by a reconnect); the shapes are in `room-types.ts`.
 */
import { CloseCode, PROTOCOL_VERSION, encodeServerMessage, type InputEvent, type PlayerId, type PlayerIdentity, type RoomEvent, type ServerMessage } from '@parlor/squish';
import { WebSocket } from 'ws';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';
import type { RoomSpec } from '../runtime/runtime.js';
import type { RoomStateStore, StoredMember } from '../state/store.js';
import { EngineLink, gameResult } from './engine-link.js';
import { Fanout, freshDelivery } from './fanout.js';
import { GameErrorLog, text, truncate } from './game-errors.js';
import { RoomLifecycle } from './lifecycle.js';
import { joinMessage, newMember, newToken, restoredMember, storedMember, tokenHash, type DisposeReason, type Member, type RestoredRoom, type RoomHost, type RoomInfo } from './room-types.js';

export { tokenHash, type DisposeReason, type Member, type RestoredRoom, type RoomHost, type RoomInfo } from './room-types.js';

/** How long a finished room waits for its final frame before it closes anyway (ms). */
const FINAL_FRAME_TIMEOUT_MS = 1000;

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

/**
 * A live room as the host sees it: its members (players and spectators) with their sockets,
 * reconnect tokens and grace timers, its state ({@link RoomLifecycle}), and the runtime channel
 * to its engine. A real-time room disposes itself when nobody is left; a turn-based one stays.
 */
export class Room {
  readonly createdAt: number;
  private readonly members = new Map<PlayerId, Member>();
  private nextPlayerId = 1;
  private readonly engine: EngineLink;
  private current: LoadedGame;
  private disposed = false;
  private disposing: Promise<void> | null = null;
  private readonly fanout: Fanout;
  private readonly errors: GameErrorLog;
  /** Lifecycle operations (pause, restart, …) run one at a time. */
  private ops: Promise<unknown> = Promise.resolve();
  private finalFrame: ReturnType<typeof setTimeout> | null = null;
  private periodic: ReturnType<typeof setInterval> | null = null;
  /** The engine failed (fatal) and the room is paused for it: a resume starts a new engine first. */
  engineDown = false;
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
    this.engine = new EngineLink(
      {
        log: this.log,
        runtime: host.runtime,
        engineMessage: (msg) => this.onEngineMessage(msg),
        engineStopped: () => this.onEngineStopped(),
        hostError: (err) => {
          this.log.error({ error: err instanceof Error ? err.message : 'unknown' }, 'room host error');
          this.fail('the server could not handle the game\u2019s output');
        },
      },
      this.engineSpec(snapshot),
    );
    if (this.lifecycle.isPaused && !snapshot) this.engine.send({ type: 'pause' });
    this.lifecycle.start();
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
    const member = newMember(playerId, name, spectator, identity, newToken());
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
      member.token = token && tokenHash(token) === old ? token : newToken();
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

  /** Answers a `ping` (it may overtake a frame still being written: a pong is not ordered with frames). */
  pong(member: Member, clientTime: number): void {
    const ws = member.socket;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(encodeServerMessage({ type: 'pong', clientTime, serverTime: Date.now() }), { binary: true });
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
      // a dead engine cannot save, a stale one must not (its state is past the last good snapshot)
      const saved = this.engine.isDead || this.lifecycle.stale ? null : await this.lifecycle.save(cause);
      const known = saved !== null ? { snapshot: saved, turn: this.lifecycle.state().turn } : this.lifecycle.known;
      const previous = this.current;
      this.current = game;
      try {
        await this.engine.replace(this.engineSpec(known));
        this.engineDown = false;
        this.lifecycle.stale = false;
        if (this.lifecycle.isPaused && !known) this.engine.send({ type: 'pause' });
      } catch (err) {
        this.current = previous;
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
    if (this.host.stateStore && !this.disposed && !this.lifecycle.isFinished && !this.engine.isDead) await this.lifecycle.save(cause);
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
    this.fanout.flush(); // the last frame reaches everyone before the close
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
    this.disposing = this.engine.stopCurrent();
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

  /** The runtime spec of this room's engine, from `known` (a snapshot) when given. */
  private engineSpec(known: { snapshot: string; turn: number } | null): RoomSpec {
    const game = this.game;
    return {
      roomId: this.id,
      game: game.name,
      gameClass: game.gameClass,
      bundle: game.bundle ?? undefined,
      maxConsecutiveErrors: this.host.maxConsecutiveErrors,
      options: this.options,
      baseDir: game.baseDir,
      logger: this.log,
      tickRate: game.metadata.tickRate,
      ...(known ? { restore: { snapshot: known.snapshot, turn: this.lifecycle.state().turn, paused: this.lifecycle.isPaused } } : {}),
    };
  }

  private restoreMember(s: StoredMember): void {
    const member = restoredMember(s);
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
    this.engine.kill = true;
    this.log.error({ reason: why }, 'room ended');
    void this.dispose({
      code: CloseCode.ROOM_FAILED,
      reason: 'game failed',
      message: { type: 'error', code: CloseCode.ROOM_FAILED, message: `The game failed and the room ended: ${truncate(why, 200)}` },
    }).catch(() => {});
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
    this.lifecycle.forget(member.playerId);
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
    this.storeCall((s) => s.putMember(storedMember(this.id, m)));
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
    this.fanout.flush(); // nothing overtakes a frame still being written
    ws.send(encodeServerMessage(msg), { binary: true });
  }

  private onEngineStopped(): void {
    if (this.disposed || this.engineDown) return;
    if (this.keepsFailedGame()) {
      this.engineDown = true;
      this.lifecycle.failed('the game stopped');
      return;
    }
    void this.dispose({
      code: CloseCode.ROOM_FAILED,
      reason: 'room engine stopped',
      message: { type: 'error', code: CloseCode.ROOM_FAILED, message: 'The game room stopped.' },
    });
  }

  /** Whether a failed engine pauses this room instead of ending it: a turn-based game with a snapshot to start again from. */
  private keepsFailedGame(): boolean {
    return this.lifecycle.turnBased && this.lifecycle.known !== null && !this.lifecycle.isFinished;
  }

  private onEngineMessage(msg: Exclude<EngineToHostMessage, { type: 'stopped' }>): void {
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
        if (msg.fatal && this.keepsFailedGame()) {
          // A turn-based game that failed is paused, not ended: its last snapshot is kept, and a
          // resume (or restart, patch) starts a new engine from it.
          this.engineDown = true;
          this.lifecycle.failed(`the game failed: ${truncate(text(msg.message), 200)}`);
        } else if (msg.fatal) {
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
