#!/usr/bin/env node
/**
 * The README's shell commands, run exactly as written in a fresh clone of this repository, as a new
 * user would: `git clone` → every command of README.md's ```sh blocks in order (the tutorial saved where
 * the README says), each in `bash -c` in the clone. The last step of `npm test`, run alone after vitest,
 * so it uses the README's own ports (8080, 8081, 7070, 8090). It tests what is committed, not the
 * working tree.
 *
 * Every README command must match an entry of TABLE below (run it / run it in the background until it is
 * ready, check what the README promises, then Ctrl-C it / skip it with a reason): a new command without
 * an entry fails this step, so no README command goes untested by accident.
 *
 *   node scripts/readme-commands.mjs [--keep]      (--keep: leave the clone on disk, for a look after a failure)
 */
/* global process, console, setTimeout, clearTimeout, fetch, AbortSignal -- Node globals (scripts/ has no eslint environment) */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lifecycleSteps } from './readme-lifecycle.mjs';
import { scalingSteps } from './readme-scaling.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STEP_TIMEOUT_MS = 25 * 60_000; // the whole step, whatever hangs (a fresh npm install may compile better-sqlite3)
const STOP_TIMEOUT_MS = 20_000; // from Ctrl-C to every process of the command gone and its ports free
const TAIL_LINES = 40;
const NPM_START_PORTS = [8080, 8081, 7070, 8090, 8100]; // lobbies, orchestrator, matchmaker, the demo's webhook receiver

