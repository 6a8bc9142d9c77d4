/**
 * The README's "Turn-based games and rooms that last" commands, for scripts/readme-commands.mjs: each
 * entry runs its command as written and checks what the README promises through real players (WebSocket
 * clients of the clone's own packages, as the browser client joins and orders), the orchestrator's REST
 * API and the output of `npm start` (its webhook receiver's lines).
 *
 * `lifecycleSteps(h)` takes the runner's helpers `h`: { adminApi, answers, checkPublished, checkPinned,
 * expectOut, expectPage, until, startJob, signalGroup, groupAlive, portFree }.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CURL_CREATE_GALAXY = `curl -s -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d '{"game":"galaxy","env":"prod"}' http://localhost:7070/v1/rooms`;
export const SERVE_STATE = 'npx parlor serve --games examples --state-dir parlor-data/state';
const PAUSE_REASON = 'back in 5 minutes';
/** Ann's order (she has Sol, planet 0, the first home planet): 4 ships to Lyra (planet 6). */
const ANN_ORDER = { from: 0, to: 6, ships: 4 };

/**
 * A player of galaxy over a real WebSocket, as the browser client plays: join (or rejoin with a reconnect
 * token), frames decoded into the scene it sees, the room's `state`, orders and their `orderResult`s.
 */
async function galaxyPlayer(h, ctx, origin, { roomId = '', reconnectToken = '' } = {}) {
  const WebSocket = createRequire(path.join(ctx.clone, 'package.json'))('ws');
  const squish = await import(pathToFileURL(path.join(ctx.clone, 'packages/squish/dist/index.js')).href);
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}${squish.WS_PATH}`);
  const mirror = new squish.SceneMirror();
  const p = { ws, init: null, state: null, results: [], fulls: 0, closed: null, nextId: 1 };
  ws.on('message', (data) => {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const m = squish.decodeServerMessage(bytes);
    if (m.type === 'init') p.init = m;
    else if (m.type === 'state') p.state = m;
    else if (m.type === 'orderResult') p.results.push(m);
    else if (m.type === 'frame') {
      mirror.apply(bytes);
      if (m.full) p.fulls++;
    }
  });
  ws.on('close', (code, reason) => (p.closed = `closed with ${code} ${reason}`));
  ws.on('error', (err) => (p.closed = String(err)));
  ws.on('open', () => ws.send(squish.encodeClientMessage({
    type: 'join', protocolVersion: squish.PROTOCOL_VERSION, game: 'galaxy', roomId, spectate: false,
    reconnectToken, ticket: '', name: 'readme', clientInfo: 'scripts/readme-commands.mjs',
  })));
  p.texts = () => [...mirror.nodes.values()].filter((n) => typeof n.text === 'string').map((n) => n.text);
  p.order = async (order) => {
    const id = p.nextId++;
    ws.send(squish.encodeClientMessage({ type: 'order', id, order: JSON.stringify(order) }));
    const r = await h.until(() => p.results.find((x) => x.id === id) || p.closed, 20_000);
    if (!r || p.closed) throw new Error(`order ${JSON.stringify(order)} got no orderResult within 20 s (${p.closed ?? 'socket open'})`);
    return r;
  };
  p.close = () => ws.close();
  if (!(await h.until(() => (p.init && p.state && mirror.nodes.size > 0) || p.closed, 20_000)) || p.closed) {
    ws.terminate();
    throw new Error(`a WebSocket join of galaxy ${roomId ? `room ${roomId}` : ''} at ${origin} got no init, state and frame within 20 s (${p.closed ?? 'still open'})`);
  }
  return p;
}

/** Waits for `pred` over the players (each still connected), or fails saying `what`. */
async function expectPlayers(h, players, what, pred, ms = 20_000) {
  const ok = await h.until(() => players.every((p) => !p.closed && pred(p)), ms);
  const gone = players.find((p) => p.closed);
  if (gone) throw new Error(`a player's socket closed (${gone.closed}) instead of ${what}`);
  if (!ok) throw new Error(`the players did not see ${what} within ${ms / 1000} s (states: ${players.map((p) => JSON.stringify(p.state)).join(', ')})`);
}

