/**
 * Room lifecycle operations through the fleet (protocol 1.3), fleet side: REST → orchestrator →
 * `roomOp` command → the agent's host → ack with the room's state, every attempt recorded in the
 * operation log; refusals typed (before sending, or from the host); `roomEvent` frames reaching
 * the orchestrator in order; an agent of an older minor refused cleanly; an agent flooding events
 * closed. Real orchestrator and real agents over sockets; the hosts are in-memory FleetHosts (the
 * host object is the integration point: a real game server behind it is room-lifecycle-e2e).
 */
import { EventEmitter } from 'eventemitter3';
import { Packr } from 'msgpackr';
import { FleetCloseCode, FLEET_ROOM_OP_MINOR, agentSubprotocols, decodeFrame, encodeFrame, type FleetRoomOp, type HostRoomOpParams, type HostRoomOpResult } from '@parlor/fleet-agent';
import type { ArtifactRef, RoomEvent, RoomState } from '@parlor/squish';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetClient, FleetClientError, keyFingerprint, type GameResolver, type Orchestrator } from '../src/index.js';
import { recorder } from './contract.js';
import { CatalogHost } from './catalog-room-helpers.js';
import { ADMIN_KEY, AGENT_KEY, MemoryHost, describeContract, http, startAgent, startOrchestrator, waitFor, type LogRecord } from './helpers.js';

const sha = (c: string): string => c.repeat(64);
const VERSIONS: Record<string, string> = { '1.2.0': sha('a'), '1.2.1': sha('b'), '1.3.0': sha('c') };

/** pong 1.2.0, 1.2.1 and 1.3.0, resolved as the catalog would. */
class Versions implements GameResolver {
  readonly calls: string[] = [];
  async resolve(game: string): Promise<ArtifactRef> {
    this.calls.push(game);
    const [slug, version] = game.split('@');
    const sha256 = VERSIONS[version];
    if (slug !== 'pong' || !sha256) throw Object.assign(new Error(`no version ${game}`), { code: 'UNKNOWN_VERSION' });
    return { slug, version, sha256, squishVersion: 1, url: `http://catalog.invalid/v1/artifacts/${sha256}`, access: { requiresAuth: false, minRole: null } };
  }
}

/** An in-memory host with lifecycle operations: a state per room, events as a game server emits them. */
class LifecycleHost extends CatalogHost {
  readonly events = new EventEmitter<{ room: [RoomEvent] }>();
  readonly states = new Map<string, RoomState>();
  readonly calls: Array<{ roomId: string; op: FleetRoomOp; params: HostRoomOpParams }> = [];
  /** When set, roomOp rejects with this code. */
  refuse: string | null = null;
  /** How long roomOp takes (ms). */
  opDelayMs = 0;
  async roomOp(roomId: string, op: FleetRoomOp, params: HostRoomOpParams): Promise<HostRoomOpResult> {
    this.calls.push({ roomId, op, params });
    if (this.opDelayMs) await new Promise((r) => setTimeout(r, this.opDelayMs));
    if (this.refuse) throw Object.assign(new Error(`refused on purpose (${this.refuse})`), { code: this.refuse });
    const room = this.rooms.get(roomId)!;
    const s = this.states.get(roomId) ?? { status: 'running', turn: 1, nextTurnAt: null, reason: '' };
    const at = Date.now();
    if (op === 'pause') {
      Object.assign(s, { status: 'paused', reason: params.reason ?? 'paused by admin' });
      this.emitRoom({ kind: 'room.paused', roomId, game: room.type, turn: s.turn, reason: s.reason, at });
    }
    if (op === 'resume') Object.assign(s, { status: 'running', reason: '' });
    if (op === 'turn') {
      s.turn++;
      this.emitRoom({ kind: 'turn.ready', roomId, game: room.type, turn: s.turn, at });
    }
    if (op === 'patch') {
      room.version = params.artifact!.version;
      room.sha256 = params.artifact!.sha256;
    }
    this.states.set(roomId, s);
    room.status = s.status;
    room.turn = s.turn;
    return { state: { ...s }, version: room.version ?? null };
  }
  onRoomEvent(listener: (e: RoomEvent) => void): () => void {
    this.events.on('room', listener);
    return () => void this.events.off('room', listener);
  }
  emitRoom(e: RoomEvent): void {
    this.events.emit('room', e);
  }
}

let orch: Orchestrator;
let logs: LogRecord[];
let client: FleetClient;
const host = new LifecycleHost();
const resolver = new Versions();
const stops: Array<() => unknown> = [];
const seen: Array<{ instanceId: string; event: RoomEvent }> = [];

