/**
 * Reconcile of a host's rooms with what runs and what is recorded: the `docker` runtime's room
 * containers (labelled `parlor.instance=<id>`) and the host's durable room state
 * (`RoomStateStore`, `parlor serve --state-dir`).
 *
 * A container cannot be re-attached to a new process: its channel is the stdin/stdout the
 * previous process attached, gone with it. So "adopting" a container of a room recorded live
 * means: remove the container and restore the room from its last stored snapshot (same room id,
 * its members' reconnect tokens and signed-in players valid again). A container whose room is not
 * recorded is removed as before (its state was never stored: nothing can bring it back). A room
 * recorded live that runs nowhere (its container missing) is restored; if it cannot be, it is
 * marked ended after a few passes, with the reason (its last snapshot kept), so it is not tried forever.
 */
import type { RoomStateStore } from '../state/store.js';
import type { Logger } from '../logger.js';
import { DOCKER_LABELS, DockerRuntime } from './docker.js';
import type { RoomRuntime } from './runtime.js';

/** What the reconcile needs of the game server (a `GameServer` has all of it). */
export interface ReconcileHost {
  /** The rooms live on this server now. */
  rooms(): ReadonlyArray<{ id: string }>;
  /** Set once the server drains or closes: no reconcile then (its rooms are being kept for the next start). */
  readonly draining: boolean;
  /** Brings back the rooms recorded live in the store that do not run here, from their last snapshots. */
  restoreRooms(): Promise<unknown>;
}

/** One container a reconcile pass removed. */
export interface ReconciledContainer {
  /** Docker container id (full). */
  containerId: string;
  /** Its `parlor.room` label (`''` if none). */
  roomId: string;
  /** Its `parlor.game` label (`''` if none). */
  game: string;
  /** Whether its room is recorded live in the store (then it is restored from its snapshot rather than lost). */
  recorded: boolean;
}

/** What one reconcile pass did. */
export interface ReconcileReport {
  /** Containers of this instance that no room of this process owns, removed. */
  removed: ReconciledContainer[];
  /** Rooms recorded live that did not run here and run now (restored from their last snapshots). */
  restored: string[];
  /** Rooms recorded live that run nowhere and could not be restored at this pass (tried again at the next). */
  waiting: string[];
  /** Rooms recorded live that run nowhere and could not be restored at `endAfterPasses` passes in a row: marked ended in the store. */
  ended: string[];
}

/** Why a room {@link ReconcileReport.ended} was ended (its store record's reason). */
export const RECONCILE_ENDED_REASON = 'reconcile: not running on this host and could not be restored from its snapshot';

/** The docker runtime inside `runtime` (itself), if it is one. */
function dockerOf(runtime: RoomRuntime): DockerRuntime | null {
  return runtime instanceof DockerRuntime ? runtime : null;
}

/** Options of a {@link RoomReconciler}. */
export interface RoomReconcilerOptions {
  /** The host's durable room state; without one, only containers are reconciled. */
  store?: RoomStateStore | undefined;
  /** The running server; without one (at start, before it runs) nothing is restored by the reconciler: the server's start restores. */
  host?: ReconcileHost;
  logger: Logger;
  /**
   * A recorded room that runs nowhere and cannot be restored is marked ended at this many passes
   * in a row (a catalog version may still be loading at the first). Default 2.
   */
  endAfterPasses?: number;
  /**
   * While the server runs, a container of a room not live here is removed only once it is at
   * least this old (ms): one whose creation is still in flight is not yet known as the runtime's.
   * Default 10 000.
   */
  minContainerAgeMs?: number;
}

/**
 * Reconciles a host's rooms, one {@link pass} at a time (see the file's opening comment). Keeps,
 * between passes, how many passes in a row each recorded room could not be restored.
 */
export class RoomReconciler {
  private readonly misses = new Map<string, number>();
  private readonly endAfterPasses: number;

