/**
 * A fault-injection proxy for the AWS calls of the local cloud: an HTTP reverse proxy in front of the emulator
 * that streams every request to it unchanged (Host and every signed header included, so SigV4 signatures stay
 * valid; only hop-by-hop headers such as `Connection` and `Expect`, which SigV4 never signs, are dropped) and
 * streams the answer back, unless an injected fault says otherwise. Point the Lambda functions'
 * `AWS_ENDPOINT_URL` at it to simulate AWS outages.
 *
 * Each call is identified by its service (the SigV4 credential scope of `Authorization` or of a presigned
 * URL's `X-Amz-Credential`: `dynamodb`, `sqs`, `events`, `secretsmanager`, `s3`, `states`, …) and operation
 * (JSON protocols: the part of `X-Amz-Target` after its last dot; query protocols: the `Action` parameter of
 * the URL or form body; S3 and other REST protocols: the HTTP method).
 *
 * Control API, answered by the proxy itself:
 * - `POST /_faults` with a {@link AwsFaultSpec}, e.g. `{"service": "dynamodb", "errorCode":
 *   "ThrottlingException", "times": 3}`, answers the next 3 DynamoDB calls with that error in the service's
 *   protocol; `{"service": "sqs", "operation": "SendMessage", "delayMs": 5000}` forwards them 5 s late;
 *   `{"service": "sqs", "drop": true}` closes the connection without an answer; `{"service": "events",
 *   "operation": "PutEvents", "failEntries": 1}` answers 200 with the first entry of each batch failed.
 * - `GET /_faults` lists the active faults with their remaining counts; `DELETE /_faults` clears them.
 * - `GET /_calls` lists the proxied calls ({@link ProxiedAwsCall}); `DELETE /_calls` clears the list.
 * Requests to `/_ministack/*` pass through without being recorded or faulted.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A fault to inject, as `POST /_faults` takes it. */
export interface AwsFaultSpec {
  /** SigV4 signing name (`dynamodb`, `sqs`, `events`, `secretsmanager`, `s3`, `states`); `eventbridge` and `stepfunctions`/`sfn` are accepted too. */
  service: string;
  /** Only calls of this operation (case-insensitive), e.g. `PutItem`; for S3 an HTTP method or the SDK's `x-id` operation name (`PutObject`). Absent: every operation. */
  operation?: string;
  /** Status of the error answer, 400–599; default 400 for throttling codes, 503 for `SlowDown` and `ServiceUnavailable`, else 500. */
  status?: number;
  /** Error code of the error answer (or of each failed batch entry); default `InternalFailure` (S3: `InternalError`). */
  errorCode?: string;
  /** How many matching calls it hits; absent: every one until cleared. */
  times?: number;
  /** Waits this long before forwarding; with `status` or `errorCode`, before answering the error instead. */
  delayMs?: number;
  /** Destroys the connection without an answer (after `delayMs`); the client sees a network error. */
  drop?: boolean;
  /**
   * Batch operations only (EventBridge `PutEvents`, SQS `SendMessageBatch`, `DeleteMessageBatch`,
   * `ChangeMessageVisibilityBatch`, DynamoDB `BatchWriteItem`): the first `failEntries` entries of each batch
   * answer failed (DynamoDB: unprocessed) and only the rest is forwarded; the answer is a 200 that merges both.
   */
  failEntries?: number;
}

/** An active fault as `GET /_faults` lists it. */
export interface ActiveAwsFault extends AwsFaultSpec {
  id: string;
  /** Calls it will still hit; `null`: until cleared. */
  remaining: number | null;
}

/** One call through the proxy as `GET /_calls` lists it. */
export interface ProxiedAwsCall {
  /** SigV4 signing name from the credential scope; `unknown` for an unsigned request. */
  service: string;
  operation: string;
  /** Status answered to the client; `null` while unanswered, or when the connection was dropped. */
  status: number | null;
  /** Whether a fault hit the call. */
  faulted: boolean;
}

