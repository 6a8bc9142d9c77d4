/**
 * The dev status routes of a server given a `DevStatus` (as `parlor dev` gives it), over real
 * HTTP on 127.0.0.1: the event stream (read with eventsource-parser), the JSON status, the play
 * page's dev flag and the page of a game that has not built yet; and that a server without a dev
 * status has none of it.
 */
import { request, type IncomingMessage } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { DevStatus, type GameDiagnostic, type GameServer } from '@parlor/server';
import { CounterGame } from './games.js';
import { startServer, waitFor } from './helpers.js';

const BUILD_ERROR: GameDiagnostic = {
  kind: 'build',
  severity: 'error',
  message: 'Expected ";" but found "}"',
  file: '/games/dot.ts',
  line: 7,
  column: 12,
  codeFrame: '  6 |   tick() {\n> 7 |     this.x = }\n    |            ^',
};

/** An open event stream: the parsed events so far, and its response (to close it). */
interface Stream {
  events: EventSourceMessage[];
  comments: string[];
  res: IncomingMessage;
  /** The parsed `data` of the `state` events. */
  states(): Array<Record<string, unknown>>;
  close(): void;
}

function openStream(server: GameServer, query: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/parlor/dev/events${query}`, { headers: { Accept: 'text/event-stream' } }, (res) => {
      const events: EventSourceMessage[] = [];
      const comments: string[] = [];
      const parser = createParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      resolve({
        events,
        comments,
        res,
        states: () => events.filter((e) => e.event === 'state').map((e) => JSON.parse(e.data) as Record<string, unknown>),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

let servers: GameServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function devServer(devStatus: DevStatus | undefined): Promise<GameServer> {
  const { server } = await startServer({ games: { counter: { gameClass: CounterGame } }, devStatus });
  servers.push(server);
  return server;
}

describe('dev status routes', () => {
  it('streams the current state first, then every change of that game only', async () => {
    const dev = new DevStatus();
    dev.report('counter', false, [BUILD_ERROR]);
    const server = await devServer(dev);
    const stream = await openStream(server, '?game=counter');
    expect(stream.res.statusCode).toBe(200);
    expect(stream.res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.res.headers['cache-control']).toBe('no-store');
    await waitFor(() => stream.states().length === 1, 'the first state');
    const first = stream.states()[0];
    expect(first).toMatchObject({ game: 'counter', revision: 1, ok: false, diagnostics: [BUILD_ERROR] });
    expect(typeof first.server).toBe('string');

    dev.report('other', false, [BUILD_ERROR]);
    dev.report('counter', true, []);
    await waitFor(() => stream.states().length === 2, 'the change');
    expect(stream.states()[1]).toMatchObject({ game: 'counter', revision: 2, ok: true, diagnostics: [], server: first.server });
    // the other game's report never reached this stream
    expect(stream.states().every((s) => s.game === 'counter')).toBe(true);
    stream.close();
  });

  it('a loaded game that was never reported is revision 0, ok; an unknown one is refused', async () => {
    const dev = new DevStatus();
    const server = await devServer(dev);
    const stream = await openStream(server, '?game=counter');
    await waitFor(() => stream.states().length === 1, 'the first state');
    expect(stream.states()[0]).toMatchObject({ game: 'counter', revision: 0, ok: true, diagnostics: [] });
    stream.close();

    const unknown = await fetch(`${server.url}/parlor/dev/events?game=nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'UNKNOWN_GAME' });
    const missing = await fetch(`${server.url}/parlor/dev/events`);
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ error: 'VALIDATION' });
  });

  it('removes the listener when the browser goes away', async () => {
    const dev = new DevStatus();
    const server = await devServer(dev);
    const before = dev.listenerCount('change');
    const streams = await Promise.all([openStream(server, '?game=counter'), openStream(server, '?game=counter')]);
    await waitFor(() => streams.every((s) => s.states().length === 1), 'both first states');
    expect(dev.listenerCount('change')).toBe(before + 2);
    for (const s of streams) s.close();
    await waitFor(() => dev.listenerCount('change') === before, 'the listeners to be removed');
  });

  it('bounds the open streams: one over the cap is answered 503 DEV_STREAMS_FULL', async () => {
    const dev = new DevStatus();
    const server = await devServer(dev);
    const open: Stream[] = [];
    try {
      // 32 streams (MAX_DEV_STREAMS) stay open, the 33rd is refused
      for (let i = 0; i < 32; i++) open.push(await openStream(server, '?game=counter'));
      await waitFor(() => open.every((s) => s.states().length === 1), 'every first state');
      const refused = await fetch(`${server.url}/parlor/dev/events?game=counter`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ error: 'DEV_STREAMS_FULL' });
      open.pop()!.close();
      await waitFor(async () => {
        const s = await openStream(server, '?game=counter');
        const ok = s.res.statusCode === 200;
        if (ok) open.push(s);
        else s.close();
        return ok;
      }, 'a stream to be accepted again after one closed');
    } finally {
      for (const s of open) s.close();
    }
  });

  it('serves a game’s status as JSON, capped diagnostics', async () => {
    const dev = new DevStatus();
    const server = await devServer(dev);
    const loaded = await fetch(`${server.url}/parlor/dev/status/counter`);
    expect(loaded.status).toBe(200);
    expect(await loaded.json()).toMatchObject({ game: 'counter', revision: 0, ok: true, diagnostics: [] });

    const many = Array.from({ length: 80 }, (_, i): GameDiagnostic => ({ kind: 'type', severity: 'warning', message: `warning ${i} ${'x'.repeat(3000)}` }));
    dev.report('counter', true, [...many, BUILD_ERROR]);
    const res = await fetch(`${server.url}/parlor/dev/status/counter`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as { revision: number; diagnostics: GameDiagnostic[] };
    expect(body.revision).toBe(1);
    expect(body.diagnostics).toHaveLength(50);
    expect(body.diagnostics[0]).toEqual(BUILD_ERROR); // errors first: the cut drops warnings
    expect(body.diagnostics[1].message.length).toBeLessThanOrEqual(2001);

    expect((await fetch(`${server.url}/parlor/dev/status/nope`)).status).toBe(404);
  });

  it('dev play pages carry the dev flag; a game that has not built yet gets a play page, not a 404', async () => {
    const dev = new DevStatus();
    dev.report('broken', false, [BUILD_ERROR]);
    const server = await devServer(dev);
    const play = await fetch(`${server.url}/play/counter`);
    expect(play.status).toBe(200);
    const html = await play.text();
    expect(html).toContain('data-dev="1"');
    expect(html).not.toContain('data-pending');

    const pending = await fetch(`${server.url}/play/broken`);
    expect(pending.status).toBe(200);
    expect(pending.headers.get('content-security-policy')).toContain("script-src 'self'");
    const pendingHtml = await pending.text();
    expect(pendingHtml).toContain('data-game="broken"');
    expect(pendingHtml).toContain('data-pending="1"');

    // a name nobody reported is still the 404 page
    expect((await fetch(`${server.url}/play/nope`)).status).toBe(404);
  });

  it('without a dev status: no dev routes, no dev flag, a missing game is a 404', async () => {
    const server = await devServer(undefined);
    for (const path of ['/parlor/dev/events?game=counter', '/parlor/dev/status/counter']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
    }
    const html = await (await fetch(`${server.url}/play/counter`)).text();
    expect(html).not.toContain('data-dev');
    expect((await fetch(`${server.url}/play/broken`)).status).toBe(404);
  });
});
