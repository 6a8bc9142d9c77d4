/**
 * The orchestrator's commands as the agent runs them on its host: `createRoom`, `destroyRoom`,
 * `reserveSeats`, `drain`, `undrain`, `roomOp` (since 1.3: pause, resume, restart, patch, turn),
 * each answered by an `ack` (protocol codes in `FleetAckCode`).
 * Owns no state: the agent hands {@link runCommand} a narrow {@link CommandTarget} (its host, its
 * drain flag, its record of fleet-created rooms, its snapshot) and sends the ack it returns.
 */
import { isRoomId, OPERATION_SOURCES, SHA256_RE, type ArtifactRef } from '@parlor/squish';
import type { FleetHost } from './host.js';
import { FLEET_ROOM_OPS, FleetAckCode, type AckFrame, type AgentSnapshot, type CmdFrame } from './protocol.js';

/** Longest `reason` of a `roomOp` pause, characters. */
const MAX_REASON = 200;

/** What {@link runCommand} may do to the agent that received the command. */
export interface CommandTarget {
  /** The server host the agent embeds in. */
  readonly host: FleetHost;
  /** Whether the agent is draining (no new fleet rooms unless forced). */
  isDraining(): boolean;
  /** Records `roomId` as created by the fleet (its provenance in snapshots), before the host creates it. */
  claimFleetRoom(roomId: string): void;
  /** Forgets a {@link CommandTarget.claimFleetRoom} whose creation failed. */
  releaseFleetRoom(roomId: string): void;
  /** The agent's current snapshot of the host. */
  snapshot(): AgentSnapshot;
  /** Starts a drain. */
  drain(): void;
  /** Ends a drain. */
  undrain(): void;
}

/**
 * Runs one `cmd` against the host and returns its `ack` (never rejects): a host error becomes a
 * failed ack with the error's string `code` (else `HOST_FAILED`) and message.
 */
export async function runCommand(c: CmdFrame, agent: CommandTarget): Promise<AckFrame> {
  const fail = (code: string, message: string): AckFrame => ({ t: 'ack', id: c.id, ok: false, error: { code, message } });
  try {
    switch (c.op) {
      case 'createRoom': {
        const type = String(c.type ?? '');
        const roomId = String(c.roomId ?? '');
        if (!isRoomId(roomId)) return fail(FleetAckCode.VALIDATION, 'invalid roomId');
        if (agent.isDraining() && !c.force) return fail(FleetAckCode.INSTANCE_DRAINING, 'instance is draining');
        if (c.artifact !== undefined && !validArtifact(c.artifact, type)) {
          return fail(FleetAckCode.VALIDATION, 'invalid artifact (its slug must be the type, with a version, a sha256 and a url)');
        }
        // a catalog room (an artifact) runs whatever its slug: the host fetches the version
        if (!c.artifact && !agent.host.roomTypes().includes(type)) return fail(FleetAckCode.UNKNOWN_ROOM_TYPE, `no room type ${JSON.stringify(type)} here`);
        if (agent.host.listRooms().some((r) => r.roomId === roomId)) return fail(FleetAckCode.ROOM_EXISTS, `room ${roomId} exists`);
        agent.claimFleetRoom(roomId);
        try {
          if (c.artifact) await agent.host.createRoom(type, roomId, c.options ?? {}, c.artifact);
          else await agent.host.createRoom(type, roomId, c.options ?? {});
        } catch (err) {
          agent.releaseFleetRoom(roomId);
          // the room appeared meanwhile (a player's first join): the protocol's ROOM_EXISTS, the host's error in the message
          if (agent.host.listRooms().some((r) => r.roomId === roomId)) return fail(FleetAckCode.ROOM_EXISTS, `room ${roomId} exists (${hostError(err)})`);
          throw err;
        }
        const room = agent.snapshot().rooms.find((r) => r.roomId === roomId);
        return { t: 'ack', id: c.id, ok: true, room };
      }
      case 'destroyRoom': {
        const roomId = String(c.roomId ?? '');
        const gone = !agent.host.listRooms().some((r) => r.roomId === roomId);
        await agent.host.destroyRoom(roomId);
        return gone ? { t: 'ack', id: c.id, ok: true, alreadyGone: true } : { t: 'ack', id: c.id, ok: true };
      }
      case 'reserveSeats': {
        if (!agent.host.reserveSeats) return fail(FleetAckCode.UNSUPPORTED, 'this host does not reserve seats');
        const roomId = String(c.roomId ?? '');
        const live = (): boolean => agent.host.listRooms().some((x) => x.roomId === roomId);
        if (!live()) return fail(FleetAckCode.ROOM_NOT_FOUND, `no live room ${roomId.slice(0, 64)} here`);
        let r: { tickets: string[]; expiresAt: number };
        try {
          const userIds = Array.isArray(c.userIds) ? c.userIds.map(String) : undefined;
          r = await agent.host.reserveSeats(roomId, Number(c.count), Number(c.ttlMs), userIds);
        } catch (err) {
          // the room ended meanwhile: the protocol's ROOM_NOT_FOUND, the host's error in the message
          if (!live()) return fail(FleetAckCode.ROOM_NOT_FOUND, `room ${roomId} ended (${hostError(err)})`);
          throw err;
        }
        return { t: 'ack', id: c.id, ok: true, tickets: [...r.tickets], expiresAt: r.expiresAt };
      }
      case 'roomOp':
        return await roomOp(c, agent.host);
      case 'drain':
        agent.drain();
        return { t: 'ack', id: c.id, ok: true };
      case 'undrain':
        agent.undrain();
        return { t: 'ack', id: c.id, ok: true };
      default:
        return fail(FleetAckCode.UNKNOWN_COMMAND, `unknown command ${String(c.op)}`);
    }
  } catch (err) {
    const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : FleetAckCode.HOST_FAILED;
    return fail(code, (err as Error)?.message ?? String(err));
  }
}

