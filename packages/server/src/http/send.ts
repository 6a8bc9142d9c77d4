import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Sends a whole response: `Content-Type`, `Content-Length` and `X-Content-Type-Options: nosniff`
 * on every response (then `headers`, which may override them); no body for `HEAD`.
 */
export function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(buf.byteLength), 'X-Content-Type-Options': 'nosniff', ...headers });
  if (req.method === 'HEAD') res.end();
  else res.end(buf);
}