beforeAll(async () => {
  ({ orch, logs } = await startOrchestrator({ resolver, env: 'prod' }));
  stops.push(() => orch.shutdown());
  orch.on('room:event', (e) => seen.push(e));
  const { agent } = await startAgent(orch, { name: 'lifecycle' }, host);
  stops.push(() => agent.disconnect());
  client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY, dispatcher: recorder });
});
afterAll(async () => {
  while (stops.length) await stops.pop()!();
});

async function room(game?: string): Promise<string> {
  const r = await http(orch, 'POST', '/v1/rooms', { body: game ? { game } : { type: 'pong' } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.data.roomId;
}

/** The error a call threw (the test fails if it resolved). */
async function refusal(p: Promise<unknown>): Promise<FleetClientError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(FleetClientError);
  return err as FleetClientError;
}

describe('room lifecycle operations through the fleet', () => {
  it('pause, resume, turn, restart, patch and stop: each reaches the host, answers the state after it, and is recorded', async () => {
    const id = await room('pong@1.2.0');
    const actor = keyFingerprint(ADMIN_KEY);

    const paused = await client.pauseRoom(id, { reason: 'maintenance at noon' });
    expect(paused.state).toEqual({ status: 'paused', turn: 1, nextTurnAt: null, reason: 'maintenance at noon' });
    expect(paused.operation).toMatchObject({ roomId: id, op: 'pause', state: 'succeeded', source: 'admin', actor, params: { reason: 'maintenance at noon' }, game: 'pong', version: '1.2.0', errorCode: null });
    expect(host.calls.at(-1)).toEqual({ roomId: id, op: 'pause', params: { reason: 'maintenance at noon', source: 'admin' } });
    // the read model learns the status from the host's next snapshot
    await waitFor(() => orch.fleet.getRoom(id)?.status === 'paused', 'paused in the read model');

    expect((await client.resumeRoom(id)).state?.status).toBe('running');
    expect((await client.forceTurn(id)).state).toMatchObject({ status: 'running', turn: 2 });
    expect((await client.restartRoom(id)).operation).toMatchObject({ op: 'restart', state: 'succeeded', version: '1.2.0' });

    const patched = await client.patchRoom(id, '1.2.1');
    expect(patched.operation).toMatchObject({ op: 'patch', state: 'succeeded', params: { version: '1.2.1' }, version: '1.2.1' });
    expect(resolver.calls.at(-1)).toBe('pong@1.2.1'); // resolved through the catalog as a create by slug@version
    expect(host.calls.at(-1)!.params.artifact).toMatchObject({ slug: 'pong', version: '1.2.1', sha256: sha('b') });
    await waitFor(() => orch.fleet.getRoom(id)?.version === '1.2.1', 'the new version in the read model');

    const stopped = await client.destroyRoom(id);
    expect(stopped).toMatchObject({ roomId: id, ok: true, destroyed: true, alreadyGone: false, state: null, operation: { op: 'stop', state: 'succeeded' } });

    const { operations } = await client.operations({ roomId: id });
    expect(operations.map((o) => `${o.op}:${o.state}`)).toEqual(['stop:succeeded', 'patch:succeeded', 'restart:succeeded', 'turn:succeeded', 'resume:succeeded', 'pause:succeeded', 'start:succeeded']);
    expect(new Set(operations.map((o) => o.instanceId))).toEqual(new Set([orch.fleet.instances[0].id]));
  });

  it('refusals are typed and recorded: unknown room, another major.minor, a room from a folder, and the host’s own refusals', async () => {
    const calls = host.calls.length;
    const missing = await refusal(client.pauseRoom('no-such-room'));
    expect([missing.status, missing.code]).toEqual([404, 'ROOM_NOT_FOUND']);
    const opId = /\(operation (op_[^)]+)\)/.exec(missing.message)?.[1];
    expect(opId, missing.message).toBeDefined();

    const id = await room('pong@1.2.0');
    const minor = await refusal(client.patchRoom(id, '1.3.0'));
    expect([minor.status, minor.code]).toEqual([409, 'PATCH_SEMVER_INCOMPATIBLE']);
    const local = await room();
    const folder = await refusal(client.patchRoom(local, '1.2.1'));
    expect([folder.status, folder.code]).toEqual([409, 'NOT_VERSIONED']);
    const unknown = await refusal(client.patchRoom(id, '1.2.9'));
    expect([unknown.status, unknown.code]).toEqual([404, 'UNKNOWN_VERSION']);
    expect(host.calls.length, 'refused before anything was sent').toBe(calls);

    for (const [code, status] of [['NOT_TURN_BASED', 409], ['ROOM_FINISHED', 409], ['ROOM_PAUSED', 409], ['PATCH_SEMVER_INCOMPATIBLE', 409], ['SOMETHING_ELSE', 502]] as const) {
      host.refuse = code;
      const e = await refusal(client.forceTurn(id));
      expect([e.status, e.code]).toEqual([status, code === 'SOMETHING_ELSE' ? 'COMMAND_FAILED' : code]);
    }
    host.refuse = null;
    const bad = await http(orch, 'POST', `/v1/rooms/${id}/pause`, { body: { reason: 'x'.repeat(201) } });
    expect([bad.status, bad.body.cause]).toEqual([400, 'VALIDATION']);

    const failed = (await client.operations({ state: 'failed' })).operations;
    expect(failed.find((o) => o.id === opId)).toMatchObject({ roomId: 'no-such-room', op: 'pause', game: '', errorCode: 'ROOM_NOT_FOUND' });
    expect(failed.filter((o) => o.roomId === id).map((o) => o.errorCode)).toEqual(['COMMAND_FAILED', 'PATCH_SEMVER_INCOMPATIBLE', 'ROOM_PAUSED', 'ROOM_FINISHED', 'NOT_TURN_BASED', 'UNKNOWN_VERSION', 'PATCH_SEMVER_INCOMPATIBLE']);
    expect(failed.find((o) => o.roomId === local)).toMatchObject({ op: 'patch', errorCode: 'NOT_VERSIONED', params: { version: '1.2.1' } });
  });

  it('a restart, patch or turn may take longer than a command’s deadline (up to 30 s); a pause that long answers 504 COMMAND_TIMEOUT, recorded', async () => {
    const id = await room();
    host.opDelayMs = 1500; // the orchestrator's commandTimeoutMs is 1000 here
    try {
      expect((await client.restartRoom(id)).operation).toMatchObject({ op: 'restart', state: 'succeeded' });
      const late = await refusal(client.pauseRoom(id));
      expect([late.status, late.code]).toEqual([504, 'COMMAND_TIMEOUT']);
      const { operations } = await client.operations({ roomId: id });
      expect(operations.map((o) => `${o.op}:${o.errorCode ?? o.state}`)).toEqual(['pause:COMMAND_TIMEOUT', 'restart:succeeded', 'start:succeeded']);
      // the late ack of the pause is ignored, not a protocol error: the session stays
      await waitFor(() => logs.some((l) => l.msg === 'late ack ignored' && l.op === 'roomOp'), 'the late ack read');
      expect(host.states.get(id)?.status).toBe('paused');
      expect(orch.fleet.instances.find((i) => i.name === 'lifecycle')?.stale).toBe(false);
    } finally {
      host.opDelayMs = 0;
    }
  });

  it("the host's room events reach the orchestrator in order, with their instance; a kind it does not know is ignored", async () => {
    const id = await room();
    const instanceId = orch.fleet.getRoom(id)!.instanceId;
    const from = seen.length;
    for (let turn = 1; turn <= 150; turn++) host.emitRoom({ kind: 'turn.ready', roomId: id, game: 'pong', turn, at: Date.now() });
    host.emitRoom({ kind: 'room.future', roomId: id } as unknown as RoomEvent);
    host.emitRoom({ kind: 'room.ended', roomId: id, game: 'pong', reason: 'game over', result: { winners: ['ann'], scores: { ann: 3 }, summary: 'Ann won' }, at: Date.now() });
    await waitFor(() => seen.slice(from).some((e) => e.event.kind === 'room.ended'), 'the last event');
    const got = seen.slice(from);
    expect(got.every((e) => e.instanceId === instanceId)).toBe(true);
    expect(got.map((e) => (e.event.kind === 'turn.ready' ? e.event.turn : e.event.kind))).toEqual([...Array.from({ length: 150 }, (_, i) => i + 1), 'room.ended']);
    expect(got.at(-1)!.event).toMatchObject({ result: { winners: ['ann'], summary: 'Ann won' } });
  });
});

