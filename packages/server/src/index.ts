/**
 * @parlor/server — the Parlor game server host: HTTP + WebSocket on one port, rooms with
 * reconnect and spectators, input limits and backpressure, the game loader, Prometheus metrics,
 * and the fleet adapter. The `parlor` CLI lives in `cli/cli.ts`.
 *
 * Three more entry points: `@parlor/server/runtimes` (where room engines run: the runtime
 * interface, the inline/process/docker runtimes and their policy), `@parlor/server/gate` (the
 * publish gate, `parlor validate` as a function) and `@parlor/server/testing` (the test kit for
 * game authors: a room's engine on a manual clock).
 */
export { createGameServer, type GameServer, type GameServerEvents } from './server.js';
export type { GameServerOptions } from './server-options.js';
export { DEFAULT_ROLE_LADDER, MIN_SECRET_BYTES, type IdentityOptions, type AuthenticateHook, type JoinRequest } from './identity/options.js';
export type { FleetRoomsHook } from './http/fleet-rooms.js';
/** `parlor dev`'s build status of each game, which the server serves to the browser's dev overlay (`GameServerOptions.devStatus`). */
export { DevStatus, type DevGameState, type DevStatusEvents, type GameDiagnostic } from './dev/status.js';
export { createFleetHost, type ServerFleetHost, type FleetHostRoom } from './fleet/fleet-host.js';
export { attachFleet, type FleetFlags, type FleetCapacity } from './fleet/fleet-cli.js';
export {
  loadGame,
  loadGamesFromDir,
  type GameSource,
  type LoadedGame,
  type LoadGamesOptions,
  type LoadGameOptions,
} from './games/loader.js';
export { DEFAULT_MAX_ASSET_BYTES, DEFAULT_MAX_GAME_ASSET_BYTES, type LoadedAsset, type AssetLimits } from './games/assets.js';
export { ServerMetrics } from './metrics.js';
export { createLogger, LOG_LEVELS, LOG_REDACT_PATHS, type Logger, type LogLevel, type CreateLoggerOptions } from './logger.js';
export type { GameInfo, CatalogVersionSource } from './games/catalog.js';
export {
  ArtifactCache,
  DEFAULT_ARTIFACT_MAX_BYTES,
  DEFAULT_ARTIFACT_TIMEOUT_MS,
  sha256Of,
  type ArtifactCacheOptions,
  type ExtractedArtifact,
} from './catalog/artifact-cache.js';
export {
  CatalogVersions,
  fetchManifest,
  followManifest,
  refOf,
  type FollowManifestOptions,
  type ManifestApplied,
  type ManifestFollower,
} from './catalog/versions.js';
export type { RoomInfo } from './rooms/room.js';
export { ServerError, GameLoadError, ServerConfigError, RuntimeError, ArtifactError, ServerErrorCode, type ServerErrorCodeValue } from './errors.js';
/**
 * The host's durable room state (what `parlor serve --state-dir` keeps across restarts and kill -9):
 * the {@link RoomStateStore} interface and its SQLite implementation, {@link openRoomStateStore}.
 */
export type { RoomStateStore, StoredRoom, StoredSnapshot, StoredMember } from './state/store.js';
export { openRoomStateStore, ROOM_STATE_FILE, ENDED_ROOM_KEEP_MS, type RoomStateStoreOptions } from './state/sqlite-store.js';
