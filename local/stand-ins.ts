/**
 * Local stand-ins for the third-party HTTP APIs that the hub's connector Lambdas call (accounting, CRM, email
 * platform), so the hub can run end to end on a laptop. Each stand-in is a plain `node:http` server that serves
 * a small, realistic subset of its vendor's API from one route table and keeps its resources in memory.
 * Mutating routes honour an `Idempotency-Key` header the way Stripe does: a repeat of a key on the same route
 * replays the first response (with `Idempotent-Replayed: true`) instead of acting again. Every request is
 * recorded so tests and developers can inspect it at `GET <baseUrl>/_requests` and clear the log with
 * `DELETE <baseUrl>/_requests`.
 *
 * Faults can be injected: `POST <baseUrl>/_faults` with `{"path": "/invoices", "status": 503, "times": 3}`
 * answers that status to the next 3 requests whose path is `/invoices` or below it (`times` absent: until
 * cleared), `{"path": …, "delayMs": 30000}` answers late, and `"retryAfter": 2` adds a `Retry-After` header.
 * `GET <baseUrl>/_faults` lists them and `DELETE <baseUrl>/_faults` clears them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The third-party APIs that have a local stand-in. */
export type StandInName = 'accounting' | 'crm' | 'email';

/** One request as a stand-in received it: header names lower-case, body parsed when it is JSON, else raw. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

/** A running stand-in; `baseUrl` has no trailing slash. */
export interface StandIn {
  name: StandInName;
  baseUrl: string;
  close(): Promise<void>;
}

type Fields = Record<string, unknown>;
type FieldType = 'string' | 'integer' | 'array' | 'object';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** An injected fault: see the module docs. */
interface Fault {
  path: string;
  status?: number;
  times?: number;
  delayMs?: number;
  retryAfter?: number;
}

interface Route {
  method: string;
  /** Matches the URL path; its one capture group, URL-decoded, is passed to `handle`. */
  path: RegExp;
  /** Fields the JSON body must have (a trailing `?` marks an optional one); absent when there is no body. */
  body?: Record<string, FieldType | `${FieldType}?`>;
  handle(param: string, body: Fields, store: Map<string, Fields>): Reply;
}

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const checks: Record<FieldType, (value: unknown) => boolean> = {
  string: (value) => typeof value === 'string',
  integer: Number.isInteger,
  array: Array.isArray,
  object: isObject,
};

const newId = (prefix: string): string => `${prefix}_${randomBytes(8).toString('hex')}`;

const fail = (status: number, error: string, details: Fields = {}): Reply => ({
  status,
  body: { error, ...details },
});

const notFound = (): Reply => fail(404, 'not_found');

/** Every route mutates state, so every route honours `Idempotency-Key`. */
const routes: Record<StandInName, Route[]> = {
  accounting: [
    {
      method: 'POST',
      path: /^\/invoices$/,
      body: {
        customerEmail: 'string',
        currency: 'string',
        amountTotal: 'integer',
        orderId: 'string',
        lines: 'array?',
      },
      handle: (_, fields, invoices) => {
        const invoice = { ...fields, id: newId('inv'), status: 'open' };
        invoices.set(invoice.id, invoice);
        return { status: 201, body: invoice };
      },
    },
    {
      method: 'POST',
      path: /^\/invoices\/([^/]+)\/void$/,
      handle: (id, _, invoices) => {
        const invoice = invoices.get(id);
        if (!invoice) return notFound();
        invoice.status = 'void';
        return { status: 200, body: { id, status: 'void' } };
      },
    },
  ],
  crm: [
    {
      method: 'PUT',
      path: /^\/customers\/([^/]+)$/,
      body: { email: 'string?', firstName: 'string?', lastName: 'string?', lastOrderId: 'string?' },
      handle: (email, fields, customers) => {
        const existing = customers.get(email);
        const customer = { ...existing, ...fields, id: existing?.id ?? newId('cus'), email };
        customers.set(email, customer);
        return { status: 200, body: customer };
      },
    },
  ],
  email: [
    {
      method: 'POST',
      path: /^\/messages$/,
      body: { to: 'string', template: 'string', data: 'object?' },
      handle: () => ({ status: 202, body: { id: newId('msg'), status: 'queued' } }),
    },
    {
      method: 'PUT',
      path: /^\/subscribers\/([^/]+)$/,
      body: { email: 'string?', firstName: 'string?', lastName: 'string?' },
      handle: (email, fields, subscribers) => {
        const subscriber = { ...fields, email, status: 'subscribed' };
        subscribers.set(email, subscriber);
        return { status: 200, body: subscriber };
      },
    },
    {
      method: 'DELETE',
      path: /^\/subscribers\/([^/]+)$/,
      handle: (email, _, subscribers) => {
        subscribers.delete(email);
        return { status: 204 };
      },
    },
  ],
};

function findRoute(
  name: StandInName,
  method: string,
  path: string,
): { route: Route; param: string } | undefined {
  for (const route of routes[name]) {
    const match = route.method === method ? route.path.exec(path) : null;
    try {
      if (match) return { route, param: decodeURIComponent(match[1] ?? '') };
    } catch {
      return undefined; // malformed percent-encoding: no such resource
    }
  }
  return undefined;
}

function parseJson(raw: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(raw) };
  } catch {
    return undefined;
  }
}

