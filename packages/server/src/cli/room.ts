/**
 * `parlor room <op> <roomId>`: lifecycle operations on a fleet room through the orchestrator's REST
 * API (`pause`, `resume`, `restart`, `turn`, `stop`, `patch <roomId> <version>`) and its operation
 * log (`parlor room operations [roomId]`). Plain `fetch`; an admin key from `--key-file` or
 * PARLOR_ADMIN_KEY (never a flag's value: flags show in `ps`). Every failure is one line.
 */
import { Command, Option } from 'commander';
import { OPERATION_KINDS, OPERATION_SOURCES, VERSION_RE, type Operation, type OperationState, type OperationKind, type OperationSource, type RoomOp, type RoomState } from '@parlor/squish';
import { int, readKeyFile } from './common.js';

/** The orchestrator's default address. */
const DEFAULT_ORCHESTRATOR_URL = 'http://127.0.0.1:7070';

interface Flags {
  orchestrator: string;
  keyFile?: string;
  json?: boolean;
  timeout: number;
}

/** An answer that was not `OK`: the REST cause (or `NETWORK` / `BAD_RESPONSE`) and the HTTP status (0: none). */
class RoomCallError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Ctx {
  base: string;
  auth: string;
  keySource: string;
  json: boolean;
  timeoutMs: number;
  roomId?: string;
}

const KEY_HELP = `
The orchestrator: --orchestrator <url> or PARLOR_ORCHESTRATOR_URL (default ${DEFAULT_ORCHESTRATOR_URL}).
The key, an admin key of that orchestrator: --key-file <path> (its first line that is not blank or a
# comment), else PARLOR_ADMIN_KEY. Never a flag's value: a key in a command line shows in ps.
Every operation is recorded in the orchestrator's operation log (queued, running, then succeeded or
failed with a code): see it with \`parlor room operations <roomId>\`.`;

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('--orchestrator <url>', "the orchestrator's base URL").env('PARLOR_ORCHESTRATOR_URL').default(DEFAULT_ORCHESTRATOR_URL))
    .option('--key-file <path>', 'file holding an admin key (first line not blank or #); else PARLOR_ADMIN_KEY')
    .addOption(new Option('--timeout <seconds>', 'longest wait for the answer').default(120).argParser(int('seconds', 1, 3600)))
    .option('--json', 'print the answer as JSON on stdout (errors too: {"error":{code,status,message}})');
}

/** What each lifecycle command does: its REST call and the past tense of its line. */
const LIFECYCLE: ReadonlyArray<{ op: Exclude<RoomOp, 'start' | 'patch'>; done: string; about: string; example: string }> = [
  { op: 'pause', done: 'paused', about: 'pause a room: ticks and turns stop, players stay connected and see it paused; input and orders are refused (GAME_PAUSED)', example: 'parlor room pause 3kTq9 --reason "maintenance until 14:00"' },
  { op: 'resume', done: 'resumed', about: 'resume a paused room (the turn schedule starts again)', example: 'parlor room resume 3kTq9' },
  { op: 'restart', done: 'restarted', about: "restart a room's game on the same version from its saved state; players stay connected", example: 'parlor room restart 3kTq9' },
  { op: 'turn', done: 'generated the next turn of', about: 'force the next turn of a turn-based room now (its orders close, the turn generates)', example: 'parlor room turn 3kTq9' },
  { op: 'stop', done: 'stopped', about: 'stop a room: its game ends and its players are disconnected', example: 'parlor room stop 3kTq9' },
];

