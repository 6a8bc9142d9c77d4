import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { CloseCode } from '@parlor/squish';
import type { GameServer } from '@parlor/server';
import { processRunnerPath, type RoomRuntime } from '../src/runtimes.js';
import { DOCKER_ROOM_START_MS, TestClient, startServer, type LogRecord } from './helpers.js';

/**
 * The test bed of the hostile suites (issue 7): a real server whose `ticker` room (a well-behaved
 * 30 Hz co-tenant) keeps a player while each attack runs next to it.
 */

/** Absolute path of a file under test/fixtures. */
export const fixture = (p: string): string => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));

/** Whether a real Docker engine answers here (CI starts one). */
export const dockerUp = spawnSync('docker', ['info'], { timeout: 10_000 }).status === 0;

/** Under CI=true a suite's docker half is mandatory: throws when no engine answers; warns otherwise. */
export function requireDockerInCi(suite: string): void {
  if (!dockerUp && process.env.CI === 'true') throw new Error(`CI=true but no Docker engine answers \`docker info\`: ${suite} must run against the docker runtime in CI`);
  if (!dockerUp) console.warn(`${suite}: docker runtime skipped (no Docker engine)`);
}

/** Builds the runner image `tag` from this tree's runner (no registry), as CI does. */
export function buildRunnerImage(tag: string): void {
  const script = fileURLToPath(new URL('../docker/build-runner-image.sh', import.meta.url));
  const r = spawnSync('bash', [script, tag, processRunnerPath()], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building ${tag} failed: ${r.stderr}`);
}

/** A server with a co-tenant `ticker` room and the attacking clients it has seen. */
export class HostileBed {
  readonly clients: TestClient[] = [];

  private constructor(
    readonly server: GameServer,
    /** The server's log objects. */
    readonly logs: LogRecord[],
    /** The co-tenant's player. */
    readonly control: TestClient,
    /** How long a join waits for its room's first frame (longer on the docker runtime, whose rooms start containers). */
    private readonly joinMs: number,
  ) {
    this.clients.push(control);
  }

  /** Starts a server with `games` plus `ticker` on `runtime`, and joins the co-tenant room. */
  static async start(games: Record<string, string>, runtime: RoomRuntime): Promise<HostileBed> {
    const { server, logs } = await startServer({ games: { ticker: fixture('sandbox/ticker.ts'), ...games }, runtime });
    const control = await TestClient.connect(server);
    const joinMs = runtime.name === 'docker' ? DOCKER_ROOM_START_MS : 5_000;
    await control.joinAndSync('ticker', {}, joinMs);
    return new HostileBed(server, logs, control, joinMs);
  }

  /** A new player in a room of `game`, synced (init and a full frame). */
  async attack(game: string): Promise<TestClient> {
    const c = await TestClient.connect(this.server);
    this.clients.push(c);
    await c.joinAndSync(game, {}, this.joinMs);
    return c;
  }

  /**
   * The co-tenant is still served: its player receives 10 more frames (a third of a second at
   * 30 Hz; the wait allows 5 s) and was never closed. Its frame rate is measured in bench/.
   */
  async coTenantKeepsTicking(): Promise<void> {
    await this.control.moreFrames(10);
    expect(this.control.closeInfo).toBeNull();
  }

  /** Closes every client and the server (the runtime is the caller's). */
  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.server.close();
  }
}

/** The room of `c` ended with 4500 and an error message matching `why`; returns that message. */
export async function endedWith(c: TestClient, why: RegExp, timeoutMs = 10_000): Promise<string> {
  const closed = await c.closed(timeoutMs);
  expect(closed.code).toBe(CloseCode.ROOM_FAILED);
  const err = c.messages.find((m) => m.type === 'error');
  const text = err && err.type === 'error' ? err.message : '';
  expect(text).toMatch(/^The game failed and the room ended/);
  expect(text).toMatch(why);
  expect(c.errors).toEqual([]);
  return text;
}
