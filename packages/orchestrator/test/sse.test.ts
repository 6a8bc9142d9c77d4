/**
 * SSE that scales and resumes (issue 12, item 6): a consumer that stops reading is dropped with a
 * last `overflow` event (its buffer bounded), `Last-Event-ID` resumes with exactly the missed
 * events, ids survive a restart, and a consumer resuming across a real orchestrator restart gets a
 * `sync` with the fleet the returning agents report. Real sockets, a real orchestrator process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FleetAgent } from '@parlor/fleet-agent';
import { FleetClient, type FleetEvent, type Orchestrator } from '../src/index.js';
import { ADMIN_KEY, AGENT_KEY, MemoryHost, quietAgentLogger, startAgent, startOrchestrator, waitFor } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface Sse {
  id?: string;
  event: string;
  data: any;
}

/** Parses the SSE events of `text` (comments and `retry:` skipped). */
function parseSse(text: string): Sse[] {
  const out: Sse[] = [];
  for (const block of text.split('\n\n')) {
    const e: Partial<Sse> & { event?: string } = {};
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) e.id = line.slice(4);
      else if (line.startsWith('event: ')) e.event = line.slice(7);
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (e.event && data !== undefined) out.push({ id: e.id, event: e.event, data: JSON.parse(data) });
  }
  return out;
}

/** An event stream read with undici; `events()` parses what arrived so far. */
async function openStream(orch: Orchestrator, lastEventId?: string): Promise<{ text: () => string; events: () => Sse[]; close: () => void }> {
  const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
  if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
  const res = await request(`${orch.url}/v1/events`, { headers });
  expect(res.statusCode).toBe(200);
  let text = '';
  res.body.on('data', (c: Buffer) => (text += c.toString()));
  res.body.on('error', () => undefined);
  const close = (): void => void res.body.destroy();
  cleanups.push(close);
  return { text: () => text, events: () => parseSse(text), close };
}

/** A metric's value in the orchestrator's own exposition (`NaN` when absent). */
async function metric(orch: Orchestrator, line: string): Promise<number> {
  const found = (await orch.metrics.text()).split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : NaN;
}

const roomIds = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('a consumer that stops reading', () => {
  it('is dropped with a last overflow event once it holds more than the bound; a reading consumer keeps every event', async () => {
    const MAX = 64 * 1024;
    const { orch } = await startOrchestrator({ sseMaxBufferBytes: MAX });
    cleanups.push(() => orch.shutdown());
    const { agent, host } = await startAgent(orch);
    cleanups.push(() => agent.disconnect());

    // the reading consumer: FleetClient, counting every room:create
    const client = new FleetClient({ baseUrl: orch.url, adminKey: ADMIN_KEY });
    cleanups.push(() => client.close());
    const seen: FleetEvent[] = [];
    let creates = 0;
    const stream = client.events((e) => {
      if (e.name === 'room:create') creates++;
      else seen.push(e);
    });
    cleanups.push(() => stream.close());

    // the stalled consumer: a raw TCP client that reads the response head and the sync, then stops reading
    const sock: Socket = connect(orch.port, '127.0.0.1');
    cleanups.push(() => sock.destroy());
    let raw = '';
    let ended = false;
    sock.on('data', (c: Buffer) => (raw += c.toString('latin1')));
    sock.on('close', () => (ended = true));
    sock.on('error', () => undefined);
    sock.write(`GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`);
    await waitFor(() => raw.includes('event: sync') && seen.some((e) => e.name === 'sync'), 'both streams synced');
    sock.pause();
    expect(await metric(orch, 'parlor_orchestrator_sse_consumers')).toBe(2);

    // churn: bursts of 300 rooms with 3.9 KB of metadata each (≈1.3 MB of events), created then ended, until the stalled one is dropped
    const blob = 'x'.repeat(3900);
    let made = 0;
    let burstBytes = 0;
    for (let cycle = 0; cycle < 40 && !(await metric(orch, 'parlor_orchestrator_sse_dropped_total{reason="overflow"}') > 0); cycle++) {
      for (const id of roomIds(300, `c${cycle}-`)) host.rooms.set(id, { roomId: id, type: 'pong', clientCount: 0, metadata: { blob }, options: {} });
      made += 300;
      await waitFor(() => orch.fleet.stats.rooms === 300, 'rooms reported');
      burstBytes = Math.max(burstBytes, orch.fleet.rooms.reduce((n, r) => n + JSON.stringify({ room: r }).length + 64, 0));
      host.rooms.clear();
      await waitFor(() => orch.fleet.stats.rooms === 0, 'rooms gone');
    }
    expect(await metric(orch, 'parlor_orchestrator_sse_dropped_total{reason="overflow"}')).toBe(1);
    expect(await metric(orch, 'parlor_orchestrator_sse_consumers')).toBe(1);

    // the stalled consumer reads again: what was buffered, then the overflow event, then the end of the stream
    sock.resume();
    await waitFor(() => ended, 'the dropped stream ends', 10_000);
    const events = parseSse(raw.replace(/\r\n[0-9a-f]+\r\n/g, ''));
    const last = events.at(-1)!;
    expect(last.event).toBe('overflow');
    expect(last.data.maxBufferBytes).toBe(MAX);
    // dropped because it held more than the bound, and never more than the bound plus one burst
    expect(last.data.bufferedBytes).toBeGreaterThan(MAX);
    expect(last.data.bufferedBytes).toBeLessThanOrEqual(MAX + burstBytes);

    // the reading consumer was never dropped and got every event
    await waitFor(() => creates === made, `all ${made} room:create events reached the reading consumer`, 10_000);
    expect(seen.filter((e) => e.name === 'sync')).toHaveLength(1);
    expect(seen.some((e) => e.name === 'overflow')).toBe(false);
  });
});

