/**
 * When a turn-based room's next cutoff is due (`metadata().turns`): every `everyMs` counted from
 * the room's start or its last turn, or the next time a `cron` expression (in `timezone`, UTC by
 * default; read by the `croner` library) matches, or never (`{}`: forced turns and `endTurnNow()`
 * only). The room arms the schedule after each turn and on resume, and disarms it on pause and
 * while a turn generates, so cutoffs never pile up: a late turn moves the next cutoff, it is not
 * followed by the missed ones.
 */
import { Cron } from 'croner';
import type { TurnSchedule as TurnScheduleSpec } from '@parlor/squish';
import { ServerConfigError } from '../errors.js';

/** `setTimeout`'s largest delay (ms); longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One room's turn schedule: see the file's opening comment. Timers are unref'd (they never keep a process alive). */
export class TurnSchedule {
  private readonly cron: Cron | null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due: number | null = null;

  /**
   * @param spec the game's resolved `metadata().turns`
   * @param onDue called once per armed cutoff, when it is due
   * @throws {ServerConfigError} for a cron expression or time zone `croner` does not accept
   */
  constructor(
    private readonly spec: TurnScheduleSpec,
    private readonly onDue: () => void,
  ) {
    if (spec.cron !== undefined) {
      try {
        this.cron = new Cron(spec.cron, { timezone: spec.timezone ?? 'UTC', paused: true });
      } catch (err) {
        throw new ServerConfigError(`metadata().turns.cron ${JSON.stringify(spec.cron)}: ${(err as Error)?.message ?? String(err)}`);
      }
    } else {
      this.cron = null;
    }
  }

  /** When the armed cutoff is due (ms since the epoch), or `null` when none is armed. */
  get nextAt(): number | null {
    return this.due;
  }

  /**
   * Arms the next cutoff counted from `from` (ms since the epoch; default now): `from + everyMs`, or
   * the cron expression's next match after `from`; nothing for a schedule without either. Replaces
   * an armed one. @returns when it is due, or `null`.
   */
  arm(from: number = Date.now()): number | null {
    this.disarm();
    let at: number | null = null;
    if (this.spec.everyMs !== undefined) at = from + this.spec.everyMs;
    else if (this.cron) at = this.cron.nextRun(new Date(from))?.getTime() ?? null;
    if (at === null) return null;
    this.due = at;
    this.wait();
    return at;
  }

  /**
   * Arms a cutoff at `at` (ms since the epoch) exactly, e.g. a restored room's stored one (a time
   * in the past is due at once). Replaces an armed one.
   */
  armAt(at: number): void {
    this.disarm();
    this.due = at;
    this.wait();
  }

  /** Cancels the armed cutoff (pause, a turn generating, the room ending). Idempotent. */
  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due = null;
  }

  private wait(): void {
    const due = this.due;
    if (due === null) return;
    const delay = Math.max(0, due - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.due !== due) return;
      if (Date.now() < due) {
        this.wait(); // a chained long wait (over ~24.8 days)
        return;
      }
      this.due = null;
      this.onDue();
    }, Math.min(delay, MAX_TIMER_MS));
    this.timer.unref?.();
  }
}
