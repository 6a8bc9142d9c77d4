/**
 * Lifecycle operations on a host's rooms — pause, resume, restart, patch, force the next turn,
 * read the state — and bringing rooms back from the host's store after a restart. `GameServer`
 * (`server.ts`) exposes them; each runs after the room's earlier operations (one at a time per
 * room) and resolves to the room's state after it.
 */
import { VERSION_RE, type OperationSource, type RoomState } from '@parlor/squish';
import { ServerError, ServerErrorCode } from '../errors.js';
import type { LoadedGame } from '../games/loader.js';
import type { Logger } from '../logger.js';
import type { RoomStateStore } from '../state/store.js';
import type { RoomRegistry } from './registry.js';
import type { Room, RoomInfo } from './room.js';

/** What {@link RoomOperations} needs from the server. */
export interface OperationsHost {
  readonly rooms: RoomRegistry;
  readonly logger: Logger;
  readonly store: RoomStateStore | undefined;
  /** A loaded catalog version of a game. */
  version(slug: string, version: string): LoadedGame | undefined;
  /** The current build of a game. */
  current(name: string): LoadedGame | undefined;
}

/** The lifecycle operations: see the file's opening comment. */
export class RoomOperations {
  constructor(private readonly host: OperationsHost) {}

  /** @see GameServer.roomState */
  roomState(id: string): RoomState {
    const room = this.host.rooms.get(id);
    if (!room || room.isDisposed) {
      const finished = this.host.rooms.finishedState(id);
      if (finished) return finished;
    }
    return this.live(id).lifecycle.state();
  }

  /** @see GameServer.pauseRoom */
  pause(id: string, options: { reason?: string; source?: OperationSource } = {}): Promise<RoomState> {
    const room = this.live(id);
    return room.operate(async () => {
      const lc = this.open(room).lifecycle;
      const reason = typeof options.reason === 'string' && options.reason.trim() ? options.reason.trim().slice(0, 200) : `paused by ${options.source ?? 'api'}`;
      if (lc.pause(reason) && room.store) await lc.save('pause');
      return lc.state();
    });
  }

  /** @see GameServer.resumeRoom */
  resume(id: string): Promise<RoomState> {
    const room = this.live(id);
    return room.operate(async () => {
      const lc = this.open(room).lifecycle;
      // a room paused because its game failed (or a turn did) gets a new engine from its last good snapshot first
      if (lc.isPaused && (room.engineDown || lc.stale)) await room.swapEngine(room.game, 'restart');
      lc.resume();
      return lc.state();
    });
  }

  /** @see GameServer.restartRoom */
  restart(id: string): Promise<RoomState> {
    const room = this.live(id);
    return room.operate(async () => {
      await this.open(room).swapEngine(room.game, 'restart');
      return this.after(room);
    });
  }

  /** @see GameServer.patchRoom */
  patch(id: string, version: string): Promise<RoomState> {
    const room = this.live(id);
    return room.operate(async () => {
      this.open(room);
      const from = room.game.version;
      if (from === undefined) throw new ServerError(ServerErrorCode.NOT_VERSIONED, `room ${id} runs ${room.game.name} from source, not a catalog version: it cannot be patched`);
      if (typeof version !== 'string' || !VERSION_RE.test(version)) throw new ServerError(ServerErrorCode.NOT_VERSIONED, `${JSON.stringify(String(version).slice(0, 64))} is not a version (MAJOR.MINOR.PATCH)`);
      if (majorMinor(version) !== majorMinor(from)) {
        throw new ServerError(
          ServerErrorCode.PATCH_SEMVER_INCOMPATIBLE,
          `room ${id} runs ${room.game.name}@${from}; a patch must keep ${majorMinor(from)}.x (got ${version}): stop the room and start a new one for another major or minor version`,
        );
      }
      const game = this.host.version(room.game.name, version);
      if (!game) throw new ServerError(ServerErrorCode.NOT_VERSIONED, `${room.game.name}@${version} is not loaded on this server: load it first (loadVersion)`);
      if (game !== room.game) await room.swapEngine(game, 'patch');
      return this.after(room);
    });
  }

  /** @see GameServer.forceTurn */
  forceTurn(id: string): Promise<RoomState> {
    const room = this.live(id);
    return room.operate(async () => {
      const lc = this.open(room).lifecycle;
      if (!lc.turnBased) throw new ServerError(ServerErrorCode.NOT_TURN_BASED, `room ${id} runs ${room.game.name}, which is not turn-based: it has no turns`);
      await lc.turnSettled();
      if (lc.isPaused) throw new ServerError(ServerErrorCode.ROOM_PAUSED, `room ${id} is paused (${lc.state().reason}): resume it first`);
      this.open(room);
      if (lc.cutoff('api')) await lc.turnSettled();
      return this.after(room);
    });
  }

  /**
   * Brings back every room the store records as live (see {@link GameServer.restoreRooms}).
   * A room whose game (or version) is not served here is left in the store and logged.
   */
  restoreRooms(): RoomInfo[] {
    const store = this.host.store;
    if (!store) return [];
    const out: RoomInfo[] = [];
    for (const stored of store.liveRooms()) {
      const fields = { room: stored.roomId, game: stored.game, version: stored.version };
      if (this.host.rooms.get(stored.roomId)) continue;
      const game = stored.version !== null ? this.host.version(stored.game, stored.version) : this.host.current(stored.game);
      if (!game || (stored.version === null && game.version !== undefined)) {
        this.host.logger.warn(fields, 'stored room not restored: its game is not served here (load it, then restore again)');
        continue;
      }
      try {
        const room = this.host.rooms.restore(game, { room: stored, snapshot: store.lastSnapshot(stored.roomId), members: store.members(stored.roomId) });
        if (!room.isDisposed) out.push(room.info());
      } catch (err) {
        this.host.logger.error({ ...fields, error: (err as Error)?.message ?? String(err) }, 'stored room not restored');
      }
    }
    return out;
  }

  /** The live room `id`. @throws {ServerError} `SERVER_ROOM_NOT_FOUND` */
  private live(id: string): Room {
    const room = this.host.rooms.get(id);
    if ((!room || room.isDisposed) && this.host.rooms.finishedState(id)) throw new ServerError(ServerErrorCode.ROOM_FINISHED, `room ${id} has finished`);
    if (!room || room.isDisposed) throw new ServerError(ServerErrorCode.ROOM_NOT_FOUND, `no room ${String(id).slice(0, 64)} on this server`);
    return room;
  }

  /** `room`, still live and not finished. @throws {ServerError} `SERVER_ROOM_NOT_FOUND`, `SERVER_ROOM_FINISHED` */
  private open(room: Room): Room {
    if (room.isDisposed && !room.lifecycle.isFinished) throw new ServerError(ServerErrorCode.ROOM_NOT_FOUND, `room ${room.id} has ended`);
    if (room.lifecycle.isFinished) throw new ServerError(ServerErrorCode.ROOM_FINISHED, `room ${room.id} has finished (${room.lifecycle.state().reason})`);
    return room;
  }

  private after(room: Room): RoomState {
    if (room.isDisposed && !room.lifecycle.isFinished) throw new ServerError(ServerErrorCode.ROOM_NOT_FOUND, `room ${room.id} ended during the operation`);
    return room.lifecycle.state();
  }
}

/** `1.2` of `1.2.3` (or of `1.2.3-rc.1`). */
function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}
