/**
 * @parlor/orchestrator — the Parlor fleet control plane: agent connections and the read model,
 * placement, the REST API `/v1` with its SSE stream, the typed {@link FleetClient}, and the
 * `parlor-orchestrator` CLI (in `cli.ts`). Semantics follow the Rivalis fleet protocol v3.
 */
export { Orchestrator, type OrchestratorOptions } from './orchestrator.js';
export {
  FleetClient,
  FleetClientError,
  FleetClientErrorCode,
  type FleetClientErrorCodeValue,
  type FleetClientOptions,
  type FleetEvent,
  type FleetEventStream,
} from './client.js';
export type {
  InstanceInfo,
  RoomInfo,
  FleetStats,
  Placement,
  PlacementPolicy,
  CreateRoomRequest,
  RoomQuery,
  SeatReservation,
  RoomDestroyed,
  RoomOperationRequest,
  RoomOperationResult,
  RoomStopResult,
  FleetView,
  OrchestratorEvents,
  PlayersChange,
  AutoscalerDecision,
  AutoscalerStatus,
} from './types.js';
export { PROVISIONER_LABEL, PROVISIONED_ID_LABEL, type Provisioner, type ProvisionedInstance, type ServerTemplate, type AutoscalerOptions } from './provisioning/types.js';
export { ProcessProvisioner, defaultServeCommand, PROCESS_KEY_FILE, type ProcessProvisionerOptions } from './provisioning/process.js';
export { SwarmProvisioner, SWARM_SERVICE_LABEL, type SwarmProvisionerOptions, type SwarmBindMount } from './provisioning/swarm.js';
export { KubernetesProvisioner, STOP_DELETION_COST, type KubernetesProvisionerOptions } from './provisioning/kubernetes.js';
export { kubernetesManifests, kubernetesManifestObjects, KUBERNETES_MANIFEST_DEFAULTS, POD_DELETION_COST, type KubernetesManifestOptions } from './provisioning/kubernetes-manifests.js';
export { OrchestratorMetrics, type SseDropReason } from './metrics.js';
export type { SyncReason } from './registry/events.js';
export {
  FleetCause,
  FLEET_CAUSES,
  CAUSE_STATUS,
  OrchestratorError,
  OrchestratorConfigError,
  OrchestratorErrorCode,
  type OrchestratorErrorCodeValue,
  type FleetCauseValue,
} from './errors.js';
export { keyFingerprint, generateKey } from './auth/keys.js';
export { OPENAPI_PATH } from './api/routes.js';
export type { GameResolver, Catalog, PublishGate, GateOutcome, GameConfigPatch } from './catalog/types.js';
export { createCatalog, type CatalogOptions, type PublishStage } from './catalog/service.js';
export { CatalogError, PublishFailureCause, type CatalogCauseValue } from './catalog/errors.js';
export type { CatalogStore, StoredVersion, CommitOutcome, RequestUpdate, ManifestPin } from './catalog/store.js';
export { openSqliteStore } from './catalog/sqlite-store.js';
export { openPgStore } from './catalog/pg-store.js';
export { DEFAULT_UPLOAD_LIMITS, type UploadLimits } from './catalog/upload.js';
export type { CatalogConfig } from './catalog/hosting.js';
export { CatalogServer, type CatalogServerOptions } from './catalog/standalone.js';
export { createRemoteResolver, type RemoteResolverOptions } from './catalog/remote-resolver.js';
export { DEFAULT_MAX_UPLOAD_BYTES } from './catalog/routes.js';
export type { KeyRole } from './auth/guard.js';
export type { OperationCaller } from './agents/room-ops.js';
export { createLogger, LOG_REDACT_PATHS, type Logger, type LogLevel } from './logger.js';
export type { OperationLog, QueueOperation, OperationQuery } from './operations/log.js';
export { OperationStore } from './operations/store.js';
export { openOperationLog, SqliteOperationLog, type SqliteOperationLogOptions } from './operations/sqlite-log.js';
export { INTERRUPTED, OPERATION_PAGE } from './operations/rows.js';
export { runOperation, recordOperation, failedOperation, type OperationOutcome, type OperationRun, type OperationFinished } from './operations/run.js';
export { openOrchestratorDb, ORCHESTRATOR_DB_FILE, type OrchestratorDb } from './operations/db.js';
export { openPgOperationLog, type PgOperationLog } from './operations/pg-log.js';
export { DatabaseUnavailableError, PG_CONNECT_WAIT_MS } from './operations/pg-db.js';
export type { WebhookConfig, WebhookDeliveryOptions, WebhookSummary, WebhookDelivery, DeliveryState } from './notifications/types.js';
export { WEBHOOK_DELIVERY_DEFAULTS } from './notifications/types.js';
export { signWebhook, verifyWebhookSignature, WEBHOOK_HEADERS } from './notifications/signing.js';
