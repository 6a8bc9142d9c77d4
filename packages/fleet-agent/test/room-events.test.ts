/**
 * The agent's room events (fleet protocol 1.3) against an orchestrator side on a real socket that
 * speaks a chosen minor: events the host emitted while no session was up arrive after the
 * welcome, in order; an event over the size cap is dropped with a warning; a full queue drops its
 * oldest; an orchestrator older than 1.3 gets no `roomEvent` frame (it would close the session on
 * an unknown frame) and keeps polling; a `roomOp` reaches the host and its ack carries the state.
 */
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'eventemitter3';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RoomEvent } from '@parlor/squish';
import { FLEET_SUBPROTOCOL, FleetAgent, ROOM_EVENT_LIMITS, decodeFrame, type FleetAgentLogger, type FleetFrame, type FleetHost, type HostRoom } from '../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  await vi.waitFor(() => {
    if (!cond()) throw new Error(`timed out waiting for: ${what}`);
  }, { timeout: 5000, interval: 5 });
}

/** An orchestrator side speaking fleet protocol 1.`minor`: welcomes, and records every frame. */
async function orchestratorOf(minor: number) {
  const packr = new Packr({ useRecords: false, mapsAsObjects: true });
  const frames: FleetFrame[] = [];
  const sockets: WebSocket[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (p) => (p.has(FLEET_SUBPROTOCOL) ? FLEET_SUBPROTOCOL : false) });
  cleanups.push(() => new Promise((r) => wss.close(r)));
  await new Promise((r) => wss.once('listening', r));
  const send = (ws: WebSocket, f: Record<string, unknown>): void => ws.send(packr.pack({ v: [1, minor], ...f }));
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!.frame;
      frames.push(f);
      if (f.t === 'hello') send(ws, { t: 'welcome', instanceId: 'i-1', pollMs: 1000 });
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, frames, send: (f: Record<string, unknown>) => send(sockets[0], f), events: () => frames.filter((f) => f.t === 'roomEvent').map((f) => (f as { event: RoomEvent }).event) };
}

/** A host with one room and events it emits on demand. */
function eventHost() {
  const emitter = new EventEmitter<{ room: [RoomEvent] }>();
  const rooms: HostRoom[] = [{ roomId: 'r1', type: 'pong', clientCount: 0, status: 'running', turn: 3 }];
  const host: FleetHost = {
    listRooms: () => rooms,
    roomTypes: () => ['pong'],
    createRoom: () => undefined,
    destroyRoom: () => undefined,
    roomOp: async (roomId, op, params) => {
      rooms[0].status = op === 'pause' ? 'paused' : 'running';
      return { state: { status: rooms[0].status!, turn: 3, nextTurnAt: null, reason: params.reason ?? '' }, version: null };
    },
    onRoomEvent: (l) => {
      emitter.on('room', l);
      return () => void emitter.off('room', l);
    },
  };
  const turn = (n: number): RoomEvent => ({ kind: 'turn.ready', roomId: 'r1', game: 'pong', turn: n, at: 1 });
  return { host, emit: (e: RoomEvent) => emitter.emit('room', e), turn, listeners: () => emitter.listenerCount('room') };
}

/** A logger keeping its warnings. */
function warnings(): { logger: FleetAgentLogger; warned: string[] } {
  const warned: string[] = [];
  const none = (): void => undefined;
  return { warned, logger: { debug: none, info: none, error: none, warn: (_f, msg) => void warned.push(msg) } };
}

function agentFor(url: string, host: FleetHost, logger: FleetAgentLogger): FleetAgent {
  const agent = new FleetAgent(host, { url, key: 'k', endpointUrl: 'http://127.0.0.1:2', logger, minBackoffMs: 10, maxBackoffMs: 50 });
  cleanups.push(() => agent.disconnect());
  return agent;
}

