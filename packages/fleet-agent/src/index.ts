/**
 * @parlor/fleet-agent — embeds in a Parlor server host and connects it to the orchestrator: reports
 * rooms (polled snapshots plus a rate-limited dirty nudge), runs placement and room lifecycle
 * commands, forwards the host's room events, drains.
 * Wire protocol modelled on the Rivalis fleet protocol v3.
 */
export { FleetAgent } from './agent.js';
export type { FleetAgentOptions, FleetAgentStatus, FleetAgentEvents, FleetAgentLogger } from './options.js';
export type { FleetHost, HostRoom, HostRoomOpParams, HostRoomOpResult } from './host.js';
export { FleetAgentError, FleetAgentErrorCode, type FleetAgentErrorCodeValue } from './errors.js';
export {
  FLEET_PROTOCOL_MAJOR,
  FLEET_PROTOCOL_MINOR,
  FLEET_PLACE_MINOR,
  FLEET_ROOM_OP_MINOR,
  FLEET_ROOM_OPS,
  ROOM_EVENT_LIMITS,
  FLEET_SUBPROTOCOL,
  FLEET_KEY_PREFIX,
  FLEET_WS_PATH,
  FLEET_MAX_FRAME_BYTES,
  FleetCloseCode,
  FLEET_CLOSE_CODES,
  FleetAckCode,
  encodeFrame,
  decodeFrame,
  agentSubprotocols,
  type FleetCloseCodeInfo,
  type FleetAckCodeValue,
  type RoomProvenance,
  type RoomSnapshot,
  type AgentSnapshot,
  type InstanceCapacity,
  type FleetFrame,
  type HelloFrame,
  type WelcomeFrame,
  type PollFrame,
  type StateFrame,
  type CmdFrame,
  type AckFrame,
  type DirtyFrame,
  type PlaceFrame,
  type PlacedFrame,
  type PlacedRoom,
  type CommandOp,
  type FleetRoomOp,
  type RoomEventFrame,
  type DecodedFrame,
} from './protocol.js';
