import { randomBytes } from 'node:crypto';
import { quantize, type InputEvent } from '@parlor/squish';

/**
 * The smoke run's synthetic players, made to look like people to a game that tries to tell: names
 * drawn from ordinary player names (or the server's own `Player N` default), arrivals spread out
 * like real joins, and input at human rates — keys held for a while then released, pointer paths
 * that move smoothly across the 0–100 plane at most ~60 moves/s, presses with a matching release,
 * an occasional word of chat, a gamepad for some players. Nothing a game receives says "gate".
 */

const FIRST = [
  'Mara', 'Jonas', 'Priya', 'Tomás', 'Leo', 'Ana', 'Kofi', 'Yuki', 'Sven', 'Nadia', 'Omar', 'Lena', 'Ravi', 'Chloe', 'Mateo', 'Ines',
  'Felix', 'Aiko', 'Noah', 'Zoe', 'Emil', 'Sara', 'Diego', 'Hana', 'Lukas', 'Maya', 'Ivan', 'Elif', 'Theo', 'Amara', 'Jun', 'Rosa',
  'Kai', 'Lina', 'Oscar', 'Mina', 'Pablo', 'Ada', 'Finn', 'Nora', 'Arjun', 'Liv', 'Hugo', 'Alma', 'Tariq', 'Ella', 'Marek', 'Ayla',
];
const HANDLES = ['pixel', 'nova', 'kestrel', 'mango', 'quill', 'ember', 'drift', 'otter', 'blaze', 'lumen', 'frost', 'pebble', 'comet', 'fable', 'rook', 'juniper'];
const CHAT = ['hi', 'gg', 'nice', 'ready', 'lol', 'one more?', 'go go', 'oops', 'wp', 'brb', 'ok', 'again!'];
const KEY_SETS: readonly (readonly string[])[] = [
  ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', ' '],
  ['w', 'a', 's', 'd', ' ', 'Shift'],
  ['ArrowUp', 'ArrowDown', 'Enter'],
  ['w', 's', 'ArrowUp', 'ArrowDown'],
];
/** Names a game could use to recognise the gate's players; never produced. */
const GIVEAWAY = /bot|gate|smoke|test|synthetic|fake|dummy|validator|parlor/i;

/** Uniform random integer in [0, n). */
function rnd(n: number): number {
  return Math.floor(Math.random() * n);
}
function pick<T>(a: readonly T[]): T {
  return a[rnd(a.length)];
}
function between(lo: number, hi: number): number {
  return lo + Math.random() * (hi - lo);
}

/** A plausible display name for player `playerId` (distinct from `taken`). */
export function plausibleName(playerId: number, taken: ReadonlySet<string> = new Set()): string {
  for (let i = 0; i < 20; i++) {
    const r = Math.random();
    let name: string;
    if (r < 0.25) name = `Player ${playerId}`; // the server's default for a player who typed nothing
    else if (r < 0.6) name = pick(FIRST);
    else if (r < 0.8) name = `${pick(FIRST).toLowerCase()}${rnd(100)}`;
    else name = `${pick(HANDLES)}_${pick(FIRST).toLowerCase().slice(0, 3)}`;
    if (!taken.has(name) && !GIVEAWAY.test(name)) return name;
  }
  return `Player ${playerId}`;
}

/** A room id shaped like the server's (6 random bytes, base64url). */
export function plausibleRoomId(): string {
  return randomBytes(6).toString('base64url');
}

/** When each of `n` players joins, ms from the start: the first at once (the server starts a room on its first join), the others spread out. */
export function joinSchedule(n: number, withinMs: number): number[] {
  const at = [0];
  let t = 0;
  for (let i = 1; i < n; i++) {
    t += between(150, Math.max(300, withinMs / Math.max(1, n)));
    at.push(Math.min(t, withinMs));
  }
  return at;
}

/** One synthetic player's input: call {@link SmokePlayer.step} with the current time; it returns the events due. */
export class SmokePlayer {
  private readonly keys: readonly string[] = pick(KEY_SETS);
  private readonly held = new Map<string, number>(); // key → release time
  private readonly style = pick(['keys', 'pointer', 'mixed', 'mixed'] as const);
  private readonly hasPad = Math.random() < 0.2;
  private x = between(20, 80);
  private y = between(20, 80);
  private tx = this.x;
  private ty = this.y;
  private nextAt = 0;
  private lastMoveAt = -Infinity;
  private pressedUntil = 0;
  private pressed = false;
  private padAt = 0;
  private axes = [0, 0];
  private chatAt: number;

  constructor(startMs: number) {
    this.nextAt = startMs + between(200, 900); // people look at the screen before they act
    this.padAt = startMs + between(300, 1200);
    this.chatAt = startMs + between(1500, 8000);
  }

  /** Events due at `now` (ms). */
  step(now: number): InputEvent[] {
    const out: InputEvent[] = [];
    for (const [key, until] of this.held) {
      if (now >= until) {
        this.held.delete(key);
        out.push({ kind: 'keyup', key });
      }
    }
    if (this.pressed && now >= this.pressedUntil) {
      this.pressed = false;
      out.push({ kind: 'pointerup', x: quantize(this.x), y: quantize(this.y) });
    }
    if (now >= this.chatAt) {
      this.chatAt = now + between(4000, 15000);
      out.push({ kind: 'text', text: pick(CHAT) });
    }
    if (this.hasPad && now >= this.padAt) {
      this.padAt = now + between(33, 120);
      this.axes = this.axes.map((a) => clamp(a + between(-0.3, 0.3), -1, 1));
      out.push({ kind: 'gamepad', index: 0, buttons: [Math.random() < 0.2 ? 1 : 0, 0, 0, 0], axes: this.axes.map((a) => (Math.abs(a) < 0.08 ? 0 : quantize(a))) });
    }
    if (now < this.nextAt) return out;
    if (Math.random() < 0.04) {
      this.nextAt = now + between(300, 1200); // a pause
      return out;
    }
    const useKeys = this.style === 'keys' || (this.style === 'mixed' && Math.random() < 0.5);
    if (useKeys) {
      const key = pick(this.keys);
      if (!this.held.has(key) && this.held.size < 3) {
        this.held.set(key, now + between(80, 700));
        out.push({ kind: 'keydown', key });
      }
      this.nextAt = now + between(60, 350);
    } else {
      if (Math.hypot(this.tx - this.x, this.ty - this.y) < 1) {
        this.tx = between(2, 98);
        this.ty = between(2, 98);
      }
      if (now - this.lastMoveAt >= 16) {
        const f = between(0.1, 0.35);
        this.x += (this.tx - this.x) * f;
        this.y += (this.ty - this.y) * f;
        this.lastMoveAt = now;
        out.push({ kind: 'pointermove', x: quantize(this.x), y: quantize(this.y) });
      }
      if (!this.pressed && Math.random() < 0.06) {
        this.pressed = true;
        this.pressedUntil = now + between(60, 250);
        out.push({ kind: 'pointerdown', x: quantize(this.x), y: quantize(this.y) });
        if (Math.random() < 0.5) out.push({ kind: 'click', nodeId: 1 + rnd(64), x: quantize(this.x), y: quantize(this.y) });
      }
      this.nextAt = now + between(16, 60);
    }
    return out;
  }

  /** Releases what is held (a player leaving lets go of everything). */
  release(): InputEvent[] {
    const out: InputEvent[] = [...this.held.keys()].map((key) => ({ kind: 'keyup' as const, key }));
    this.held.clear();
    if (this.pressed) out.push({ kind: 'pointerup', x: quantize(this.x), y: quantize(this.y) });
    this.pressed = false;
    return out;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
