/**
 * Waits for `p` at most `ms` (clean-up and draining that must not hang their caller); never
 * rejects. Resolves at once for no promise.
 */
export async function settle(p: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!p) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p.catch(() => {}), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