describe('agents of other versions', () => {
  /** A hand-driven agent speaking fleet protocol 1.`minor`, holding one room. */
  async function rawAgent(minor: number, uid: string): Promise<{ ws: WebSocket; cmds: unknown[]; closed: Promise<number> }> {
    const packr = new Packr({ useRecords: false, mapsAsObjects: true });
    const send = (ws: WebSocket, f: Record<string, unknown>): void => ws.send(packr.pack({ v: [1, minor], ...f }));
    const ws = new WebSocket(orch.agentUrl, agentSubprotocols(AGENT_KEY));
    stops.push(() => ws.terminate());
    const cmds: unknown[] = [];
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    const rooms = [{ roomId: `${uid}-room`, type: 'pong', clientCount: 0, metadata: {}, provenance: 'fleet', createdAt: Date.now() }];
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(data)!.frame as { t: string; seq?: number };
      if (f.t === 'poll') send(ws, { t: 'state', seq: f.seq, hash: 'h1', snapshot: { draining: false, roomTypes: ['pong'], rooms } });
      if (f.t === 'cmd') cmds.push(f);
    });
    await new Promise((r) => ws.on('open', r));
    send(ws, { t: 'hello', processUid: uid, name: uid, endpointUrl: 'http://127.0.0.1:9', labels: {}, capacity: { maxConnections: 10, maxRooms: 10 }, autoCreate: true });
    await waitFor(() => orch.fleet.getRoom(`${uid}-room`) !== undefined, `${uid}'s room in the read model`);
    return { ws, cmds, closed };
  }

  it('a lifecycle operation on a room of an agent older than 1.3 is refused INSTANCE_UNSUPPORTED, recorded, and nothing is sent to it', async () => {
    const old = await rawAgent(FLEET_ROOM_OP_MINOR - 1, 'old-agent-0001');
    for (const call of [() => client.pauseRoom('old-agent-0001-room'), () => client.patchRoom('old-agent-0001-room', '1.2.1'), () => client.forceTurn('old-agent-0001-room')]) {
      const e = await refusal(call());
      expect([e.status, e.code]).toEqual([409, 'INSTANCE_UNSUPPORTED']);
      expect(e.message).toMatch(/fleet protocol 1\.2.*upgrade its host/);
    }
    expect(old.cmds).toEqual([]);
    const { operations } = await client.operations({ roomId: 'old-agent-0001-room' });
    expect(operations.map((o) => o.errorCode)).toEqual(['INSTANCE_UNSUPPORTED', 'INSTANCE_UNSUPPORTED', 'INSTANCE_UNSUPPORTED']);
    // the old agent's session is untouched: it still answers polls and holds its room
    expect(orch.fleet.getInstance('old-agent-0001')?.stale).toBe(false);
  });

  it('a host without lifecycle operations (fleet protocol 1.3, no roomOp) refuses them: 409 INSTANCE_UNSUPPORTED, recorded', async () => {
    const { agent } = await startAgent(orch, { name: 'plain' }, new MemoryHost());
    stops.push(() => agent.disconnect());
    const created = await http(orch, 'POST', '/v1/rooms', { body: { type: 'cards', placement: { instanceId: agent.instanceId } } });
    expect(created.status).toBe(201);
    const e = await refusal(client.restartRoom(created.body.data.roomId));
    expect([e.status, e.code]).toEqual([409, 'INSTANCE_UNSUPPORTED']);
    expect(e.message).toMatch(/no room lifecycle operations/);
    const { operations } = await client.operations({ roomId: created.body.data.roomId });
    expect(operations).toEqual([
      expect.objectContaining({ op: 'restart', state: 'failed', errorCode: 'INSTANCE_UNSUPPORTED', instanceId: agent.instanceId }),
      expect.objectContaining({ op: 'start', state: 'succeeded', source: 'admin', instanceId: agent.instanceId, game: 'cards', params: { type: 'cards' } }),
    ]);
  });

  it('an agent flooding room events past twice the agreed rate is closed PROTOCOL; a malformed event is dropped, the session kept', async () => {
    const flood = await rawAgent(FLEET_ROOM_OP_MINOR, 'flood-agent-01');
    for (let i = 0; i < 1000; i++) flood.ws.send(encodeFrame({ t: 'roomEvent', event: { kind: 'turn.ready', roomId: 'flood-agent-01-room', game: 'pong', turn: i, at: Date.now() } }));
    expect(await flood.closed).toBe(FleetCloseCode.PROTOCOL);

    const bad = await rawAgent(FLEET_ROOM_OP_MINOR, 'bad-agent-0001');
    const from = seen.length;
    const event = (turn: number) => ({ t: 'roomEvent' as const, event: { kind: 'turn.ready', roomId: 'bad-agent-0001-room', game: 'pong', turn, at: Date.now() } as RoomEvent });
    bad.ws.send(encodeFrame(event(-1))); // a negative turn: not a turn.ready
    bad.ws.send(encodeFrame(event(7)));
    await waitFor(() => seen.length > from, 'the good event');
    expect(seen.slice(from).map((e) => (e.event as { turn: number }).turn)).toEqual([7]);
    expect(bad.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describeContract();
