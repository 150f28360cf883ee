/**
 * Redrive: moves the messages of a dead-letter queue back to the queue they came from, once the cause of
 * their failure is fixed. Each message is sent again with its body and message attributes, then deleted from
 * the dead-letter queue; a message whose send failed stays there. The consumers are idempotent on the event
 * key (14 days, longer than a dead letter is kept), so a message whose work had in fact completed is
 * recognised and not applied twice.
 *
 * It receives, sends and deletes rather than calling SQS `StartMessageMoveTask`, so it works on every emulator
 * and reports progress per batch; the cost is three SQS requests per 10 messages.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

export interface RedriveRequest {
  /** URL of the dead-letter queue. */
  from: string;
  /** URL of the queue the messages go back to. */
  to: string;
  /** Most messages to move. @default the dead-letter queue's depth when the redrive starts */
  max?: number;
  /** Called after each batch with the running totals. */
  onProgress?: (progress: RedriveResult) => void;
}

export interface RedriveResult {
  /** Messages sent to `to` and deleted from `from`. */
  moved: number;
  /** Messages whose send failed: they stay in the dead-letter queue (visible again after 60 s). */
  failed: number;
}

/** How long a received dead letter stays hidden while it is being moved, seconds. */
const VISIBILITY_TIMEOUT_SECONDS = 60;
/** SQS's largest batch. */
const BATCH = 10;

/**
 * Moves up to `max` messages from `from` to `to`, in batches of 10. Stopping at the depth found at the start
 * keeps a message that fails again (and returns to the dead-letter queue during a long redrive) from being
 * moved twice in one run.
 * @throws the SQS error of a failed receive or delete; messages sent before it are already moved (a message
 *   sent but not deleted is moved twice, and its consumer deduplicates it)
 */
export async function redrive(sqs: SQSClient, request: RedriveRequest): Promise<RedriveResult> {
  const limit = request.max ?? (await depth(sqs, request.from));
  const result: RedriveResult = { moved: 0, failed: 0 };
  while (result.moved + result.failed < limit) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: request.from,
        MaxNumberOfMessages: Math.min(BATCH, limit - result.moved - result.failed),
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    const { Successful = [], Failed = [] } = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: request.to,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
        })),
      }),
    );
    if (Successful.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: request.from,
          Entries: Successful.map(({ Id }) => ({
            Id,
            ReceiptHandle: Messages[Number(Id)]?.ReceiptHandle ?? '',
          })),
        }),
      );
    }
    result.moved += Successful.length;
    result.failed += Failed.length;
    request.onProgress?.({ ...result });
  }
  return result;
}

/** Messages visible in a queue now (SQS's approximate count). */
export async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}
