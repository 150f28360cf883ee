/**
 * A local stand-in for GitHub as the delivery reconciliation sees it (lib/delivery-reconciliation.ts): one
 * repository webhook that delivers signed events to the hub and records each delivery attempt, and the REST
 * API that lists those attempts and redelivers one. A plain `node:http` server keeping everything in memory.
 *
 * Control routes (no authentication, for developers and tests):
 * - `POST /_deliver` with `{"event": "push", "payload": {…}}` makes the hook deliver: the payload is signed
 *   with the source's signing secret (`X-Hub-Signature-256`) and posted to the hub with a new
 *   `X-GitHub-Delivery` guid; the attempt is recorded (`status_code` the hub's answer, `status` "OK" for a 2xx
 *   or what went wrong, `redelivery: false`) and answered 201 with the recorded delivery.
 * - `GET /_deliveries` lists every recorded attempt, newest first.
 * - `GET /_requests` lists the REST API calls received (the `Authorization` value redacted); `DELETE` clears it.
 *
 * REST routes, as GitHub serves them (https://docs.github.com/en/rest/repos/webhooks), for the configured hook
 * only (404 `{"message": "Not Found"}` for any other), with `Authorization: Bearer <token>` (or `token <token>`)
 * checked against the token given at start (401 `{"message": "Bad credentials"}`):
 * - `GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries?per_page=&cursor=`: attempts newest first,
 *   `per_page` 30 by default and at most 100, the next page's cursor in `Link: <…>; rel="next"`;
 * - `POST /repos/{owner}/{repo}/hooks/{hook_id}/deliveries/{delivery_id}/attempts`: 202, then delivers the
 *   same event again (same guid and body, signed anew) and records the attempt with `redelivery: true`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWebhook } from './signing.js';

/** One delivery attempt, as GitHub's deliveries list shows it. */
export interface HookDeliveryRecord {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  /** Seconds the receiver took to answer. */
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: null;
  repository_id: number;
  throttled_at: null;
}

/** A REST API call as the stand-in received it. */
export interface GitHubApiRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
}

export interface GitHubStandInOptions {
  /** The one repository webhook served. */
  hook: { owner: string; repo: string; hookId: number };
  /** The API token accepted. */
  token: string;
  /** Where the hook delivers: the hub's webhook URL of the GitHub source, and that source's signing secret. */
  target: { url: string; secret: string };
  /** @default 0 (a port the OS assigns) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

export interface GitHubStandIn {
  /** No trailing slash: the REST API root. */
  baseUrl: string;
  /** Waits for redeliveries under way, then stops the server. */
  close(): Promise<void>;
}

/** How long GitHub waits for the receiver, milliseconds (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks). */
const DELIVERY_TIMEOUT_MS = 10_000;
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;
const API_VERSIONS = ['2022-11-28'];
const REPOSITORY_ID = 1_296_269;

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Stored {
  record: HookDeliveryRecord;
  /** The exact body delivered, for redelivery. */
  body: string;
}

const message = (status: number, text: string): Reply => ({
  status,
  body: { message: text, documentation_url: 'https://docs.github.com/rest', status: String(status) },
});