/** `parlor room`: the lifecycle commands and `operations`. */
export function roomCommand(): Command {
  const room = new Command('room')
    .description("lifecycle operations on a fleet room through the orchestrator (pause, resume, restart, turn, stop, patch) and the room's operation log")
    .addHelpText('after', `${KEY_HELP}

Examples:
  parlor room pause 3kTq9 --reason maintenance    paused room 3kTq9 (operation op_…)
  parlor room patch 3kTq9 1.0.1                   move the room to galaxy@1.0.1 (same major.minor), state kept
  parlor room operations 3kTq9                    the room's operations, newest first
  parlor room operations --state failed --json    every failed operation, as JSON`);
  for (const l of LIFECYCLE) {
    const cmd = withCommon(new Command(l.op)).argument('<roomId>', 'the room').description(l.about);
    if (l.op === 'pause') cmd.option('--reason <text>', "why (shown to players and in the room's state; default 'paused by admin')");
    cmd.addHelpText('after', `${KEY_HELP}\n\nExample:\n  ${l.example}`).action(async (roomId: string, opts: Flags & { reason?: string }) => {
      const ctx = context(opts, roomId);
      const body = l.op === 'pause' && opts.reason !== undefined ? { reason: opts.reason } : l.op === 'stop' ? undefined : {};
      const data = await run(ctx, () => call<LifecycleAnswer>(ctx, l.op === 'stop' ? 'DELETE' : 'POST', l.op === 'stop' ? roomPath(roomId) : `${roomPath(roomId)}/${l.op}`, body));
      done(ctx, data, `${l.done} room ${roomId}`);
    });
    room.addCommand(cmd);
  }
  room.addCommand(
    withCommon(new Command('patch'))
      .argument('<roomId>', 'the room')
      .argument('<version>', "the version to move to: the same game, the same major.minor as the room's (1.0.0 → 1.0.1)")
      .description("patch a room to another version of its game within the same major.minor: save, stop the engine, start the new version from the saved state; players stay connected (another major or minor is refused: stop the room and start a new one)")
      .addHelpText('after', `${KEY_HELP}\n\nExample:\n  parlor room patch 3kTq9 1.0.1`)
      .action(async (roomId: string, version: string, opts: Flags) => {
        const ctx = context(opts, roomId);
        if (!VERSION_RE.test(version)) failWith(ctx, `${version}: not a version; want semver MAJOR.MINOR.PATCH, e.g. 1.0.1`);
        const data = await run(ctx, () => call<LifecycleAnswer>(ctx, 'POST', `${roomPath(roomId)}/patch`, { version }));
        done(ctx, data, `patched room ${roomId} to ${data.operation.version ?? version}`);
      }),
  );
  room.addCommand(operationsCommand());
  return room;
}

function operationsCommand(): Command {
  return withCommon(new Command('operations'))
    .argument('[roomId]', 'only this room (default: every room)')
    .description("the orchestrator's operation log, newest first: what was asked of rooms, by whom, and how it ended")
    .addOption(new Option('--state <state>', 'only operations in this state').choices(['queued', 'running', 'succeeded', 'failed']))
    .addOption(new Option('--op <op>', 'only this operation').choices([...OPERATION_KINDS]))
    .addOption(new Option('--source <source>', 'only operations asked for by this source (autoscaler: the fleet scaling up and down)').choices([...OPERATION_SOURCES]))
    .option('--since <time>', 'created at or after: an ISO date/time (2026-12-02T10:00Z) or ms since the epoch')
    .option('--until <time>', 'created before: an ISO date/time or ms since the epoch')
    .addOption(new Option('--limit <n>', 'how many (1–500)').default(20).argParser(int('a count', 1, 500)))
    .option('--before <id>', 'the page after this operation id (the cursor the previous page printed)')
    .addHelpText('after', `${KEY_HELP}

Examples:
  parlor room operations                         the newest 20 operations of every room
  parlor room operations 3kTq9 --limit 100       one room's
  parlor room operations --state failed --since 2026-12-01
  parlor room operations --source autoscaler     the fleet's scale-ups, drains and scale-downs
  parlor room operations --json                  {"operations":[…],"next":"op_…"|null}`)
    .action(async (roomId: string | undefined, opts: Flags & { state?: OperationState; op?: OperationKind; source?: OperationSource; since?: string; until?: string; limit: number; before?: string }) => {
      const ctx = context(opts, roomId);
      const q = new URLSearchParams();
      if (opts.state) q.set('state', opts.state);
      if (opts.op) q.set('op', opts.op);
      if (opts.source) q.set('source', opts.source);
      if (opts.since !== undefined) q.set('since', String(time(ctx, '--since', opts.since)));
      if (opts.until !== undefined) q.set('until', String(time(ctx, '--until', opts.until)));
      q.set('limit', String(opts.limit));
      if (opts.before !== undefined) q.set('before', opts.before);
      const path = `${roomId !== undefined ? `${roomPath(roomId)}/operations` : '/v1/operations'}?${q}`;
      const page = await run(ctx, () => call<{ operations: Operation[]; next: string | null }>(ctx, 'GET', path));
      if (opts.json) console.log(JSON.stringify(page, null, 2));
      else if (page.operations.length === 0) console.log(`no operations${roomId !== undefined ? ` of room ${roomId}` : ''}${q.size > 1 ? ' matching' : ''} in the orchestrator at ${ctx.base}`);
      else {
        printTable(
          ['ID', 'CREATED', 'ROOM', 'OP', 'SOURCE', 'ACTOR', 'STATE', 'DETAIL'],
          page.operations.map((o) => [o.id, new Date(o.createdAt).toISOString(), o.roomId || '-', o.op, o.source, o.actor || '-', o.state, detail(o)]),
        );
        if (page.next) console.log(`more: parlor room operations${roomId !== undefined ? ` ${roomId}` : ''} --before ${page.next}`);
      }
      process.exit(0);
    });
}

