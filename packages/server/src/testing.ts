/**
 * `@parlor/server/testing` — the test kit for game authors: a room's engine on a manual clock.
 *
 * `new RoomEngine(spec, { clock: 'manual' })` never schedules a tick; `engine.handle(msg)` applies
 * a join, leave or input at once, and `engine.step(dtMs)` runs exactly one tick through the same
 * tick, flush and post code the real clock runs, returning that tick's frames (each marked full or
 * delta). `engine.game` is the game instance, for assertions. No server, sockets or timers: a test
 * drives a game tick by tick and decodes what each player would receive with `SceneMirror` from
 * `@parlor/squish`.
 *
 * @example
 * import { RoomEngine } from '@parlor/server/testing';
 * import Pong from './index.js';
 *
 * const engine = new RoomEngine({ gameClass: Pong }, { clock: 'manual' });
 * engine.start();
 * engine.handle({ type: 'join', playerId: 1, name: 'Ann', spectator: false });
 * const frames = engine.step(1000 / 60); // one tick: what each player's socket would get
 * engine.game!.players; // the game's own state
 */
export { RoomEngine, DEFAULT_MAX_CONSECUTIVE_ERRORS, type EngineSpec, type EngineOptions } from './engine/room-engine.js';
export type { FramesMessage, HostToEngineMessage, EngineToHostMessage, EngineErrorMessage } from './engine/messages.js';
