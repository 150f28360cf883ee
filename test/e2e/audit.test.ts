import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
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
    const message = await eventually('the push on the audit queue', async () => {
      const { Messages = [] } = await aws().sqs.send(
        new ReceiveMessageCommand({ QueueUrl: auditQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
      return Messages.find((candidate) => candidate.Body?.includes(delivery));
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