interface LifecycleAnswer {
  operation: Operation;
  state: RoomState | null;
}

const roomPath = (roomId: string): string => `/v1/rooms/${encodeURIComponent(roomId)}`;

function done(ctx: Ctx, data: LifecycleAnswer, line: string): never {
  if (ctx.json) console.log(JSON.stringify(data, null, 2));
  else console.log(`${line} (operation ${data.operation.id})${stateNote(data.state)}`);
  process.exit(0);
}

function stateNote(s: RoomState | null | undefined): string {
  if (!s) return '';
  const parts = [s.status.replace(/_/g, ' ')];
  if (s.turn > 0) parts.push(`turn ${s.turn}`);
  if (s.reason) parts.push(s.reason);
  if (s.nextTurnAt !== null) parts.push(`next turn at ${new Date(s.nextTurnAt).toISOString()}`);
  return `: now ${parts.join(', ')}`;
}

function detail(o: Operation): string {
  if (o.state === 'failed') return `${o.errorCode ?? '?'}: ${o.errorMessage ?? ''}`;
  const bits: string[] = [];
  if (o.game) bits.push(o.version ? `${o.game}@${o.version}` : o.game);
  if (typeof o.params.reason === 'string' && o.params.reason) bits.push(`reason: ${o.params.reason}`);
  if (o.op === 'patch' && typeof o.params.version === 'string' && o.version !== o.params.version) bits.push(`to ${o.params.version}`);
  if (o.op === 'scale_up' && typeof o.params.count === 'number') bits.push(`+${o.params.count} instance(s)`);
  if (o.instanceId) bits.push(`on ${o.instanceId}`);
  return bits.join(', ') || '-';
}

function time(ctx: Ctx, flag: string, v: string): number {
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms) || ms < 0) failWith(ctx, `${flag} ${v}: want an ISO date/time (2026-12-02 or 2026-12-02T10:00:00Z) or ms since the epoch`);
  return ms;
}

