/**
 * What a server child of the fan-out bench measures about itself, between `start` and `stop`
 * messages from the parent (IPC): CPU time (user and system), event-loop delay p99, RSS, and the
 * steps, frames and rooms its game counted (summed over all rooms). The same code for both systems.
 *
 * With `FANOUT_PROFILE=<dir>` the window is also CPU-profiled (V8's sampling profiler through
 * `node:inspector`, 100 µs interval, only between `start` and `stop`): the profile is written to
 * `<dir>/<FANOUT_PROFILE_NAME or pid>.cpuprofile` (open it in Chrome DevTools, or summarise it
 * with `fanout/profile-summary.ts`).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** Figures of one measurement window. */
export interface ServerFigures {
  /** CPU time of this process in the window, µs (user + system). */
  cpuUs: number;
  /** Of {@link cpuUs}, in the kernel (system time), µs. */
  sysUs: number;
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
  /** Client frames the server wrote in the window, when it counts them (Parlor: `parlor_frames_sent_total`). */
  sent?: number;
  /** Client frames the server skipped for backpressure in the window (Parlor: `parlor_frames_skipped_total`). */
  skipped?: number;
}

/** What a server's own counters say (summed over its rooms). */
export interface ServerCounters {
  steps: number;
  frames: number;
  rooms: number;
  sent?: number;
  skipped?: number;
}

function post(session: Session, method: string, params?: object): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
}

/**
 * Answers the parent's `start` / `stop` messages with figures, reading the step and frame
 * counters the game keeps.
 */
export function serveProbe(counters: () => ServerCounters | Promise<ServerCounters>): void {
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let c0: ServerCounters = { steps: 0, frames: 0, rooms: 0 };
  const profileDir = process.env.FANOUT_PROFILE;
  let session: Session | null = null;
  process.on('message', (m: { type: string }) => {
    void (async () => {
      if (m.type === 'start') {
        c0 = await counters();
        if (profileDir) {
          session = new Session();
          session.connect();
          await post(session, 'Profiler.enable');
          await post(session, 'Profiler.setSamplingInterval', { interval: 100 });
          await post(session, 'Profiler.start');
        }
        eld.reset();
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        process.send!({ type: 'started' });
      } else if (m.type === 'stop') {
        const cpu = process.cpuUsage(cpu0);
        const wallMs = performance.now() - t0;
        const eldP99Ms = eld.percentile(99) / 1e6;
        const c = await counters();
        if (session && profileDir) {
          const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
          session.disconnect();
          session = null;
          mkdirSync(profileDir, { recursive: true });
          writeFileSync(join(profileDir, `${process.env.FANOUT_PROFILE_NAME ?? process.pid}.cpuprofile`), JSON.stringify(profile));
        }
        const figures: ServerFigures = {
          cpuUs: cpu.user + cpu.system,
          sysUs: cpu.system,
          wallMs,
          eldP99Ms,
          rssBytes: process.memoryUsage().rss,
          steps: c.steps - c0.steps,
          frames: c.frames - c0.frames,
          rooms: c.rooms,
          ...(c.sent !== undefined && c0.sent !== undefined ? { sent: c.sent - c0.sent } : {}),
          ...(c.skipped !== undefined && c0.skipped !== undefined ? { skipped: c.skipped - c0.skipped } : {}),
        };
        process.send!({ type: 'figures', figures });
      } else if (m.type === 'exit') {
        process.exit(0);
      }
    })();
  });
}
