/** Listener signature of event `K` in event map `E` (each event maps to its argument tuple). */
export type Listener<E extends { [K in keyof E]: unknown[] }, K extends keyof E> = (...args: E[K]) => void;

type AnyListener = (...args: unknown[]) => void;

/**
 * A tiny typed event emitter (the subset of `eventemitter3` the client needs, without the
 * dependency in the browser bundle). A listener that throws is reported with `console.error`
 * and does not stop the other listeners.
 */
export class Emitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly listeners = new Map<keyof E, Set<AnyListener>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, fn: Listener<E, K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as unknown as AnyListener);
    return () => this.off(event, fn);
  }

  /** Removes a listener. */
  off<K extends keyof E>(event: K, fn: Listener<E, K>): void {
    this.listeners.get(event)?.delete(fn as unknown as AnyListener);
  }

  /** Calls every listener of `event` with `args`. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        console.error(`[parlor] ${String(event)} listener failed`, err);
      }
    }
  }
}
