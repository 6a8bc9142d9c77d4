import type { Game, GameResult, ResolvedGameMetadata, TurnBasedGame } from '@parlor/squish';
import { ENGINE_MESSAGE_LIMITS } from './messages.js';

/**
 * Durable state and turn-based games, engine side: the pure helpers {@link RoomEngine} uses for
 * `save`, `turn`, `order` and `game.end(result)` (snapshots with their cap, the result sent in
 * `ended`, the consistency rules between `metadata().turns` and `TurnBasedGame`).
 */

/** Whether a game instance is turn-based (duck-typed: `onOrder` and `generateTurn` functions, as `TurnBasedGame` has). */
export function isTurnBased(game: Game): game is TurnBasedGame {
  const g = game as unknown as Partial<TurnBasedGame>;
  return typeof g.onOrder === 'function' && typeof g.generateTurn === 'function';
}

/** Whether a game class builds turn-based games (its prototype has `onOrder` and `generateTurn`). */
function isTurnBasedClass(cls: { prototype?: unknown }): boolean {
  const p = cls.prototype as Partial<TurnBasedGame> | undefined;
  return !!p && typeof p.onOrder === 'function' && typeof p.generateTurn === 'function';
}

/**
 * The consistency rules of a turn-based game: a class that extends `TurnBasedGame` declares
 * `metadata().turns`, defines `save()` and a static `restore(snapshot, options)`; a class that
 * declares `turns` extends `TurnBasedGame`. Never throws.
 * @param cls the game class (its `name` is used in the message)
 * @param meta its resolved metadata
 * @returns `null` when consistent, else one line telling the author what to add or remove
 */
export function turnBasedProblem(cls: { name: string; prototype?: unknown; restore?: unknown }, meta: ResolvedGameMetadata): string | null {
  const name = safeClassName(cls);
  const turnBased = isTurnBasedClass(cls);
  if (meta.turns && !turnBased) {
    return `${name} declares metadata().turns but does not extend TurnBasedGame: extend TurnBasedGame (onOrder, generateTurn, save, static restore) or remove turns`;
  }
  if (!turnBased) return null;
  if (!meta.turns) {
    return `${name} extends TurnBasedGame but its metadata() has no turns: add turns: { everyMs: 30000 } (or { cron: '0 * * * *' }, or {} for turns only when forced)`;
  }
  if (typeof (cls.prototype as { save?: unknown }).save !== 'function') {
    return `${name} extends TurnBasedGame but has no save(): add one returning the game's state as plain JSON data`;
  }
  if (typeof cls.restore !== 'function') {
    return `${name} extends TurnBasedGame but has no static restore(snapshot, options): add one that rebuilds the game from what save() returned`;
  }
  return null;
}

/**
 * Finds a {@link turnBasedProblem} message inside a longer error text (e.g. a sandbox's answer
 * prefixed with the game file): the match starts at the class name.
 */
export const TURN_BASED_PROBLEM_RE = /(?:^|: )(?=[^:\n]{1,80} (?:extends TurnBasedGame but |declares metadata\(\)\.turns but does not extend TurnBasedGame))/;

/** A class's name for messages, without trusting it. */
export function safeClassName(cls: { name?: unknown }): string {
  try {
    const n = cls.name;
    return typeof n === 'string' && n !== '' ? n.slice(0, 80) : 'the game class';
  } catch {
    return 'the game class';
  }
}

/** A snapshot taken with {@link takeSnapshot}: its JSON text, or why there is none. */
export type SnapshotOutcome =
  | { ok: true; snapshot: string }
  | { ok: false; code: 'NOT_SAVABLE' | 'SAVE_FAILED' | 'SNAPSHOT_TOO_LARGE'; message: string; cause?: unknown };

/**
 * Calls `game.save()` and serialises it: the JSON text, at most
 * `ENGINE_MESSAGE_LIMITS.snapshotBytes` (1 MiB) of UTF-8. Never throws.
 * @returns `ok: false` with code `NOT_SAVABLE` (no `save()`), `SAVE_FAILED` (it threw, or its
 *   result is not JSON text: `undefined`, a function, a cycle, a BigInt…; `cause` is the thrown
 *   value) or `SNAPSHOT_TOO_LARGE` (over the cap; the message says how large)
 */
export function takeSnapshot(game: Game): SnapshotOutcome {
  const save = (game as { save?: unknown }).save;
  if (typeof save !== 'function') return { ok: false, code: 'NOT_SAVABLE', message: 'the game has no save()' };
  let json: unknown;
  try {
    json = JSON.stringify((save as () => unknown).call(game));
  } catch (cause) {
    return { ok: false, code: 'SAVE_FAILED', message: 'save() threw or returned something JSON cannot hold', cause };
  }
  if (typeof json !== 'string') return { ok: false, code: 'SAVE_FAILED', message: 'save() returned nothing JSON can hold (undefined or a function)' };
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > ENGINE_MESSAGE_LIMITS.snapshotBytes) {
    return {
      ok: false,
      code: 'SNAPSHOT_TOO_LARGE',
      message: `save() returned ${bytes} bytes of JSON, over the ${ENGINE_MESSAGE_LIMITS.snapshotBytes}-byte cap: keep less in the snapshot`,
    };
  }
  return { ok: true, snapshot: json };
}

/** Caps of the result in an `ended` message. */
export const RESULT_LIMITS = {
  /** Winners kept (the rest dropped). */
  winners: 64,
  /** Characters of a winner, of a score's key. */
  nameChars: 256,
  /** Scores kept (the rest dropped). */
  scores: 1024,
  /** Characters of the summary. */
  summaryChars: 500,
} as const;

/**
 * The result a game ended with (`game._result`, untrusted: the game may have set it by hand),
 * bounded: at most 64 winners of at most 256 characters (non-strings dropped), scores with
 * finite number values only (at most 1024, keys at most 256 characters), a summary of at most
 * 500 characters. Never throws.
 */
export function sanitizeResult(raw: unknown): GameResult {
  const L = RESULT_LIMITS;
  const out: GameResult = { winners: [], scores: {}, summary: '' };
  try {
    const r = raw as Partial<Record<keyof GameResult, unknown>>;
    if (Array.isArray(r.winners)) {
      for (const w of r.winners.slice(0, L.winners * 4)) {
        if (out.winners.length >= L.winners) break;
        if (typeof w === 'string') out.winners.push(w.slice(0, L.nameChars));
      }
    }
    const scores = r.scores;
    if (scores && typeof scores === 'object' && !Array.isArray(scores)) {
      let n = 0;
      for (const [k, v] of Object.entries(scores as Record<string, unknown>)) {
        if (n >= L.scores) break;
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        Object.defineProperty(out.scores, k.slice(0, L.nameChars), { value: v, enumerable: true, writable: true, configurable: true });
        n++;
      }
    }
    if (typeof r.summary === 'string') out.summary = r.summary.slice(0, L.summaryChars);
  } catch {
    // a hostile result (throwing getters): keep what was read
  }
  return out;
}

/** A string cut to `max` characters (an ellipsis marks the cut). */
export function clip(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '\u2026' : s;
}
