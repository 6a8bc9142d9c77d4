import { RoomEngine } from '../engine/room-engine.js';
import type { EngineToHostMessage, HostToEngineMessage } from '../engine/messages.js';
import type { RoomChannel, RoomRuntime, RoomSpec } from './runtime.js';

/**
 * The `inline` runtime: the engine runs in the host's own process and event loop. Messages in
 * both directions are delivered asynchronously (one microtask later, in order), exactly as if
 * they crossed a process boundary, but without copying: frame buffers reach the host as-is.
 *
 * Games run with the host's full privileges: use it for development and trusted games only.
 */
export class InlineRuntime implements RoomRuntime {
  readonly name = 'inline';

  start(spec: RoomSpec): RoomChannel {
    let handler: ((msg: EngineToHostMessage) => void) | null = null;
    let terminated = false;
    const engine = new RoomEngine(
      { gameClass: spec.gameClass, options: spec.options, maxConsecutiveErrors: spec.maxConsecutiveErrors, restore: spec.restore },
      (msg) => {
        queueMicrotask(() => {
          if (!terminated && handler) handler(msg);
        });
      },
    );
    engine.start();
    return {
      send(msg: HostToEngineMessage): void {
        if (terminated) return;
        queueMicrotask(() => {
          if (!terminated) engine.handle(msg);
        });
      },
      onMessage(h): void {
        handler = h;
      },
      async terminate(): Promise<void> {
        if (terminated) return;
        engine.stop();
        terminated = true;
      },
    };
  }
}
