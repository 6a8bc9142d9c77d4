/**
 * `parlor bots --script <file>`: a bot behaviour written by the user, a module whose default
 * export is `function bot(ctx) {…}` (TypeScript or JavaScript; bundled by esbuild with an inline
 * source map, so every error names the script's own file:line:column). `bot(ctx)` runs once per
 * bot after its first frame; it schedules work with `ctx.every`/`ctx.after`/`ctx.onFrame` and sends
 * input with `ctx.press`, `ctx.click`… A throw (or a rejected promise) stops that bot's script,
 * not the run: the bot stays in its room, and the error is reported once per place with a count.
 *
 * ```ts
 * export default function bot(ctx) {
 *   ctx.every(300, () => ctx.press(ctx.random() < 0.5 ? 'ArrowUp' : 'ArrowDown', 150));
 *   ctx.onFrame(() => { const start = ctx.find({ text: 'Start' })[0]; if (start) ctx.click(start); });
 * }
 * ```
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildFailure } from 'esbuild';
import type { Node, SceneMirror } from '@parlor/squish';
import type { Bot, BotBehaviour } from './bot.js';
import { BotsUsageError } from './target.js';
import { clickPoint, clickableNodes, findNodes, type NodeQuery } from './view.js';

/** What a script's `bot(ctx)` gets: the bot's view of its room and its input. Coordinates in plane units (0–100 high). */
export interface BotContext {
  /** 0-based number of this bot in the run. */
  readonly index: number;
  /** Bots in the run (`--count`). */
  readonly count: number;
  /** Its player id and room, from `init`. */
  readonly playerId: number;
  readonly roomId: string;
  /** The room's ticks per second. */
  readonly tickRate: number;
  /** Its decoded scene: only what the server sent this player. */
  readonly scene: SceneMirror;
  /** Keys it holds now. */
  readonly heldKeys: ReadonlySet<string>;
  /** Nodes it sees matching `query` ({ text, kind, clickable, id }). */
  find(query?: NodeQuery): Node[];
  /** Clickable nodes it sees. */
  clickables(): Node[];
  keyDown(key: string): void;
  keyUp(key: string): void;
  /** `keydown`, then `keyup` after `holdMs` (default 100). */
  press(key: string, holdMs?: number): void;
  /** Clicks a node (or node id) at its centre, as the browser does: `pointerdown`, `click`, `pointerup`. */
  click(node: Node | number): void;
  pointerDown(x: number, y: number): void;
  pointerMove(x: number, y: number): void;
  pointerUp(x: number, y: number): void;
  /** A `text` input event (chat). */
  text(text: string): void;
  /** Runs `fn` every `ms` (at least 16) until the run ends. */
  every(ms: number, fn: () => unknown): void;
  /** Runs `fn` once after `ms`. */
  after(ms: number, fn: () => unknown): void;
  /** Runs `fn` after each frame was applied to `scene`. */
  onFrame(fn: () => unknown): void;
  /** Ms since this bot joined. */
  now(): number;
  /** A random number in [0, 1). */
  random(): number;
}

/** A loaded `--script`: its `bot(ctx)` and where it lives. */
export interface BotScript {
  readonly file: string;
  readonly bot: (ctx: BotContext) => unknown;
}

/** Reports a script error (already located: `file:line:col: message`). */
export type ScriptErrorSink = (where: string, message: string) => void;

/**
 * Bundles and imports `file`.
 * @throws {BotsUsageError} missing file, build error, a throw at import, or no default export function, each at its line.
 */