function context(opts: Flags, roomId: string | undefined): Ctx {
  const json = opts.json === true;
  const bare = { json };
  if (roomId !== undefined && (roomId === '' || roomId.length > 256)) failWith(bare, `room id ${JSON.stringify(roomId.slice(0, 40))}: want 1–256 characters`);
  let url: URL;
  try {
    url = new URL(opts.orchestrator);
  } catch {
    return failWith(bare, `--orchestrator ${opts.orchestrator}: not a URL (want e.g. ${DEFAULT_ORCHESTRATOR_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') failWith(bare, `--orchestrator ${opts.orchestrator}: want http:// or https://`);
  const { key, source } = readKey(opts.keyFile, bare);
  return { base: url.href.replace(/\/+$/, ''), auth: `Bearer ${key}`, keySource: source, json, timeoutMs: opts.timeout * 1000, roomId };
}

function readKey(file: string | undefined, ctx: { json: boolean }): { key: string; source: string } {
  if (file === undefined) {
    const v = process.env.PARLOR_ADMIN_KEY?.trim();
    if (v) return { key: v, source: 'PARLOR_ADMIN_KEY' };
    return failWith(ctx, "no key: give --key-file <path>, or set PARLOR_ADMIN_KEY (an admin key of the orchestrator)");
  }
  const read = readKeyFile(file);
  if ('error' in read) return failWith(ctx, read.error);
  return { key: read.key, source: `the key in --key-file ${file}` };
}

async function call<T>(ctx: Ctx, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const url = `${ctx.base}${path}`;
  const headers: Record<string, string> = { authorization: ctx.auth, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(ctx.timeoutMs), redirect: 'error' });
    text = await res.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const reason = e?.name === 'TimeoutError' ? `no answer within ${ctx.timeoutMs / 1000} s (the operation may still finish: see parlor room operations)` : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
    throw new RoomCallError('NETWORK', 0, `cannot reach the orchestrator at ${ctx.base} (${method} ${path.split('?')[0]}: ${reason})`);
  }
  let parsed: { status?: unknown; data?: unknown; cause?: unknown; message?: unknown } = {};
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    // not JSON: below
  }
  if (res.ok && parsed.status === 'OK' && 'data' in parsed) return parsed.data as T;
  if (parsed.status === 'rejected' && typeof parsed.cause === 'string') {
    throw new RoomCallError(parsed.cause, res.status, typeof parsed.message === 'string' && parsed.message !== '' ? parsed.message : parsed.cause.toLowerCase().replace(/_/g, ' '));
  }
  throw new RoomCallError('BAD_RESPONSE', res.status, `${method} ${url} answered ${res.status} with something that is not the orchestrator's /v1 envelope: is ${ctx.base} a parlor-orchestrator?`);
}

async function run<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    return failWith(ctx, explain(err, ctx), err);
  }
}

/** One line for a refusal: what refused what, and what to do. */
function explain(err: unknown, ctx: Ctx): string {
  if (!(err instanceof RoomCallError)) return (err as Error)?.message ?? String(err);
  const room = ctx.roomId ?? '';
  switch (err.code) {
    case 'NETWORK':
      return `${err.message}: is parlor-orchestrator running there? Set --orchestrator or PARLOR_ORCHESTRATOR_URL`;
    case 'UNAUTHORIZED':
      return `401: the orchestrator at ${ctx.base} refused the key (${ctx.keySource}): use one of its admin keys (its --admin-key-file or PARLOR_ADMIN_KEYS)`;
    case 'AUTH_THROTTLED':
      return `429: the orchestrator at ${ctx.base} stopped hearing wrong keys from this address for a while: fix the key (${ctx.keySource}), then retry`;
    case 'ROOM_NOT_FOUND':
      return `404 ROOM_NOT_FOUND: ${err.message} (the orchestrator at ${ctx.base} knows no room ${room}: see its rooms with GET /v1/rooms)`;
    case 'NOT_FOUND':
      return `404: ${ctx.base} has no such route (${err.message}): is --orchestrator a parlor-orchestrator's URL, with its REST API on and room operations?`;
    case 'PATCH_SEMVER_INCOMPATIBLE':
      return `409 PATCH_SEMVER_INCOMPATIBLE: ${err.message} (a patch stays within the room's major.minor: stop the room and start one on the new version)`;
    default:
      return err.status > 0 ? `${err.status} ${err.code}: ${err.message}` : err.message;
  }
}

function failWith(ctx: { json: boolean }, message: string, err?: unknown): never {
  if (ctx.json) {
    const e = err instanceof RoomCallError ? { code: err.code, status: err.status } : { code: 'USAGE', status: 0 };
    console.log(JSON.stringify({ error: { ...e, message } }));
  }
  console.error(`parlor room: ${message}`);
  process.exit(1);
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
