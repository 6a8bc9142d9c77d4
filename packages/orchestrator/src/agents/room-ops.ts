/**
 * Room lifecycle operations through the fleet: pause, resume, restart, patch, force a turn (the
 * `roomOp` command of fleet protocol 1.3) and stop (`destroyRoom`), each recorded in the operation
 * log (queued before anything is sent, then running, then succeeded or failed with its code).
 * A patch names a version of the room's own game: it is resolved through the catalog as a create
 * by `slug@version` is (never placement), checked to stay within the room's major.minor, and the
 * host fetches and loads it before it patches.
 */
import semver from 'semver';
import { FLEET_ROOM_OP_MINOR, FleetAckCode, type AckFrame, type FleetRoomOp } from '@parlor/fleet-agent';
import { VERSION_RE, type ArtifactRef, type Operation, type OperationSource, type RoomState } from '@parlor/squish';
import { resolveRoomGame, type RoomCatalog } from '../api/control-plane.js';
import { FleetCause, OrchestratorError } from '../errors.js';
import type { QueueOperation } from '../operations/log.js';
import type { OperationOutcome, OperationRun } from '../operations/run.js';
import type { Registry } from '../registry/read-model.js';
import type { RoomDestroyed, RoomOperationRequest, RoomOperationResult, RoomStopResult } from '../types.js';
import { ackError, type CommandRpc } from './commands.js';
import type { AgentConnection } from './connection.js';

/** Who asks for an operation: its source in the log (default `api`) and the caller (a key's name or fingerprint; default `''`). */
export interface OperationCaller {
  source?: OperationSource;
  actor?: string;
}

/** What {@link RoomOperations} works with (the orchestrator's parts). */
export interface RoomOperationDeps {
  registry: Registry<AgentConnection>;
  commands: CommandRpc;
  /** Where a patch's version is resolved (the orchestrator's resolver and environment). */
  catalog: RoomCatalog;
  /** Runs `fn` as an operation of the log (see `runOperation`). */
  run<R extends OperationOutcome>(input: QueueOperation, fn: (operation: Operation) => Promise<R>): Promise<OperationRun<R>>;
  /** The orchestrator's room destroy (a stop's work). */
  destroy(roomId: string): Promise<RoomDestroyed>;
  /** Throws `SHUTTING_DOWN` while the orchestrator stops; `INSTANCE_BUSY` for an instance at its in-flight cap. */
  assertRunning(): void;
  assertNotBusy(rec: ReturnType<Registry<AgentConnection>['all']>[number]): void;
}

/** Longest pause reason, characters. */
export const MAX_PAUSE_REASON = 200;

/**
 * The least deadline of a `restart`, `patch` or `turn` command (ms; the orchestrator's
 * `commandTimeoutMs` when longer): they save, swap an engine (a patch may first fetch and build
 * its version) or generate a turn, which takes longer than a create's ack.
 */
export const SLOW_ROOM_OP_TIMEOUT_MS = 30_000;

/** Runs the lifecycle operations of rooms (see the file's opening comment). */
export class RoomOperations {
  constructor(
    private readonly deps: RoomOperationDeps,
    /** The orchestrator's `commandTimeoutMs`. */
    private readonly commandTimeoutMs: number,
  ) {}

  /**
   * Runs one operation on a room and records it.
   * @returns the finished operation and the room's state after it (`null` after a stop), plus, for
   *   a stop, what the destroy answered (`destroyed`, `alreadyGone`).
   * @throws {OrchestratorError} (after recording the failed operation) `VALIDATION`,
   *   `ROOM_NOT_FOUND`, `INSTANCE_UNSUPPORTED`, `NOT_VERSIONED`, `PATCH_SEMVER_INCOMPATIBLE`,
   *   `NOT_TURN_BASED`, `ROOM_FINISHED`, `ROOM_PAUSED`, the catalog's causes for a patch's version (`NO_CATALOG`,
   *   `UNKNOWN_VERSION`…), `INSTANCE_BUSY`, `COMMAND_FAILED`, `INSTANCE_DISCONNECTED`,
   *   `COMMAND_TIMEOUT`; `SHUTTING_DOWN` (not recorded: the log is closing).
   */
  async run(roomId: string, req: RoomOperationRequest, by: OperationCaller = {}): Promise<RoomOperationResult | RoomStopResult> {
    this.deps.assertRunning();
    const entry = this.deps.registry.room(roomId);
    const params: Record<string, unknown> = {};
    if (req.op === 'pause' && req.reason !== undefined) params.reason = req.reason;
    if (req.op === 'patch') params.version = req.version;
    const input: QueueOperation = {
      roomId: String(roomId).slice(0, 64),
      op: req.op,
      source: by.source ?? 'api',
      params,
      game: entry?.snap.type ?? '',
      version: entry?.snap.version ?? null,
      instanceId: entry?.rec.id ?? null,
      actor: by.actor ?? '',
    };
    if (req.op === 'stop') {
      const { operation, result } = await this.deps.run(input, async () => {
        const d = await this.deps.destroy(roomId);
        return { ...d, state: null, ...(entry && { instanceId: entry.rec.id }) };
      });
      return { roomId: result.roomId, ok: true, destroyed: result.destroyed, alreadyGone: result.alreadyGone, operation, state: null };
    }
    const { operation, result } = await this.deps.run(input, () => this.send(roomId, req, input.source));
    return { operation, state: result.state };
  }