/** A running proxy; `url` has no trailing slash. */
export interface AwsFaultProxy {
  url: string;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Protocol = 'json' | 'query' | 's3' | 'rest';

interface Identity {
  service: string;
  operation: string;
  /** Names a fault's `operation` may use for the call: the operation, and for S3 the SDK's `x-id`. */
  names: string[];
  protocol: Protocol;
}

/** How a batch operation splits into failed entries and the request that forwards the rest. */
interface BatchSplit {
  /** The request without the failed entries; `undefined` when none remain. */
  rest: Json | undefined;
  /** The answer: the target's answer to `rest` (or `{}`) with the failed entries added. */
  merge(output: Json): Json;
}

const MESSAGE = 'injected fault';
const REST: Identity = { service: 'unknown', operation: '', names: [], protocol: 'rest' };
const MAX_CALLS = 10_000;
const ALIASES: Record<string, string> = {
  eventbridge: 'events',
  stepfunctions: 'states',
  'step-functions': 'states',
  sfn: 'states',
  'secrets-manager': 'secretsmanager',
};
const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'PriorRequestNotComplete',
]);
const UNAVAILABLE_CODES = new Set(['SlowDown', 'ServiceUnavailable']);
/** Never forwarded: they describe one connection, not the request (none of them is ever signed). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);
const SPEC_FIELDS: Record<keyof AwsFaultSpec, (value: unknown) => boolean> = {
  service: (value) => typeof value === 'string' && /^[a-z0-9-]+$/i.test(value),
  operation: (value) => typeof value === 'string' && /^[A-Za-z0-9_-]+$/.test(value),
  status: (value) => Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 599,
  errorCode: (value) => typeof value === 'string' && /^[A-Za-z0-9_.:#-]+$/.test(value),
  times: (value) => Number.isInteger(value) && (value as number) >= 1,
  delayMs: (value) => Number.isInteger(value) && (value as number) >= 0,
  drop: (value) => typeof value === 'boolean',
  failEntries: (value) => Number.isInteger(value) && (value as number) >= 1,
};

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const normalizeService = (service: string): string => ALIASES[service.toLowerCase()] ?? service.toLowerCase();

const sqsBatch = (input: Json, count: number, code: string): BatchSplit => {
  const entries = list(input.Entries);
  const failed = entries.slice(0, count).map((entry) => ({
    Id: isObject(entry) ? entry.Id : undefined,
    SenderFault: false,
    Code: code,
    Message: MESSAGE,
  }));
  const rest = entries.slice(count);
  return {
    rest: rest.length > 0 ? { ...input, Entries: rest } : undefined,
    merge: (output) => ({
      ...output,
      Successful: list(output.Successful),
      Failed: [...failed, ...list(output.Failed)],
    }),
  };
};

/** Batch operations `failEntries` applies to, by `service.operation`. */
const BATCHES: Record<string, (input: Json, count: number, code: string) => BatchSplit> = {
  'events.PutEvents': (input, count, code) => {
    const entries = list(input.Entries);
    const failed = entries.slice(0, count).map(() => ({ ErrorCode: code, ErrorMessage: MESSAGE }));
    const rest = entries.slice(count);
    return {
      rest: rest.length > 0 ? { ...input, Entries: rest } : undefined,
      merge: (output) => ({
        ...output,
        FailedEntryCount: failed.length + (Number(output.FailedEntryCount) || 0),
        Entries: [...failed, ...list(output.Entries)],
      }),
    };
  },
  'sqs.SendMessageBatch': sqsBatch,
  'sqs.DeleteMessageBatch': sqsBatch,
  'sqs.ChangeMessageVisibilityBatch': sqsBatch,
  'dynamodb.BatchWriteItem': (input, count) => {
    const unprocessed: Record<string, unknown[]> = {};
    const rest: Record<string, unknown[]> = {};
    let left = count;
    for (const [table, requests] of Object.entries(isObject(input.RequestItems) ? input.RequestItems : {})) {
      const all = list(requests);
      const failed = all.slice(0, left);
      left -= failed.length;
      if (failed.length > 0) unprocessed[table] = failed;
      if (all.length > failed.length) rest[table] = all.slice(failed.length);
    }
    return {
      rest: Object.keys(rest).length > 0 ? { ...input, RequestItems: rest } : undefined,
      merge: (output) => {
        const merged: Json = { ...(isObject(output.UnprocessedItems) ? output.UnprocessedItems : {}) };
        for (const [table, failed] of Object.entries(unprocessed))
          merged[table] = [...failed, ...list(merged[table])];
        return { ...output, UnprocessedItems: merged };
      },
    };
  },
};