describe('room events (fleet protocol 1.3)', () => {
  it('events emitted before the session arrive after the welcome, in order; one over the size cap is dropped with a warning', async () => {
    const orch = await orchestratorOf(3);
    const { host, emit, turn, listeners } = eventHost();
    const { logger, warned } = warnings();
    const agent = agentFor(orch.url, host, logger);
    const connected = agent.connect({ connectTimeoutMs: 5000 });
    // subscribed from connect() on: these wait in the queue until the welcome
    for (let n = 1; n <= 5; n++) emit(turn(n));
    emit({ kind: 'room.ended', roomId: 'r1', game: 'pong', reason: 'x'.repeat(ROOM_EVENT_LIMITS.eventBytes), result: null, at: 1 });
    emit(turn(6));
    await connected;
    await waitFor(() => orch.events().length === 6, 'six events');
    expect(orch.events().map((e) => (e as { turn: number }).turn)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(warned).toContain('room event over the size cap; dropped');
    await agent.disconnect();
    expect(listeners(), 'unsubscribed at disconnect').toBe(0);
  });

  it('a full queue drops its oldest events (with a warning); what remains goes out in order', async () => {
    const orch = await orchestratorOf(3);
    const { host, emit, turn } = eventHost();
    const { logger, warned } = warnings();
    const agent = agentFor(orch.url, host, logger);
    const connected = agent.connect({ connectTimeoutMs: 5000 });
    const extra = 30;
    for (let n = 1; n <= ROOM_EVENT_LIMITS.queue + extra; n++) emit(turn(n));
    await connected;
    expect(warned).toContain('room event queue full; dropping the oldest events');
    // the burst goes at once (the rest follows at the agreed rate)
    await waitFor(() => orch.events().length >= ROOM_EVENT_LIMITS.burst, 'the first burst');
    const turns = orch.events().map((e) => (e as { turn: number }).turn);
    expect(turns.slice(0, 3)).toEqual([extra + 1, extra + 2, extra + 3]);
    expect(turns.every((t, i) => i === 0 || t === turns[i - 1] + 1)).toBe(true);
  });

  it('an orchestrator older than 1.3 gets no roomEvent frame and keeps its session; the rooms report status and turn', async () => {
    const orch = await orchestratorOf(2);
    const { host, emit, turn } = eventHost();
    const agent = agentFor(orch.url, host, warnings().logger);
    await agent.connect({ connectTimeoutMs: 5000 });
    for (let n = 1; n <= 20; n++) emit(turn(n));
    orch.send({ t: 'poll', seq: 1, hash: null });
    await waitFor(() => orch.frames.some((f) => f.t === 'state'), 'the answer to the poll');
    expect(orch.events()).toEqual([]);
    expect(agent.isConnected).toBe(true);
    const state = orch.frames.find((f) => f.t === 'state') as { snapshot: { rooms: Array<{ status?: string; turn?: number }> } };
    expect(state.snapshot.rooms[0]).toMatchObject({ status: 'running', turn: 3 });
  });

  it('a roomOp command reaches the host; its ack carries the state after it; an unknown operation or room is refused', async () => {
    const orch = await orchestratorOf(3);
    const { host } = eventHost();
    const agent = agentFor(orch.url, host, warnings().logger);
    await agent.connect({ connectTimeoutMs: 5000 });
    orch.send({ t: 'cmd', id: 1, op: 'roomOp', roomId: 'r1', roomOp: 'pause', reason: 'lunch' });
    orch.send({ t: 'cmd', id: 2, op: 'roomOp', roomId: 'r1', roomOp: 'explode' });
    orch.send({ t: 'cmd', id: 3, op: 'roomOp', roomId: 'nope', roomOp: 'resume' });
    orch.send({ t: 'cmd', id: 4, op: 'roomOp', roomId: 'r1', roomOp: 'patch' });
    await waitFor(() => orch.frames.filter((f) => f.t === 'ack').length === 4, 'four acks');
    const acks = Object.fromEntries(orch.frames.filter((f) => f.t === 'ack').map((f) => [(f as { id: number }).id, f]));
    expect(acks[1]).toMatchObject({ ok: true, state: { status: 'paused', turn: 3, reason: 'lunch' }, version: null });
    expect(acks[2]).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    expect(acks[3]).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    expect(acks[4]).toMatchObject({ ok: false, error: { code: 'VALIDATION', message: expect.stringMatching(/artifact/) } });
  });
});