  constructor(
    private readonly runtime: RoomRuntime,
    private readonly options: RoomReconcilerOptions,
  ) {
    this.endAfterPasses = options.endAfterPasses ?? 2;
  }

  /**
   * One pass. With a docker runtime: lists this instance's labelled containers, removes those no
   * room of this process owns (at start, `DockerRuntime.reconcile`; while the server runs, those of
   * rooms not live on it, at least `minContainerAgeMs` old), and reports which of them belonged to
   * rooms recorded live (restored from their snapshots, by the server's start or by this pass).
   * With a store and a host: restores the recorded live rooms that do not run on the host
   * (`host.restoreRooms()`); one still not running after `endAfterPasses` passes in a row is marked
   * ended ({@link RECONCILE_ENDED_REASON}; its last snapshot is kept in the store). Each action is
   * logged, one line each. Does nothing while `host.draining`.
   * @throws {RuntimeError} from the docker runtime (`SERVER_RUNTIME_UNAVAILABLE`: the instance id is held by another server).
   */
  async pass(): Promise<ReconcileReport> {
    const { store, host, logger } = this.options;
    const report: ReconcileReport = { removed: [], restored: [], waiting: [], ended: [] };
    if (host?.draining) return report;
    const docker = dockerOf(this.runtime);
    if (docker) {
      const removed = await this.removeContainers(docker);
      const recorded = new Set(store?.liveRooms().map((r) => r.roomId) ?? []);
      for (const { id, labels: l } of removed) {
        const roomId = l[DOCKER_LABELS.room] ?? '';
        const c: ReconciledContainer = { containerId: id, roomId, game: l[DOCKER_LABELS.game] ?? '', recorded: roomId !== '' && recorded.has(roomId) };
        report.removed.push(c);
        const fields = { container: id.slice(0, 12), room: c.roomId, game: c.game, instance: docker.instanceId };
        if (c.recorded) logger.info(fields, 'reconcile: removed the container of a room recorded live (a container cannot be re-attached to a new process); the room is restored from its last snapshot');
        else logger.info(fields, 'reconcile: removed a stale room container (its room is not recorded: nothing to restore)');
      }
    }
    if (!store || !host || host.draining) return report;
    const notRunning = (): string[] => {
      const live = new Set(host.rooms().map((r) => r.id));
      return store.liveRooms().filter((r) => !live.has(r.roomId)).map((r) => r.roomId);
    };
    const missing = notRunning();
    if (missing.length === 0) {
      this.misses.clear();
      return report;
    }
    try {
      await host.restoreRooms();
    } catch (err) {
      logger.error({ error: (err as Error)?.message ?? String(err) }, 'reconcile: restoring rooms failed');
    }
    if (host.draining) return report;
    const still = new Set(notRunning());
    for (const id of [...this.misses.keys()]) if (!still.has(id)) this.misses.delete(id);
    for (const roomId of missing) {
      if (!still.has(roomId)) {
        // Restored (or ended by itself meanwhile, e.g. a real-time room nobody had).
        if (host.rooms().some((r) => r.id === roomId)) {
          report.restored.push(roomId);
          logger.info({ room: roomId }, 'reconcile: a room recorded live was not running here; restored from its last snapshot');
        }
        continue;
      }
      const misses = (this.misses.get(roomId) ?? 0) + 1;
      if (misses < this.endAfterPasses) {
        this.misses.set(roomId, misses);
        report.waiting.push(roomId);
        logger.warn({ room: roomId, passes: misses, endAfterPasses: this.endAfterPasses }, 'reconcile: a room recorded live runs nowhere and could not be restored yet; it is marked ended if the next passes cannot either');
        continue;
      }
      this.misses.delete(roomId);
      try {
        store.endRoom(roomId, RECONCILE_ENDED_REASON, null);
        report.ended.push(roomId);
        logger.warn({ room: roomId, reason: RECONCILE_ENDED_REASON }, 'reconcile: a room recorded live runs nowhere and could not be restored; marked ended (its last snapshot is kept)');
      } catch (err) {
        logger.error({ room: roomId, error: (err as Error)?.message ?? String(err) }, 'reconcile: could not mark a room ended');
      }
    }
    return report;
  }

