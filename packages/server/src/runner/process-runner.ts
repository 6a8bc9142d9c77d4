/**
 * Entry point of a sandboxed room process (see `ProcessRuntime`, and the docker runtime's
 * image). Built by tsup into one self-contained ESM file (`dist/process-runner.mjs`, with
 * `@parlor/squish` and `msgpackr` inlined) so that Node's permission model only has to grant read
 * access to that file; the game's code arrives over the channel.
 *
 * The host starts it (inside bubblewrap for `process`, in a container for `docker`) as
 * `node --experimental-permission --allow-fs-read=<runner> --disallow-code-generation-from-strings
 * --max-old-space-size=<MB> process-runner.mjs`. Channel: length-prefixed msgpack on fd 0
 * (host → runner) and fd 1 (runner → host); fd 2 is the host's log.
 *
 * Before any game code exists, the runner opens the channel's streams from the fds and keeps them
 * in this module's closure, and replaces `process.stdin/stdout/stderr` with plain (non-socket)
 * streams: the game's `console` and `process.stdout/stderr` write to the log, its `process.stdin`
 * is empty. Before evaluating the game it also removes what Node's permission model (v20) does not
 * cover: `process.binding`, `_linkedBinding`, `getBuiltinModule`, `dlopen`, `kill`, `report`,
 * `_getActiveHandles`/`_getActiveRequests`, `openStdin`, `mainModule`, `fetch` and friends, and
 * the game's `require` hands out `@parlor/squish` and a few pure built-ins only.
 */
import { Console } from 'node:console';
import { createReadStream, createWriteStream, fstatSync, writeSync as fsWriteSync } from 'node:fs';
import { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import * as squish from '@parlor/squish';
import { turnBasedProblem } from '../engine/durable.js';
import { RoomEngine } from '../engine/room-engine.js';
import type { HostToEngineMessage } from '../engine/messages.js';
import { ChannelDecoder, encodeChannelMessage } from '../runtime/channel.js';
import type { RunnerBootMessage } from './protocol.js';
import assertModule from 'node:assert';
import * as bufferModule from 'node:buffer';
import eventsModule from 'node:events';
import pathModule from 'node:path';
import querystringModule from 'node:querystring';
import * as stringDecoderModule from 'node:string_decoder';
import urlModule from 'node:url';
import utilModule from 'node:util';

/** The pure built-ins of `ALLOWED_BUILTINS` (see builtins.ts), captured before hardening. */
const BUILTINS: Record<string, unknown> = {
  assert: assertModule,
  buffer: bufferModule,
  events: eventsModule,
  path: pathModule.posix,
  querystring: querystringModule,
  string_decoder: stringDecoderModule,
  url: urlModule,
  util: utilModule,
};

/**
 * The channel's ends, opened from the inherited fds before any game code exists and held only in
 * this module's closure: the game never gets a reference to a socket-backed object. `process.stdin`,
 * `process.stdout` and `process.stderr` (whose real objects are `net.Socket`s with `Pipe`/`TCP`
 * handles, enough to connect to any unix socket) are replaced below by plain streams and are never
 * created.
 */
const out = channelEnd(1, 'write') as Writable;
const input = channelEnd(0, 'read') as Readable;
/** Writes to the host's log (fd 2) synchronously; drops the text if the fd would block. */
function writeLog(chunk: string | Uint8Array): void {
  try {
    if (typeof chunk === 'string') fsWriteSync(2, chunk);
    else fsWriteSync(2, chunk);
  } catch {
    // EAGAIN/EPIPE: the log is best-effort
  }
}
/** The game's `console`, `process.stdout` and `process.stderr`: a plain Writable into the host's log. */
const stderr = new Writable({
  write(chunk: Buffer, _enc, cb) {
    writeLog(chunk);
    cb();
  },
});
/** The game's `process.stdin`: an empty stream. */
const gameStdin = new Readable({ read() {} });
gameStdin.push(null);
for (const [name, value] of [['stdout', stderr], ['stderr', stderr], ['stdin', gameStdin]] as const) {
  Object.defineProperty(process, name, { value, writable: false, enumerable: true, configurable: false });
}

/** A stream on an inherited fd: a `net.Socket` for a pipe/socket (as Node does for stdio), else a file stream. */
function channelEnd(fd: number, dir: 'read' | 'write'): Readable | Writable {
  const st = fstatSync(fd);
  if (st.isFIFO() || st.isSocket()) return new Socket({ fd, readable: dir === 'read', writable: dir === 'write' });
  return dir === 'read' ? createReadStream('', { fd, autoClose: false }) : createWriteStream('', { fd, autoClose: false });
}
let engine: RoomEngine | null = null;
let booted = false;
let exiting = false;

function post(msg: unknown): void {
  if (exiting) return;
  out.write(encodeChannelMessage(msg));
}

function exitSoon(code: number): void {
  if (exiting) return;
  exiting = true;
  out.write(Buffer.alloc(0), () => process.exit(code));
}

function harden(): void {
  const deny = (what: string) =>
    function denied(): never {
      throw new Error(`${what} is not available in the Parlor sandbox`);
    };
  const p = process as unknown as Record<string, unknown>;
  for (const name of [
    'binding', '_linkedBinding', 'dlopen', 'kill', 'getBuiltinModule', 'chdir', 'setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups', '_debugProcess', '_kill',
    // handles (the channel's sockets) and internals must stay out of reach
    '_getActiveHandles', '_getActiveRequests', 'getActiveResourcesInfo', 'openStdin', 'loadEnvFile', 'abort', '_startProfilerIdleNotifier', '_stopProfilerIdleNotifier',
  ]) {
    if (name in p) {
      try {
        Object.defineProperty(p, name, { value: deny(`process.${name}`), writable: false, configurable: false });
      } catch {
        // non-configurable in this Node version: leave it, the permission model still applies
      }
    }
  }
  // process.report.writeReport()/getReport() describe (and write files about) every handle
  for (const name of ['mainModule', 'report', 'channel']) {
    try {
      Object.defineProperty(p, name, { value: undefined, writable: false, configurable: false });
    } catch {
      // ignore
    }
  }
  process.env = {};
  const g = globalThis as unknown as Record<string, unknown>;
  for (const name of ['fetch', 'WebSocket', 'EventSource', 'Request', 'Response', 'FormData', 'navigator']) {
    try {
      delete g[name];
    } catch {
      // ignore
    }
  }
  g.console = new Console({ stdout: stderr, stderr });
}

function evaluateGame(code: string, filename: string): unknown {
  const gameRequire = (id: string): unknown => {
    if (id === '@parlor/squish') return squish;
    const bare = id.startsWith('node:') ? id.slice(5) : id;
    if (Object.prototype.hasOwnProperty.call(BUILTINS, bare)) return BUILTINS[bare];
    throw new Error(`require(${JSON.stringify(id)}) is not allowed in the Parlor sandbox (only '@parlor/squish')`);
  };
  const module = { exports: {} as Record<string, unknown> };
  const fn = compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
  fn.call(module.exports, module.exports, gameRequire, module, filename, dirname(filename));
  const exp = module.exports as unknown;
  if (exp && (typeof exp === 'object' || typeof exp === 'function') && 'default' in (exp as object)) return (exp as { default: unknown }).default;
  return exp;
}

function gameClassOf(value: unknown): squish.GameClass {
  if (typeof value !== 'function' || !value.prototype) throw new Error('the default export must be a class extending Game from @parlor/squish');
  const cls = value as squish.GameClass;
  if (!(cls.prototype instanceof squish.Game) && typeof (cls.prototype as { getLayers?: unknown }).getLayers !== 'function') {
    throw new Error(`the default export ${cls.name || '(anonymous class)'} does not extend Game from @parlor/squish`);
  }
  if (typeof cls.metadata !== 'function') throw new Error(`${cls.name} has no static metadata()`);
  return cls;
}

function fatal(where: string, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ type: 'error', where, message: e.message, stack: e.stack ?? '', fatal: true });
  post({ type: 'stopped' });
  exitSoon(1);
}