/** A line of `npm start`'s webhook receiver about the galaxy room, or a failure naming it. */
async function expectWebhook(h, ctx, kind) {
  const room = ctx.galaxy.roomId;
  const re = new RegExp(`^.*\\[webhook\\] ${kind.replace(/\./g, '\\.')} \\{[^\\n]*"game_id":"${room}"[^\\n]*\\(signature ok\\)$`, 'm');
  const line = await h.until(() => re.exec(ctx.npmStart.out)?.[0], 20_000);
  if (!line) throw new Error(`npm start's output has no "[webhook] ${kind} {…"game_id":"${room}"…} (signature ok)" line within 20 s`);
  return line.replace(/^.*\[webhook\] /, '');
}

/** What the room's server says of it (`/parlor/api/rooms`). */
async function serverRoom(h, origin, roomId) {
  const rooms = JSON.parse((await h.answers(`${origin}/parlor/api/rooms?limit=100`)).body).rooms ?? [];
  return rooms.find((r) => r.id === roomId) ?? null;
}

/**
 * A patch or restart: the room runs `version`, still paused at the same turn, both players still connected
 * and shown the same game (a full frame of the new engine, when one came while paused, draws the same scene;
 * the resume step checks the game's frames flow again).
 */
async function expectSameGame(h, ctx, version) {
  const g = ctx.galaxy;
  const room = await h.until(async () => {
    const r = await serverRoom(h, g.origin, g.roomId);
    return r?.version === version ? r : null;
  }, 20_000);
  if (!room) throw new Error(`${g.origin}/parlor/api/rooms does not list room ${g.roomId} at galaxy ${version} within 20 s`);
  await expectPlayers(h, g.players, `the room still paused at turn ${g.turn}`, (p) => p.state.status === 'paused' && p.state.turn === g.turn);
  if (room.status !== 'paused' || room.turn !== g.turn) throw new Error(`the server lists the room ${room.status} at turn ${room.turn}, not paused at turn ${g.turn}`);
  await expectPlayers(h, g.players, 'the same game (planets, fleets, turn and orders)', (p) => JSON.stringify(p.texts().sort()) === g.scenes[g.players.indexOf(p)]);
  return `the room runs galaxy ${version}, paused at turn ${g.turn}; both players still connected, shown the same game (${g.players.map((p) => p.fulls).join(' and ')} full frames so far)`;
}

