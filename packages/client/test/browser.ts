import { existsSync } from 'node:fs';
import { vi } from 'vitest';

/** What the browser tests share: where Chromium is, how it is launched, and how a test waits on a page. */

/** Debian's Chromium, driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';
/** Launch flags: no sandbox (root in a container), no GPU, no background traffic. */
export const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Whether Chromium is installed (in CI, CI=true, a missing one fails the suites instead of skipping them). */
export const haveChromium = existsSync(CHROMIUM);
/** Whether this is CI. */
export const inCi = process.env.CI === 'true';

/**
 * Waits (vitest's `vi.waitFor`) until `fn` returns a truthy value and returns that value; errors
 * thrown meanwhile (a page navigating) are retried. Fails with `what` and the last value or error
 * after `timeoutMs`.
 */
export function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  return vi.waitFor(
    async () => {
      let v: T;
      try {
        v = await fn();
      } catch (err) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${String(err)}`);
      }
      if (!v) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(v)}`);
      return v as NonNullable<T>;
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}
