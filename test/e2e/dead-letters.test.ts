import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { aws, cloud, eventually, fixture, physicalId, post, unique } from './hub.js';

async function isMiniStack(): Promise<boolean> {
  return fetch(`${cloud().emulator}/_ministack/ready`).then(
    (response) => response.ok,
    () => false,
  );
}

const ministack = await isMiniStack();
let inboxDeadLetterAlarm: string | undefined;

describe('dead letters, end to end', () => {
  it('moves a poison event to the inbox dead-letter queue, watched by an alarm that pages on-call', async () => {
    // Prepare: a signed, valid checkout whose session lacks the customer email the canonical event needs
    const event = fixture<{ id: string; data: { object: { customer_details: Record<string, unknown> } } }>(
      'stripe/checkout.session.completed.json',
    );
    event.id = `evt_poison${unique()}`;
    delete event.data.object.customer_details.email;
    const deadLetterQueueUrl = await physicalId('AWS::SQS::Queue', 'InboxQueueDeadLetterQueue');

    // Act
    const response = await post('stripe', JSON.stringify(event));

    // Assess: accepted (it is authentic), retried with backoff, then dead-lettered with its envelope
    expect(response.status).toBe(202);
    const deadLetter = await eventually(
      'the poison event in the inbox DLQ',
      async () => {
        const { Messages = [] } = await aws().sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: deadLetterQueueUrl,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 0,
          }),
        );
        return Messages.find((message) => message.Body?.includes(event.id));
      },
      90_000,
    );
    expect(JSON.parse(deadLetter.Body ?? '{}')).toMatchObject({ source: 'stripe', eventId: event.id });

    const queueArn = (
      await aws().sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    const queueName = queueArn?.split(':').at(-1);
    const { MetricAlarms = [] } = await aws().cloudwatch.send(new DescribeAlarmsCommand({}));
    const alarm = MetricAlarms.find((candidate) =>
      candidate.Dimensions?.some(
        (dimension) => dimension.Name === 'QueueName' && dimension.Value === queueName,
      ),
    );
    expect(alarm).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarm?.AlarmActions).toHaveLength(1);
    inboxDeadLetterAlarm = alarm?.AlarmName;
  });

  it.skipIf(ministack)('drives the inbox dead-letter alarm to ALARM', async () => {
    // Assess (the poison event of the test above is in the DLQ)
    await eventually(
      'the inbox DLQ alarm in ALARM',
      async () => {
        const { MetricAlarms: [current] = [] } = await aws().cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: [inboxDeadLetterAlarm ?? ''] }),
        );
        return current?.StateValue === 'ALARM' ? current : undefined;
      },
      360_000,
    );
  });
});

if (ministack) {
  console.log(
    'e2e: skipped "drives the inbox dead-letter alarm to ALARM": MiniStack 1.5.33 publishes no AWS/SQS metrics ' +
      'and evaluates alarms without their dimensions (ministack/services/cloudwatch.py, _evaluate_alarm), so ' +
      'the alarm cannot move on its own; its configuration is asserted by the test before and by test/infra.',
  );
}
