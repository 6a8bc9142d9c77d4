/**
 * One timer for every room engine of a process, instead of one `setTimeout` per room per tick.
 *
 * With a timer per room, R rooms at 20 Hz cost 20·R timer objects, timer-list insertions and
 * event-loop wake-ups per second; at hundreds of rooms that bookkeeping is a large share of a
 * core. Here the due times of all engines sit in one binary min-heap and a single timer is armed
 * for the earliest. When it fires, every engine due within {@link TICK_SLACK_MS} runs in the same
 * wake-up (in due order), so rooms whose ticks fall close together share one wake-up; each
 * engine then schedules its next tick itself. A tick may run up to {@link TICK_SLACK_MS} early,
 * which the engine's real `dt` accounts for (it measures elapsed time, not the schedule).
 *
 * Cancelling is lazy: a task's current heap entry is kept on the task (a symbol-keyed slot, so no
 * map lookup per tick); rescheduling or cancelling empties the old entry, and empty entries are
 * dropped when they reach the top.
 */

/** Ticks due within this many ms of the earliest run in the same wake-up. */
export const TICK_SLACK_MS = 1;

/** Something the scheduler runs at a time: a room engine's tick. */
export interface ScheduledTick {
  /** Runs the tick (may schedule the next one). Must not throw. */
  runTick(): void;
}

interface Entry {
  at: number;
  /** `null` once cancelled, rescheduled or run. */
  task: ScheduledTick | null;
}

/** Where a task keeps its current entry. */
const ENTRY = Symbol('tick-scheduler entry');
type Slotted = ScheduledTick & { [ENTRY]?: Entry | null };

/** The process's tick scheduler (see the file's opening comment). */
export class TickScheduler {
  private readonly heap: Entry[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;

  /** Runs `task` at `at` (`performance.now()` time), replacing any time it was scheduled for. */
  schedule(task: ScheduledTick, at: number): void {
    const t = task as Slotted;
    const old = t[ENTRY];
    if (old) old.task = null;
    const e: Entry = { at, task };
    t[ENTRY] = e;
    this.push(e);
    if (at < this.timerAt) this.arm(at);
  }

  /** Forgets `task`'s scheduled time (it will not run unless scheduled again). */
  cancel(task: ScheduledTick): void {
    const t = task as Slotted;
    const old = t[ENTRY];
    if (old) old.task = null;
    t[ENTRY] = null;
  }

  /** Scheduled entries, stale ones included (for tests and metrics). */
  get size(): number {
    return this.heap.length;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - performance.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const until = performance.now() + TICK_SLACK_MS;
    let thrown: { err: unknown } | null = null;
    // Entries pushed while running (the next ticks) are due at least one interval later: they
    // never run in this wake-up unless they are due by `until` too.
    while (this.heap.length > 0 && this.heap[0].at <= until) {
      const task = this.pop().task as Slotted | null;
      if (task === null) continue;
      task[ENTRY] = null;
      try {
        task.runTick();
      } catch (err) {
        thrown ??= { err };
      }
    }
    this.dropStaleTop();
    if (this.heap.length > 0 && this.timer === null) this.arm(this.heap[0].at);
    // A task that throws must not stop the others: it surfaces as an uncaught error, as it would
    // from its own timer, once every due task has run and the next wake-up is armed.
    if (thrown) throw thrown.err;
  }

  private dropStaleTop(): void {
    while (this.heap.length > 0 && this.heap[0].task === null) this.pop();
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= e.at) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r].at < h[l].at ? r : l;
        if (h[c].at >= last.at) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/** The scheduler every real-clock {@link RoomEngine} of this process uses. */
export const tickScheduler = new TickScheduler();