function boot(msg: RunnerBootMessage): void {
  harden();
  setInterval(() => post({ type: 'hb' }), Math.max(10, msg.heartbeatMs));
  let gameClass: squish.GameClass;
  try {
    gameClass = gameClassOf(evaluateGame(msg.code, msg.filename));
  } catch (err) {
    fatal('load', err);
    return;
  }
  if (msg.mode === 'inspect') {
    try {
      const metadata = squish.resolveMetadata(gameClass.metadata());
      const problem = turnBasedProblem(gameClass, metadata);
      if (problem) {
        post({ type: 'error', where: 'turns', message: problem, stack: '', fatal: true });
        post({ type: 'stopped' });
        exitSoon(1);
        return;
      }
      post({ type: 'inspected', metadata, className: gameClass.name });
      exitSoon(0);
    } catch (err) {
      fatal('metadata', err);
    }
    return;
  }
  // Backpressure: while the host throttles this room, stop producing frames instead of queueing them.
  const backlogged = () => out.writableLength > 8 * 1024 * 1024;
  const restore = msg.restore && typeof msg.restore.snapshot === 'string' ? msg.restore : undefined;
  engine = new RoomEngine({ gameClass, options: msg.options, maxConsecutiveErrors: msg.maxConsecutiveErrors, backlogged, restore }, (m) => {
    post(m);
    if (m.type === 'stopped') exitSoon(0);
  });
  engine.start();
}

const decoder = new ChannelDecoder(64 * 1024 * 1024);
input.on('data', (chunk: Buffer) => {
  let msgs: unknown[];
  try {
    msgs = decoder.push(chunk);
  } catch (err) {
    fatal('channel', err);
    return;
  }
  for (const m of msgs) {
    const msg = m as RunnerBootMessage | HostToEngineMessage;
    if (!booted) {
      if (msg.type !== 'boot') continue;
      booted = true;
      boot(msg);
      continue;
    }
    engine?.handle(msg as HostToEngineMessage);
  }
});
// The host went away: nothing left to do.
input.on('end', () => process.exit(0));
input.on('error', () => process.exit(0));
process.on('uncaughtException', (err) => fatal('uncaught', err));
process.on('unhandledRejection', (err) => fatal('unhandledRejection', err));
