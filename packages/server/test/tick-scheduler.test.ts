import { afterEach, describe, expect, it } from 'vitest';
import { Game, Group, Text, type GameMetadata, type Node } from '@parlor/squish';
import { RoomEngine, type EngineToHostMessage } from '../src/runtimes.js';
import { waitFor } from './helpers.js';

/** A small room that changes every tick, so every tick posts a frame to its one player. */
class Counter extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Counter', tickRate: 20 };
  }
  readonly label = new Text({ text: '0' });
  readonly root = new Group({ children: [this.label] });
  n = 0;
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(): void {
    this.label.text = String(++this.n);
  }
}

function room(): { engine: RoomEngine; frames: () => number } {
  let frames = 0;
  const engine = new RoomEngine({ gameClass: Counter }, (m: EngineToHostMessage) => {
    if (m.type === 'frames') frames++;
  });
  engine.start();
  engine.handle({ type: 'join', playerId: 1, name: 'p', spectator: false });
  return { engine, frames: () => frames };
}

const timeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

let engines: RoomEngine[] = [];
afterEach(() => {
  for (const e of engines) e.handle({ type: 'stop' });
  engines = [];
});

describe('tick scheduling across rooms', () => {
  it('300 real-clock rooms tick on a handful of timers, not one per room', async () => {
    const before = timeouts();
    const rooms = Array.from({ length: 300 }, room);
    engines = rooms.map((r) => r.engine);
    await waitFor(() => rooms.every((r) => r.frames() >= 3), 'every room ticked 3 times', 20_000);
    // One shared timer (plus whatever the test runner holds); a timer per room would be ≥ 300.
    expect(timeouts() - before).toBeLessThan(10);
  });

  it('a stopped room never ticks again while the others keep ticking', async () => {
    const rooms = Array.from({ length: 20 }, room);
    engines = rooms.map((r) => r.engine);
    await waitFor(() => rooms.every((r) => r.frames() >= 2), 'every room ticked twice');
    const stopped = rooms[7];
    stopped.engine.handle({ type: 'stop' });
    const at = stopped.frames();
    const others = rooms.filter((r) => r !== stopped);
    const marks = others.map((r) => r.frames());
    await waitFor(() => others.every((r, i) => r.frames() >= marks[i] + 3), 'the other rooms ticked 3 more times');
    expect(stopped.frames()).toBe(at);
  });
});
