/**
 * @parlor/client — the browser side of Parlor: connects to a game server, mirrors the scene
 * from squish frames, draws it on a canvas, and sends input back.
 *
 * On a play page: `Parlor.start({ game: 'pong' })` (the IIFE bundle exposes `Parlor`).
 * Embedders can use the pieces (renderer, input, connection…) on their own.
 */
export { start, ParlorClient, tokenStorageKey, IDENTITY_TOKEN_KEY, playPath, describeError, type StartOptions, type ClientStatus, type ClientEvents } from './client.js';
export {
  Connection,
  type ConnectionOptions,
  type ConnectionStatus,
  type ConnectionError,
  type ConnectionEvents,
  type WebSocketConstructor,
} from './net/connection.js';
export { RedirectRefusedError, type RedirectTarget, type RedirectPolicy } from './net/redirect.js';
export { CanvasRenderer, type RendererOptions } from './render/renderer.js';
export { Interpolator, type InterpolationOptions } from './render/interpolation.js';
export { InputController, type InputOptions } from './input/input.js';
export { StatusOverlay, type OverlayState, type OverlayAction } from './ui/overlay.js';
export { RoomHud, formatCountdown, roomStateText, orderResultText, type RoomHudOptions } from './ui/room-hud.js';
export { orderText, type OrderResult } from './net/orders.js';
export { DevMode, startDevOverlay, type DevModeOptions, type DevOverlayPageOptions } from './ui/dev-mode.js';
export { DevOverlay, diagnosticLocation, type DevOverlayContent } from './ui/dev-overlay.js';
export {
  DevEvents,
  DevRecovery,
  DEV_EVENTS_PATH,
  isHealthy,
  parseDevState,
  type DevState,
  type DevDiagnostic,
  type DevEventsEvents,
  type EventSourceConstructor,
} from './net/dev-events.js';
export { AssetStore, type AssetStoreOptions, type ImageState } from './media/assets.js';
export { AudioPlayer } from './media/audio.js';
export { hitTest, approximateMeasureText, LINE_HEIGHT, type HitTestOptions, type MeasureText } from './render/hit-test.js';
export {
  letterbox,
  planeToCanvas,
  canvasToPlane,
  insidePlane,
  backingSize,
  composeTransform,
  IDENTITY,
  type AspectRatio,
  type Viewport,
  type PlanePoint,
  type PlaneTransform,
} from './render/coords.js';
export { ClientError, ClientErrorCode, type ClientErrorCodeValue } from './errors.js';
export type { BackoffOptions, RoomState, RoomStatus, RefusalCodeValue } from '@parlor/squish';
export { RefusalCode, ORDER_LIMITS } from '@parlor/squish';
export { closeAction, closeCodeMeaning, CLIENT_RESET_CLOSE, type CloseAction } from './net/close-codes.js';
export { SceneMirror } from '@parlor/squish';