/** The service, operation and protocol of a request; `body` is its form body when it has one. */
function identify(req: IncomingMessage, url: URL, body: Buffer | undefined): Identity {
  const credential =
    /Credential=([^,\s]+)/.exec(req.headers.authorization ?? '')?.[1] ??
    url.searchParams.get('X-Amz-Credential');
  const scope = credential?.split('/') ?? [];
  const service = scope.at(-1) === 'aws4_request' ? (scope.at(-2) ?? 'unknown') : 'unknown';
  const method = req.method ?? 'GET';
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target !== '') {
    const operation = target.slice(target.lastIndexOf('.') + 1);
    return { service, operation, names: [operation], protocol: 'json' };
  }
  const action =
    url.searchParams.get('Action') ??
    (body ? new URLSearchParams(body.toString('utf8')).get('Action') : null);
  if (action) return { service, operation: action, names: [action], protocol: 'query' };
  const xId = url.searchParams.get('x-id');
  return {
    service,
    operation: method,
    names: xId ? [method, xId] : [method],
    protocol: service === 's3' ? 's3' : 'rest',
  };
}

/** Checks a `POST /_faults` body; returns the spec or why it is refused. */
function parseSpec(raw: string): { spec: AwsFaultSpec } | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { error: 'the body is not JSON' };
  }
  if (!isObject(value)) return { error: 'the body is not a JSON object' };
  for (const [field, fieldValue] of Object.entries(value)) {
    const check = SPEC_FIELDS[field as keyof AwsFaultSpec] as ((value: unknown) => boolean) | undefined;
    if (!check) return { error: `unknown field ${field}` };
    if (!check(fieldValue)) return { error: `invalid ${field}` };
  }
  if (value.service === undefined) return { error: 'service is required' };
  const spec = { ...value, service: normalizeService(value.service as string) } as AwsFaultSpec;
  if (
    spec.drop &&
    (spec.status !== undefined || spec.errorCode !== undefined || spec.failEntries !== undefined)
  )
    return { error: 'drop excludes status, errorCode and failEntries' };
  if (spec.failEntries !== undefined) {
    if (spec.status !== undefined) return { error: 'failEntries excludes status' };
    if (!BATCHES[`${spec.service}.${spec.operation}`])
      return { error: `failEntries needs one of the operations ${Object.keys(BATCHES).join(', ')}` };
  }
  return { spec };
}

/** The error code and status a fault answers with on `identity`. */
function errorOf(spec: AwsFaultSpec, identity: Identity): { code: string; status: number } {
  const code = spec.errorCode ?? (identity.protocol === 's3' ? 'InternalError' : 'InternalFailure');
  const status = spec.status ?? (THROTTLING_CODES.has(code) ? 400 : UNAVAILABLE_CODES.has(code) ? 503 : 500);
  return { code, status };
}

/** An AWS-shaped error answer in the request's protocol. */
function errorReply(
  req: IncomingMessage,
  identity: Identity,
  status: number,
  code: string,
  message = MESSAGE,
): { headers: Record<string, string>; body: string } {
  const requestId = randomUUID();
  const xmlMessage = message.replace(/[<>&]/g, (char) => `&#${char.charCodeAt(0)};`);
  if (identity.protocol === 's3') {
    return {
      headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId, 'x-amz-id-2': requestId },
      body:
        req.method === 'HEAD'
          ? ''
          : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlMessage}</Message><RequestId>${requestId}</RequestId></Error>`,
    };
  }
  if (identity.protocol === 'query') {
    const type = status < 500 ? 'Sender' : 'Receiver';
    return {
      headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': requestId },
      body: `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>${xmlMessage}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  const contentType = req.headers['content-type'] ?? '';
  const headers: Record<string, string> = {
    'content-type': /json/i.test(contentType) ? contentType : 'application/json',
    'x-amzn-ErrorType': code,
    'x-amzn-RequestId': requestId,
  };
  // awsQueryCompatible services (SQS, CloudWatch) take the error code from this header, as AWS sends it.
  if (req.headers['x-amzn-query-mode'] === 'true')
    headers['x-amzn-query-error'] = `${code};${status < 500 ? 'Sender' : 'Receiver'}`;
  return { headers, body: JSON.stringify({ __type: code, message }) };
}

