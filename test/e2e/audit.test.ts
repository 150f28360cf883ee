import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { aws, eventually, fixture, physicalId, post, unique } from './hub.js';

describe('code-host audit, end to end', () => {
  it('puts a GitHub-signed push on the audit queue as a github.push canonical event', async () => {
    // Prepare
    const delivery = `e2e-${unique()}-0000-0000-000000000000`;
    const auditQueueUrl = await physicalId('AWS::SQS::Queue', 'AuditQueue');

    // Act
    const response = await post('github', JSON.stringify(fixture('github/push.json')), {
      eventType: 'push',
      eventId: delivery,
    });

    // Assess
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: delivery });
    // The audit queue has no consumer and may hold many messages: read through it, deleting what was read
    const message = await eventually('the push on the audit queue', async () => {
      for (;;) {
        const { Messages = [] } = await aws().sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: auditQueueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 30,
          }),
        );
        if (Messages.length === 0) return undefined;
        await aws().sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: auditQueueUrl,
            Entries: Messages.map((read, index) => ({
              Id: String(index),
              ReceiptHandle: read.ReceiptHandle,
            })),
          }),
        );
        const found = Messages.find((candidate) => candidate.Body?.includes(delivery));
        if (found) return found;
      }
    });
    expect(JSON.parse(message.Body ?? '{}')).toMatchObject({
      source: 'switchyard.github',
      'detail-type': 'github.push',
      detail: {
        eventKey: `github:${delivery}`,
        event: 'push',
        repository: 'octo-org/switchyard-demo',
        sender: 'octocat',
      },
    });
  });
});