// ---------------------------------------------------------------------------------------------------
// What each README command is, and how it is checked. `cmd` is the command as the README writes it
// (continuation lines joined, trailing `# comment` dropped, spaces collapsed).
//   run (default): exits 0 within `timeoutMs`; `check(out, ctx)` then looks at its output.
//   background: runs until `ready` (an output line and/or a URL answering), then `check(ctx, job)`; it
//     keeps running for the next commands whose `during` names it (a command, or a list of them), then
//     gets SIGINT (Ctrl-C) and must exit, all of its processes gone and its `ports` free.
//   skip: not run, the reason is printed. `unless(ctx)`: a reason to skip now, or null to run.
//   as(ctx): what runs instead of a command with a placeholder (`my-game`), printed next to it.
// ---------------------------------------------------------------------------------------------------
const CURL_CREATE = `curl -s -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d '{"type":"pong"}' http://localhost:7070/v1/rooms`;
const dockerAnswers = () => spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 15_000 }).status === 0;
/** Asked at each docker command (an engine may come up during the run, as `parlor validate`'s auto runtime would then find it). */
const noDocker = () => (dockerAnswers() ? null : 'no Docker engine answers `docker info` (without CI=true the docker commands are skipped, as the docker tests are)');
// The catalog section, against `npm start`: each check looks at what the command promises, through the catalog's REST
// API and real WebSocket joins of the rooms it places (`ctx.catalog` carries the 1.0.0 room kept open across promotions).
const CURL_CREATE_BY_GAME = `curl -s -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d '{"game":"pong","env":"prod"}' http://localhost:7070/v1/rooms`;
const CURL_REQUIRE_AUTH = `curl -s -X PUT -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d '{"access":{"requiresAuth":true}}' http://localhost:7070/v1/games/pong`;
const CATALOG_STEPS = [
  {
    cmd: 'export PARLOR_ADMIN_KEY=$ADMIN_KEY', during: 'npm start', timeoutMs: 10_000,
    check: (out, ctx) => {
      if (!ctx.env.ADMIN_KEY) throw new Error('ADMIN_KEY is not set (npm start printed no admin key)');
      ctx.env.PARLOR_ADMIN_KEY = ctx.env.ADMIN_KEY; // the shell keeps an export for the next commands
      return 'PARLOR_ADMIN_KEY kept for the next commands, as the shell does';
    },
  },
  { cmd: 'npx parlor publish examples/pong --version 1.0.0', during: 'npm start', timeoutMs: 180_000, check: (out, ctx) => checkPublished(out, ctx, '1.0.0') },
  { cmd: 'npx parlor promote pong@1.0.0 --env prod', during: 'npm start', timeoutMs: 60_000, check: (out, ctx) => checkPinned(out, ctx, /promoted pong in prod: \(none\) → 1\.0\.0/, '1.0.0') },
  {
    cmd: 'npx parlor games --env prod', during: 'npm start', timeoutMs: 60_000,
    check: (out) => {
      const rows = out.split('\n').map((l) => l.trim().split(/\s{2,}/));
      const head = rows.find((r) => r[0] === 'SLUG');
      const pong = rows.find((r) => r[0] === 'pong');
      if (!head || !pong) throw new Error('no table with a pong row');
      if (pong[head.indexOf('PROD')] !== '1.0.0') throw new Error(`pong's PROD column is ${pong[head.indexOf('PROD')]}, not 1.0.0`);
      return 'pong listed with PROD 1.0.0';
    },
  },
  {
    cmd: CURL_CREATE_BY_GAME, during: 'npm start', timeoutMs: 30_000,
    check: async (out, ctx, stdout) => {
      let body;
      try {
        body = JSON.parse(stdout);
      } catch {
        throw new Error('its output is not JSON');
      }
      const room = await checkCatalogRoom(ctx, body, '1.0.0', { keep: true });
      return `joinUrl ${room.joinUrl} answers; its room runs pong 1.0.0; two players joined and got frames (kept playing)`;
    },
  },
  { cmd: 'npx parlor publish examples/pong --version 1.0.1', during: 'npm start', timeoutMs: 180_000, check: (out, ctx) => checkPublished(out, ctx, '1.0.1') },
  {
    cmd: 'npx parlor promote pong@1.0.1 --env prod', during: 'npm start', timeoutMs: 60_000,
    check: async (out, ctx) => {
      await checkPinned(out, ctx, /promoted pong in prod: 1\.0\.0 → 1\.0\.1/, '1.0.1');
      await checkCatalogRoom(ctx, await adminApi(ctx, 'POST', '/v1/rooms', { game: 'pong', env: 'prod' }), '1.0.1');
      const kept = ctx.catalog.kept;
      const frames = kept.frames();
      if (!(await until(() => kept.frames() > frames + 3 || kept.closed(), 10_000)) || kept.closed()) throw new Error(`the running 1.0.0 room stopped playing after the promotion (${kept.closed() ?? 'no new frame'})`);
      const rooms = JSON.parse((await answers(`${kept.origin}/parlor/api/rooms`)).body).rooms;
      const version = rooms.find((r) => r.id === kept.roomId)?.version;
      if (version !== '1.0.0') throw new Error(`the running room ${kept.roomId} now says version ${version}, not 1.0.0`);
      return 'prod pins 1.0.1; a new room runs 1.0.1 and plays; the running 1.0.0 room keeps its version and its frames';
    },
  },
  {
    cmd: 'npx parlor rollback pong --env prod', during: 'npm start', timeoutMs: 60_000,
    check: async (out, ctx) => {
      ctx.catalog.kept.close(); // before Ctrl-C of npm start, whose servers drain until their players leave
      await checkPinned(out, ctx, /rolled back pong in prod: 1\.0\.1 → 1\.0\.0/, '1.0.0');
      await checkCatalogRoom(ctx, await adminApi(ctx, 'POST', '/v1/rooms', { game: 'pong', env: 'prod' }), '1.0.0');
      return 'prod pins 1.0.0 again; a new room runs 1.0.0 and plays';
    },
  },
  {
    cmd: CURL_REQUIRE_AUTH, during: 'npm start', timeoutMs: 30_000,
    check: async (out, ctx, stdout) => {
      if (JSON.parse(stdout)?.data?.access?.requiresAuth !== true) throw new Error('the answer is not pong with access.requiresAuth true');
      const room = (await adminApi(ctx, 'POST', '/v1/rooms', { game: 'pong', env: 'prod' })).data;
      const anon = await joinRoom(ctx, room.endpointUrl, 'pong', { roomId: room.roomId });
      anon.ws.terminate();
      if (anon.code !== 4402) throw new Error(`an anonymous join of a new pong room was not refused 4402 (${anon.code ? `closed ${anon.code}` : 'it got a frame'})`);
      ctx.catalog.restricted = room;
      return 'a new pong room refuses an anonymous join with 4402';
    },
  },
  {
    cmd: 'npx parlor token --secret-file parlor-data/demo/identity.secret --user alice --role member', during: 'npm start', timeoutMs: 60_000,
    check: async (out, ctx, stdout) => {
      const token = stdout.trim();
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error('its output is not a JWT');
      const room = ctx.catalog.restricted;
      await expectPage(`${room.joinUrl}?token=${token}`);
      const signed = await joinRoom(ctx, room.endpointUrl, 'pong', { roomId: room.roomId, token });
      signed.ws.close();
      if (signed.code !== null) throw new Error(`a join of the restricted room with the token was refused (closed ${signed.code})`);
      return 'a join of the restricted room with the token got a frame';
    },
  },
];

