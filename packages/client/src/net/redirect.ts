/**
 * The client's redirect policy: which `redirect` URLs from a server the client follows
 * ({@link checkRedirect}), and the error a refused one carries ({@link RedirectRefusedError}).
 * Pure: owns no state; the `Connection` asks it about each `redirect` and acts on the answer.
 */
import { ClientError, ClientErrorCode } from '../errors.js';

/**
 * A `redirect` the client refused (emitted as the connection's `refused` event; also logged with
 * `console.warn`). `code` is always `'CLIENT_REDIRECT_REFUSED'` ({@link ClientErrorCode}).
 */
export class RedirectRefusedError extends ClientError {
  static override readonly brand: symbol = Symbol.for('parlor.error.RedirectRefusedError');
  /** The refused URL (at most 200 characters). */
  readonly url: string;
  constructor(url: string, reason: string) {
    super(ClientErrorCode.REDIRECT_REFUSED, `redirect refused: ${reason}`);
    this.url = url;
  }
}

/** Where a checked redirect goes. */
export type RedirectTarget =
  /** Rejoin over a WebSocket at `url` (the current endpoint when the redirect URL was empty). */
  | { kind: 'socket'; url: string }
  /** Navigate the page to `url` (absolute http(s)). */
  | { kind: 'page'; url: string };

/** Inputs of {@link checkRedirect}. */
export interface RedirectPolicy {
  /** The current WebSocket URL (what an empty redirect URL means, and a same origin). */
  socketUrl: string;
  /** The page's URL relative URLs resolve against; default `location.href` when there is one, else `socketUrl`. */
  pageUrl?: string;
  /** Further allowed origins, e.g. `['https://eu.example.com']`; ws(s) origins count as their http(s) twin. */
  allowedOrigins?: readonly string[];
}

/** The http(s) origin of a URL (`ws:` → `http:`, `wss:` → `https:`), or `null` for any other scheme. */
function webOrigin(u: URL): string | null {
  const p = u.protocol === 'ws:' ? 'http:' : u.protocol === 'wss:' ? 'https:' : u.protocol;
  if (p !== 'http:' && p !== 'https:') return null;
  return `${p}//${u.host}`;
}

/**
 * Decides whether a server's `redirect` URL may be followed: only `http:`, `https:`, `ws:` and
 * `wss:` URLs (never `javascript:`, `data:`, `blob:`, `file:`…) whose origin is the page's, the
 * socket's, or one of `allowedOrigins` (a `ws(s)` URL counts as its `http(s)` twin). An empty URL
 * means "rejoin at the current socket URL".
 * @returns the target, or a {@link RedirectRefusedError} saying why it was refused (never throws).
 */
export function checkRedirect(url: unknown, policy: RedirectPolicy): RedirectTarget | RedirectRefusedError {
  if (typeof url !== 'string') return new RedirectRefusedError('', 'the URL is not a string');
  const shown = url.slice(0, 200);
  const raw = url.trim();
  if (raw === '') return { kind: 'socket', url: policy.socketUrl };
  if (raw.length > 2048) return new RedirectRefusedError(shown, 'the URL is longer than 2048 characters');
  const loc = (globalThis as { location?: { href?: string } }).location;
  const base = policy.pageUrl ?? (typeof loc?.href === 'string' ? loc.href : policy.socketUrl);
  let target: URL;
  try {
    target = new URL(raw, base);
  } catch {
    return new RedirectRefusedError(shown, 'the URL does not parse');
  }
  const origin = webOrigin(target);
  if (!origin) return new RedirectRefusedError(shown, `the scheme ${JSON.stringify(target.protocol.slice(0, 20))} is not http(s) or ws(s)`);
  const allowed = new Set<string>();
  for (const o of [base, policy.socketUrl, ...(policy.allowedOrigins ?? [])]) {
    try {
      const w = webOrigin(new URL(o));
      if (w) allowed.add(w);
    } catch {
      // an unparsable allowed origin allows nothing
    }
  }
  if (!allowed.has(origin)) return new RedirectRefusedError(shown, `the origin ${origin.slice(0, 100)} is not allowed`);
  if (target.username || target.password) return new RedirectRefusedError(shown, 'the URL carries credentials');
  const socket = target.protocol === 'ws:' || target.protocol === 'wss:';
  return { kind: socket ? 'socket' : 'page', url: target.href };
}
