/**
 * The fleet dashboard: a static page (`GET /dashboard`) with its script and stylesheet, served
 * without auth because they carry no data. The page asks for an admin key, keeps it in the tab's
 * `sessionStorage` and sends it only as `Authorization: Bearer` — to `/v1/stats`, `/v1/instances`,
 * the catalog routes when mounted, the drain/undrain/destroy calls, and the event stream
 * `/v1/events`, which it reads with `fetch` streaming rather than `EventSource` (which cannot send
 * a header and would need the key, or a token standing for it, in the URL).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiOptions } from './control-plane.js';
import { DASHBOARD_HTML, DASHBOARD_STYLE } from './dashboard-page.js';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';

/** Where the dashboard page is served (also the target of `GET /`). */
export const DASHBOARD_PATH = '/dashboard';
/** The dashboard's script (the page carries no inline script). */
export const DASHBOARD_SCRIPT_PATH = '/dashboard/dashboard.js';
/** The dashboard's stylesheet (the page carries no inline style). */
export const DASHBOARD_STYLE_PATH = '/dashboard/dashboard.css';

/**
 * The dashboard's Content-Security-Policy: script, style and connections from this origin only,
 * nothing inline, no forms anywhere (the key field has no name and is never submitted), never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function asset(reply: FastifyReply, type: string, body: string): FastifyReply {
  return reply.headers(HEADERS).type(type).send(body);
}

/**
 * Registers `GET /` (302 to the page), the page and its two assets. Nothing is registered when
 * the API is off (`--no-api`): the page would have nothing to read.
 */
export function registerDashboard(app: FastifyInstance, opts: Pick<ApiOptions, 'api'>): void {
  if (!opts.api) return;
  const hide = { hide: true };
  app.get('/', { schema: hide }, (_req, reply) => reply.redirect(DASHBOARD_PATH, 302));
  app.get(DASHBOARD_PATH, { schema: hide }, (_req, reply) => asset(reply, 'text/html; charset=utf-8', DASHBOARD_HTML));
  app.get(DASHBOARD_SCRIPT_PATH, { schema: hide }, (_req, reply) => asset(reply, 'text/javascript; charset=utf-8', DASHBOARD_SCRIPT));
  app.get(DASHBOARD_STYLE_PATH, { schema: hide }, (_req, reply) => asset(reply, 'text/css; charset=utf-8', DASHBOARD_STYLE));
}