async function adminApi(ctx, method, route, body) {
  const res = await fetch(`http://localhost:7070${route}`, {
    method, headers: { authorization: `Bearer ${ctx.env.ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(30_000),
  });
  const json = await res.json();
  if (json.status !== 'OK') throw new Error(`${method} ${route}: ${res.status} ${json.cause}: ${json.message}`);
  return json;
}
async function checkPublished(out, ctx, version, game = 'pong') {
  expectOut(out, new RegExp(`^PUBLISHED ${game}@${version.replace(/\./g, '\\.')} sha256:[0-9a-f]{64}$`, 'm'), `a "PUBLISHED ${game}@${version} sha256:…" line`);
  const v = (await adminApi(ctx, 'GET', `/v1/games/${game}/versions/${version}`)).data;
  if (v.version !== version) throw new Error(`GET /v1/games/${game}/versions/${version} answers ${v.version}`);
  return `PUBLISHED; the catalog lists ${game}@${version}`;
}
async function checkPinned(out, ctx, line, version, game = 'pong') {
  expectOut(out, line, String(line));
  const entry = (await adminApi(ctx, 'GET', '/v1/manifests/prod')).data.games.find((g) => g.slug === game);
  if (entry?.version !== version) throw new Error(`the prod manifest pins ${game} at ${entry?.version}, not ${version}`);
  return `the prod manifest pins ${game}@${version}`;
}
/** A create-by-game answer: its room runs `version`, its joinUrl answers, a join of it gets a frame. */
async function checkCatalogRoom(ctx, body, version, { keep = false } = {}) {
  const room = body?.data;
  if (body?.status !== 'OK' || typeof room?.joinUrl !== 'string') throw new Error('no {"status":"OK","data":{"joinUrl":…}} answer');
  if (room.version !== version) throw new Error(`the room runs pong ${room.version}, not ${version}`);
  if (!/^http:\/\/localhost:808[01]\/play\/pong\//.test(room.joinUrl)) throw new Error(`joinUrl ${room.joinUrl} is not a pong room on :8080 or :8081`);
  await expectPage(room.joinUrl);
  const joined = await joinRoom(ctx, room.endpointUrl, 'pong', { roomId: room.roomId });
  if (joined.code !== null) throw new Error(`a join of room ${room.roomId} was closed ${joined.code}`);
  if (keep) {
    // a second player, so the match runs (a pong room with one player waits, and sends no frames)
    const second = await joinRoom(ctx, room.endpointUrl, 'pong', { roomId: room.roomId });
    if (second.code !== null) throw new Error(`a second join of room ${room.roomId} was closed ${second.code}`);
    ctx.catalog = { kept: { ...joined, origin: room.endpointUrl, roomId: room.roomId, close: () => [joined, second].forEach((j) => j.ws.close()) } };
  } else joined.ws.close();
  return room;
}
const TABLE = [
  // where better-sqlite3's prebuilt binary cannot be downloaded (only the npm registry reachable), npm install compiles it: minutes
  { cmd: 'npm install', timeoutMs: 900_000 },
  {
    cmd: 'npm start', background: true, timeoutMs: 300_000, ports: NPM_START_PORTS,
    ready: { line: /admin key: (\S+?)\)/, url: 'http://localhost:8080/' },
    check: checkNpmStart,
  },
  { cmd: CURL_CREATE, during: 'npm start', timeoutMs: 30_000, check: checkRoomCreate },
  ...CATALOG_STEPS,
  // "Turn-based games and rooms that last": galaxy published, operated through `parlor room`, webhooks, kill -9 of a host
  ...lifecycleSteps({ adminApi, answers, checkPublished, checkPinned, expectOut, expectPage, until, startJob, signalGroup, groupAlive, portFree }),
  // "Scale out": the Swarm provisioner and its autoscaler on this machine's engine, the Kubernetes manifests, two orchestrators on one Postgres
  ...scalingSteps({ adminApi, answers, expectOut, until, noDocker, joinFirstFrame }),
  { cmd: 'npm test', skip: 'this step is the last part of `npm test` (vitest ran just before it)' },
  {
    cmd: 'npx parlor dev my-games/click-the-dot.ts', background: true, timeoutMs: 90_000, ports: [8080],
    ready: { line: /Play: /, url: 'http://localhost:8080/play/click-the-dot' },
    check: checkDev,
  },
  // "once (npm start builds too)": a user who ran `npm start` has the build; `npm test` runs `npm run build` itself
  {
    cmd: 'npm run build', timeoutMs: 240_000,
    unless: async (ctx) => {
      ctx.buildWhy = (await buildState(ctx)).buildNeeded();
      return ctx.buildWhy ? null : 'the build is up to date: `npm start` above built it (the README: "once (npm start builds too)"), and `npm test` runs it';
    },
    check: (out, ctx) => `built because: ${ctx.buildWhy}`,
  },
  {
    cmd: 'mkdir -p ../parlor-packs && npm pack --pack-destination ../parlor-packs -w @parlor/squish -w @parlor/client -w @parlor/fleet-agent -w @parlor/server',
    timeoutMs: 180_000,
    check: (out, ctx) => {
      const packs = readdirSync(path.join(ctx.tmp, 'parlor-packs')).filter((f) => f.endsWith('.tgz'));
      if (packs.length !== 4) throw new Error(`../parlor-packs holds ${packs.length} tarballs, not 4: ${packs.join(', ')}`);
      return packs.join(', ');
    },
  },
  {
    cmd: 'npx parlor init ../my-game --packs ../parlor-packs', timeoutMs: 60_000,
    check: (out, ctx) => {
      const pkg = JSON.parse(readFileSync(path.join(ctx.tmp, 'my-game', 'package.json'), 'utf8'));
      if (!/^file:/.test(pkg.dependencies?.['@parlor/server'] ?? '')) throw new Error('../my-game/package.json does not take @parlor/server from the packs (file:)');
      return '../my-game scaffolded on the packs';
    },
  },
  { cmd: 'cd ../my-game && npm install && npm test', timeoutMs: 360_000 },
  {
    cmd: 'cd ../my-game && npm run dev', background: true, timeoutMs: 120_000, ports: [8080],
    ready: { url: 'http://localhost:8080/play/my-game' },
    check: async (ctx) => {
      await joinFirstFrame(ctx, 'http://localhost:8080', 'my-game');
      return 'http://localhost:8080/play/my-game answers; a join got a frame';
    },
  },
  { cmd: 'bash packages/server/docker/build-runner-image.sh', timeoutMs: 240_000, unless: noDocker },
  {
    cmd: 'npx parlor serve --games examples --runtime docker', background: true, timeoutMs: 90_000, ports: [8080], unless: noDocker,
    ready: { url: 'http://localhost:8080/' },
    check: async (ctx) => {
      await expectPage('http://localhost:8080/', /pong/i);
      await joinFirstFrame(ctx, 'ws://localhost:8080', 'pong');
      return 'the lobby lists pong; a WebSocket join of pong got a frame from its container';
    },
  },
  { cmd: 'npx parlor validate examples/pong', timeoutMs: 120_000, check: (out) => expectOut(out, /^PASS examples\/pong/m, 'a PASS line') },
  {
    cmd: 'npx parlor validate my-game --json', timeoutMs: 120_000,
    as: (ctx) => `npx parlor validate ${ctx.tutorialFile} --json`, asWhy: '`my-game` stands for your game: the tutorial\'s',
    check: (out, ctx, stdout) => {
      let report;
      try {
        report = JSON.parse(stdout);
      } catch {
        throw new Error('its output is not a JSON report');
      }
      if (report.ok !== true) throw new Error(`the report says the tutorial game does not pass ("ok": ${JSON.stringify(report.ok)})`);
      return 'a JSON report, "ok": true';
    },
  },
  ...[
    'npx parlor dev <game-file-or-folder> [--port 8080]',
    'npx parlor serve --games <dir> [--port 8080] [--runtime process]',
    'npx parlor validate <game> [--json] [--smoke-ms 5000]',
  ].map((cmd) => ({ cmd, skip: 'a synopsis with placeholders; the commands above run it concretely' })),
  {
    cmd: 'npx parlor serve --games examples', background: true, timeoutMs: 90_000, ports: [8080],
    ready: { url: 'http://localhost:8080/' },
    check: async (ctx) => {
      await expectPage('http://localhost:8080/', /pong/i);
      await joinFirstFrame(ctx, 'http://localhost:8080', 'pong');
      return 'the lobby at :8080 lists pong; a pong join got a frame';
    },
  },
  {
    cmd: 'npx parlor bots pong --count 200 --duration 20s', during: 'npx parlor serve --games examples', timeoutMs: 150_000,
    check: (out) => {
      expectOut(out, /200\/200 joined · 0 dropped/, 'table line "200/200 joined · 0 dropped"');
      return expectOut(out, /^ok: every bot joined and stayed/m, '"ok: every bot joined and stayed"');
    },
  },
  { cmd: 'npx parlor --help', timeoutMs: 60_000, check: checkHelp },
  ...['npm run bench', 'npm run bench:fleet', 'npm run bench:runtime', 'npm run bench:fanout', 'npm run bench:paint', 'npm run bench:catalog', 'npm run bench:lifecycle', 'npm run bench:scaling'].map((cmd) => ({
    cmd, skip: 'minutes long, and rewrites a committed results file; not part of a first run',
  })),
];

// ---------------------------------------------------------------------------------------------------
// README.md → steps: commands of ```sh blocks and the tutorial file, in document order.
// ---------------------------------------------------------------------------------------------------
/** Drops a trailing `# comment` (a `#` after a space, outside quotes), as the shell does. */
function stripComment(s) {
  let quote = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i);
  }
  return s;
}
const keyOf = (text) => stripComment(text.replace(/\\\n/g, ' ')).replace(/\s+/g, ' ').trim();
const lineAt = (text, index) => text.slice(0, index).split('\n').length;

export function readmeSteps(readme) {
  const steps = [];
  for (const m of readme.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)) {
    const first = lineAt(readme, m.index) + 1;
    let cur = null;
    m[1].split('\n').forEach((raw, i) => {
      if (cur) cur.text += `\n${raw}`;
      else if (raw.trim() === '' || raw.trim().startsWith('#')) return; // blank, or output shown as a comment
      else cur = { kind: 'cmd', text: raw, line: first + i, index: m.index };
      if (/\\$/.test(raw)) return; // continues on the next line
      cur.key = keyOf(cur.text);
      const cd = /^cd (\S+)$/.exec(cur.key); // shell state, not a command: followed by this script (within its block)
      if (cd) Object.assign(cur, { kind: 'cd', dir: cd[1] });
      steps.push(cur);
      cur = null;
    });
  }
  const t = /<!-- tutorial:start -->\s*```ts\n([\s\S]*?)```\s*<!-- tutorial:end -->/.exec(readme);
  if (t) {
    const file = [...readme.slice(0, t.index).matchAll(/Save this as `([^`]+)`/g)].pop()?.[1];
    if (!file) throw new Error('README.md: no "Save this as `<file>`" before the tutorial:start marker, so a reader cannot know where to save the tutorial');
    steps.push({ kind: 'save', file, content: t[1], line: lineAt(readme, t.index), index: t.index, key: `save the tutorial as ${file}` });
  }
  return steps.sort((a, b) => a.index - b.index);
}

// ---------------------------------------------------------------------------------------------------
// Processes: each command in its own process group (as a terminal's job), so Ctrl-C reaches all of it.
// ---------------------------------------------------------------------------------------------------
const live = new Set(); // jobs still running
function startJob(text, cwd, env) {
  const child = spawn('bash', ['-c', text], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const job = { child, pid: child.pid, out: '', stdout: '', exit: null };
  const onData = (d) => {
    job.out += d; // stdout and stderr as a terminal shows them
    if (job.out.length > 4_000_000) job.out = job.out.slice(-2_000_000);
  };
  child.stdout.setEncoding('utf8'); // whole characters, whatever the chunk boundaries
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    if (job.stdout.length < 4_000_000) job.stdout += d;
    onData(d);
  });
  child.stderr.on('data', onData);
  job.exited = new Promise((resolve) => child.on('close', (code, signal) => {
    job.exit = { code, signal };
    resolve(job.exit);
  }));
  live.add(job);
  return job;
}
function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
function signalGroup(pid, sig) {
  try {
    process.kill(-pid, sig);
  } catch {
    // gone already
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(pred, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) return null;
    await sleep(100);
  }
}
/** Whether nothing listens on `port` (on any interface). */
function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });
}
/** Ctrl-C as a terminal sends it: SIGINT to the job's whole process group; then everything must be gone. */
async function stopJob(job, ports = []) {
  const mark = job.out.length;
  signalGroup(job.pid, 'SIGINT');
  const gone = await until(async () => !groupAlive(job.pid) && (await Promise.all(ports.map(portFree))).every(Boolean), STOP_TIMEOUT_MS);
  live.delete(job);
  // A normal Ctrl-C should log no errors: reported as a warning (the stop itself is what must work).
  if (gone) return job.out.slice(mark).split('\n').find((l) => /\b(ERROR|FATAL)\b|"level":(50|60)|unexpectedly/.test(l)) ?? null;
  const left = groupAlive(job.pid) ? 'some of its processes were still running' : `ports ${ports.join(', ')} were not all free`;
  signalGroup(job.pid, 'SIGKILL');
  throw new Error(`it did not stop within ${STOP_TIMEOUT_MS / 1000} s of Ctrl-C (SIGINT to its process group): ${left}`);
}
function killAll() {
  for (const job of live) signalGroup(job.pid, 'SIGKILL');
  live.clear();
}

// ---------------------------------------------------------------------------------------------------
// Checks of what the README promises.
// ---------------------------------------------------------------------------------------------------
async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  } catch (err) {
    return { status: 0, body: String(err?.cause?.code ?? err) };
  }
}
async function expectPage(url, bodyRe) {
  const r = await answers(url);
  if (r.status !== 200) throw new Error(`${url} answered ${r.status || r.body}, not 200`);
  if (bodyRe && !bodyRe.test(r.body)) throw new Error(`${url} does not show ${bodyRe}`);
}
function expectOut(out, re, what) {
  if (!re.test(out)) throw new Error(`its output has no ${what} (${re})`);
  return what;
}

/** A WebSocket join of `game` as the browser client does it, with the clone's own packages; resolves on the first frame. */
async function joinFirstFrame(ctx, origin, game, { keep = false } = {}) {
  const WebSocket = createRequire(path.join(ctx.clone, 'package.json'))('ws');
  const squish = await import(pathToFileURL(path.join(ctx.clone, 'packages/squish/dist/index.js')).href);
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}${squish.WS_PATH}`);
  const messages = [];
  ws.on('message', (data) => messages.push(squish.decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))));
  let closed = null;
  ws.on('close', (code, reason) => (closed = `closed with ${code} ${reason}`));
  ws.on('error', (err) => (closed = String(err)));
  ws.on('open', () => ws.send(squish.encodeClientMessage({
    type: 'join', protocolVersion: squish.PROTOCOL_VERSION, game, roomId: '', spectate: false,
    reconnectToken: '', ticket: '', name: 'readme', clientInfo: 'scripts/readme-commands.mjs',
  })));
  const got = await until(() => messages.some((m) => m.type === 'frame') || closed, 20_000);
  if (!got || closed) {
    ws.terminate();
    const error = messages.find((m) => m.type === 'error');
    throw new Error(`a WebSocket join of ${game} at ${origin} got no frame within 20 s (${closed ?? 'still open'}${error ? `; error: ${error.message ?? JSON.stringify(error)}` : ''})`);
  }
  if (!keep) ws.close();
  return { ws, messages, closed: () => closed };
}

