import { createHash, createHmac } from 'node:crypto';
import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ActiveAwsFault,
  type AwsFaultProxy,
  type AwsFaultSpec,
  type ProxiedAwsCall,
  startAwsFaultProxy,
} from '../../local/aws-fault-proxy.js';

const SECRET_KEY = 'test-secret';
const QUEUE = '000000000000/inbox';

/** One request as the fake emulator received it. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Which TCP connection it came on, numbered from 1. */
  connection: number;
}

interface FakeEmulator {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

interface AwsError extends Error {
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
  code?: string;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
const md5 = (data: string): string => createHash('md5').update(data).digest('hex');
const json = (body: unknown) => ({
  status: 200,
  type: 'application/x-amz-json-1.0',
  body: JSON.stringify(body),
});

/** The fake's answer to an AWS call: just enough of each service's output for the SDK to parse it. */
function answer(req: Received): { status: number; type: string; body: Buffer | string } {
  const target = req.headers['x-amz-target'];
  const input = target ? (JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>) : {};
  const entries = Array.isArray(input.Entries) ? (input.Entries as Record<string, unknown>[]) : [];
  switch (target) {
    case 'AmazonSQS.SendMessage':
      return json({ MessageId: 'msg-1', MD5OfMessageBody: md5(String(input.MessageBody)) });
    case 'AmazonSQS.SendMessageBatch':
      return json({
        Successful: entries.map((entry) => ({
          Id: entry.Id,
          MessageId: `msg-${String(entry.Id)}`,
          MD5OfMessageBody: md5(String(entry.MessageBody)),
        })),
        Failed: [],
      });
    case 'AWSEvents.PutEvents':
      return json({ FailedEntryCount: 0, Entries: entries.map((_, index) => ({ EventId: `evt-${index}` })) });
    case 'secretsmanager.GetSecretValue':
      return json({ Name: input.SecretId, SecretString: 'shh' });
    case 'AWSStepFunctions.StartExecution':
      return json({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:flow:1', startDate: 1 });
    case undefined:
      break;
    default:
      return json({});
  }
  if (req.url.startsWith('/_ministack/'))
    return { status: 200, type: 'application/json', body: '{"ready":true}' };
  if (new URLSearchParams(req.body.toString('utf8')).get('Action') === 'Publish') {
    const xml =
      '<PublishResponse><PublishResult><MessageId>sns-1</MessageId></PublishResult></PublishResponse>';
    return { status: 200, type: 'text/xml', body: xml };
  }
  return { status: 200, type: 'application/xml', body: '' };
}

/**
 * A stand-in for the emulator: records every request; S3 objects PUT are stored and served back by GET,
 * `/echo` answers the status of its `x-echo-status` header and echoes the body, anything else is answered
 * by {@link answer}.
 */
async function startFakeEmulator(): Promise<FakeEmulator> {
  const received: Received[] = [];
  const objects = new Map<string, Buffer>();
  const connections = new WeakMap<Socket, number>();
  let connectionCount = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const connection = connections.get(req.socket) ?? 0;
    const got: Received = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
      connection,
    };
    received.push(got);
    const path = got.url.split('?')[0] ?? '';
    if (path === '/echo') {
      res.writeHead(Number(got.headers['x-echo-status'] ?? 200), { 'x-echo': 'yes' }).end(got.body);
    } else if (got.headers.authorization?.includes('/s3/') && got.method === 'PUT') {
      objects.set(path, got.body);
      res.writeHead(200, { etag: `"${md5(got.body.toString('latin1'))}"` }).end();
    } else if (got.headers.authorization?.includes('/s3/') && got.method === 'GET') {
      const object = objects.get(path);
      if (object) res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(object);
      else
        res
          .writeHead(404, { 'content-type': 'application/xml' })
          .end('<Error><Code>NoSuchKey</Code></Error>');
    } else {
      const { status, type, body } = answer(got);
      res.writeHead(status, { 'content-type': type }).end(body);
    }
  });
  server.on('connection', (socket: Socket) => connections.set(socket, ++connectionCount));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Whether a request's SigV4 `Authorization` header is valid for `secret`: recomputes the signature from the
 * request as received (for the paths used here, which need no URI encoding).
 */
function signatureIsValid(
  req: Pick<Received, 'method' | 'url' | 'headers' | 'body'>,
  secret: string,
): boolean {
  const match = /Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]+)/.exec(
    req.headers.authorization ?? '',
  );
  if (!match) return false;
  const [, credential = '', signedHeaders = '', signature = ''] = match;
  const scope = credential.split('/').slice(1);
  const [date = '', region = '', service = ''] = scope;
  const url = new URL(req.url, 'http://unused');
  const encode = (value: string) =>
    encodeURIComponent(value).replace(
      /[!'()*]/g,
      (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const query = [...url.searchParams]
    .map(([key, value]) => `${encode(key)}=${encode(value)}`)
    .sort()
    .join('&');
  const headers = signedHeaders
    .split(';')
    .map((name) => `${name}:${String(req.headers[name] ?? '').trim()}\n`)
    .join('');
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? sha256(req.body));
  const canonical = [req.method, url.pathname, query, headers, signedHeaders, payloadHash].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    req.headers['x-amz-date'],
    scope.join('/'),
    sha256(canonical),
  ].join('\n');
  const key = [date, region, service, 'aws4_request'].reduce<Buffer | string>(
    (current, part) => createHmac('sha256', current).update(part).digest(),
    `AWS4${secret}`,
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex') === signature;
}

/** Awaits `promise` and returns what it rejected with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<AwsError> {
  const result = await promise.then(
    () => undefined,
    (error: unknown) => error as AwsError,
  );
  if (!result) expect.fail('the call succeeded');
  return result;
}

describe('AWS fault proxy', () => {
  let emulator: FakeEmulator;
  let proxy: AwsFaultProxy;
  let config: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  let dynamodb: DynamoDBClient;
  let sqs: SQSClient;

  const control = async <T = unknown>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${proxy.url}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
  };
  const inject = async (spec: AwsFaultSpec): Promise<ActiveAwsFault> => {
    const response = await control<ActiveAwsFault>('POST', '/_faults', spec);
    expect(response.status).toBe(201);
    return response.body;
  };
  const calls = async () => (await control<ProxiedAwsCall[]>('GET', '/_calls')).body;
  const putItem = () =>
    dynamodb.send(new PutItemCommand({ TableName: 'events', Item: { pk: { S: 'evt_1' } } }));
  const getItem = () =>
    dynamodb.send(new GetItemCommand({ TableName: 'events', Key: { pk: { S: 'evt_1' } } }));
  const sendMessage = (body = 'hello') =>
    sqs.send(new SendMessageCommand({ QueueUrl: `${proxy.url}/${QUEUE}`, MessageBody: body }));
  const received = (target: string) =>
    emulator.received.filter((req) => req.headers['x-amz-target'] === target);

  beforeEach(async () => {
    emulator = await startFakeEmulator();
    proxy = await startAwsFaultProxy({ target: emulator.url });
    config = {
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    };
    dynamodb = new DynamoDBClient(config);
    sqs = new SQSClient(config);
  });
  afterEach(async () => {
    dynamodb.destroy();
    sqs.destroy();
    await proxy.close();
    await emulator.close();
  });

  describe('pass-through', () => {
    it('forwards method, path, query, headers and body unchanged, and answers status, headers and body unchanged', async () => {
      // Prepare
      const body = JSON.stringify({ hello: 'world' });

      // Act
      const response = await fetch(`${proxy.url}/echo?b=2&a=1`, {
        method: 'PUT',
        headers: { 'x-echo-status': '418', 'x-amz-date': '20261121T120000Z', 'X-Custom': 'kept' },
        body,
      });

      // Assess
      expect(response.status).toBe(418);
      expect(response.headers.get('x-echo')).toBe('yes');
      expect(await response.text()).toBe(body);
      const [forwarded] = emulator.received;
      expect(forwarded).toMatchObject({ method: 'PUT', url: '/echo?b=2&a=1' });
      expect(forwarded?.headers).toMatchObject({
        host: new URL(proxy.url).host,
        'x-amz-date': '20261121T120000Z',
        'x-custom': 'kept',
      });
      expect(forwarded?.body.toString('utf8')).toBe(body);
    });

    it('keeps SigV4 signatures valid: Host and every signed header reach the emulator as the SDK signed them', async () => {
      // Act
      await putItem();

      // Assess
      const [forwarded] = received('DynamoDB_20120810.PutItem');
      if (!forwarded) expect.fail('the emulator got no PutItem');
      expect(forwarded.headers.host).toBe(new URL(proxy.url).host);
      expect(signatureIsValid(forwarded, SECRET_KEY)).toBe(true);
      // The check can fail: a proxy that rewrote Host to the emulator's would break the signature.
      const rewritten = { ...forwarded, headers: { ...forwarded.headers, host: new URL(emulator.url).host } };
      expect(signatureIsValid(rewritten, SECRET_KEY)).toBe(false);
    });

    it('streams a 5 MB S3 object both ways unchanged, with a valid signature', async () => {
      // Prepare
      const s3 = new S3Client({ ...config, forcePathStyle: true });
      const object = Buffer.alloc(5 * 1024 * 1024);
      for (let i = 0; i < object.length; i += 4) object.writeUInt32LE(i, i);

      // Act
      await s3.send(new PutObjectCommand({ Bucket: 'archive', Key: 'big.bin', Body: object }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: 'big.bin' }));
      const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);

      // Assess
      const put = emulator.received.find((req) => req.method === 'PUT');
      expect(put?.body.length).toBe(object.length);
      expect(sha256(put?.body ?? '')).toBe(sha256(object));
      expect(put && signatureIsValid(put, SECRET_KEY)).toBe(true);
      // The SDK sends `Expect: 100-continue` with a body this large; the proxy answers the 100 itself.
      expect(put?.headers.expect).toBeUndefined();
      expect(bytes.length).toBe(object.length);
      expect(sha256(bytes)).toBe(sha256(object));
      expect(await calls()).toEqual([
        { service: 's3', operation: 'PUT', status: 200, faulted: false },
        { service: 's3', operation: 'GET', status: 200, faulted: false },
      ]);
      s3.destroy();
    });

    it('keeps connections alive on both sides', async () => {
      // Prepare
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = () =>
        new Promise<boolean>((resolve, reject) => {
          const req = request(`${proxy.url}/echo`, { agent }, (res) => {
            res.resume();
            res.once('end', () => resolve(req.reusedSocket));
          });
          req.once('error', reject);
          req.end();
        });

      // Act
      const reused = [await get(), await get(), await get()];

      // Assess
      expect(reused).toEqual([false, true, true]);
      expect(emulator.received.map((req) => req.connection)).toEqual([1, 1, 1]);
      agent.destroy();
    });

    it('passes /_ministack/* through without recording or faulting it', async () => {
      // Prepare
      await inject({ service: 'unknown' });

      // Act
      const response = await fetch(`${proxy.url}/_ministack/ready`);

      // Assess
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ready: true });
      expect(emulator.received.map((req) => req.url)).toEqual(['/_ministack/ready']);
      expect(await calls()).toEqual([]);
    });

    it('answers a 502 AWS error when the emulator cannot be reached', async () => {
      // Prepare
      await emulator.close();

      // Act
      const error = await rejection(putItem());

      // Assess
      expect(error.name).toBe('BadGateway');
      expect(error.$metadata?.httpStatusCode).toBe(502);
      expect(await calls()).toEqual([
        { service: 'dynamodb', operation: 'PutItem', status: 502, faulted: false },
      ]);
    });
  });

  describe('error faults', () => {
    it('throws ThrottlingException from DynamoDB for the next 2 calls, then lets calls through', async () => {
      // Prepare
      await inject({ service: 'dynamodb', errorCode: 'ThrottlingException', times: 2 });

      // Act
      const first = await rejection(putItem());
      const second = await rejection(putItem());
      await putItem();

      // Assess
      for (const error of [first, second]) {
        expect(error.name).toBe('ThrottlingException');
        expect(error.message).toBe('injected fault');
        expect(error.$metadata?.httpStatusCode).toBe(400);
        expect(error.$fault).toBe('client');
      }
      expect(received('DynamoDB_20120810.PutItem')).toHaveLength(1);
      expect((await control('GET', '/_faults')).body).toEqual([]);
    });

    it.each([
      {
        service: 'sqs',
        errorCode: 'QueueDoesNotExist',
        status: 400,
        given: { status: 400 },
        call: (c: typeof config) =>
          new SQSClient(c).send(
            new SendMessageCommand({ QueueUrl: `${c.endpoint}/${QUEUE}`, MessageBody: 'x' }),
          ),
      },
      {
        service: 'eventbridge',
        errorCode: 'ThrottlingException',
        status: 400,
        call: (c: typeof config) =>
          new EventBridgeClient(c).send(
            new PutEventsCommand({ Entries: [{ Source: 'switchyard', DetailType: 'order', Detail: '{}' }] }),
          ),
      },
      {
        service: 'secretsmanager',
        errorCode: 'InternalServiceError',
        status: 500,
        call: (c: typeof config) =>
          new SecretsManagerClient(c).send(new GetSecretValueCommand({ SecretId: 's' })),
      },
      {
        service: 'states',
        errorCode: 'ServiceUnavailable',
        status: 503,
        call: (c: typeof config) =>
          new SFNClient(c).send(
            new StartExecutionCommand({
              stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:f',
            }),
          ),
      },
      {
        service: 's3',
        errorCode: 'SlowDown',
        status: 503,
        call: (c: typeof config) =>
          new S3Client({ ...c, forcePathStyle: true }).send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })),
      },
      {
        service: 'sns',
        errorCode: 'Throttling',
        status: 400,
        call: (c: typeof config) =>
          new SNSClient(c).send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:0:t', Message: 'x' })),
      },
    ])('answers a $service call with $errorCode in its protocol, which the SDK parses', async (fault) => {
      // Prepare
      await inject({ service: fault.service, errorCode: fault.errorCode, ...fault.given });

      // Act
      const error = await rejection(fault.call(config));

      // Assess
      expect(error.name).toBe(fault.errorCode);
      expect(error.message).toBe('injected fault');
      expect(error.$metadata?.httpStatusCode).toBe(fault.status);
      expect(error.$fault).toBe(fault.status < 500 ? 'client' : 'server');
      expect(emulator.received).toEqual([]);
    });

    it.each<{
      protocol: string;
      service: string;
      headers: Record<string, string>;
      contentType: string;
      errorHeaders: Record<string, string>;
      body: string | RegExp;
    }>([
      {
        protocol: 'JSON',
        service: 'sqs',
        headers: { 'x-amz-target': 'AmazonSQS.SendMessage', 'x-amzn-query-mode': 'true' },
        contentType: 'application/x-amz-json-1.0',
        errorHeaders: { 'x-amzn-errortype': 'Busy', 'x-amzn-query-error': 'Busy;Sender' },
        body: '{"__type":"Busy","message":"injected fault"}',
      },
      {
        protocol: 'query',
        service: 'sns',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        contentType: 'text/xml',
        errorHeaders: {},
        body: /^<ErrorResponse><Error><Type>Sender<\/Type><Code>Busy<\/Code><Message>injected fault<\/Message><\/Error><RequestId>[\w-]+<\/RequestId><\/ErrorResponse>$/,
      },
      {
        protocol: 'S3',
        service: 's3',
        headers: {},
        contentType: 'application/xml',
        errorHeaders: {},
        body: /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>Busy<\/Code><Message>injected fault<\/Message><RequestId>[\w-]+<\/RequestId><\/Error>$/,
      },
    ])('shapes an error in the $protocol protocol', async (shape) => {
      // Prepare
      await inject({ service: shape.service, errorCode: 'Busy', status: 429 });
      const credential = `AKIDTEST/20261121/us-east-1/${shape.service}/aws4_request`;

      // Act
      const response = await fetch(`${proxy.url}/`, {
        method: 'POST',
        headers: {
          'content-type': shape.contentType,
          ...shape.headers,
          authorization: `AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=host, Signature=00`,
        },
        body: shape.protocol === 'query' ? 'Action=Publish&Version=2010-03-31' : '{}',
      });

      // Assess
      expect(response.status).toBe(429);
      expect(response.headers.get('content-type')).toBe(shape.contentType);
      expect(Object.fromEntries(response.headers)).toMatchObject(shape.errorHeaders);
      if (typeof shape.body === 'string') expect(await response.text()).toBe(shape.body);
      else expect(await response.text()).toMatch(shape.body);
    });

    it('answers the given status, and InternalFailure with 500 by default', async () => {
      // Prepare
      await inject({ service: 'dynamodb', times: 1 });
      await inject({ service: 'dynamodb', errorCode: 'ThrottlingException', status: 503, times: 1 });

      // Act
      const byDefault = await rejection(putItem());
      const withStatus = await rejection(putItem());

      // Assess
      expect([byDefault.name, byDefault.$metadata?.httpStatusCode]).toEqual(['InternalFailure', 500]);
      expect([withStatus.name, withStatus.$metadata?.httpStatusCode]).toEqual(['ThrottlingException', 503]);
    });

    it('answers an S3 HEAD without a body, so the SDK only sees the status', async () => {
      // Prepare
      await inject({ service: 's3', operation: 'HEAD', errorCode: 'InternalError', times: 1 });
      const s3 = new S3Client({ ...config, forcePathStyle: true });

      // Act
      const error = await rejection(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })));

      // Assess
      expect(error.name).toBe('Unknown');
      expect(error.$metadata?.httpStatusCode).toBe(500);
      s3.destroy();
    });
  });

  describe('fault scope', () => {
    it('hits only the operation it names', async () => {
      // Prepare
      await inject({ service: 'dynamodb', operation: 'PutItem', errorCode: 'ThrottlingException' });

      // Act
      const error = await rejection(putItem());
      await getItem();
      await sendMessage();

      // Assess
      expect(error.name).toBe('ThrottlingException');
      expect(received('DynamoDB_20120810.GetItem')).toHaveLength(1);
      expect(received('AmazonSQS.SendMessage')).toHaveLength(1);
      expect(received('DynamoDB_20120810.PutItem')).toHaveLength(0);
    });

    it('matches an S3 call by HTTP method or by the SDK operation name', async () => {
      // Prepare
      const s3 = new S3Client({ ...config, forcePathStyle: true });
      await inject({ service: 's3', operation: 'PutObject', errorCode: 'SlowDown', times: 1 });

      // Act
      const getError = await rejection(s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'missing' })));
      const putError = await rejection(s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: 'x' })));

      // Assess
      expect(getError.name).toBe('NoSuchKey');
      expect(putError.name).toBe('SlowDown');
      expect(putError.$metadata?.httpStatusCode).toBe(503);
      s3.destroy();
    });

    it('detects a query-protocol operation from the Action of its form body', async () => {
      // Prepare
      await inject({ service: 'sns', operation: 'Subscribe', errorCode: 'Throttling' });
      const sns = new SNSClient(config);

      // Act
      const published = await sns.send(
        new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:0:t', Message: 'x' }),
      );

      // Assess
      expect(published.MessageId).toBe('sns-1');
      expect(await calls()).toEqual([{ service: 'sns', operation: 'Publish', status: 200, faulted: false }]);
      sns.destroy();
    });
  });

  describe('delay and drop', () => {
    it('forwards a delayed call after at least the delay', async () => {
      // Prepare
      await inject({ service: 'sqs', operation: 'SendMessage', delayMs: 400, times: 1 });

      // Act
      const started = performance.now();
      const sent = await sendMessage('late');
      const delayed = performance.now() - started;
      const again = performance.now();
      await sendMessage('on time');
      const undelayed = performance.now() - again;

      // Assess
      expect(sent.MessageId).toBe('msg-1');
      expect(delayed).toBeGreaterThanOrEqual(398); // timers may fire up to ~1 ms early on a coarse clock
      expect(undelayed).toBeLessThan(300);
      expect(
        received('AmazonSQS.SendMessage').map((req) => JSON.parse(req.body.toString('utf8'))),
      ).toMatchObject([{ MessageBody: 'late' }, { MessageBody: 'on time' }]);
    });

    it('answers the error after the delay when the fault has one', async () => {
      // Prepare
      await inject({ service: 'dynamodb', errorCode: 'ThrottlingException', delayMs: 300, times: 1 });

      // Act
      const started = performance.now();
      const error = await rejection(putItem());

      // Assess
      expect(performance.now() - started).toBeGreaterThanOrEqual(298);
      expect(error.name).toBe('ThrottlingException');
      expect(emulator.received).toEqual([]);
    });

    it('drops the connection: the SDK sees a network error and nothing is forwarded', async () => {
      // Prepare
      await inject({ service: 'sqs', drop: true, times: 1 });

      // Act
      const error = await rejection(sendMessage());
      await sendMessage();

      // Assess
      expect(error.$metadata?.httpStatusCode).toBeUndefined();
      expect(error.code).toBe('ECONNRESET');
      expect(received('AmazonSQS.SendMessage')).toHaveLength(1);
      expect(await calls()).toEqual([
        { service: 'sqs', operation: 'SendMessage', status: null, faulted: true },
        { service: 'sqs', operation: 'SendMessage', status: 200, faulted: false },
      ]);
    });
  });

  describe('partially failed batches', () => {
    it('fails the first PutEvents entries and forwards only the rest', async () => {
      // Prepare
      await inject({
        service: 'events',
        operation: 'PutEvents',
        failEntries: 1,
        errorCode: 'ThrottlingException',
      });
      const eventBridge = new EventBridgeClient(config);
      const entries = ['a', 'b', 'c'].map((id) => ({ Source: 'switchyard', DetailType: id, Detail: '{}' }));

      // Act
      const result = await eventBridge.send(new PutEventsCommand({ Entries: entries }));

      // Assess
      expect(result.FailedEntryCount).toBe(1);
      expect(result.Entries).toEqual([
        { ErrorCode: 'ThrottlingException', ErrorMessage: 'injected fault' },
        { EventId: 'evt-0' },
        { EventId: 'evt-1' },
      ]);
      const [forwarded] = received('AWSEvents.PutEvents');
      expect(JSON.parse(forwarded?.body.toString('utf8') ?? '{}').Entries).toEqual(entries.slice(1));
      expect(await calls()).toEqual([
        { service: 'events', operation: 'PutEvents', status: 200, faulted: true },
      ]);
      eventBridge.destroy();
    });

    it('answers a batch whose every entry fails without forwarding it', async () => {
      // Prepare
      await inject({ service: 'sqs', operation: 'SendMessageBatch', failEntries: 5 });

      // Act
      const result = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: `${proxy.url}/${QUEUE}`,
          Entries: [
            { Id: 'a', MessageBody: 'A' },
            { Id: 'b', MessageBody: 'B' },
          ],
        }),
      );

      // Assess
      expect(result.Successful ?? []).toEqual([]);
      expect(result.Failed?.map((entry) => [entry.Id, entry.Code, entry.SenderFault])).toEqual([
        ['a', 'InternalFailure', false],
        ['b', 'InternalFailure', false],
      ]);
      expect(emulator.received).toEqual([]);
    });
  });

  describe('control API', () => {
    it('records every proxied call, and DELETE /_calls clears the record', async () => {
      // Prepare
      await inject({ service: 'secretsmanager', errorCode: 'ThrottlingException', times: 1 });
      const secrets = new SecretsManagerClient(config);

      // Act
      await sendMessage();
      await sendMessage();
      await rejection(secrets.send(new GetSecretValueCommand({ SecretId: 'signing' })));
      await secrets.send(new GetSecretValueCommand({ SecretId: 'signing' }));
      const recorded = await calls();
      const cleared = await control('DELETE', '/_calls');

      // Assess
      expect(recorded).toEqual([
        { service: 'sqs', operation: 'SendMessage', status: 200, faulted: false },
        { service: 'sqs', operation: 'SendMessage', status: 200, faulted: false },
        { service: 'secretsmanager', operation: 'GetSecretValue', status: 400, faulted: true },
        { service: 'secretsmanager', operation: 'GetSecretValue', status: 200, faulted: false },
      ]);
      expect(recorded.filter((call) => call.operation === 'SendMessage')).toHaveLength(2);
      expect(cleared.status).toBe(204);
      expect(await calls()).toEqual([]);
      secrets.destroy();
    });

    it('lists the active faults with their remaining counts, and DELETE /_faults clears them', async () => {
      // Prepare
      await inject({ service: 'DynamoDB', operation: 'PutItem', errorCode: 'ThrottlingException', times: 3 });
      await inject({ service: 'eventbridge', delayMs: 10 });

      // Act
      await rejection(putItem());
      const listed = (await control<ActiveAwsFault[]>('GET', '/_faults')).body;
      const cleared = await control('DELETE', '/_faults');
      await putItem();

      // Assess
      expect(listed).toEqual([
        {
          id: expect.any(String),
          service: 'dynamodb',
          operation: 'PutItem',
          errorCode: 'ThrottlingException',
          times: 3,
          remaining: 2,
        },
        { id: expect.any(String), service: 'events', delayMs: 10, remaining: null },
      ]);
      expect(cleared.status).toBe(204);
      expect((await control('GET', '/_faults')).body).toEqual([]);
      expect(received('DynamoDB_20120810.PutItem')).toHaveLength(1);
    });

    it.each([
      ['not JSON', '{service', 'the body is not JSON'],
      ['without a service', { times: 1 }, 'service is required'],
      ['with an unknown field', { service: 'sqs', delay: 5 }, 'unknown field delay'],
      ['with a status out of range', { service: 'sqs', status: 200 }, 'invalid status'],
      ['with times 0', { service: 'sqs', times: 0 }, 'invalid times'],
      ['dropping with an error code', { service: 'sqs', drop: true, errorCode: 'X' }, 'drop excludes'],
      [
        'failing entries of a non-batch operation',
        { service: 'sqs', operation: 'SendMessage', failEntries: 1 },
        'failEntries needs',
      ],
    ])('refuses a fault %s with 400', async (_, spec, error) => {
      // Act
      const response = await fetch(`${proxy.url}/_faults`, {
        method: 'POST',
        body: typeof spec === 'string' ? spec : JSON.stringify(spec),
      });

      // Assess
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain(error);
      expect((await control('GET', '/_faults')).body).toEqual([]);
    });
  });
});
