/**
 * What a server child of the fan-out bench measures about itself, between `start` and `stop`
 * messages from the parent (IPC): CPU time (user + system), event-loop delay p99, RSS, and the
 * steps, frames and rooms its game counted (summed over all rooms). The same code for both systems.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Figures of one measurement window. */
export interface ServerFigures {
  /** CPU time of this process in the window, µs (user + system). */
  cpuUs: number;
  /** Wall time of the window, ms. */
  wallMs: number;
  /** Event-loop delay p99 in the window, ms. */
  eldP99Ms: number;
  /** Resident set size at the end of the window, bytes. */
  rssBytes: number;
  /** Simulation steps in the window. */
  steps: number;
  /** Frames (Parlor ticks) or patches (Colyseus) in the window. */
  frames: number;
  /** Rooms open at the end of the window. */
  rooms: number;
}

/**
 * Answers the parent's `start` / `stop` messages with figures, reading the step and frame
 * counters the game keeps.
 */
export function serveProbe(counters: () => { steps: number; frames: number; rooms: number }): void {
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let c0 = counters();
  process.on('message', (m: { type: string }) => {
    if (m.type === 'start') {
      eld.reset();
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      c0 = counters();
      process.send!({ type: 'started' });
    } else if (m.type === 'stop') {
      const cpu = process.cpuUsage(cpu0);
      const c = counters();
      const figures: ServerFigures = {
        cpuUs: cpu.user + cpu.system,
        wallMs: performance.now() - t0,
        eldP99Ms: eld.percentile(99) / 1e6,
        rssBytes: process.memoryUsage().rss,
        steps: c.steps - c0.steps,
        frames: c.frames - c0.frames,
        rooms: c.rooms,
      };
      process.send!({ type: 'figures', figures });
    } else if (m.type === 'exit') {
      process.exit(0);
    }
  });
}