/** Parses and checks a route's JSON body (an empty body counts as `{}`); returns the fields or an error reply. */
function readFields(route: Route, raw: string): { fields: Fields } | { error: Reply } {
  if (!route.body) return { fields: {} };
  const parsed = parseJson(raw || '{}');
  if (!parsed) return { error: fail(400, 'invalid_json') };
  const { value } = parsed;
  if (!isObject(value)) return { error: fail(422, 'invalid_request', { field: 'body' }) };
  for (const [field, spec] of Object.entries(route.body)) {
    const [type, optional] = [spec.replace('?', '') as FieldType, spec.endsWith('?')];
    if (value[field] === undefined ? !optional : !checks[type](value[field])) {
      return { error: fail(422, 'invalid_request', { field }) };
    }
  }
  return { fields: value };
}

function record(req: IncomingMessage, raw: string): RecordedRequest {
  const headers = Object.fromEntries(
    Object.entries(req.headersDistinct).map(([key, values]) => [key, values?.join(', ') ?? '']),
  );
  const isJson = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(req.headers['content-type'] ?? '');
  const parsed = isJson ? parseJson(raw) : undefined;
  const body = raw === '' ? null : parsed ? parsed.value : raw;
  return { method: req.method ?? 'GET', path: req.url ?? '/', headers, body };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, { status, body, headers = {} }: Reply): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
  } else {
    res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

/** `POST` adds a fault (400 when malformed), `GET` lists them, `DELETE` clears them. */
function controlFaults(faults: Fault[], method: string, raw: string): Reply {
  if (method === 'GET') return { status: 200, body: faults };
  if (method === 'DELETE') {
    faults.length = 0;
    return { status: 204 };
  }
  if (method !== 'POST') return notFound();
  const value = parseJson(raw)?.value;
  const isCount = (field: unknown, min: number) =>
    field === undefined || (Number.isInteger(field) && (field as number) >= min);
  if (
    !isObject(value) ||
    typeof value.path !== 'string' ||
    !value.path.startsWith('/') ||
    !isCount(value.status, 100) ||
    !isCount(value.times, 1) ||
    !isCount(value.delayMs, 0) ||
    !isCount(value.retryAfter, 0) ||
    (value.status === undefined && value.delayMs === undefined)
  ) {
    return fail(400, 'invalid_fault');
  }
  const fault = value as unknown as Fault;
  faults.push({ ...fault });
  return { status: 201, body: fault };
}

/** The first fault on `path` (or a path below it), counting one use of it. */
function takeFault(faults: Fault[], path: string): Fault | undefined {
  const index = faults.findIndex(
    (fault) => path === fault.path || path.startsWith(`${fault.path.replace(/\/$/, '')}/`),
  );
  const fault = faults[index];
  if (!fault) return undefined;
  if (fault.times !== undefined && --fault.times === 0) faults.splice(index, 1);
  return fault;
}

/** Starts one stand-in on `host` (default 127.0.0.1) and `port` (default 0: one the OS assigns). */
export function startStandIn(
  name: StandInName,
  options: { port?: number; host?: string } = {},
): Promise<StandIn> {
  const { port = 0, host = '127.0.0.1' } = options;
  const requests: RecordedRequest[] = [];
  const store = new Map<string, Fields>();
  const replies = new Map<string, Reply>();

  const faults: Fault[] = [];

  const serve = async (req: IncomingMessage, raw: string): Promise<Reply> => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').replace(/\?.*$/s, '');
    if (path === '/_requests') {
      if (method === 'GET') return { status: 200, body: requests };
      if (method === 'DELETE') {
        requests.length = 0;
        return { status: 204 };
      }
      return notFound();
    }
    if (path === '/_faults') return controlFaults(faults, method, raw);
    requests.push(record(req, raw));
    const fault = takeFault(faults, path);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.status) {
      return {
        status: fault.status,
        body: { error: 'injected_fault' },
        ...(fault.retryAfter === undefined ? {} : { headers: { 'retry-after': String(fault.retryAfter) } }),
      };
    }
    const match = findRoute(name, method, path);
    if (!match) return notFound();
    const key = req.headers['idempotency-key'];
    const replayKey = key ? `${method} ${path} ${key}` : undefined;
    const replay = replayKey === undefined ? undefined : replies.get(replayKey);
    if (replay) return { ...replay, headers: { 'idempotent-replayed': 'true' } };
    const parsed = readFields(match.route, raw);
    if ('error' in parsed) return parsed.error; // like Stripe, a request that fails validation is not stored
    const reply = match.route.handle(match.param, parsed.fields, store);
    if (replayKey !== undefined) replies.set(replayKey, structuredClone(reply));
    return reply;
  };

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => serve(req, raw))
      .catch(() => fail(500, 'internal_error'))
      .then((reply) => send(res, reply));
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: boundPort } = server.address() as AddressInfo;
      resolve({
        name,
        baseUrl: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
        close: () =>
          new Promise<void>((done, failed) => {
            server.close((error) => (error ? failed(error) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * Starts all three stand-ins, each on its port in `ports` (default: one the OS assigns); closes the started
 * ones if any fails.
 */
export async function startStandIns(
  options: { host?: string; ports?: Partial<Record<StandInName, number>> } = {},
): Promise<Record<StandInName, StandIn>> {
  const names = Object.keys(routes) as StandInName[];
  const results = await Promise.allSettled(
    names.map((name) => startStandIn(name, { ...options, port: options.ports?.[name] ?? 0 })),
  );
  const started = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) {
    await Promise.all(started.map((standIn) => standIn.close()));
    throw failure.reason;
  }
  return Object.fromEntries(started.map((standIn) => [standIn.name, standIn])) as Record<
    StandInName,
    StandIn
  >;
}
