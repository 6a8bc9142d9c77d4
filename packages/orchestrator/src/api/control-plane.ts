/**
 * The narrow interface the REST API works against (the orchestrator implements it), and how a
 * room create by `game` is resolved through the catalog before placement ({@link resolveRoomGame}).
 */
import type { ArtifactRef, OperationSource } from '@parlor/squish';
import type { GameResolver } from '../catalog/types.js';
import { FleetCause, OrchestratorError, isFleetCause, type FleetCauseValue } from '../errors.js';
import { validateCreate, type ValidCreate } from '../schemas.js';
import type { CreateRoomRequest, FleetView, InstanceInfo, RoomDestroyed, RoomInfo, RoomOperationRequest, RoomOperationResult, SeatReservation } from '../types.js';

/** What the REST API reads and asks for; errors are `OrchestratorError`s with a `FleetCause` code. */
export interface ControlPlane {
  /** The read model. */
  readonly fleet: FleetView;
  /** Listening and not shutting down (`/readyz`). */
  readonly ready: boolean;
  createRoom(req: CreateRoomRequest, by?: { source?: OperationSource; actor?: string }): Promise<RoomInfo>;
  destroyRoom(roomId: string): Promise<RoomDestroyed>;
  reserveSeats(roomId: string, opts: { count?: number; ttlMs?: number; userIds?: string[] }): Promise<SeatReservation>;
  drainInstance(id: string): Promise<InstanceInfo>;
  undrainInstance(id: string): Promise<InstanceInfo>;
  /** A room lifecycle operation, recorded in the operation log (`stop` answers a `RoomStopResult`). */
  operateRoom(roomId: string, request: RoomOperationRequest, by?: { source?: OperationSource; actor?: string }): Promise<RoomOperationResult>;
}

/** Settings of the HTTP surface (from the orchestrator's options). */
export interface ApiOptions {
  /** Serve `/v1` (`/healthz` and `/readyz` always). */
  api: boolean;
  /** Allowed CORS origins (`'*'` for any). */
  cors: string[];
  /** Accept `?key=` on `GET /v1/events`. */
  sseQueryAuth: boolean;
  /** Take the client address from `X-Forwarded-For`. */
  trustProxy: boolean;
  /** Concurrent SSE streams. */
  maxSseStreams: number;
  /** Interval of the SSE `: ping` comment. */
  sseKeepAliveMs: number;
  /** Most unsent bytes of one SSE stream before it is dropped with `overflow`. */
  sseMaxBufferBytes: number;
  /** Keys that may read `GET /metrics` (besides admin keys). */
  metricsKeys: string[];
}

/**
 * The causes a create by `game` may answer with from resolution: `NO_CATALOG`, the catalog's own
 * refusals passed through (with `VALIDATION`, and `SHUTTING_DOWN` for a catalog not open), and
 * `CATALOG_UNAVAILABLE` for any other failure of the resolver.
 */
export const RESOLVE_CAUSES: readonly FleetCauseValue[] = ['NO_CATALOG', 'UNKNOWN_GAME', 'UNKNOWN_VERSION', 'UNKNOWN_ENV', 'NOT_IN_MANIFEST', 'CATALOG_UNAVAILABLE', 'VALIDATION', 'SHUTTING_DOWN'];

/** What room creation needs of the catalog (the only part of it the control plane sees). */
export interface RoomCatalog {
  /**
   * Resolves `pong` (in an environment) or `pong@1.2.0` to an artifact. Absent: creates by
   * `game` are refused with `NO_CATALOG`.
   */
  readonly resolver?: GameResolver;
  /** The environment a create by `game` without `env` resolves in (`dev`, `staging`, `prod`…). */
  readonly env: string;
}

/** A validated create request, its game resolved: placement gets `type` and, for a catalog room, `artifact`. */
export interface ResolvedCreate {
  /** The room type: a host's local game name, or the catalog game's slug. */
  type: string;
  /** The resolved catalog version (a create by `game`); absent for a create by `type`. */
  artifact?: ArtifactRef;
  options: ValidCreate['options'];
  placement: NonNullable<ValidCreate['placement']>;
}

/**
 * Validates a create request and, when it names a catalog `game`, resolves it through the
 * catalog (in `req.env`, default `catalog.env`). Nothing else of the catalog reaches placement.
 * @throws {OrchestratorError} `VALIDATION` (a bad request, or one giving both or neither of `type`
 *   and `game`); `NO_CATALOG` (no resolver); the catalog's own typed causes unchanged, with its
 *   error as `cause`: `UNKNOWN_GAME`, `UNKNOWN_VERSION`, `UNKNOWN_ENV` (404), `NOT_IN_MANIFEST`
 *   (409), `VALIDATION`, `SHUTTING_DOWN` (a catalog not open); `CATALOG_UNAVAILABLE` when the
 *   resolver fails otherwise (a remote catalog down, or any other cause: see {@link RESOLVE_CAUSES}).
 */
export async function resolveRoomGame(req: CreateRoomRequest, catalog: RoomCatalog): Promise<ResolvedCreate> {
  const v = validateCreate(req);
  const placement = v.placement ?? {};
  if (v.game === undefined) return { type: v.type, options: v.options, placement };
  if (!catalog.resolver) throw new OrchestratorError(FleetCause.NO_CATALOG, `cannot resolve game ${v.game}: this orchestrator has no catalog (create the room by type, or give the orchestrator a catalog)`);
  const env = v.env ?? catalog.env;
  let artifact: ArtifactRef;
  try {
    artifact = await catalog.resolver.resolve(v.game, env);
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    const message = (err as Error)?.message ?? String(err);
    if (isFleetCause(code) && RESOLVE_CAUSES.includes(code) && code !== FleetCause.NO_CATALOG) {
      throw err instanceof OrchestratorError ? err : new OrchestratorError(code, message, { cause: err });
    }
    throw new OrchestratorError(FleetCause.CATALOG_UNAVAILABLE, `cannot resolve game ${v.game} in ${env}: ${message}`, { cause: err });
  }
  return { type: artifact.slug, artifact, options: v.options, placement };
}