describe('Last-Event-ID', () => {
  it('resumes with exactly the missed events (player join/leave included); an id past the window gets a sync marked expired', async () => {
    const { orch } = await startOrchestrator({ sseReplayEvents: 8 });
    cleanups.push(() => orch.shutdown());
    const { agent, host } = await startAgent(orch);
    cleanups.push(() => agent.disconnect());

    const witness = await openStream(orch); // stays connected throughout
    const first = await openStream(orch);
    await waitFor(() => first.events().some((e) => e.event === 'sync'), 'sync');
    const sync = first.events()[0];
    expect(sync.data.reason).toBe('new');
    expect(sync.id).toMatch(/^\d+-\d+$/);
    first.close();

    // missed while away: two creates, players joining and leaving
    host.addLocal('away-1', 'pong', 0);
    host.addLocal('away-2', 'pong', 0);
    await waitFor(() => orch.fleet.stats.rooms === 2, 'rooms');
    host.rooms.get('away-1')!.clientCount = 3;
    await waitFor(() => orch.fleet.getRoom('away-1')?.clientCount === 3, 'players joined');
    host.rooms.get('away-1')!.clientCount = 1;
    await waitFor(() => orch.fleet.getRoom('away-1')?.clientCount === 1, 'players left');

    // the witness reads over a real socket: wait for what it was sent, not for the read model
    await waitFor(() => witness.events().filter((e) => e.event !== 'sync').length >= 4, 'witness got the events');
    const missed = witness.events().filter((e) => e.event !== 'sync');
    expect(missed.map((e) => e.event)).toEqual(['room:create', 'room:create', 'player:join', 'player:leave']);
    expect(missed[2].data).toMatchObject({ roomId: 'away-1', type: 'pong', count: 3, clientCount: 3 });
    expect(missed[3].data).toMatchObject({ roomId: 'away-1', count: 2, clientCount: 1 });

    const resumed = await openStream(orch, sync.id);
    await waitFor(() => resumed.events().length >= 4, 'replay');
    expect(resumed.events()).toEqual(missed); // same ids, names and data; no sync

    // up to date: nothing replayed, the next event is live
    const current = await openStream(orch, missed.at(-1)!.id);
    host.addLocal('after', 'pong', 0);
    await waitFor(() => current.events().length === 1, 'live event');
    expect(current.events()[0]).toMatchObject({ event: 'room:create', data: { room: { roomId: 'after' } } });

    // past the window (8 events kept): a sync with the whole read model, marked expired
    for (const id of roomIds(8, 'more-')) host.addLocal(id, 'pong', 0);
    await waitFor(() => orch.fleet.stats.rooms === 11 && witness.events().length === 14, 'more rooms');
    const stale = await openStream(orch, sync.id);
    await waitFor(() => stale.events().length === 1, 'sync');
    const s = stale.events()[0];
    expect(s.event).toBe('sync');
    expect(s.data.reason).toBe('expired');
    expect(s.data.rooms).toHaveLength(11);
    expect(s.id).toBe(witness.events().at(-1)!.id); // the sync's id is that of the last event it includes

    // not an id of this feed
    const bogus = await openStream(orch, 'not-an-id');
    await waitFor(() => bogus.events().length === 1, 'sync');
    expect(bogus.events()[0].data.reason).toBe('expired');
  });
});

