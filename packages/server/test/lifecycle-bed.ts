/**
 * Helpers of the room lifecycle tests: the turn-based fixture game (`fixtures/lifecycle/turns.cjs`,
 * as a file and as catalog artifacts of other versions), what a {@link TestClient} was told
 * (`state`, `orderResult`), and a server's room events.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OrderResultMessage, RoomEvent, StateMessage } from '@parlor/squish';
import type { GameServer } from '@parlor/server';
import { buildArtifact, type BuiltArtifact } from './catalog-bed.js';
import { waitFor, type TestClient } from './helpers.js';

/** The turn-based fixture game's file. */
export const TURNS_GAME = fileURLToPath(new URL('./fixtures/lifecycle/turns.cjs', import.meta.url));

/** An artifact of the fixture game at `version`, its text showing `turns <version>`. */
export function turnsArtifact(version: string): BuiltArtifact {
  const code = readFileSync(TURNS_GAME, 'utf8').replace("const LABEL = 'turns 1.0.0';", `const LABEL = 'turns ${version}';`);
  return buildArtifact('turns', version, code);
}

/** The `state` messages a client got, in order. */
export function states(c: TestClient): StateMessage[] {
  return c.messages.filter((m): m is StateMessage => m.type === 'state');
}

/** The `orderResult` messages a client got, in order. */
export function orderResults(c: TestClient): OrderResultMessage[] {
  return c.messages.filter((m): m is OrderResultMessage => m.type === 'orderResult');
}

/** Waits for a `state` message after the first `after` ones that matches `pred`; returns it. */
export async function nextState(c: TestClient, pred: (s: StateMessage) => boolean, after = 0, what = 'a state message'): Promise<StateMessage> {
  await waitFor(() => states(c).slice(after).some(pred), what);
  return states(c).slice(after).find(pred)!;
}

/** Sends an order (as JSON) and waits for its `orderResult` (same id). */
export async function order(c: TestClient, id: number, value: unknown): Promise<OrderResultMessage> {
  c.send({ type: 'order', id, order: typeof value === 'string' ? value : JSON.stringify(value) });
  return resultOf(c, id);
}

/** Waits for the `orderResult` with `id` (the last one with that id, for id 0: one more than now). */
export async function resultOf(c: TestClient, id: number, after = 0): Promise<OrderResultMessage> {
  await waitFor(() => orderResults(c).slice(after).some((r) => r.id === id), `orderResult ${id}`);
  return orderResults(c).slice(after).find((r) => r.id === id)!;
}

/** Whether the client's scene shows a text that contains `part`. */
export function shows(c: TestClient, part: string): boolean {
  return c.texts().some((t) => t.includes(part));
}

/** The tick counter the fixture shows (`tick N`), or -1. */
export function tickShown(c: TestClient): number {
  const t = c.texts().find((x) => x.startsWith('tick '));
  return t ? Number(t.slice(5)) : -1;
}

/** Records a server's room events. */
export function recordEvents(server: GameServer): RoomEvent[] {
  const events: RoomEvent[] = [];
  server.events.on('room', (e) => events.push(e));
  return events;
}

/** The kinds of a room's events, in order. */
export function kinds(events: readonly RoomEvent[], roomId: string): string[] {
  return events.filter((e) => e.roomId === roomId).map((e) => e.kind);
}