  /** Checks, resolves (a patch) and sends one `roomOp`; the outcome the log records. */
  private async send(roomId: string, req: Exclude<RoomOperationRequest, { op: 'stop' }>, source: OperationSource): Promise<OperationOutcome & { state: RoomState }> {
    if (req.op === 'pause' && req.reason !== undefined && (typeof req.reason !== 'string' || req.reason.length > MAX_PAUSE_REASON)) {
      throw new OrchestratorError(FleetCause.VALIDATION, `reason: at most ${MAX_PAUSE_REASON} characters`);
    }
    const entry = this.deps.registry.room(roomId);
    if (!entry) throw new OrchestratorError(FleetCause.ROOM_NOT_FOUND, `no room ${String(roomId).slice(0, 64)}`);
    const { rec: inst, snap } = entry;
    if (inst.link.minor < FLEET_ROOM_OP_MINOR) {
      throw new OrchestratorError(FleetCause.INSTANCE_UNSUPPORTED, `instance ${inst.id} speaks fleet protocol 1.${inst.link.minor}, without room lifecycle operations (needs 1.${FLEET_ROOM_OP_MINOR}): upgrade its host`);
    }
    let artifact: ArtifactRef | undefined;
    if (req.op === 'patch') artifact = await this.patchTarget(snap.type, snap.version, req.version);
    this.deps.assertNotBusy(inst);
    const ack = await this.deps.commands.send(inst, {
      op: 'roomOp',
      roomId,
      roomOp: req.op as FleetRoomOp,
      source,
      ...(req.op === 'pause' && req.reason !== undefined && { reason: req.reason }),
      ...(artifact && { artifact }),
    }, req.op === 'pause' || req.op === 'resume' ? this.commandTimeoutMs : Math.max(this.commandTimeoutMs, SLOW_ROOM_OP_TIMEOUT_MS));
    if (!ack.ok) throw roomOpError(ack);
    const state = ack.state ?? { status: snap.status ?? 'running', turn: snap.turn ?? 0, nextTurnAt: null, reason: '' };
    return { state, instanceId: inst.id, game: snap.type, version: ack.version !== undefined ? ack.version : (artifact?.version ?? snap.version ?? null) };
  }

  /**
   * The artifact a patch of a room of `slug` at `current` to `version` runs: resolved through the
   * catalog as `slug@version`, only within `current`'s major.minor.
   */
  private async patchTarget(slug: string, current: string | undefined, version: unknown): Promise<ArtifactRef> {
    if (typeof version !== 'string' || !VERSION_RE.test(version)) throw new OrchestratorError(FleetCause.VALIDATION, 'version: a semver version such as 1.0.1');
    if (current === undefined) throw new OrchestratorError(FleetCause.NOT_VERSIONED, `the room runs ${slug} from a host's folder, not a catalog version: restart it instead`);
    if (!sameMinor(current, version)) {
      throw new OrchestratorError(FleetCause.PATCH_SEMVER_INCOMPATIBLE, `cannot patch ${slug} ${current} to ${version}: a patch stays within ${semver.major(current)}.${semver.minor(current)}.x (stop the room and create one of the new version)`);
    }
    const { artifact } = await resolveRoomGame({ game: `${slug}@${version}` }, this.deps.catalog);
    return artifact!;
  }
}

/** Whether `a` and `b` are the same major.minor (both valid semver). */
function sameMinor(a: string, b: string): boolean {
  const x = semver.parse(a);
  const y = semver.parse(b);
  return x !== null && y !== null && x.major === y.major && x.minor === y.minor;
}

/** The agent's refusal codes of a `roomOp` that are REST causes of their own. */
const ROOM_OP_CAUSES: Readonly<Record<string, keyof typeof FleetCause>> = {
  [FleetAckCode.ROOM_NOT_FOUND]: FleetCause.ROOM_NOT_FOUND,
  [FleetAckCode.PATCH_SEMVER_INCOMPATIBLE]: FleetCause.PATCH_SEMVER_INCOMPATIBLE,
  [FleetAckCode.NOT_TURN_BASED]: FleetCause.NOT_TURN_BASED,
  [FleetAckCode.NOT_VERSIONED]: FleetCause.NOT_VERSIONED,
  [FleetAckCode.ROOM_FINISHED]: FleetCause.ROOM_FINISHED,
  [FleetAckCode.ROOM_PAUSED]: FleetCause.ROOM_PAUSED,
  [FleetAckCode.UNSUPPORTED]: FleetCause.INSTANCE_UNSUPPORTED,
};

/** The error of a refused `roomOp` ack: its own cause when it has one, else as any refused command ({@link ackError}). */
export function roomOpError(ack: AckFrame): OrchestratorError {
  const code = typeof ack.error?.code === 'string' ? ack.error.code : '';
  const cause = Object.hasOwn(ROOM_OP_CAUSES, code) ? ROOM_OP_CAUSES[code] : undefined;
  if (!cause) return ackError(ack);
  const message = typeof ack.error?.message === 'string' ? ack.error.message.slice(0, 500) : 'refused';
  return new OrchestratorError(cause, `agent: ${message}`, { agentCode: code });
}
