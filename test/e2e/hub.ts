/** Helpers for end-to-end tests: signed requests to the local hub, and what the stand-ins received. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { paginateListStackResources } from '@aws-sdk/client-cloudformation';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import type { SourceSettings } from '../../lib/config.js';
import { awsClients } from '../../local/aws-clients.js';
import { requestUrl, type SignOptions, signWebhook } from '../../local/signing.js';
import type { RecordedRequest, StandInName } from '../../local/stand-ins.js';

export const cloud = () => inject('localCloud');

/** AWS clients pointed at the local cloud's emulator. */
export const aws = () => awsClients(cloud().emulator);

/** Physical id of the stack's resource of `type` whose logical id starts with `prefix` (a queue's URL, …). */
export async function physicalId(type: string, prefix: string): Promise<string> {
  for await (const page of paginateListStackResources(
    { client: aws().cloudformation },
    { StackName: 'Switchyard' },
  )) {
    const resource = page.StackResourceSummaries?.find(
      (summary) => summary.ResourceType === type && summary.LogicalResourceId?.startsWith(prefix),
    );
    if (resource?.PhysicalResourceId) return resource.PhysicalResourceId;
  }
  throw new Error(`no ${type} ${prefix}* in the stack`);
}

/** A fixture from test/fixtures, parsed. */
export function fixture<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', path), 'utf8')) as T;
}

/** A short unique suffix, so each test's events and effects are its own. */
export const unique = () => randomUUID().slice(0, 8);

/** The local stage's settings of a source. */
export function sourceSettings(name: string): SourceSettings {
  const source = STAGES.local?.sources.find((candidate) => candidate.name === name);
  if (!source) throw new Error(`no local source ${name}`);
  return source;
}

export interface Delivered {
  status: number;
  body: unknown;
  headers: IncomingHttpHeaders;
}

/**
 * Sends one HTTP request as it is given: a header with several values is sent as several header lines (the
 * way a client that duplicates a header does), and a Buffer body as raw bytes.
 */
export function deliver(
  url: string,
  request: { method?: string; headers: Record<string, string | string[]>; body?: string | Buffer },
): Promise<Delivered> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      url,
      { method: request.method ?? 'POST', headers: request.headers },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** Posts `body` to the source's webhook URL, signed with the source's local secret (or `secret`). */
export async function post(
  source: string,
  body: string,
  options: SignOptions & { secret?: string; tamper?: (body: string) => string } = {},
): Promise<Delivered> {
  const settings = sourceSettings(source);
  const secret = options.secret ?? cloud().secrets[source];
  if (!secret) throw new Error(`no local secret for source ${source}`);
  const headers = await signWebhook(settings, secret, body, options);
  return deliver(requestUrl(settings, webhookUrl(source), body, options), {
    headers,
    body: options.tamper ? options.tamper(body) : body,
  });
}

/** The local URL vendors post to for a source. */
export function webhookUrl(source: string): string {
  const url = cloud().webhooks[source];
  if (!url) throw new Error(`no local webhook URL for source ${source}`);
  return url;
}

/** Every request a stand-in received so far. */
export async function received(standIn: StandInName): Promise<RecordedRequest[]> {
  const response = await fetch(`${cloud().standIns[standIn]}/_requests`);
  return (await response.json()) as RecordedRequest[];
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Waits `ms` milliseconds: used only to give a wrongly-delivered duplicate time to show up. */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const LISTENER = 'switchyard-e2e-listener';
let listenerUrl: Promise<string> | undefined;

/**
 * A test-only listener on the event bus: a queue and a rule, created through the API (not part of the
 * stack), that receive every event the hub publishes. Created once per test file, reused across runs.
 */
function listener(): Promise<string> {
  listenerUrl ??= (async () => {
    const clients = aws();
    const bus = await physicalId('AWS::Events::EventBus', 'RoutingBus');
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: LISTENER }));
    const { Attributes } = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await clients.eventbridge.send(
      new PutRuleCommand({
        Name: LISTENER,
        EventBusName: bus,
        EventPattern: JSON.stringify({ source: [{ prefix: 'switchyard.' }] }),
      }),
    );
    await clients.eventbridge.send(
      new PutTargetsCommand({
        Rule: LISTENER,
        EventBusName: bus,
        Targets: [{ Id: 'queue', Arn: Attributes?.QueueArn }],
      }),
    );
    if (!QueueUrl) throw new Error('the listener queue has no URL');
    return QueueUrl;
  })();
  return listenerUrl;
}

/** Starts listening to the bus; call before sending what is awaited with `published`. */
export async function listen(): Promise<void> {
  await listener();
}

type BusEvent = { 'detail-type': string; source: string; detail: Record<string, unknown> };
const seen: BusEvent[] = [];

/** Every event seen on the bus so far (the listener keeps what it has read). */
export async function publishedEvents(): Promise<readonly BusEvent[]> {
  const QueueUrl = await listener();
  for (;;) {
    const { Messages = [] } = await aws().sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      seen.push(JSON.parse(message.Body ?? '{}'));
      await aws().sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return seen;
}

/** Events seen on the bus so far whose detail has this event key. */
export async function published(eventKey: string): Promise<BusEvent[]> {
  return (await publishedEvents()).filter((event) => event.detail?.eventKey === eventKey);
}
