import { afterEach, describe, expect, it } from 'vitest';
import { Game, Group, Text, type FrameMessage, type GameMetadata, type Node } from '@parlor/squish';
import type { GameServer } from '@parlor/server';
import { TestClient, startServer, waitFor } from './helpers.js';

/** Re-sends ~100 KB of text every tick at 60 Hz (≈ 6 MB/s), to fill a paused socket quickly. */
class FloodGame extends Game {
  static override metadata(): GameMetadata {
    return { name: 'Flood', tickRate: 60 };
  }
  readonly big = new Text({ text: '' });
  readonly root = new Group({ children: [this.big] });
  n = 0;
  getLayers(): Node[] {
    return [this.root];
  }
  override tick(): void {
    this.n++;
    this.big.text = `${this.n} ${'x'.repeat(100_000)}`;
  }
}

let server: GameServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function skipped(s: GameServer): Promise<number> {
  return (await s.metrics.framesSkipped.get()).values[0]?.value ?? 0;
}

describe('backpressure', () => {
  it('skips frames for a slow socket and sends one full frame after it drains', async () => {
    ({ server } = await startServer({ games: { flood: { gameClass: FloodGame } }, backpressureBytes: 256 * 1024 }));
    const slow = await TestClient.connect(server);
    const fast = await TestClient.connect(server);
    const init = await slow.joinAndSync('flood');
    await fast.joinAndSync('flood', { roomId: init.roomId });
    slow.pause();
    await waitFor(async () => (await skipped(server!)) > 0, 'frames skipped for the paused socket', 15_000);
    const fastBefore = fast.framesApplied;
    slow.resume();
    await waitFor(() => slow.fullFrames >= 2, 'a second full frame after the drain', 15_000);
    await slow.moreFrames(3);
    // Every frame that follows a gap in sequence numbers is a full frame: no delta on a stale base.
    const frames = slow.messages.filter((m): m is FrameMessage => m.type === 'frame');
    let gaps = 0;
    for (let i = 1; i < frames.length; i++) {
      if (frames[i].seq !== frames[i - 1].seq + 1) {
        gaps++;
        expect(frames[i].full, `frame seq ${frames[i].seq} after ${frames[i - 1].seq}`).toBe(true);
      }
    }
    expect(gaps).toBeGreaterThan(0);
    expect(slow.errors).toEqual([]);
    // The fast player was never held back.
    expect(fast.framesApplied).toBeGreaterThan(fastBefore);
    expect(fast.fullFrames).toBe(1);
    slow.close();
    fast.close();
  });
});