describe('across a real orchestrator restart (kill -9, same port)', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const procs: ChildProcess[] = [];
  afterEach(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  async function orchestrator(port: number, pollMs = 200): Promise<{ proc: ChildProcess; url: string }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'packages/orchestrator/src/cli.ts', '--host', '127.0.0.1', '--no-catalog', '--port', String(port), '--poll', String(pollMs), '--log-level', 'info'], {
      cwd: root,
      env: { ...process.env, NODE_ENV: 'development', PARLOR_AGENT_KEYS: AGENT_KEY, PARLOR_ADMIN_KEYS: ADMIN_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    procs.push(proc);
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    await waitFor(() => /REST: {3}(http:\/\/\S+)\/v1/.test(out), 'orchestrator listening', 20_000);
    return { proc, url: /REST: {3}(http:\/\/\S+)\/v1/.exec(out)![1] };
  }

  it('the consumer resumes with a sync marked restart that holds the instance and rooms the agents report again', async () => {
    const first = await orchestrator(0);
    const port = Number(new URL(first.url).port);
    const host = new MemoryHost();
    host.addLocal('survivor', 'pong', 2);
    const agent = new FleetAgent(host, { url: first.url.replace(/^http/, 'ws'), key: AGENT_KEY, endpointUrl: 'http://127.0.0.1:9', name: 'box', minBackoffMs: 100, maxBackoffMs: 200, logger: quietAgentLogger });
    cleanups.push(() => agent.disconnect());
    await agent.connect({ connectTimeoutMs: 5000 });

    // the consumer reconnects fast, so it is back before the agent has reported to the new run
    const client = new FleetClient({ baseUrl: first.url, adminKey: ADMIN_KEY, reconnectDelayMs: 10, reconnectMaxDelayMs: 50 });
    cleanups.push(() => client.close());
    await waitFor(async () => (await client.rooms()).length === 1, 'the room reported');
    const syncs: any[] = [];
    const ids: string[] = [];
    const stream = client.events((e) => {
      if (e.id) ids.push(e.id);
      if (e.name === 'sync') syncs.push(e.data);
    });
    cleanups.push(() => stream.close());
    await waitFor(() => syncs.length === 1 && syncs[0].rooms.length === 1, 'first sync with the room');

    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    // the restart's sync goes out when its warm-up (3 polls) ends: 3 s here, so the agent's reconnect
    // to a cold process on a loaded machine lands inside it (each instance's first poll is at its hello)
    await orchestrator(port, 1_000);
    await waitFor(() => syncs.length === 2, 'sync after the restart', 20_000);
    expect(syncs[1].reason).toBe('restart');
    expect(syncs[1].instances.map((i: any) => i.name)).toEqual(['box']);
    expect(syncs[1].rooms.map((r: any) => [r.roomId, r.clientCount])).toEqual([['survivor', 2]]);
    // ids of the new run sort after the old run's
    const [e1, e2] = [ids[0], ids.at(-1)!].map((id) => Number(id.split('-')[0]));
    expect(e2).toBeGreaterThan(e1);
  });
});