export async function loadBotScript(file: string): Promise<BotScript> {
  const abs = resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new BotsUsageError(`--script ${file}: no such file`);
  process.setSourceMapsEnabled(true);
  const dir = mkdtempSync(join(tmpdir(), 'parlor-bots-'));
  const out = join(dir, 'script.mjs');
  try {
    let code: string;
    try {
      const r = await build({ entryPoints: [abs], bundle: true, format: 'esm', platform: 'node', target: 'node20', sourcemap: 'inline', outfile: out, write: false, logLevel: 'silent' });
      code = r.outputFiles[0].text;
    } catch (err) {
      const first = (err as BuildFailure).errors?.[0];
      const at = first?.location ? `${rel(first.location.file)}:${first.location.line}:${first.location.column + 1}` : rel(abs);
      throw new BotsUsageError(`--script ${at}: ${first?.text ?? (err as Error).message}`);
    }
    writeFileSync(out, code);
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(out).href)) as { default?: unknown };
    } catch (err) {
      throw new BotsUsageError(`--script ${locate(err, abs)}: ${message(err)} (while loading it)`);
    }
    if (typeof mod.default !== 'function') {
      throw new BotsUsageError(`--script ${rel(abs)}: its default export must be a function, export default function bot(ctx) {…} (it is ${mod.default === undefined ? 'missing' : typeof mod.default})`);
    }
    return { file: abs, bot: mod.default as BotScript['bot'] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `file:line:col` of the first stack frame inside the script (source-mapped), or the script's name. */
export function locate(err: unknown, file: string): string {
  const stack = String((err as Error)?.stack ?? '');
  for (const line of stack.split('\n')) {
    const i = line.indexOf(file);
    if (i < 0) continue;
    const m = /^:(\d+):(\d+)/.exec(line.slice(i + file.length));
    if (m) return `${rel(file)}:${m[1]}:${m[2]}`;
  }
  return rel(file);
}

function rel(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') ? r : file;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface Timer {
  at: number;
  every: number;
  fn: () => unknown;
}

/** Runs a {@link BotScript} for one bot. */
export class ScriptedPlayer implements BotBehaviour {
  private readonly timers: Timer[] = [];
  private readonly frameFns: Array<() => unknown> = [];
  private readonly releases = new Map<string, number>();
  private failed = false;
  private joinedAt = 0;
  private nowMs = 0;

  constructor(
    private readonly script: BotScript,
    private readonly count: number,
    private readonly onError: ScriptErrorSink,
  ) {}

  start(bot: Bot, now: number): void {
    this.joinedAt = bot.joinedAt;
    this.nowMs = now;
    this.run(() => this.script.bot(this.context(bot)));
  }

  frame(bot: Bot, now: number): void {
    this.nowMs = now;
    for (const fn of this.frameFns) if (!this.failed) this.run(fn);
  }

  step(bot: Bot, now: number): void {
    this.nowMs = now;
    for (const [key, at] of this.releases) {
      if (now < at) continue;
      this.releases.delete(key);
      bot.input({ kind: 'keyup', key });
    }
    for (const t of this.timers) {
      if (this.failed || now < t.at) continue;
      t.at = t.every > 0 ? Math.max(t.at + t.every, now) : Infinity;
      this.run(t.fn);
    }
  }

  stop(): void {
    this.failed = true;
  }

  private run(fn: () => unknown): void {
    if (this.failed) return;
    try {
      const r = fn();
      if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(undefined, (err: unknown) => this.fail(err));
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.onError(locate(err, this.script.file), message(err));
  }

  private context(bot: Bot): BotContext {
    const init = bot.init!;
    const press = (key: string, holdMs = 100): void => {
      if (bot.input({ kind: 'keydown', key })) this.releases.set(key, this.nowMs + Math.max(0, holdMs));
    };
    const schedule = (ms: number, fn: () => unknown, every: boolean): void => {
      if (typeof fn !== 'function') throw new TypeError(`ctx.${every ? 'every' : 'after'}(ms, fn): fn must be a function`);
      const gap = Math.max(every ? 16 : 0, Number(ms) || 0);
      this.timers.push({ at: this.nowMs + gap, every: every ? gap : 0, fn });
    };
    return Object.freeze({
      index: bot.index,
      count: this.count,
      playerId: init.playerId,
      roomId: init.roomId,
      tickRate: init.tickRate,
      scene: bot.scene,
      heldKeys: bot.heldKeys,
      find: (query?: NodeQuery) => findNodes(bot.scene, query),
      clickables: () => clickableNodes(bot.scene),
      keyDown: (key: string) => void bot.input({ kind: 'keydown', key: String(key) }),
      keyUp: (key: string) => void bot.input({ kind: 'keyup', key: String(key) }),
      press: (key: string, holdMs?: number) => press(String(key), holdMs),
      click: (node: Node | number) => {
        const n = typeof node === 'number' ? bot.scene.nodes.get(node) : node;
        const at = n ? clickPoint(n) : null;
        if (!n || !at) throw new Error(`ctx.click: node ${typeof node === 'number' ? node : node?.id} is not in this bot's scene`);
        bot.input({ kind: 'pointerdown', ...at });
        bot.input({ kind: 'click', nodeId: n.id, ...at });
        bot.input({ kind: 'pointerup', ...at });
      },
      pointerDown: (x: number, y: number) => void bot.input({ kind: 'pointerdown', x, y }),
      pointerMove: (x: number, y: number) => void bot.input({ kind: 'pointermove', x, y }),
      pointerUp: (x: number, y: number) => void bot.input({ kind: 'pointerup', x, y }),
      text: (text: string) => void bot.input({ kind: 'text', text: String(text).slice(0, 200) }),
      every: (ms: number, fn: () => unknown) => schedule(ms, fn, true),
      after: (ms: number, fn: () => unknown) => schedule(ms, fn, false),
      onFrame: (fn: () => unknown) => {
        if (typeof fn !== 'function') throw new TypeError('ctx.onFrame(fn): fn must be a function');
        this.frameFns.push(fn);
      },
      now: () => this.nowMs - this.joinedAt,
      random: Math.random,
    });
  }
}
