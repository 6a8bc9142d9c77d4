/** Request-URL helpers shared by the HTTP routes and the WebSocket upgrade. Never throw. */

/** The path of a request URL (`'/'` when it cannot be parsed). */
export function safePath(url: string | undefined): string {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return '/';
  }
}

/** `decodeURIComponent`, or the input unchanged when it is not valid percent-encoding. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
