/**
 * @parlor/server — the Parlor game server host: HTTP + WebSocket on one port, rooms with
 * reconnect and spectators, input limits and backpressure, room runtimes, the game loader,
 * and Prometheus metrics. The `parlor` CLI lives in `cli.ts`.
 */
export { createGameServer, type GameServer } from './server.js';
export type { GameServerOptions } from './server-options.js';
export { FLEET_ROOMS_PATH, type FleetRoomsHook } from './http/fleet-rooms.js';
export { createFleetHost, type ServerFleetHost, type FleetHostRoom } from './fleet-host.js';
export {
  loadGame,
  loadGamesFromDir,
  findGames,
  findGameEntry,
  bundleGame,
  evaluateBundle,
  validateGameClass,
  type GameSource,
  type LoadedGame,
  type LoadGamesOptions,
  type LoadGameOptions,
} from './games/loader.js';
export {
  loadAssets,
  contentTypeOf,
  ASSETS_PATH,
  ASSET_TYPES,
  DEFAULT_MAX_ASSET_BYTES,
  DEFAULT_MAX_GAME_ASSET_BYTES,
  type LoadedAsset,
  type AssetLimits,
} from './games/assets.js';
export { validateMetadata } from './games/metadata.js';
export { RoomEngine, DEFAULT_MAX_CONSECUTIVE_ERRORS, type EngineSpec } from './engine/room-engine.js';
export type { HostToEngineMessage, EngineToHostMessage, FramesMessage, EngineErrorMessage } from './engine/messages.js';
export { ENGINE_MESSAGE_LIMITS } from './engine/messages.js';
export type { RoomRuntime, RoomChannel, RoomSpec } from './runtime/runtime.js';
export { InlineRuntime } from './runtime/inline.js';
export {
  ProcessRuntime,
  processRuntimeAvailable,
  probeProcessSandbox,
  DEFAULT_PROCESS_HEAP_MB,
  DEFAULT_PROCESS_MEMORY_MB,
  DEFAULT_PROCESS_PIDS_MAX,
  type ProcessSandboxStatus,
  DEFAULT_TICK_TIMEOUT_MS,
  type ProcessRuntimeOptions,
  processRunnerPath,
} from './runtime/process.js';
export { inspectInSandbox } from './runtime/sandbox/inspect.js';
export {
  superviseSandbox,
  pickSandboxLimits,
  DEFAULT_SANDBOX_LIMITS,
  type SandboxRoomChannel,
  type SandboxChild,
  type SandboxLimits,
  type SuperviseConfig,
} from './runtime/sandbox/supervisor.js';
export { checkEngineMessage, isFrameHead, type ChannelViolation } from './runtime/sandbox/messages.js';
export {
  DockerRuntime,
  dockerAvailable,
  DEFAULT_DOCKER_IMAGE,
  DOCKER_LABELS,
  RUNNER_SHA256_LABEL,
  type DockerRuntimeOptions,
} from './runtime/docker.js';
export {
  createRuntime,
  isProduction,
  RoutingRuntime,
  RUNTIME_NAMES,
  type RuntimeChoice,
  type RuntimeName,
  type RuntimePolicyOptions,
} from './runtime/policy.js';
export {
  validateGame,
  scanSource,
  formatGateReport,
  DEFAULT_SMOKE_MS,
  GATE_DISCLAIMER,
  type GateReport,
  type GateFinding,
  type SmokeResult,
  type ValidateOptions,
  type GateRuntimeChoice,
  type GateRuntimeInfo,
} from './gate/validate.js';
export { ALLOWED_BUILTINS } from './runner/builtins.js';
export { encodeChannelMessage, ChannelDecoder, ChannelError, DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './runtime/channel.js';
export { ServerMetrics, type RejectReason, type MetricsSource, type ConnectionRefusedReason } from './metrics.js';
export { createConsoleLogger, type Logger, type LogLevel } from './logger.js';
export { TokenBucket } from './rate-limit.js';
export type { GameInfo } from './games/catalog.js';
export type { RoomInfo } from './rooms/room.js';
export { ServerError, GameLoadError, ServerConfigError, RuntimeError, ServerErrorCode, type ServerErrorCodeValue } from './errors.js';
