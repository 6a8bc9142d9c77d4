/**
 * Input→frame latencies of a whole run in fixed memory: 5000 bots for an hour send tens of millions
 * of inputs, too many to keep. Log-spaced buckets 1 % wide from 0.01 ms to over an hour, so a
 * percentile read from it is within 1 % of the exact one.
 */

const MIN_MS = 0.01;
const GROWTH = 1.01;
const BUCKETS = 2000; // 0.01 ms × 1.01^2000 ≈ 4.4e6 ms, past an hour
const LOG_GROWTH = Math.log(GROWTH);

/** A latency histogram (ms), shared by every bot of a run. */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  /** Samples added. */
  count = 0;

  /** Adds one sample, ms (negative and non-finite values are ignored). */
  add(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const i = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(ms / MIN_MS) / LOG_GROWTH));
    this.counts[i]++;
    this.count++;
  }

  /** The `p`-th percentile (0–100, nearest rank), ms, within 1 %; `NaN` with no samples. */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return i === 0 ? MIN_MS : MIN_MS * GROWTH ** (i + 0.5);
    }
    return NaN;
  }
}
