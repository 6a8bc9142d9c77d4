/**
 * `@parlor/server/testing` — the test kit for game authors, on the real room engine in step mode
 * (no server, sockets or timers):
 *
 * - {@link createTestRoom}`(Game, { players, spectators, options, tickMs })` → a {@link TestRoom}
 *   with a manual clock (`step(ms)`), `join`/`spectate`/`leave`, the `game` instance and its
 *   {@link TestPlayer}s and {@link TestSpectator}s;
 * - input helpers on each player that send what the browser client sends: keys (`press`, `hold`,
 *   `release`), clicks on a node by id, text or position (resolved with the client's hit-test
 *   rules), pointer moves, gamepads;
 * - each member's {@link TestView}, decoded by squish's `SceneMirror` from exactly the bytes its
 *   socket would receive, with queries (`one`, `all`, `texts`, `at`, `box`) and `room.seenBy(node)`;
 * - `room.assertPrivate()`: for every tick so far, nobody's bytes carried another player's
 *   private nodes;
 * - rooms that last: `room.state` (status, open turn, next cutoff, reason), `player.order(order)`
 *   and `player.orderResults` (the host's refusals: `GAME_PAUSED`, `TURN_ALREADY_CLOSED`, …),
 *   `room.turn()` (force the cutoff; an `everyMs` schedule also runs on `step`), `room.pause()`,
 *   `room.resume()`, `room.save()` / `room.snapshot` and the `restore` option, `room.result`;
 * - {@link RoomEngine} itself with `{ clock: 'manual' }`, for what the kit does not cover.
 *
 * Misuse and game failures throw {@link TestKitError} (`SERVER_TESTING_*`, see docs/ERRORS.md).
 *
 * @example
 * import { createTestRoom } from '@parlor/server/testing';
 * import Pong from './index.js';
 *
 * const room = createTestRoom(Pong, { players: ['Ann', 'Bob'], options: { seed: 1 } });
 * const [ann, bob] = room.players;
 * ann.hold('ArrowDown');
 * room.step(1000); // one second: 60 ticks at 60 Hz
 * bob.view.texts();
 * room.assertPrivate();
 */
export { createTestRoom, TestRoom, type TestRoomOptions, type TestableGame } from './testing/room.js';
export { TestMember, TestPlayer, TestSpectator, type ClickTarget, type GamepadInput, type PlanePoint } from './testing/member.js';
export { TestView, type NodeQuery, type NodeOf, type NodeKindName } from './testing/view.js';
export type { OrderResult } from './testing/turns.js';
export { TestKitError, type TestKitErrorCode } from './testing/errors.js';
export type { Leak } from './testing/privacy.js';
export { RoomEngine, DEFAULT_MAX_CONSECUTIVE_ERRORS, type EngineSpec, type EngineOptions } from './engine/room-engine.js';
export type { FramesMessage, HostToEngineMessage, EngineToHostMessage, EngineErrorMessage } from './engine/messages.js';
