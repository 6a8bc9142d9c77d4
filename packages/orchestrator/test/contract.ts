/**
 * The REST contract check: every response the tests provoke (through {@link recorder}, the undici
 * dispatcher that `http()` and the tests' `FleetClient`s use) is kept, and {@link checkContract}
 * validates each one against the orchestrator's `/v1/openapi.json`: the route and method must be
 * in the document (or the answer a 404/405 rejection, or a 204 to OPTIONS), the status must be
 * declared for it, and the body must match that status's schema (no body where none is declared).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Agent, DecoratorHandler, request, type Dispatcher } from 'undici';

/** One response as the client saw it. */
export interface Recorded {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: string;
}

/** Every response recorded in this test file. */
export const recorded: Recorded[] = [];

type Headers = Record<string, string | string[] | undefined>;
interface ResponseHandler {
  onResponseStart(controller: unknown, statusCode: number, headers: Headers, statusMessage?: string): void;
  onResponseData(controller: unknown, chunk: Buffer): void;
  onResponseEnd(controller: unknown, trailers: Headers): void;
}
// undici's typings of DecoratorHandler lag its runtime (the onResponse* handler API of undici 7).
const Decorator = DecoratorHandler as unknown as new (handler: Dispatcher.DispatchHandler) => ResponseHandler;

class Recording extends Decorator {
  private status = 0;
  private contentType = '';
  private readonly chunks: Buffer[] = [];
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly method: string,
    private readonly path: string,
  ) {
    super(handler);
  }
  override onResponseStart(controller: unknown, statusCode: number, headers: Headers, statusMessage?: string): void {
    this.status = statusCode;
    this.contentType = String(headers['content-type'] ?? '');
    return super.onResponseStart(controller, statusCode, headers, statusMessage);
  }
  override onResponseData(controller: unknown, chunk: Buffer): void {
    this.chunks.push(chunk);
    return super.onResponseData(controller, chunk);
  }
  override onResponseEnd(controller: unknown, trailers: Headers): void {
    recorded.push({ method: this.method, path: this.path, status: this.status, contentType: this.contentType, body: Buffer.concat(this.chunks).toString('utf8') });
    return super.onResponseEnd(controller, trailers);
  }
}

/** An undici dispatcher that records every completed response into {@link recorded}. */
export const recorder: Dispatcher = new Agent().compose(
  (dispatch) => (opts, handler) => dispatch(opts, new Recording(handler, String(opts.method), String(opts.path).split('?')[0]) as unknown as Dispatcher.DispatchHandler),
);

type Schema = Record<string, unknown>;
interface OpenApi {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
}

/** The document served by the orchestrator at `baseUrl`. */
export async function fetchOpenApi(baseUrl: string): Promise<OpenApi> {
  const res = await request(`${baseUrl}/v1/openapi.json`);
  if (res.statusCode !== 200) throw new Error(`GET /v1/openapi.json: ${res.statusCode}`);
  return (await res.body.json()) as OpenApi;
}

/** What a request that reaches no operation may get: refused before routing (auth), or no route / no method. */
const STRAY_CAUSES: Record<number, string> = { 401: 'UNAUTHORIZED', 404: 'NOT_FOUND', 405: 'METHOD_NOT_ALLOWED', 429: 'AUTH_THROTTLED' };
const STRAY = {
  type: 'object',
  required: ['status', 'cause'],
  properties: { status: { const: 'rejected' }, cause: { enum: Object.values(STRAY_CAUSES) }, message: { type: 'string' } },
  additionalProperties: false,
};

/** The problems of `records` against `doc` (empty when every one is described by it). */
export function checkContract(doc: OpenApi, records: readonly Recorded[]): string[] {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  const stray = ajv.compile(STRAY);
  const routes = Object.keys(doc.paths).map((tpl) => ({ tpl, re: new RegExp(`^${tpl.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const compiled = new Map<Schema, ReturnType<typeof ajv.compile>>();
  const problems: string[] = [];
  for (const r of records) {
    const what = `${r.method} ${r.path} → ${r.status}`;
    const route = routes.find((x) => x.re.test(r.path));
    const op = route && doc.paths[route.tpl][(r.method === 'HEAD' ? 'GET' : r.method).toLowerCase()];
    if (r.method === 'OPTIONS') {
      if (r.status !== 204 || r.body !== '') problems.push(`${what}: OPTIONS answers 204 with no body`);
      continue;
    }
    if (!op) {
      const body = parse(r.body);
      const fits = r.method === 'HEAD' ? r.body === '' : stray(body) && (body as { cause: string }).cause === STRAY_CAUSES[r.status];
      if (!(r.status in STRAY_CAUSES) || !fits) problems.push(`${what}: no such operation in the document, and not a rejection before routing: ${r.body.slice(0, 200)}`);
      continue;
    }
    const res = op.responses[String(r.status)];
    if (!res) {
      problems.push(`${what}: status not declared (declared: ${Object.keys(op.responses).join(', ')})`);
      continue;
    }
    const json = res.content?.['application/json'];
    if (r.method === 'HEAD' || !res.content) {
      if (r.body !== '') problems.push(`${what}: a body where none is declared: ${r.body.slice(0, 200)}`);
      continue;
    }
    if (!json) {
      if (!Object.keys(res.content).some((t) => r.contentType.startsWith(t))) problems.push(`${what}: content type ${r.contentType} not declared`);
      continue;
    }
    if (!r.contentType.startsWith('application/json')) problems.push(`${what}: content type ${r.contentType}, declared application/json`);
    let validate = compiled.get(json.schema);
    if (!validate) compiled.set(json.schema, (validate = ajv.compile(json.schema)));
    if (!validate(parse(r.body))) problems.push(`${what}: ${ajv.errorsText(validate.errors)} in ${r.body.slice(0, 300)}`);
  }
  return problems;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