/** Starts the stand-in. */
export function startGitHubStandIn(options: GitHubStandInOptions): Promise<GitHubStandIn> {
  const { hook, token, target, port = 0, host = '127.0.0.1' } = options;
  const deliveries: Stored[] = [];
  const requests: GitHubApiRequest[] = [];
  const underWay = new Set<Promise<unknown>>();
  let nextId = 1;
  let baseUrl = '';
  const hookPath = `/repos/${hook.owner}/${hook.repo}/hooks/${hook.hookId}/deliveries`.toLowerCase();

  /** Posts `body` to the hub as the hook does and records the attempt. */
  const deliver = async (guid: string, event: string, body: string, redelivery: boolean) => {
    const headers = {
      ...(await signWebhook({ scheme: 'github' }, target.secret, body, { eventType: event, eventId: guid })),
      'user-agent': 'GitHub-Hookshot/stand-in',
      'x-github-hook-id': String(hook.hookId),
      'x-github-hook-installation-target-type': 'repository',
      'x-github-hook-installation-target-id': String(REPOSITORY_ID),
    };
    const started = Date.now();
    let statusCode = 0;
    let status: string;
    try {
      const response = await fetch(target.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      statusCode = response.status;
      status = statusCode >= 200 && statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`;
    } catch (error) {
      status = (error as Error).name === 'TimeoutError' ? 'timed out' : 'failed to connect to host';
    }
    const action = (JSON.parse(body) as { action?: unknown }).action;
    const record: HookDeliveryRecord = {
      id: nextId++,
      guid,
      delivered_at: new Date(started).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      redelivery,
      duration: (Date.now() - started) / 1000,
      status,
      status_code: statusCode,
      event,
      action: typeof action === 'string' ? action : null,
      installation_id: null,
      repository_id: REPOSITORY_ID,
      throttled_at: null,
    };
    deliveries.push({ record, body });
    return record;
  };

  const control = async (method: string, path: string, raw: string): Promise<Reply> => {
    if (path === '/_deliveries' && method === 'GET') {
      return { status: 200, body: deliveries.map(({ record }) => record).reverse() };
    }
    if (path === '/_requests') {
      if (method === 'GET') return { status: 200, body: requests };
      if (method === 'DELETE') {
        requests.length = 0;
        return { status: 204 };
      }
    }
    if (path === '/_deliver' && method === 'POST') {
      let input: { event?: unknown; payload?: unknown };
      try {
        input = JSON.parse(raw) as typeof input;
      } catch {
        return message(400, 'Problems parsing JSON');
      }
      if (typeof input.event !== 'string' || typeof input.payload !== 'object' || input.payload === null) {
        return message(422, 'Expected {"event": "<X-GitHub-Event>", "payload": {…}}');
      }
      return {
        status: 201,
        body: await deliver(randomUUID(), input.event, JSON.stringify(input.payload), false),
      };
    }
    return message(404, 'Not Found');
  };

  const api = (req: IncomingMessage, method: string, path: string, query: URLSearchParams): Reply => {
    const authorization = req.headers.authorization ?? '';
    const authorized = authorization === `Bearer ${token}` || authorization === `token ${token}`;
    requests.push({
      method,
      path: req.url ?? path,
      headers: {
        ...Object.fromEntries(
          Object.entries(req.headersDistinct).map(([key, values]) => [key, values?.join(', ') ?? '']),
        ),
        ...(authorization ? { authorization: authorized ? '[redacted: valid]' : '[redacted: invalid]' } : {}),
      },
    });
    if (!authorized) return message(401, 'Bad credentials');
    const version = req.headers['x-github-api-version'];
    if (version !== undefined && !API_VERSIONS.includes(String(version))) {
      return message(400, `Unsupported API version ${version}`);
    }
    const lower = path.toLowerCase();
    if (method === 'GET' && lower === hookPath) return listPage(path, query);
    const attempt = new RegExp(`^${hookPath.replace(/[.]/g, '\\.')}/(\\d+)/attempts$`).exec(lower);
    if (method === 'POST' && attempt) {
      const original = deliveries.find(({ record }) => record.id === Number(attempt[1]));
      if (!original) return message(404, 'Not Found');
      const redelivery = deliver(original.record.guid, original.record.event, original.body, true);
      underWay.add(redelivery);
      void redelivery.finally(() => underWay.delete(redelivery));
      return { status: 202, body: {} };
    }
    return message(404, 'Not Found');
  };

  const listPage = (path: string, query: URLSearchParams): Reply => {
    const perPage = Math.min(
      MAX_PER_PAGE,
      Number(query.get('per_page') ?? DEFAULT_PER_PAGE) || DEFAULT_PER_PAGE,
    );
    const cursor = query.get('cursor');
    const before = cursor === null ? Number.POSITIVE_INFINITY : Number(/^v1_(\d+)$/.exec(cursor)?.[1]);
    if (Number.isNaN(before)) return message(400, 'Invalid cursor');
    const newestFirst = deliveries
      .map(({ record }) => record)
      .filter((record) => record.id < before)
      .reverse();
    const page = newestFirst.slice(0, perPage);
    const last = page.at(-1);
    const headers: Record<string, string> =
      newestFirst.length > perPage && last
        ? { link: `<${baseUrl}${path}?per_page=${perPage}&cursor=v1_${last.id}>; rel="next"` }
        : {};
    return { status: 200, body: page, headers };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const method = req.method ?? 'GET';
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const reply = url.pathname.startsWith('/_')
        ? control(method, url.pathname, raw)
        : Promise.resolve(api(req, method, url.pathname, url.searchParams));
      reply.catch(() => message(500, 'Internal Server Error')).then((answer) => send(res, answer));
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: boundPort } = server.address() as AddressInfo;
      baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
      resolve({
        baseUrl,
        close: async () => {
          await Promise.allSettled([...underWay]);
          await new Promise<void>((done, failed) => {
            server.close((error) => (error ? failed(error) : done()));
            server.closeAllConnections();
          });
        },
      });
    });
  });
}

function send(res: ServerResponse, { status, body, headers = {} }: Reply): void {
  if (body === undefined) {
    res.writeHead(status, headers).end();
  } else {
    res
      .writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(body));
  }
}
