/**
 * Input→frame latencies of a whole run in fixed memory: 5000 bots for an hour send tens of millions
 * of inputs, too many to keep. Node's own HDR histogram (`perf_hooks.createHistogram`, 3
 * significant digits) records them in microseconds; percentiles are read back in ms.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** A latency histogram (ms), shared by every bot of a run. */
export class LatencyHistogram {
  private readonly h: RecordableHistogram = createHistogram();

  /** Samples added. */
  get count(): number {
    return this.h.count;
  }

  /** Adds one sample, ms (negative and non-finite values are ignored; below 1 µs counts as 1 µs). */
  add(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.h.record(Math.max(1, Math.round(ms * 1000)));
  }

  /** The `p`-th percentile (0–100), ms; `NaN` with no samples. */
  percentile(p: number): number {
    return this.h.count === 0 ? NaN : this.h.percentile(p) / 1000;
  }
}
