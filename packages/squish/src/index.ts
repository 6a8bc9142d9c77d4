/**
 * @parlor/squish — the shared contract of Parlor: the scene graph, the `Game` base classes,
 * the squish binary codec (nodes, full and delta frames) and the client/server protocol.
 * Isomorphic: no Node-only imports.
 */
export * from './wire/errors.js';
export * from './scene/colors.js';
export {
  Node, Group, Shape, Text, Asset, ShapeUtils, NodeKind,
  type NodeKindValue, type PlayerId, type Point, type ShapeType, type TextAlign, type Shadow, type Crop,
  type ClickHandler, type NodeOptions, type GroupOptions, type ShapeOptions, type TextOptions, type AssetOptions, type AnyNode,
} from './scene/nodes.js';
export {
  Game, ViewableGame, resolveMetadata, GameMetadataError, METADATA_LIMITS,
  type GameClass, type GameMetadata, type ResolvedGameMetadata, type AssetSpec, type PlayerInfo, type GamepadState, type View,
  type TurnSchedule,
} from './game/game.js';
export { TurnBasedGame, OrderRejectedError } from './game/turn-based.js';
export {
  ROOM_STATUSES, RefusalCode, ORDER_LIMITS, ROOM_OPS, FLEET_OPS, OPERATION_KINDS, OPERATION_SOURCES, NOTIFICATION_KINDS,
  type RoomStatus, type RoomState, type RefusalCodeValue, type RoomOp, type FleetOp, type OperationKind, type OperationSource, type OperationState,
  type Operation, type GameResult, type RoomEvent, type RoomEventKind, type NotificationKind, type Notification,
} from './wire/lifecycle.js';
export { PROTOCOL_VERSION, SQUISH_VERSION, SUPPORTED_SQUISH_VERSIONS } from './wire/version.js';
export { quantize, FIXED_SCALE } from './codec/bytes.js';
export { squish, unsquish } from './codec/codec.js';
export { nodeBounds, type Bounds } from './scene/bounds.js';
export {
  hitTestPlane, nodesAtPoint, nodeScreenBox, approximateTextWidth, TEXT_LINE_HEIGHT, inPolygon, distanceToPolyline,
  type PlaneAspect, type PlaneHitOptions, type TextMeasure, type ScreenBox,
} from './scene/hit-test.js';
export { Squisher, messageFor, type SquisherOptions, type TickFrames } from './sync/squisher.js';
export { FrameKind } from './codec/frame.js';
export { SceneMirror, type ApplyResult } from './sync/mirror.js';
export { frameNodes, type FrameNodeEntry } from './sync/frame-nodes.js';
export * from './wire/protocol-types.js';
export { encodeServerMessage, decodeServerMessage, encodeClientMessage, decodeClientMessage } from './wire/protocol.js';
export {
  SLUG_RE, ENV_RE, VERSION_RE, SHA256_RE,
  type GameAccess, type CatalogGame, type PublishReport, type GameVersion, type PublishState, type PublishRequest,
  type ManifestEntry, type Manifest, type ManifestChange, type ArtifactRef, type PlayerIdentity,
} from './wire/catalog.js';
export { seededRandom } from './game/random.js';
export { backoffDelay, DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS, type BackoffOptions } from './wire/backoff.js';
export { TokenBucket } from './wire/rate.js';
export {
  WS_PATH, PLAY_PATH_PREFIX, ROOM_ID_RE, GAME_NAME_RE, LABEL_KEY_RE, LABEL_VALUE_MAX,
  isRoomId, isGameName, isLabel, playPath, parsePlayPath, socketUrlFor,
} from './wire/paths.js';