/** Runs a `roomOp` command (since 1.3) on the host: checked, then `host.roomOp`; the ack carries the room's state and version after it. */
async function roomOp(c: CmdFrame, host: FleetHost): Promise<AckFrame> {
  const fail = (code: string, message: string): AckFrame => ({ t: 'ack', id: c.id, ok: false, error: { code, message } });
  const roomId = String(c.roomId ?? '');
  const op = c.roomOp;
  if (!isRoomId(roomId)) return fail(FleetAckCode.VALIDATION, 'invalid roomId');
  if (typeof op !== 'string' || !FLEET_ROOM_OPS.includes(op)) return fail(FleetAckCode.VALIDATION, `unknown room operation ${JSON.stringify(String(op).slice(0, 32))}`);
  if (c.reason !== undefined && (typeof c.reason !== 'string' || c.reason.length > MAX_REASON)) return fail(FleetAckCode.VALIDATION, `reason must be a string of at most ${MAX_REASON} characters`);
  if (c.source !== undefined && !OPERATION_SOURCES.includes(c.source)) return fail(FleetAckCode.VALIDATION, 'invalid source');
  if (!host.roomOp) return fail(FleetAckCode.UNSUPPORTED, 'this host runs no room lifecycle operations');
  const room = host.listRooms().find((r) => r.roomId === roomId);
  if (!room) return fail(FleetAckCode.ROOM_NOT_FOUND, `no live room ${roomId} here`);
  if (op === 'patch' && !validArtifact(c.artifact, room.type)) return fail(FleetAckCode.VALIDATION, `patch needs an artifact of the room's game ${room.type} (a version, a sha256 and a url)`);
  let result;
  try {
    result = await host.roomOp(roomId, op, {
      ...(c.reason !== undefined && { reason: c.reason }),
      ...(op === 'patch' && { artifact: c.artifact }),
      ...(c.source !== undefined && { source: c.source }),
    });
  } catch (err) {
    // the room ended meanwhile: the protocol's ROOM_NOT_FOUND, the host's error in the message
    if (!host.listRooms().some((r) => r.roomId === roomId)) return fail(FleetAckCode.ROOM_NOT_FOUND, `room ${roomId} ended (${hostError(err)})`);
    throw err;
  }
  const ack: AckFrame = { t: 'ack', id: c.id, ok: true, state: result.state };
  ack.version = typeof result.version === 'string' ? result.version : null;
  return ack;
}

/** Whether `a` is a usable artifact reference of the game `slug`. */
function validArtifact(a: unknown, slug: string): a is ArtifactRef {
  if (typeof a !== 'object' || a === null) return false;
  const r = a as Partial<ArtifactRef>;
  return r.slug === slug && typeof r.version === 'string' && SHA256_RE.test(String(r.sha256)) && typeof r.url === 'string';
}

/** `CODE: message` of a host's error, for an ack message that wraps it. */
function hostError(err: unknown): string {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? `${(err as { code: string }).code}: ` : '';
  return `${code}${(err as Error)?.message ?? String(err)}`.slice(0, 300);
}
