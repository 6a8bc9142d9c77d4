/**
 * The agent hub: the agent WebSocket (`/v1/agent`) from upgrade to close. Authenticates the
 * upgrade, speaks the fleet protocol (hello, polls and snapshots, dirty nudges, `place`, acks,
 * room events),
 * marks instances stale and evicts them, and removes an instance at once when its socket drops.
 * What agents report goes into the read model through the {@link Registry}; acks go to the
 * {@link CommandRpc}; a `place` goes to the control plane.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { TokenBucket, type OperationSource, type RoomEvent } from '@parlor/squish';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  FLEET_KEY_PREFIX,
  FLEET_MAX_FRAME_BYTES,
  FLEET_PROTOCOL_MAJOR,
  FLEET_SUBPROTOCOL,
  FLEET_WS_PATH,
  FleetCloseCode,
  ROOM_EVENT_LIMITS,
  decodeFrame,
  type AckFrame,
  type AgentSnapshot,
  type HelloFrame,
  type PlacedFrame,
} from '@parlor/fleet-agent';
import { clientIp, type AuthGuard } from '../auth/guard.js';
import { FleetCause, isFleetCause, OrchestratorError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InstanceRecord } from '../registry/instance.js';
import type { Registry } from '../registry/read-model.js';
import { firstError } from '../schemas.js';
import type { CreateRoomRequest, RoomInfo } from '../types.js';
import type { CommandRpc, LateCommand } from './commands.js';
import { AgentConnection } from './connection.js';
import { CreateLedger } from './creates.js';
import { RoomReaper } from './reaper.js';
import { AGENT_MESSAGES, checkHello, checkRoomEvent, checkState, ROOM_EVENT_KINDS, type AgentMessage } from './messages.js';

/** Settings of the hub (from the orchestrator's options). */
export interface HubOptions {
  pollMs: number;
  fullEvery: number;
  trustProxy: boolean;
  maxDirtyPerSecond: number;
  placePerSecond: number;
  placeBurst: number;
  /** A command's deadline (ms); also how long a retry waits for an earlier create's outcome. */
  commandTimeoutMs: number;
  /** Destroy fleet rooms nobody joined this long after they appeared (ms); 0 never. */
  unjoinedRoomTtlMs: number;
  /** In-flight commands per instance before `INSTANCE_BUSY`. */
  maxInflightPerInstance: number;
}

/** What the hub calls out to. */
export interface HubDeps {
  registry: Registry<AgentConnection>;
  commands: CommandRpc;
  guard: AuthGuard;
  logger: Logger;
  /** Whether new agents are accepted (listening, not shutting down). */
  accepting(): boolean;
  /** Places and creates a room for an agent's `place` (the control plane's `createRoom`). */
  /** Places and creates a room (the orchestrator's `createRoom`); `by` is who asked, for the operation log. */
  createRoom(req: CreateRoomRequest, by?: { source?: OperationSource; actor?: string }): Promise<RoomInfo>;
  /** An ack that came after its command's deadline (the control plane reconciles creates). */
  lateAck(rec: InstanceRecord<AgentConnection>, late: LateCommand, ack: AckFrame): void;
  /** A checked room event of an instance's host (protocol 1.3), in the order the agent sent it. */
  roomEvent(rec: InstanceRecord<AgentConnection>, event: RoomEvent): void;
}