  /** Removes this instance's containers that no room of this process owns; returns them with their labels. */
  private async removeContainers(docker: DockerRuntime): Promise<Array<{ id: string; labels: Record<string, string> }>> {
    const list = await docker.docker.listContainers({ all: true, filters: { label: [`${DOCKER_LABELS.instance}=${docker.instanceId}`] } });
    const host = this.options.host;
    if (!host) {
      // At start nothing of this process runs yet: every container of this instance is a leftover (the runtime's own reconcile).
      const labels = new Map(list.map((c) => [c.Id, c.Labels ?? {}]));
      return (await docker.reconcile()).map((id) => ({ id, labels: labels.get(id) ?? {} }));
    }
    // While the server runs, the runtime's containers are those of the host's live rooms and of the
    // games this process is inspecting (room label `inspect-<pid>-…`); one still being created is
    // not yet known by id, hence the age.
    const live = new Set(host.rooms().map((r) => r.id));
    const newest = (Date.now() - (this.options.minContainerAgeMs ?? 10_000)) / 1000;
    const out: Array<{ id: string; labels: Record<string, string> }> = [];
    for (const c of list) {
      const labels = c.Labels ?? {};
      const roomId = labels[DOCKER_LABELS.room] ?? '';
      if (live.has(roomId) || roomId.startsWith(`inspect-${process.pid}-`) || c.Created > newest) continue;
      try {
        await docker.docker.getContainer(c.Id).remove({ force: true });
        out.push({ id: c.Id, labels });
      } catch {
        // already gone
      }
    }
    return out;
  }
}

/**
 * The runtime's `prepare()` (check, then its reconcile) for a server about to start, with the
 * reconcile pass of {@link RoomReconciler} for a docker runtime, so the containers removed are
 * logged against the store (their rooms are restored by the server's start, not lost).
 * @throws {RuntimeError} as `prepare()`: `SERVER_RUNTIME_UNAVAILABLE` (Docker unreachable, image missing, instance id held).
 */
export async function prepareAndReconcile(runtime: RoomRuntime, store: RoomStateStore | undefined, logger: Logger): Promise<void> {
  const docker = dockerOf(runtime);
  if (!docker) return runtime.prepare?.();
  await docker.check();
  await new RoomReconciler(docker, { store, logger }).pass();
}

/** A running periodic reconcile ({@link startReconcile}). */
export interface ReconcileLoop {
  /** Runs one pass now (after the one in progress, if any). */
  runNow(): Promise<ReconcileReport>;
  /** Stops the timer (a pass in progress finishes). Idempotent. */
  stop(): void;
}

/** Default of `parlor serve --reconcile-interval`, ms. */
export const DEFAULT_RECONCILE_INTERVAL_MS = 60_000;

/**
 * Runs a {@link RoomReconciler}'s pass every `intervalMs` (never two at once; the timer does not
 * keep the process alive). A pass that throws is logged and the next one runs on time.
 */
export function startReconcile(runtime: RoomRuntime, options: RoomReconcilerOptions & { host: ReconcileHost; intervalMs?: number }): ReconcileLoop {
  const intervalMs = options.intervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  const reconciler = new RoomReconciler(runtime, options);
  let chain: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const run = (): Promise<ReconcileReport> => {
    const next = chain.then(() => reconciler.pass());
    chain = next.catch(() => undefined);
    return next;
  };
  const timer = setInterval(() => {
    if (stopped) return;
    run().catch((err: unknown) => options.logger.error({ error: (err as Error)?.message ?? String(err) }, 'reconcile failed'));
  }, intervalMs);
  timer.unref?.();
  return {
    runNow: run,
    stop(): void {
      stopped = true;
      clearInterval(timer);
    },
  };
}
