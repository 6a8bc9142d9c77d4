/** The narrow interface the REST API works against (the orchestrator implements it). */
import type { CreateRoomRequest, FleetView, InstanceInfo, RoomInfo, SeatReservation } from '../types.js';

/** What the REST API reads and asks for; errors are `OrchestratorError`s with a `FleetCause` code. */
export interface ControlPlane {
  /** The read model. */
  readonly fleet: FleetView;
  /** Listening and not shutting down (`/readyz`). */
  readonly ready: boolean;
  createRoom(req: CreateRoomRequest): Promise<RoomInfo>;
  destroyRoom(roomId: string): Promise<void>;
  reserveSeats(roomId: string, opts: { count?: number; ttlMs?: number }): Promise<SeatReservation>;
  drainInstance(id: string): Promise<InstanceInfo>;
  undrainInstance(id: string): Promise<InstanceInfo>;
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