/** Accepts and serves agent connections. */
export class AgentHub {
  /** Every create in flight or with an unknown outcome (the roomIds it reserves); see {@link CreateLedger}. */
  readonly creates: CreateLedger;
  /** Unjoined rooms, failed destroys and duplicate fleet rooms, ended by the orchestrator itself. */
  readonly reaper: RoomReaper;
  private readonly wss: WebSocketServer;
  private pollTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly opts: HubOptions,
    private readonly deps: HubDeps,
  ) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: FLEET_MAX_FRAME_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(FLEET_SUBPROTOCOL) ? FLEET_SUBPROTOCOL : false),
    });
    this.creates = new CreateLedger((roomId) => deps.registry.room(roomId), opts.commandTimeoutMs, deps.logger.child({ component: 'creates' }));
    this.reaper = new RoomReaper(opts, deps.registry, deps.commands, deps.logger.child({ component: 'reaper' }));
    deps.registry.onDuplicate = (second, snap, first) => this.reaper.duplicate(second, snap, first);
  }

  /** Starts polling every instance. */
  start(): void {
    this.pollTimer = setInterval(() => this.pollAll(), this.opts.pollMs);
  }

  /** Stops polling and closes every instance's socket with `code`. */
  stop(reason: string, code: number): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const rec of this.deps.registry.all()) this.drop(rec.link, reason, code);
  }

  /**
   * Closes every session whose key is no longer accepted (`accepted(fp)` false) with
   * `KEY_REVOKED`; the instance goes as on any drop. @returns how many were closed.
   */
  dropRevoked(accepted: (fp: string) => boolean): number {
    let n = 0;
    for (const rec of this.deps.registry.all()) {
      const conn = rec.link;
      if (accepted(conn.keyFp)) continue;
      conn.log.warn({ keyFp: conn.keyFp }, 'agent key revoked: session closed');
      this.drop(conn, 'agent key revoked', FleetCloseCode.KEY_REVOKED);
      n++;
    }
    return n;
  }

  /** The HTTP server's `upgrade` event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let path = '/';
    try {
      path = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      // fall through: 404
    }
    const refuse = (status: string, extra = ''): void => {
      socket.end(`HTTP/1.1 ${status}\r\n${extra}Connection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== FLEET_WS_PATH) return refuse('404 Not Found');
    if (!this.deps.accepting()) return refuse('503 Service Unavailable');
    const ip = clientIp(req, this.opts.trustProxy);
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    const keyToken = offered.find((s) => s.startsWith(FLEET_KEY_PREFIX));
    let key: string | null = null;
    if (keyToken && offered.includes(FLEET_SUBPROTOCOL)) {
      try {
        key = Buffer.from(keyToken.slice(FLEET_KEY_PREFIX.length), 'base64url').toString('utf8');
      } catch {
        key = null;
      }
    }
    const verdict = this.deps.guard.check('agent', ip, key);
    if (!verdict.ok) return verdict.reason === 'throttled' ? refuse('429 Too Many Requests', `Retry-After: ${verdict.retryAfterS}\r\n`) : refuse('401 Unauthorized');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onAgent(ws, ip, verdict.fingerprint));
  }

  private onAgent(ws: WebSocket, ip: string, fp: string): void {
    const conn = new AgentConnection(ws, ip, fp, this.deps.logger.child({ ip }));
    ws.binaryType = 'nodebuffer';
    const helloTimer = setTimeout(() => {
      if (!conn.welcomed) this.kick(conn, 'no hello within 10 s');
    }, 10_000);
    helloTimer.unref?.();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (conn.closed) return;
      if (!isBinary) return this.kick(conn, 'text frame');
      this.onFrame(conn, data);
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      this.drop(conn, 'socket closed');
    });
    ws.on('error', () => undefined);
  }

  private onFrame(conn: AgentConnection, data: Buffer): void {
    const d = decodeFrame(data);
    if (!d) return this.kick(conn, 'undecodable frame');
    const f = d.frame;
    const rec = conn.record;
    if (!conn.welcomed || !rec) {
      if (f.t !== 'hello') return this.kick(conn, `unsolicited ${String(f.t).slice(0, 16)} before hello`);
      if (d.major !== FLEET_PROTOCOL_MAJOR) {
        conn.log.warn({ version: `${d.major}.${d.minor}`, want: FLEET_PROTOCOL_MAJOR }, 'agent refused');
        conn.closed = true;
        conn.ws.close(FleetCloseCode.VERSION, `protocol ${d.major}.${d.minor} not supported (want ${FLEET_PROTOCOL_MAJOR}.x)`);
        return;
      }
      return this.onHello(conn, f, d.minor);
    }
    if (d.major !== FLEET_PROTOCOL_MAJOR) return this.kick(conn, 'version changed mid-session');
    if (f.t === 'hello') return this.kick(conn, 'duplicate hello');
    const t = f.t as keyof typeof AGENT_MESSAGES;
    const check = Object.hasOwn(AGENT_MESSAGES, t) ? AGENT_MESSAGES[t] : undefined;
    if (!check) return this.kick(conn, `unknown or unsolicited frame ${String(f.t).slice(0, 16)}`);
    const bad = firstError(check, f);
    if (bad) return this.kick(conn, `bad ${t}: ${bad}`);
    switch (t) {
      case 'state':
        return this.onState(conn, rec, f as AgentMessage['state']);
      case 'ack':
        return this.onAck(conn, rec, f as AgentMessage['ack']);
      case 'dirty':
        return this.onDirty(conn);
      case 'place':
        return this.onPlace(conn, rec, f as AgentMessage['place']);
      case 'roomEvent':
        return this.onRoomEvent(conn, rec, f as AgentMessage['roomEvent']);
    }
  }

  private onHello(conn: AgentConnection, f: HelloFrame, minor: number): void {
    const bad = checkHello(f);
    if (bad) return this.kick(conn, `bad hello: ${bad}`);
    const hello: HelloFrame = {
      t: 'hello',
      processUid: f.processUid,
      name: f.name,
      endpointUrl: f.endpointUrl.replace(/\/+$/, ''),
      labels: { ...f.labels },
      capacity: { maxConnections: f.capacity.maxConnections, maxRooms: f.capacity.maxRooms },
      autoCreate: f.autoCreate === true,
      ...(f.squishVersions !== undefined && { squishVersions: [...new Set(f.squishVersions)] }),
    };
    const { registry } = this.deps;
    const old = registry.byUid(f.processUid);
    if (old && !old.link.closed && old.link.missed === 0) {
      // A live session of this process answers its polls: a clone of its processUid, not a
      // reconnect (a reconnecting agent's old socket is closed or silent). Keep the first.
      conn.log.error({ processUid: f.processUid, name: f.name, live: old.id }, 'second live session of one processUid refused: two processes share it');
      conn.closed = true;
      conn.ws.close(FleetCloseCode.DUPLICATE_PROCESS, 'another live session has this processUid');
      setTimeout(() => conn.ws.terminate(), 1000).unref?.();
      return;
    }
    if (old) this.drop(old.link, 'replaced by a new connection of the same process', FleetCloseCode.REPLACED);
    const rec = registry.admit(hello, conn);
    conn.record = rec;
    conn.log = this.deps.logger.child({ instance: rec.id, ip: conn.ip });
    conn.welcomed = true;
    conn.minor = minor;
    conn.reportsCreating = minor >= 2;
    conn.send({ t: 'welcome', instanceId: rec.id, pollMs: this.opts.pollMs, session: conn.session, now: performance.now() });
    conn.log.info({ name: f.name, processUid: f.processUid, endpoint: hello.endpointUrl, keyFp: conn.keyFp }, 'instance joined');
    registry.joined(rec);
    this.poll(conn, true);
  }

  private poll(conn: AgentConnection, forceFull = false): void {
    if (conn.closed || conn.pollOutstanding !== null) return;
    conn.polls++;
    const full = forceFull || conn.polls % this.opts.fullEvery === 0;
    conn.pollOutstanding = ++conn.pollSeq;
    conn.pollSentAt = performance.now();
    conn.send({ t: 'poll', seq: conn.pollSeq, hash: full ? null : conn.hash, now: conn.pollSentAt });
  }

  /** Every poll interval: 2 unanswered polls → stale, 3 → evicted; then the reaper's sweep. */
  private pollAll(): void {
    this.reaper.sweep();
    for (const rec of this.deps.registry.all()) {
      const conn = rec.link;
      if (conn.closed) continue;
      if (conn.pollOutstanding !== null) {
        conn.missed++;
        if (conn.missed >= 3) {
          this.drop(conn, `evicted after ${conn.missed} missed polls`, FleetCloseCode.EVICTED);
          continue;
        }
        if (conn.missed >= 2) this.deps.registry.markStale(rec, conn.missed);
        continue;
      }
      this.poll(conn);
    }
  }

  private onDirty(conn: AgentConnection): void {
    conn.dirtyBucket ??= new TokenBucket(this.opts.maxDirtyPerSecond, this.opts.maxDirtyPerSecond);
    if (!conn.dirtyBucket.take()) return this.kick(conn, 'dirty nudges over the rate limit');
    if (conn.pollOutstanding !== null) conn.pollAgain = true;
    else this.poll(conn);
  }

  /**
   * An agent asks for a room (protocol 1.1): normal placement (default policy, no pin) through the
   * control plane's `createRoom`, answered with `placed`. A frame without a usable id, or with the
   * id of an unanswered `place`, gets the agent kicked; a bad type or options gets `VALIDATION`;
   * over the rate limit, `INSTANCE_BUSY`. Every answered request is audit-logged as coming from
   * that agent.
   */
  private onPlace(conn: AgentConnection, rec: InstanceRecord<AgentConnection>, f: AgentMessage['place']): void {
    if (conn.placing.has(f.id)) return this.kick(conn, 'duplicate place id');
    const id = f.id;
    const type = typeof f.type === 'string' ? f.type.slice(0, 64) : undefined;
    const answer = (r: Omit<PlacedFrame, 't' | 'id'>): void => {
      conn.placing.delete(id);
      conn.log.info({ op: 'place', keyFp: conn.keyFp, game: type, status: r.ok ? 'OK' : r.cause, room: r.room?.roomId, on: r.room?.instanceId }, 'audit');
      if (!conn.closed) conn.send({ t: 'placed', id, ...r });
    };
    conn.placeBucket ??= new TokenBucket(this.opts.placePerSecond, this.opts.placeBurst);
    if (!conn.placeBucket.take()) return answer({ ok: false, cause: FleetCause.INSTANCE_BUSY, message: `over ${this.opts.placePerSecond} placements per second for this instance` });
    conn.placing.add(id);
    // The same path as REST POST /v1/rooms, without roomId or placement: the agent cannot pin or force.
    this.deps.createRoom({ type: f.type, options: f.options } as CreateRoomRequest, { source: 'lobby', actor: conn.record?.id ?? '' }).then(
      (room) => answer({ ok: true, room: { roomId: room.roomId, joinUrl: room.joinUrl, instanceId: room.instanceId } }),
      (err: unknown) => {
        // `cause` is a REST cause on the wire; anything else the create threw is COMMAND_FAILED
        const code = err instanceof OrchestratorError && isFleetCause(err.code) ? err.code : FleetCause.COMMAND_FAILED;
        answer({ ok: false, cause: code, message: String((err as Error)?.message ?? err).slice(0, 500) });
      },
    );
  }

  /**
   * A room event of the host (protocol 1.3): over twice the agent's own rate limit the agent is
   * kicked (as for dirty nudges); an event whose fields are not what its kind says is dropped with
   * a warning (the first, then every 100th: a host and an orchestrator of different builds must not
   * lose their session over one field), as is an event of a kind this orchestrator does not know (a
   * newer agent's, logged at debug).
   */
  private onRoomEvent(conn: AgentConnection, rec: InstanceRecord<AgentConnection>, f: AgentMessage['roomEvent']): void {
    conn.eventBucket ??= new TokenBucket(2 * ROOM_EVENT_LIMITS.perSecond, 2 * ROOM_EVENT_LIMITS.burst);
    if (!conn.eventBucket.take()) return this.kick(conn, 'room events over the rate limit');
    if (!ROOM_EVENT_KINDS.includes(f.event.kind)) return conn.log.debug({ kind: f.event.kind.slice(0, 64) }, 'room event of an unknown kind ignored');
    const bad = checkRoomEvent(f.event, ROOM_EVENT_LIMITS.eventBytes);
    if (bad) {
      if (conn.badEvents++ % 100 === 0) conn.log.warn({ kind: f.event.kind, problem: bad, dropped: conn.badEvents }, 'room event refused (dropped)');
      return;
    }
    this.deps.roomEvent(rec, f.event as RoomEvent);
  }

  private onState(conn: AgentConnection, rec: InstanceRecord<AgentConnection>, f: AgentMessage['state']): void {
    if (conn.pollOutstanding === null || f.seq !== conn.pollOutstanding) return this.kick(conn, 'unsolicited or duplicate state');
    conn.pollOutstanding = null;
    conn.missed = 0;
    this.deps.registry.markFresh(rec);
    if (f.snapshot !== undefined) {
      const bad = checkState(f);
      if (bad) {
        conn.log.warn({ problem: bad }, 'snapshot refused, keeping the last good state');
        conn.hash = null;
        this.deps.registry.setSnapshotRefused(rec, true, bad);
      } else {
        const snap = f.snapshot as AgentSnapshot;
        this.deps.registry.setSnapshotRefused(rec, false);
        this.deps.registry.applySnapshot(rec, snap);
        this.reaper.observe(rec);
        conn.hash = f.hash as string;
        conn.creating = new Set(snap.creating ?? []);
        this.creates.observe(rec, conn.pollSentAt, conn.creating);
      }
    } else if (f.hash !== conn.hash) {
      // hash-only reply that does not match what we hold: ask for a full one next time
      conn.hash = null;
    } else if (conn.hash !== null) {
      // the same state as the last full snapshot, now as of this poll
      this.creates.observe(rec, conn.pollSentAt, conn.creating);
    }
    if (conn.pollAgain) {
      conn.pollAgain = false;
      this.poll(conn);
    }
  }

  private onAck(conn: AgentConnection, rec: InstanceRecord<AgentConnection>, f: AgentMessage['ack']): void {
    const ack: AckFrame = { t: 'ack', id: f.id, ok: f.ok, error: f.error, room: f.room as AckFrame['room'], tickets: f.tickets as string[] | undefined, expiresAt: f.expiresAt, alreadyGone: f.alreadyGone, state: f.state, version: f.version };
    const settled = this.deps.commands.settle(rec, ack);
    if (settled.kind === 'acked') return;
    if (settled.kind === 'unknown') return this.kick(conn, `ack for unknown or already acked command ${String(f.id).slice(0, 16)}`);
    this.deps.lateAck(rec, settled, ack);
    if (settled.op === 'createRoom' && settled.roomId) this.creates.lateAck(rec, settled.roomId, ack);
    conn.hash = null; // the next snapshot is a full one
  }

  private kick(conn: AgentConnection, why: string): void {
    conn.log.warn({ why, beforeHello: !conn.record }, 'agent kicked');
    this.drop(conn, `kicked: ${why}`, FleetCloseCode.PROTOCOL);
  }

  /** Removes an instance at once: its rooms vanish, its in-flight commands are rejected. */
  private drop(conn: AgentConnection, reason: string, code?: number): void {
    if (conn.closed && !conn.welcomed) return;
    const wasWelcomed = conn.welcomed;
    conn.closed = true;
    conn.welcomed = false;
    const ws = conn.ws;
    if (code !== undefined && (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)) {
      ws.close(code, reason.slice(0, 120));
      setTimeout(() => ws.terminate(), 1000).unref?.();
    } else if (code !== undefined) ws.terminate();
    const rec = conn.record;
    if (!wasWelcomed || !rec) return;
    this.deps.commands.rejectAll(rec, reason);
    this.deps.registry.remove(rec, reason);
    this.creates.instanceGone(rec);
  }
}
