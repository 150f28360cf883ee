import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * How long EventBridge keeps retrying a target before the event goes to the routing DLQ. Set explicitly:
 * the default differs between bus types (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html).
 */
const TARGET_RETRY = { maxEventAge: Duration.hours(24), retryAttempts: 185 };

/** What a route matches: canonical detail types, exactly or by prefix. */
export type RouteMatch = { readonly detailTypes: readonly string[] } | { readonly detailTypePrefix: string };

/**
 * The custom event bus of canonical events, its archive (for replay), and routes: rules whose every target
 * has an explicit retry policy and the shared routing dead-letter queue.
 */
export class EventRouting extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;
  /** Events a target could not take after its retries. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', { description: 'switchyard canonical events' });
    this.archive = this.bus.archive('Archive', {
      description: 'Every canonical event, for replay',
      eventPattern: { account: [this.bus.env.account] },
      retention: Duration.days(30),
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the rule targets; it is watched by an alarm.',
    });
  }

  /** Sends each matching event (the whole EventBridge event, as JSON) to `queue`. */
  routeToQueue(id: string, match: RouteMatch, queue: sqs.IQueue): events.Rule {
    return this.rule(
      id,
      match,
      new targets.SqsQueue(queue, { deadLetterQueue: this.deadLetterQueue, ...TARGET_RETRY }),
    );
  }

  private rule(id: string, match: RouteMatch, target: events.IRuleTarget): events.Rule {
    const detailType = 'detailTypes' in match ? [...match.detailTypes] : [{ prefix: match.detailTypePrefix }];
    return new events.Rule(this, id, {
      eventBus: this.bus,
      description: `switchyard route ${id}`,
      eventPattern: { detailType: detailType as string[] },
      targets: [target],
    });
  }
}
