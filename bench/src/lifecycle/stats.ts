/** Small helpers shared by the lifecycle bench's parts: percentiles, number formats, a wall clock, the load sampler. */
import os from 'node:os';

/** Nearest-rank percentile `p` (0–100) of `xs`; NaN when empty. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** Milliseconds for a table: 3 significant-ish digits, `—` when not a number. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return '—';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** `p50 / p99` of `xs` in ms. */
export function p50p99(xs: readonly number[]): string {
  return `${ms(pct(xs, 50))} / ${ms(pct(xs, 99))}`;
}

/** Wall-clock time in ms with sub-ms precision, comparable across processes of one machine. */
export function wall(): number {
  return performance.timeOrigin + performance.now();
}

/** Samples the 1-minute load average every `everyMs` until stopped. */
export function sampleLoad(everyMs = 5000): { stop(): number[] } {
  const samples = [os.loadavg()[0]!];
  const timer = setInterval(() => samples.push(os.loadavg()[0]!), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(os.loadavg()[0]!);
      return samples;
    },
  };
}

/** Waits until `pred()` holds (polled every 5 ms), or throws naming `what` after `timeoutMs`. */
export async function until(pred: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
