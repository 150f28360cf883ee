import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface AlarmsProps {
  /**
   * Where runbooks are published; each alarm's description links to `<runbookBaseUrl>/<runbook>.md`.
   * @default 'docs/runbooks'
   */
  readonly runbookBaseUrl?: string;
}

/**
 * The on-call topic (encrypted with a key CloudWatch may use) and the alarms that page it. Every alarm
 * notifies on ALARM and on OK, and its description says what broke and links its runbook.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly runbookBaseUrl: string;

  constructor(scope: Construct, id: string, props: AlarmsProps = {}) {
    super(scope, id);
    this.runbookBaseUrl = props.runbookBaseUrl ?? 'docs/runbooks';
    const key = new kms.Key(this, 'TopicKey', {
      description: 'switchyard on-call topic',
      enableKeyRotation: true,
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'OnCallTopic', {
      displayName: 'switchyard on-call',
      masterKey: key,
      enforceSSL: true,
    });
  }

  /** Pages when a dead-letter queue holds any message: an event could not be processed and waits for on-call. */
  watchDeadLetterQueue(id: string, queue: sqs.IQueue, holds: string): cloudwatch.Alarm {
    return this.add(
      id,
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      `${holds} is not empty: events failed after every retry and wait for a redrive.`,
      'dead-letter-queue',
    );
  }

  /** Pages when a flow execution fails, times out or is aborted: one alarm each, so the page says which. */
  watchFlow(id: string, stateMachine: sfn.IStateMachine, flow: string): cloudwatch.Alarm[] {
    const period = { period: Duration.minutes(1), statistic: 'Sum' };
    const outcomes = [
      [
        'Failed',
        stateMachine.metricFailed(period),
        'failed: a step failed for good, compensations ran, and flow.failed was emitted',
      ],
      ['TimedOut', stateMachine.metricTimedOut(period), 'timed out: an execution ran past the flow timeout'],
      [
        'Aborted',
        stateMachine.metricAborted(period),
        'was aborted: someone or something stopped an execution',
      ],
    ] as const;
    return outcomes.map(([outcome, metric, what]) =>
      this.add(`${id}${outcome}`, metric, `An execution of the ${flow} flow ${what}.`, 'flow-failed'),
    );
  }

  /** Pages when `metric` (its own statistic and period) is above 0. */
  watchMetric(id: string, metric: cloudwatch.IMetric, what: string, runbook: string): cloudwatch.Alarm {
    return this.add(id, metric, what, runbook);
  }

  private add(id: string, metric: cloudwatch.IMetric, what: string, runbook: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} Runbook: ${this.runbookBaseUrl}/${runbook}.md`,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }
}
