import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { signWebhook } from '../../local/signing.js';
import {
  aws,
  cloud,
  deliver,
  eventually,
  fixture,
  listen,
  physicalId,
  published,
  settle,
  sourceSettings,
  webhookUrl,
} from './hub.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the operator CLI against the local cloud, as on-call would. */
async function ops(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    join(ROOT, 'node_modules', '.bin', 'tsx'),
    ['cli/switchyard.ts', '--local', ...args],
    { cwd: ROOT },
  );
  return stdout;
}

function proxy(): string {
  const url = cloud().awsFaultProxy;
  if (!url) throw new Error('this local cloud has no AWS fault proxy (it uses AWS_ENDPOINT_URL)');
  return url;
}

/** A signed GitHub push with a fresh delivery id. */
async function push() {
  const body = JSON.stringify(fixture('github/push.json'));
  const delivery = `redrive-${randomBytes(6).toString('hex')}`;
  const headers = await signWebhook(sourceSettings('github'), cloud().secrets.github ?? '', body, {
    eventId: delivery,
    eventType: 'push',
  });
  return { body, delivery, send: () => deliver(webhookUrl('github'), { headers, body }) };
}

/** The inbox dead letters that carry `eventId`. */
async function deadLetters(queueUrl: string, eventId: string) {
  const { Messages = [] } = await aws().sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
  );
  return Messages.filter((message) => message.Body?.includes(eventId));
}

describe('redrive of the inbox dead-letter queue, end to end (F25)', () => {
  afterEach(async () => {
    await fetch(`${proxy()}/_faults`, { method: 'DELETE' });
  });

  it('reprocesses dead letters once the cause is fixed, and does not apply a completed one twice', async () => {
    // Prepare: an empty inbox dead-letter queue; one event is routed normally; then the bus refuses every
    // event, so a second one ends in the dead-letter queue after its retries
    await listen();
    const deadLetterQueueUrl = await physicalId('AWS::SQS::Queue', 'InboxQueueDeadLetterQueue');
    await aws().sqs.send(new PurgeQueueCommand({ QueueUrl: deadLetterQueueUrl }));
    const completed = await push();
    expect((await completed.send()).status).toBe(202);
    await eventually('the first event on the bus', async () =>
      (await published(`github:${completed.delivery}`)).length > 0 ? true : undefined,
    );
    const faulted = await fetch(`${proxy()}/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        service: 'events',
        operation: 'PutEvents',
        status: 500,
        errorCode: 'InternalFailure',
      }),
    });
    expect(faulted.status).toBe(201);
    const failing = await push();
    expect((await failing.send()).status).toBe(202);
    await eventually(
      'the second event in the inbox dead-letter queue',
      async () => ((await deadLetters(deadLetterQueueUrl, failing.delivery)).length > 0 ? true : undefined),
      90_000,
    );
    // ...and a copy of the first event's message dead-lettered after its work was done (a consumer that timed
    // out after publishing, F13)
    await aws().sqs.send(
      new SendMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MessageBody: JSON.stringify({
          source: 'github',
          eventId: completed.delivery,
          eventType: 'push',
          receivedAt: new Date().toISOString(),
          bodySha256: createHash('sha256').update(completed.body).digest('hex'),
          body: completed.body,
        }),
      }),
    );
    await fetch(`${proxy()}/_faults`, { method: 'DELETE' });

    // Act
    const listed = await ops('dead-letters');
    const output = await ops('redrive', 'inbox');

    // Assess: both left the dead-letter queue; the failed one reached the bus once, the completed one not twice
    expect(listed).toMatch(/^inbox\s+[1-9]\d*$/m);
    expect(output).toMatch(/^redrive inbox: [1-9]\d* moved, 0 failed/m);
    await eventually('the redriven event on the bus', async () =>
      (await published(`github:${failing.delivery}`)).length > 0 ? true : undefined,
    );
    await settle(5000);
    expect(await published(`github:${failing.delivery}`)).toHaveLength(1);
    expect(await published(`github:${completed.delivery}`)).toHaveLength(1);
    expect(await deadLetters(deadLetterQueueUrl, failing.delivery)).toEqual([]);
    expect(await deadLetters(deadLetterQueueUrl, completed.delivery)).toEqual([]);
  });
});
