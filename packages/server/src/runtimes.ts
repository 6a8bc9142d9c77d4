/**
 * `@parlor/server/runtimes` — where room engines run, for integrators who choose or build a
 * runtime themselves instead of naming one in `GameServerOptions.runtime`:
 * - the runtime interface ({@link RoomRuntime}: one {@link RoomChannel} per room) and the messages
 *   that cross it ({@link HostToEngineMessage} in, {@link EngineToHostMessage} out, capped by
 *   {@link ENGINE_MESSAGE_LIMITS});
 * - the {@link RoomEngine} every runtime runs (game + Squisher + tick loop);
 * - the three runtimes ({@link InlineRuntime}, {@link ProcessRuntime}, {@link DockerRuntime}), their
 *   options and sandbox limits, and probes of what this machine supports;
 * - the fail-closed policy that picks one by name ({@link createRuntime}, {@link RoutingRuntime});
 * - the reconcile of a host's rooms with its containers and its durable state ({@link RoomReconciler},
 *   {@link startReconcile}), which `parlor serve` runs at start and every `--reconcile-interval`.
 */
export type { RoomRuntime, RoomChannel, RoomSpec } from './runtime/runtime.js';
export type {
  HostToEngineMessage,
  EngineToHostMessage,
  FramesMessage,
  EngineErrorMessage,
  OrderResultEngineMessage,
  TurnResultMessage,
  SavedMessage,
  EndedMessage,
  TurnRequestMessage,
} from './engine/messages.js';
export { ENGINE_MESSAGE_LIMITS } from './engine/messages.js';
export { RoomEngine, DEFAULT_MAX_CONSECUTIVE_ERRORS, type EngineSpec } from './engine/room-engine.js';
export { InlineRuntime } from './runtime/inline.js';
export {
  ProcessRuntime,
  DEFAULT_PROCESS_HEAP_MB,
  DEFAULT_PROCESS_MEMORY_MB,
  DEFAULT_PROCESS_PIDS_MAX,
  DEFAULT_TICK_TIMEOUT_MS,
  type ProcessRuntimeOptions,
} from './runtime/process.js';
export { processRuntimeAvailable, probeProcessSandbox, type ProcessSandboxStatus } from './runtime/sandbox/probe.js';
export { processRunnerPath } from './runtime/sandbox/runner-file.js';
export {
  DockerRuntime,
  dockerAvailable,
  DEFAULT_DOCKER_IMAGE,
  DOCKER_LABELS,
  RUNNER_SHA256_LABEL,
  type DockerRuntimeOptions,
} from './runtime/docker.js';
export { DEFAULT_SANDBOX_LIMITS, type SandboxLimits } from './runtime/sandbox/supervisor.js';
export { DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './runtime/channel.js';
export {
  createRuntime,
  RoutingRuntime,
  RUNTIME_NAMES,
  type RuntimeChoice,
  type RuntimeName,
  type RuntimePolicyOptions,
} from './runtime/policy.js';
export {
  RoomReconciler,
  startReconcile,
  prepareAndReconcile,
  DEFAULT_RECONCILE_INTERVAL_MS,
  RECONCILE_ENDED_REASON,
  type ReconcileHost,
  type ReconcileLoop,
  type ReconcileReport,
  type ReconciledContainer,
  type RoomReconcilerOptions,
} from './runtime/docker-reconcile.js';
