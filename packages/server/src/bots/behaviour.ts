/**
 * The default bot: input a person might send, at a person's rate. It looks before it acts, then
 * every 150–700 ms it presses a key of its own small set (arrows, W/S, WASD, space, Enter) and
 * holds it 80–600 ms, or clicks a clickable node it actually sees (at the node's centre), or
 * moves the pointer a few steps; now and then it pauses for a second or two. About 2–4 events a
 * second, far under the server's input rate limit.
 */
import type { InputEvent } from '@parlor/squish';
import type { Bot, BotBehaviour } from './bot.js';
import { clickPoint, clickableNodes } from './view.js';

const KEY_SETS: readonly (readonly string[])[] = [
  ['ArrowUp', 'ArrowDown'],
  ['w', 's'],
  ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', ' '],
  ['w', 'a', 's', 'd', ' '],
  ['ArrowLeft', 'ArrowRight', 'Enter'],
];

function between(lo: number, hi: number): number {
  return lo + Math.random() * (hi - lo);
}

/** The default plausible player (one instance per bot). */
export class PlausiblePlayer implements BotBehaviour {
  private readonly keys = KEY_SETS[Math.floor(Math.random() * KEY_SETS.length)];
  /** key → when to release it */
  private readonly release = new Map<string, number>();
  private nextAt = Infinity;
  private pointer = { x: between(20, 80), y: between(20, 80) };
  private moves = 0;
  private pointerUpAt = Infinity;

  start(_bot: Bot, now: number): void {
    this.nextAt = now + between(200, 800); // people look at the screen before they act
  }

  frame(): void {}

  step(bot: Bot, now: number): void {
    for (const [key, at] of this.release) {
      if (now < at) continue;
      this.release.delete(key);
      bot.input({ kind: 'keyup', key });
    }
    if (now >= this.pointerUpAt) {
      this.pointerUpAt = Infinity;
      bot.input({ kind: 'pointerup', ...this.pointer });
    }
    if (this.moves > 0 && now >= this.nextAt) {
      this.moves--;
      this.pointer = { x: clamp(this.pointer.x + between(-6, 6)), y: clamp(this.pointer.y + between(-6, 6)) };
      bot.input({ kind: 'pointermove', ...this.pointer });
      this.nextAt = now + between(30, 60);
      return;
    }
    if (now < this.nextAt) return;
    const r = Math.random();
    if (r < 0.05) {
      this.nextAt = now + between(1000, 2000); // a pause
      return;
    }
    this.nextAt = now + between(150, 700);
    const clickables = r < 0.3 ? clickableNodes(bot.scene) : [];
    if (clickables.length > 0) {
      this.click(bot, clickables[Math.floor(Math.random() * clickables.length)], now);
    } else if (r < 0.85) {
      const key = this.keys[Math.floor(Math.random() * this.keys.length)];
      if (this.release.has(key)) return;
      this.release.set(key, now + between(80, 600));
      bot.input({ kind: 'keydown', key });
    } else {
      this.moves = 3 + Math.floor(Math.random() * 5);
    }
  }

  stop(): void {
    this.release.clear();
  }

  private click(bot: Bot, node: Parameters<typeof clickPoint>[0], now: number): void {
    const at = clickPoint(node);
    if (!at) return;
    this.pointer = at;
    // as the browser sends it: the press, the click on the node under it, the release a moment later
    const events: InputEvent[] = [{ kind: 'pointerdown', ...at }, { kind: 'click', nodeId: node.id, ...at }];
    for (const e of events) bot.input(e);
    this.pointerUpAt = now + between(60, 200);
  }
}

function clamp(v: number): number {
  return Math.round(Math.max(1, Math.min(99, v)) * 100) / 100;
}