/**
 * A WebSocket join of `roomId` (optionally with an identity token), as the browser client does it: resolves on the
 * first frame (`code: null`, the socket kept open, `frames()` counting frames) or on the close (`code`).
 */
async function joinRoom(ctx, origin, game, { roomId, token }) {
  const WebSocket = createRequire(path.join(ctx.clone, 'package.json'))('ws');
  const squish = await import(pathToFileURL(path.join(ctx.clone, 'packages/squish/dist/index.js')).href);
  const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}${squish.WS_PATH}`);
  let frames = 0;
  let code = null;
  let closed = null;
  ws.on('message', (data) => {
    if (squish.decodeServerMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).type === 'frame') frames++;
  });
  ws.on('close', (c, reason) => ([code, closed] = [c, `closed with ${c} ${reason}`]));
  ws.on('error', (err) => (closed = String(err)));
  ws.on('open', () => ws.send(squish.encodeClientMessage({
    type: 'join', protocolVersion: squish.PROTOCOL_VERSION, game, roomId, spectate: false,
    reconnectToken: '', ticket: '', name: 'readme', clientInfo: 'scripts/readme-commands.mjs', ...(token ? { token } : {}),
  })));
  if (!(await until(() => frames > 0 || closed, 20_000))) {
    ws.terminate();
    throw new Error(`a WebSocket join of room ${roomId} at ${origin} got neither a frame nor a close within 20 s`);
  }
  if (closed && code === null) throw new Error(`a WebSocket join of room ${roomId} at ${origin} failed: ${closed}`);
  return { ws, code: frames > 0 ? null : code, frames: () => frames, closed: () => closed };
}

/** The clone's own scripts/build-state.mjs (what `npm start` uses to skip an up-to-date build). */
const buildState = (ctx) => import(pathToFileURL(path.join(ctx.clone, 'scripts', 'build-state.mjs')).href);

async function checkNpmStart(ctx, job) {
  ctx.npmStart = job; // its output, for the commands run during it (the demo's webhook receiver prints there)
  const out = job.out;
  ctx.env.ADMIN_KEY = /admin key: (\S+?)\)/.exec(out)[1]; // as a user copies it from that line
  const building = out.split('\n').find((l) => l.startsWith('Parlor: '));
  if (!building) throw new Error('npm start printed no "Parlor: …" build line');
  if (/^(CLI|ESM|CJS|DTS) /m.test(out)) throw new Error('npm start printed the build log, not one line');
  await expectPage('http://localhost:8080/', /pong/i);
  await expectPage('http://localhost:8080/play/pong');
  await expectPage('http://localhost:8080/play/pong?spectate=1');
  await expectPage('http://localhost:8081/', /pong/i);
  await expectPage('http://localhost:8090/');
  await expectPage('http://localhost:7070/v1/openapi.json');
  await joinFirstFrame(ctx, 'http://localhost:8080', 'pong');
  return `"${building.trim()}"; lobbies :8080 :8081, play and spectate pages, matchmaker :8090, OpenAPI :7070 answer; a pong join got a frame; ADMIN_KEY set from the banner`;
}

async function checkRoomCreate(out, ctx, stdout) {
  let body;
  try {
    body = JSON.parse(stdout);
  } catch {
    throw new Error('its output is not JSON');
  }
  const joinUrl = body?.data?.joinUrl;
  if (body?.status !== 'OK' || typeof joinUrl !== 'string') throw new Error('no {"status":"OK","data":{"joinUrl":…}} answer');
  if (!/^http:\/\/localhost:808[01]\/play\/pong\//.test(joinUrl)) throw new Error(`joinUrl ${joinUrl} is not a pong room on :8080 or :8081`);
  await expectPage(joinUrl);
  return `joinUrl ${joinUrl.replace(/\?.*/, '?…')} answers`;
}

async function checkDev(ctx) {
  await expectPage('http://localhost:8080/play/click-the-dot');
  const { ws, messages, closed } = await joinFirstFrame(ctx, 'http://localhost:8080', 'click-the-dot', { keep: true });
  try {
    // "Edit the file and save: the game is rebuilt and open tabs rejoin the new version."
    const file = path.join(ctx.clone, ctx.tutorialFile);
    writeFileSync(file, readFileSync(file, 'utf8').replace('Click the dot!', 'Click the dot, again!'));
    const redirected = await until(() => messages.some((m) => m.type === 'redirect') || closed(), 30_000);
    if (!redirected || !messages.some((m) => m.type === 'redirect')) {
      throw new Error(`after an edit of ${ctx.tutorialFile}, the open room got no redirect to the new build within 30 s (${closed() ?? 'socket still open'})`);
    }
  } finally {
    ws.close();
  }
  return '/play/click-the-dot answers; a join got a frame; an edit of the file redirected the open room';
}

function checkHelp(out, ctx) {
  if (!/Usage: parlor/.test(out)) throw new Error('no "Usage: parlor" in its output');
  const commands = new Set(ctx.steps.flatMap((s) => /^npx parlor ([a-z][\w-]*)/.exec(s.key ?? '')?.[1] ?? []));
  const missing = [...commands].filter((c) => !new RegExp(`^\\s+${c}\\b`, 'm').test(out));
  if (missing.length) throw new Error(`--help does not list ${missing.join(', ')} (the README uses them)`);
  return `usage lists ${[...commands].join(', ')}`;
}

// ---------------------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------------------
/** The environment of a user's terminal: none of what `npm test` adds (npm_* variables, node_modules/.bin on PATH), no port or key overrides. */
function userEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || ['INIT_CWD', 'NODE', 'PORT', 'ORCHESTRATOR_PORT', 'MATCHMAKER_PORT', 'ADMIN_KEY'].includes(k) || k.startsWith('PARLOR_')) continue;
    env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '').split(path.delimiter).filter((p) => !/node_modules[\\/]\.bin|node-gyp-bin/.test(p)).join(path.delimiter);
  return env;
}
const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
const secs = (ms) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
class StepFailure extends Error {}

async function main() {
  const started = Date.now();
  const head = git('rev-parse', 'HEAD');
  if (head.status !== 0) throw new StepFailure(`${root} is not a git repository: this step clones it (${head.stderr.trim()})`);
  const dirty = git('status', '--porcelain').stdout.split('\n').filter(Boolean);
  const tmp = mkdtempSync(path.join(tmpdir(), 'parlor-readme-clone-'));
  const clone = path.join(tmp, 'parlor');
  cleanupDir = process.argv.includes('--keep') ? null : tmp;
  console.log(`README commands: a fresh clone of what is committed (HEAD ${head.stdout.trim().slice(0, 10)}) in ${clone}`);
  if (dirty.length) console.log(`  warning: ${dirty.length} uncommitted change(s) in the working tree are NOT tested (e.g. ${dirty[0].slice(3)})`);
  const cl = spawnSync('git', ['clone', '--quiet', root, clone], { encoding: 'utf8' });
  if (cl.status !== 0) throw new StepFailure(`git clone failed: ${cl.stderr.trim()}`);
  const cloned = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: clone, encoding: 'utf8' }).stdout.trim();
  if (cloned !== head.stdout.trim()) throw new StepFailure(`the clone's HEAD ${cloned} is not ${head.stdout.trim()} (a detached HEAD?)`);

  // The README as committed (the clone's), so what is read and what is run are one version.
  const steps = readmeSteps(readFileSync(path.join(clone, 'README.md'), 'utf8'));
  const byCmd = new Map(TABLE.map((e) => [keyOf(e.cmd), e]));
  const unknown = steps.filter((s) => s.kind === 'cmd' && !byCmd.has(s.key));
  if (unknown.length) {
    for (const s of unknown) console.error(`README.md:${s.line}: \`${s.key}\` has no entry in the TABLE of scripts/readme-commands.mjs`);
    throw new StepFailure(`${unknown.length} README command(s) would go untested: add each to TABLE in scripts/readme-commands.mjs (run it, run it in the background with checks, or skip it with a reason)`);
  }
  const ctx = { clone, tmp, steps, env: userEnv(), cwd: clone, tutorialFile: steps.find((s) => s.kind === 'save')?.file };
  if (process.env.CI === 'true' && !dockerAnswers()) throw new StepFailure('CI=true but no Docker engine answers `docker info`: the README\'s docker commands must run in CI');

  let bgs = []; // { job, entry, step } of each background command still running, oldest first
  let block = null; // the README block of the last step
  const counts = { run: 0, skip: 0 };
  for (const step of steps) {
    const entry = byCmd.get(step.key);
    // Background commands keep running while the next commands name them in `during` (one or a list),
    // else they get Ctrl-C, newest first (as a user stops a server before the database under it).
    const during = [entry?.during ?? []].flat();
    for (const b of [...bgs].reverse()) {
      if (during.includes(b.entry.cmd)) continue;
      await stopBackground(b);
      bgs = bgs.filter((x) => x !== b);
    }
    // Each block is typed from the repository root (the clone) unless it says `cd`.
    if (step.index !== block) [block, ctx.cwd] = [step.index, clone];
    if (step.kind === 'cd') {
      const dir = path.resolve(ctx.cwd, step.dir);
      if (!dir.startsWith(`${tmp}${path.sep}`)) fail(step, step.key, `it leaves the temporary directory of this step (${dir}); teach this script where that is`);
      if (!existsSync(dir)) fail(step, step.key, `no such directory: ${dir}`);
      ctx.cwd = dir;
      console.log(`  ok               ${step.key}   (the next commands of this block run in ${path.relative(tmp, dir)})`);
      continue;
    }
    if (step.kind === 'save') {
      mkdirSync(path.dirname(path.join(ctx.cwd, step.file)), { recursive: true });
      writeFileSync(path.join(ctx.cwd, step.file), step.content);
      console.log(`  ok               ${step.key} (README.md:${step.line})`);
      continue;
    }
    const skip = entry.skip ?? (await entry.unless?.(ctx));
    if (skip) {
      counts.skip++;
      console.log(`  skip             ${step.key} — ${skip}`);
      continue;
    }
    counts.run++;
    const text = entry.as ? entry.as(ctx) : step.text;
    const shown = entry.as ? `${step.key}   (as \`${text}\`: ${entry.asWhy})` : step.key;
    const t0 = Date.now();
    if (entry.background) {
      for (const port of entry.ports) if (!(await portFree(port))) fail(step, shown, `port ${port} is already in use before it started: this step uses the README's ports as written; stop what listens there`);
      const job = startJob(text, ctx.cwd, ctx.env);
      const bg = { job, entry, step };
      bgs.push(bg);
      const ready = await until(async () => job.exit
        || ((!entry.ready.line || entry.ready.line.test(job.out)) && (!entry.ready.url || (await answers(entry.ready.url)).status === 200)), entry.timeoutMs);
      if (!ready) fail(step, shown, `not ready within ${entry.timeoutMs / 1000} s (waiting for ${[entry.ready.line, entry.ready.url].filter(Boolean).join(' and ')})`, job);
      if (job.exit) fail(step, shown, `it exited (code ${job.exit.code}${job.exit.signal ? `, ${job.exit.signal}` : ''}) instead of running`, job);
      const readyMs = Date.now() - t0;
      let what;
      try {
        what = await entry.check(ctx, job);
      } catch (err) {
        fail(step, shown, err.message, job);
      }
      // a check that stopped the command and ran it again (kill -9, then the same command) hands over the new run
      if (typeof what === 'object' && what?.job) [bg.job, what] = [what.job, what.what];
      console.log(`  ok     ${secs(readyMs)}  ${shown}   (running; ${what})`);
    } else {
      const job = startJob(text, ctx.cwd, ctx.env);
      let timer;
      const exit = await Promise.race([job.exited, new Promise((r) => (timer = setTimeout(r, entry.timeoutMs, null)))]);
      clearTimeout(timer);
      live.delete(job);
      if (!exit) {
        signalGroup(job.pid, 'SIGKILL');
        fail(step, shown, `timed out after ${entry.timeoutMs / 1000} s`, job);
      }
      if (exit.code !== 0) fail(step, shown, `exit code ${exit.code ?? exit.signal} after ${secs(Date.now() - t0).trim()}`, job);
      let what = '';
      try {
        what = entry.check ? await entry.check(job.out, ctx, job.stdout) : '';
      } catch (err) {
        fail(step, shown, err.message, job);
      }
      console.log(`  ok     ${secs(Date.now() - t0)}  ${shown}${what ? `   (${what})` : ''}`);
    }
  }
  for (const b of bgs.reverse()) await stopBackground(b);
  const changed = spawnSync('git', ['status', '--porcelain'], { cwd: clone, encoding: 'utf8' }).stdout.split('\n').filter((l) => l && !l.endsWith('my-games/'));
  if (changed.length) console.log(`  note: following the README changed tracked files of the clone: ${changed.map((l) => l.slice(3)).join(', ')}`);
  const stale = TABLE.filter((e) => !steps.some((s) => s.key === keyOf(e.cmd)));
  for (const e of stale) console.log(`  note: TABLE entry \`${e.cmd}\` matches no README command any more (remove it)`);
  console.log(`README commands: ${counts.run} run, ${counts.skip} skipped, all passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function stopBackground({ job, entry, step }) {
  const t0 = Date.now();
  let logged;
  try {
    logged = await stopJob(job, entry.ports);
  } catch (err) {
    fail(step, entry.cmd, err.message, job);
  }
  console.log(`         ${secs(Date.now() - t0)}  └ Ctrl-C: ${entry.cmd} stopped, ports ${entry.ports.join(', ')} free`);
  if (logged) console.log(`  warning: after Ctrl-C it logged an error: ${logged.trim().slice(0, 300)}`);
}

function fail(step, shown, why, job) {
  const tail = job ? job.out.split('\n').slice(-TAIL_LINES - 1).join('\n') : '';
  throw new StepFailure(`README.md:${step.line}: \`${shown}\` failed: ${why}${job ? `\n--- the last ${TAIL_LINES} lines of its output ---\n${tail}\n---` : ''}`);
}

let cleanupDir = null;
let cleaning = false;
async function cleanup() {
  if (cleaning) return;
  cleaning = true;
  await Promise.all([...live].map((job) => {
    signalGroup(job.pid, 'SIGINT');
    return until(() => !groupAlive(job.pid), 5_000);
  }));
  killAll();
  if (cleanupDir) {
    const t0 = Date.now();
    rmSync(cleanupDir, { recursive: true, force: true });
    console.log(`README commands: the clone removed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
process.on('exit', () => {
  killAll();
  if (cleanupDir && !cleaning) rmSync(cleanupDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\nREADME commands: ${sig}: stopping what was started and removing the clone`);
    cleanup().finally(() => process.exit(130));
  });
}

const timer = setTimeout(() => {
  console.error(`FAIL README commands: the whole step took over ${STEP_TIMEOUT_MS / 60_000} min`);
  cleanup().finally(() => process.exit(1));
}, STEP_TIMEOUT_MS);
timer.unref();

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
    await cleanup();
    process.exit(0); // nothing of ours is left; do not wait for sockets a stopped server left half-closed
  } catch (err) {
    console.error(err instanceof StepFailure ? `FAIL ${err.message}` : err);
    await cleanup();
    process.exit(1);
  }
}