/** The raw headers of `raw` (name, value, name, value, …) that a proxy passes on. */
function passedHeaders(raw: string[], drop: string[] = []): string[] {
  const names = new Map<string, string>();
  for (let i = 0; i < raw.length; i += 2) names.set((raw[i] ?? '').toLowerCase(), raw[i + 1] ?? '');
  const connectionTokens = (names.get('connection') ?? '').toLowerCase().split(/\s*,\s*/);
  const skipped = new Set([...HOP_BY_HOP, ...connectionTokens, ...drop]);
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (!skipped.has(name.toLowerCase())) headers.push(name, raw[i + 1] ?? '');
  }
  return headers;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Starts the proxy on `host` (default 127.0.0.1) and `port` (default 0: one the OS assigns), in front of the
 * emulator at `target` (an `http:` URL such as `http://127.0.0.1:4566`).
 */
export async function startAwsFaultProxy(options: {
  target: string;
  port?: number;
  host?: string;
}): Promise<AwsFaultProxy> {
  const { port = 0, host = '127.0.0.1' } = options;
  const target = new URL(options.target);
  if (target.protocol !== 'http:') throw new Error(`the target must be an http: URL, not ${options.target}`);
  const agent = new Agent({ keepAlive: true });
  const closing = new AbortController();
  const faults: ActiveAwsFault[] = [];
  const calls: ProxiedAwsCall[] = [];
  let nextId = 1;

  const takeFault = (identity: Identity): ActiveAwsFault | undefined => {
    const names = identity.names.map((name) => name.toLowerCase());
    const index = faults.findIndex(
      (fault) =>
        fault.service === identity.service &&
        (fault.operation === undefined || names.includes(fault.operation.toLowerCase())),
    );
    const fault = faults[index];
    if (!fault) return undefined;
    if (fault.remaining !== null && --fault.remaining === 0) faults.splice(index, 1);
    return fault;
  };

  const json = (res: ServerResponse, status: number, body?: unknown): void => {
    if (body === undefined) res.writeHead(status).end();
    else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const control = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const raw = (await readBody(req)).toString('utf8');
    const method = req.method ?? 'GET';
    const items: unknown[] = path === '/_faults' ? faults : calls;
    if (method === 'GET') return json(res, 200, items);
    if (method === 'DELETE') {
      items.length = 0;
      return json(res, 204);
    }
    if (method !== 'POST' || path !== '/_faults')
      return json(res, 405, { error: `${method} ${path} is not supported` });
    const parsed = parseSpec(raw);
    if ('error' in parsed) return json(res, 400, { error: parsed.error });
    const fault: ActiveAwsFault = {
      id: String(nextId++),
      ...parsed.spec,
      remaining: parsed.spec.times ?? null,
    };
    faults.push(fault);
    json(res, 201, fault);
  };

  /**
   * Sends `req` (with `body` instead of its own body when given) to the target and its answer back;
   * `transform` rewrites a 2xx answer, buffered. When the target cannot be reached, answers a 502 error in
   * the protocol of `identity`.
   */
  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
    onStatus: (status: number) => void,
    options: { identity?: Identity; body?: Buffer | undefined; transform?: (answer: Buffer) => Buffer } = {},
  ): Promise<void> =>
    new Promise((resolve) => {
      const { identity, body, transform } = options;
      const headers = passedHeaders(req.rawHeaders, body ? ['content-length'] : []);
      if (body) headers.push('Content-Length', String(body.length));
      const upstream = request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
          signal,
        },
        (answer) => {
          const status = answer.statusCode ?? 502;
          const buffered = transform && status >= 200 && status < 300 && !answer.headers['content-encoding'];
          if (!buffered) {
            onStatus(status);
            res.writeHead(status, answer.statusMessage, passedHeaders(answer.rawHeaders));
            answer.pipe(res);
            answer.once('end', resolve);
            answer.once('error', () => resolve(void res.destroy()));
            return;
          }
          readBody(answer).then(
            (raw) => {
              let rewritten: Buffer;
              try {
                rewritten = transform(raw);
              } catch {
                rewritten = raw; // not the JSON the operation answers: pass it on
              }
              onStatus(status);
              const answerHeaders = passedHeaders(answer.rawHeaders, ['content-length', 'x-amz-crc32']);
              res.writeHead(status, answer.statusMessage, [
                ...answerHeaders,
                'Content-Length',
                String(rewritten.length),
              ]);
              res.end(rewritten, resolve);
            },
            () => resolve(void res.destroy()),
          );
        },
      );
      upstream.once('error', (error) => {
        if (res.headersSent || signal.aborted) return resolve(void res.destroy());
        const reply = errorReply(
          req,
          identity ?? REST,
          502,
          'BadGateway',
          `the proxy cannot reach ${target.origin}: ${error.message}`,
        );
        onStatus(502);
        res.writeHead(502, reply.headers).end(reply.body, resolve);
      });
      if (body) upstream.end(body);
      else req.pipe(upstream);
    });

  /** Answers a batch with its first `failEntries` entries failed, forwarding the rest. */
  const failBatch = async (
    req: IncomingMessage,
    res: ServerResponse,
    signal: AbortSignal,
    call: ProxiedAwsCall,
    identity: Identity,
    fault: ActiveAwsFault,
  ): Promise<void> => {
    const body = await readBody(req);
    const onStatus = (status: number) => {
      call.status = status;
    };
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch {
      input = undefined;
    }
    const split = BATCHES[`${identity.service}.${identity.operation}`];
    if (!isObject(input) || !split) return forward(req, res, signal, onStatus, { identity, body });
    const { rest, merge } = split(input, fault.failEntries ?? 0, errorOf(fault, identity).code);
    if (rest) {
      const transform = (answer: Buffer): Buffer => {
        const output: unknown = JSON.parse(answer.toString('utf8') || '{}');
        return Buffer.from(JSON.stringify(merge(isObject(output) ? output : {})));
      };
      return forward(req, res, signal, onStatus, {
        identity,
        body: Buffer.from(JSON.stringify(rest)),
        transform,
      });
    }
    onStatus(200);
    res
      .writeHead(200, {
        'content-type': req.headers['content-type'] ?? 'application/json',
        'x-amzn-RequestId': randomUUID(),
      })
      .end(JSON.stringify(merge({})));
  };

  const proxy = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const lifetime = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) lifetime.abort();
    };
    res.once('close', onClose);
    const signal = AbortSignal.any([lifetime.signal, closing.signal]);
    if (url.pathname.startsWith('/_ministack/')) return forward(req, res, signal, () => undefined);

    const isForm = /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '');
    const body = isForm ? await readBody(req) : undefined;
    const identity = identify(req, url, body);
    const call: ProxiedAwsCall = {
      service: identity.service,
      operation: identity.operation,
      status: null,
      faulted: false,
    };
    calls.push(call);
    if (calls.length > MAX_CALLS) calls.splice(0, calls.length - MAX_CALLS);
    const onStatus = (status: number) => {
      call.status = status;
    };

    const fault = takeFault(identity);
    if (!fault) return forward(req, res, signal, onStatus, { identity, body });
    call.faulted = true;
    const answersError =
      !fault.drop &&
      fault.failEntries === undefined &&
      (fault.delayMs === undefined || fault.status !== undefined || fault.errorCode !== undefined);
    // An error answer reads the whole request first, as AWS does, so the client is not cut off mid-upload.
    const drained = answersError && !body ? readBody(req).catch(() => undefined) : undefined;
    if (fault.delayMs) {
      try {
        await sleep(fault.delayMs, undefined, { signal });
      } catch {
        return void res.destroy(); // the client went away, or the proxy is closing: forward nothing
      }
    }
    if (fault.drop) return void req.socket.destroy();
    if (fault.failEntries !== undefined) return failBatch(req, res, signal, call, identity, fault);
    if (!answersError) return forward(req, res, signal, onStatus, { identity, body });
    await drained;
    const { code, status } = errorOf(fault, identity);
    const reply = errorReply(req, identity, status, code);
    onStatus(status);
    res.writeHead(status, reply.headers).end(reply.body);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const handled =
      url.pathname === '/_faults' || url.pathname === '/_calls'
        ? control(req, res, url.pathname)
        : proxy(req, res, url);
    handled.catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'the fault proxy failed' });
      else res.destroy();
    });
  });
  // Like MiniStack (75 s): an SDK client's idle keep-alive connection must not be closed under its next call.
  server.keepAliveTimeout = 75_000;
  // A delayed request is read only after its delay.
  server.requestTimeout = 0;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: boundPort } = server.address() as AddressInfo;
      resolve({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
        close: () =>
          new Promise<void>((done, failed) => {
            closing.abort();
            server.close((error) => {
              agent.destroy();
              if (error) failed(error);
              else done();
            });
            server.closeAllConnections();
          }),
      });
    });
  });
}