export function lifecycleSteps(h) {
  return [
    { cmd: 'npx parlor publish examples/galaxy --version 1.0.0', during: 'npm start', timeoutMs: 180_000, check: (out, ctx) => h.checkPublished(out, ctx, '1.0.0', 'galaxy') },
    { cmd: 'npx parlor promote galaxy@1.0.0 --env prod', during: 'npm start', timeoutMs: 60_000, check: (out, ctx) => h.checkPinned(out, ctx, /promoted galaxy in prod: \(none\) → 1\.0\.0/, '1.0.0', 'galaxy') },
    {
      cmd: CURL_CREATE_GALAXY, during: 'npm start', timeoutMs: 60_000,
      check: async (out, ctx, stdout) => {
        const room = JSON.parse(stdout)?.data;
        if (room?.version !== '1.0.0' || !/^http:\/\/localhost:808[01]\/play\/galaxy\//.test(room?.joinUrl ?? '')) throw new Error(`not a galaxy 1.0.0 room on :8080 or :8081: ${stdout.slice(0, 300)}`);
        await h.expectPage(room.joinUrl);
        const ann = await galaxyPlayer(h, ctx, room.endpointUrl, { roomId: room.roomId });
        const bob = await galaxyPlayer(h, ctx, room.endpointUrl, { roomId: room.roomId });
        const r = await ann.order(ANN_ORDER);
        if (!r.accepted) throw new Error(`Ann's order was refused: ${r.code} ${r.message}`);
        if (ann.state.status !== 'running' || !(ann.state.nextTurnAt > Date.now())) throw new Error(`the room's state is not an open turn with a cutoff ahead: ${JSON.stringify(ann.state)}`);
        ctx.env.ROOM = room.roomId; // "put its roomId in ROOM", as a user copies it from the answer
        ctx.galaxy = { roomId: room.roomId, origin: room.endpointUrl, players: [ann, bob], turn: ann.state.turn };
        return `joinUrl answers; two players joined room ${room.roomId} (turn ${ann.state.turn}, cutoff in ${Math.round((ann.state.nextTurnAt - Date.now()) / 1000)} s); an order was accepted; ROOM set`;
      },
    },
    {
      cmd: 'npx parlor room turn $ROOM', during: 'npm start', timeoutMs: 60_000,
      check: async (out, ctx) => {
        const g = ctx.galaxy;
        h.expectOut(out, new RegExp(`generated the next turn of room ${g.roomId} `), 'a "generated the next turn of room …" line');
        await expectPlayers(h, g.players, 'the next turn open, with Ann\'s fleet in flight', (p) => p.state.status === 'running' && p.state.turn > g.turn && p.texts().some((t) => t.startsWith('4 → Lyra')));
        g.turn = g.players[0].state.turn;
        const hook = await expectWebhook(h, ctx, 'game.turn.ready');
        return `both players see turn ${g.turn} and the fleet in flight; npm start printed: ${hook}`;
      },
    },
    {
      cmd: `npx parlor room pause $ROOM --reason "${PAUSE_REASON}"`, during: 'npm start', timeoutMs: 60_000,
      check: async (out, ctx) => {
        const g = ctx.galaxy;
        await expectPlayers(h, g.players, `the room paused with reason "${PAUSE_REASON}"`, (p) => p.state.status === 'paused' && p.state.reason === PAUSE_REASON);
        g.turn = g.players[0].state.turn;
        g.scenes = g.players.map((p) => JSON.stringify(p.texts().sort())); // the game as each player sees it, paused
        const r = await g.players[0].order({ from: 0, to: 6, ships: 1 });
        if (r.accepted || r.code !== 'GAME_PAUSED') throw new Error(`an order in the paused room was answered ${JSON.stringify(r)}, not GAME_PAUSED`);
        const hook = await expectWebhook(h, ctx, 'game.paused');
        return `both players see "Paused — ${PAUSE_REASON}"; an order is refused GAME_PAUSED, the socket open; npm start printed: ${hook}`;
      },
    },
    { cmd: 'npx parlor publish examples/galaxy --version 1.0.1', during: 'npm start', timeoutMs: 180_000, check: (out, ctx) => h.checkPublished(out, ctx, '1.0.1', 'galaxy') },
    {
      cmd: 'npx parlor room patch $ROOM 1.0.1', during: 'npm start', timeoutMs: 60_000,
      check: async (out, ctx) => {
        h.expectOut(out, new RegExp(`patched room ${ctx.galaxy.roomId} to 1\\.0\\.1`), 'a "patched room … to 1.0.1" line');
        return expectSameGame(h, ctx, '1.0.1');
      },
    },
    {
      cmd: 'npx parlor room restart $ROOM', during: 'npm start', timeoutMs: 60_000,
      check: async (out, ctx) => {
        h.expectOut(out, new RegExp(`restarted room ${ctx.galaxy.roomId}`), 'a "restarted room …" line');
        return expectSameGame(h, ctx, '1.0.1');
      },
    },
    {
      cmd: 'npx parlor room resume $ROOM', during: 'npm start', timeoutMs: 60_000,
      check: async (out, ctx) => {
        const g = ctx.galaxy;
        await expectPlayers(h, g.players, 'the room running again with a cutoff ahead', (p) => p.state.status === 'running' && p.state.nextTurnAt !== null);
        const r = await g.players[0].order({ from: 0, to: 6, ships: 1 });
        if (!r.accepted) throw new Error(`an order after resume was refused: ${r.code} ${r.message}`);
        await expectPlayers(h, [g.players[0]], 'the accepted order in the game\'s frames (Sol → Lyra: 1 ships)', (p) => p.texts().includes('Sol → Lyra: 1 ships'));
        return `both players see turn ${g.players[0].state.turn} open again; an order is accepted and shows in the player's frames`;
      },
    },
    {
      cmd: 'npx parlor room operations $ROOM', during: 'npm start', timeoutMs: 60_000,
      check: (out, ctx) => {
        for (const g of ctx.galaxy.players) g.close(); // before Ctrl-C of npm start, whose servers drain until their players leave
        const ops = out.split('\n').filter((l) => l.includes(ctx.galaxy.roomId)).map((l) => l.trim().split(/\s{2,}/));
        for (const op of ['turn', 'pause', 'patch', 'restart', 'resume']) {
          if (!ops.some((cells) => cells[3] === op && cells[6] === 'succeeded')) throw new Error(`the operation log has no succeeded ${op} of room ${ctx.galaxy.roomId}`);
        }
        return 'the log lists turn, pause, patch, restart and resume, each succeeded';
      },
    },
    {
      cmd: SERVE_STATE, background: true, timeoutMs: 90_000, ports: [8080],
      ready: { url: 'http://localhost:8080/play/galaxy' },
      // "kill -9 it, run it again: its galaxy rooms come back"
      check: async (ctx, job) => {
        const origin = 'http://localhost:8080';
        const ann = await galaxyPlayer(h, ctx, origin);
        const bob = await galaxyPlayer(h, ctx, origin, { roomId: ann.init.roomId });
        const r = await ann.order(ANN_ORDER);
        if (!r.accepted) throw new Error(`Ann's order was refused: ${r.code} ${r.message}`);
        const { roomId, reconnectToken, playerId } = ann.init;
        const turn = ann.state.turn;
        h.signalGroup(job.pid, 'SIGKILL');
        if (!(await h.until(async () => !h.groupAlive(job.pid) && (await h.portFree(8080)), 20_000))) throw new Error('the server was still there 20 s after kill -9');
        bob.close();
        ann.close();
        const again = h.startJob(SERVE_STATE, ctx.cwd, ctx.env);
        if (!(await h.until(async () => again.exit || (await h.answers(`${origin}/play/galaxy`)).status === 200, 90_000)) || again.exit) {
          throw new Error(`run again after kill -9, it was not ready within 90 s (${again.exit ? `exited ${again.exit.code}` : 'no answer'}):\n${again.out.slice(-3000)}`);
        }
        const room = await serverRoom(h, origin, roomId);
        if (!room) throw new Error(`after kill -9 and a new start, ${origin}/parlor/api/rooms does not list room ${roomId}`);
        const back = await galaxyPlayer(h, ctx, origin, { roomId, reconnectToken });
        back.close();
        if (back.init.playerId !== playerId) throw new Error(`Ann's reconnect token made her player ${back.init.playerId}, not ${playerId}`);
        if (back.state.turn < turn) throw new Error(`the room came back at turn ${back.state.turn}, before turn ${turn}`);
        // her order, still pending, or launched if a cutoff came meanwhile (the restart counts as time passing)
        if (!back.texts().some((t) => t === 'Sol → Lyra: 4 ships' || t.startsWith('4 → Lyra'))) {
          throw new Error(`Ann's acknowledged order is not in the game after the restart (she sees: ${back.texts().join(' / ')})`);
        }
        return { job: again, what: `room ${roomId} came back after kill -9 under the same id at turn ${turn}; Ann rejoined with her token as player ${playerId} and sees her order` };
      },
    },
  ];
}
