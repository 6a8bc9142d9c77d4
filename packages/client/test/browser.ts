import { existsSync } from 'node:fs';

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
 * Polls `fn` until it returns a truthy value and returns that value; errors thrown meanwhile (a page
 * navigating) are retried. Fails with `what`, the last value and the last error after `timeoutMs`.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}${lastErr ? `; last error: ${String(lastErr)}` : ''}`);
}
