import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CallOutcome, Dimension, HubMetric } from '../functions/shared/hub-metrics.js';
import { INGEST_SERVICE } from './alarms.js';
import { METRICS_NAMESPACE } from './service-function.js';

export interface HubDashboardProps {
  /** The webhook API: request outcomes and ack latency. */
  readonly api: apigateway.RestApi;
  /** The source names: requests, outcomes, ack latency and duplicates per source. */
  readonly sources: readonly string[];
  /**
   * Ack budget the p99 latency graphs mark, milliseconds (the SLA's tightest, `Alarms.sla.ackP99Milliseconds`).
   * @default no line
   */
  readonly ackBudgetMilliseconds?: number;
  /** Queues whose depth and oldest-message age are graphed, by name (e.g. `inbox`). */
  readonly queues: Readonly<Record<string, sqs.IQueue>>;
  /** Dead-letter (and parking) queues whose depth and oldest-message age are graphed, by name. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** Flows (Step Functions state machines) by name: outcomes and durations. */
  readonly flows: Readonly<Record<string, sfn.IStateMachine>>;
  /** The company systems the connectors call (`downstream` dimension): calls by outcome and latency. */
  readonly downstreams: readonly string[];
  /**
   * Functions whose errors and throttles are graphed, by name.
   * @default none
   */
  readonly functions?: Readonly<Record<string, lambda.IFunction>>;
  /** Every alarm, metric and composite: the alarm status widget shows them all. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/** One graph's size: a third of the 24-column dashboard, 6 rows high. */
const GRAPH = { width: 8, height: 6 } as const;
/** Alarms in one alarm status widget (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html#CloudWatch-Dashboard-Properties-Alarm-Widget-Object: at most 100). */
const ALARMS_PER_WIDGET = 100;
const FIVE_MINUTES = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);

/**
 * The hub's CloudWatch dashboard, read top to bottom like the path of an event: the status of every alarm;
 * requests, outcomes and ack latency per source (the hub's metrics, functions/shared/hub-metrics.ts, and API
 * Gateway's); queue depth and age, dead letters; duplicates dropped; flow outcomes and durations; calls and
 * latency per company system; function errors and throttles. Metrics whose dimension set includes a free value
 * (`eventType`, `reason`) are summed with SEARCH expressions, which dashboards allow and alarms do not
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html).
 */
export class HubDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard in the CloudWatch console. */
  readonly consoleUrl: string;

  constructor(scope: Construct, id: string, props: HubDashboardProps) {
    super(scope, id);
    const stage = props.api.deploymentStage;
    const region = Stack.of(this).region;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(6),
    });
    this.consoleUrl = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboard.dashboardName}`;

    const hub = (
      metricName: string,
      dimensionsMap: Record<string, string>,
      statistic: string,
      label: string,
    ) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap,
        statistic,
        period: FIVE_MINUTES,
        label,
      });
    /**
     * One hub metric of one source, summed over the values of its free dimension (`eventType`) with a SEARCH
     * whose schema is the metric's exact dimension set; any emitting service.
     */
    const summed = (metricName: string, source: string) =>
      new cloudwatch.MathExpression({
        expression: `SUM(SEARCH('{${METRICS_NAMESPACE},${Dimension.eventType},${Dimension.service},${Dimension.source}} MetricName="${metricName}" ${Dimension.source}="${source}"', 'Sum', 300))`,
        usingMetrics: {},
        label: source,
        period: FIVE_MINUTES,
      });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      options: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, ...GRAPH, ...options });
    const text = (markdown: string) => new cloudwatch.TextWidget({ markdown, width: 24, height: 1 });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# switchyard\nEvery alarm below links its runbook (docs/runbooks/). Redrive dead letters with ' +
          '`npm run ops -- dead-letters` and `npm run ops -- redrive <queue>`.',
        width: 24,
        height: 2,
      }),
    );
    for (let start = 0; start < props.alarms.length; start += ALARMS_PER_WIDGET) {
      const alarms = props.alarms.slice(start, start + ALARMS_PER_WIDGET);
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: start === 0 ? 'Alarms' : 'Alarms (continued)',
          alarms: [...alarms],
          sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
          width: 24,
          height: Math.min(12, 2 + Math.ceil(alarms.length / 4)),
        }),
      );
    }

    const budget = props.ackBudgetMilliseconds;
    this.dashboard.addWidgets(text('## Ingress: requests, outcomes and ack latency per source'));
    this.dashboard.addWidgets(
      graph(
        'Requests received per source (WebhookReceived)',
        props.sources.map((source) =>
          hub(
            HubMetric.WebhookReceived,
            { [Dimension.service]: INGEST_SERVICE, [Dimension.source]: source },
            'Sum',
            source,
          ),
        ),
      ),
      graph(
        'Events enqueued per source (WebhookEnqueued)',
        props.sources.map((source) => summed(HubMetric.WebhookEnqueued, source)),
      ),
      graph('Rejected per source and reason (WebhookRejected), not enqueued (EnqueueFailed)', [
        ...props.sources.map(
          (source) =>
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},${Dimension.reason},${Dimension.service},${Dimension.source}} MetricName="${HubMetric.WebhookRejected}" ${Dimension.service}="${INGEST_SERVICE}" ${Dimension.source}="${source}"', 'Sum', 300)`,
              usingMetrics: {},
              label: `${source} rejected`,
              period: FIVE_MINUTES,
            }),
        ),
        ...props.sources.map((source) =>
          hub(
            HubMetric.EnqueueFailed,
            { [Dimension.service]: INGEST_SERVICE, [Dimension.source]: source },
            'Sum',
            `${source} 503`,
          ),
        ),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Ack latency at API Gateway (Latency), ms',
        [
          stage.metricLatency({ period: ONE_MINUTE, statistic: 'p50', label: 'p50' }),
          stage.metricLatency({ period: ONE_MINUTE, statistic: 'p99', label: 'p99' }),
        ],
        budget === undefined ? {} : { leftAnnotations: [{ value: budget, label: 'ack budget (p99)' }] },
      ),
      graph(
        'Ack latency in the ingest function per source (AckLatency), ms',
        props.sources.flatMap((source) => [
          hub(
            HubMetric.AckLatency,
            { [Dimension.service]: INGEST_SERVICE, [Dimension.source]: source },
            'p50',
            `${source} p50`,
          ),
          hub(
            HubMetric.AckLatency,
            { [Dimension.service]: INGEST_SERVICE, [Dimension.source]: source },
            'p99',
            `${source} p99`,
          ),
        ]),
        budget === undefined ? {} : { leftAnnotations: [{ value: budget, label: 'ack budget (p99)' }] },
      ),
      graph('API answers: share of 4xx and 5xx (4XXError, 5XXError)', [
        stage.metricClientError({ period: FIVE_MINUTES, statistic: 'Average', label: '4xx share' }),
        stage.metricServerError({ period: FIVE_MINUTES, statistic: 'Average', label: '5xx share' }),
      ]),
    );

    this.dashboard.addWidgets(text('## Queues and dead letters'));
    const queueGraphs = (queues: Readonly<Record<string, sqs.IQueue>>, kind: string) => [
      graph(
        `${kind}: messages waiting (ApproximateNumberOfMessagesVisible)`,
        Object.entries(queues).map(([name, queue]) =>
          queue.metricApproximateNumberOfMessagesVisible({
            period: ONE_MINUTE,
            statistic: 'Maximum',
            label: name,
          }),
        ),
      ),
      graph(
        `${kind}: oldest message, seconds (ApproximateAgeOfOldestMessage)`,
        Object.entries(queues).map(([name, queue]) =>
          queue.metricApproximateAgeOfOldestMessage({
            period: ONE_MINUTE,
            statistic: 'Maximum',
            label: name,
          }),
        ),
      ),
    ];
    this.dashboard.addWidgets(
      ...queueGraphs(props.queues, 'Queues'),
      graph(
        'Duplicates dropped by the router per source (DuplicateDropped)',
        props.sources.map((source) => summed(HubMetric.DuplicateDropped, source)),
      ),
    );
    this.dashboard.addWidgets(...queueGraphs(props.deadLetterQueues, 'Dead letters'));

    this.dashboard.addWidgets(text('## Flows'));
    for (const [flow, machine] of Object.entries(props.flows)) {
      const count = { period: FIVE_MINUTES, statistic: 'Sum' };
      this.dashboard.addWidgets(
        graph(`${flow}: executions by outcome (AWS/States)`, [
          machine.metricStarted({ ...count, label: 'started' }),
          machine.metricSucceeded({ ...count, label: 'succeeded' }),
          machine.metricFailed({ ...count, label: 'failed' }),
          machine.metricTimedOut({ ...count, label: 'timed out' }),
          machine.metricAborted({ ...count, label: 'aborted' }),
        ]),
        graph(`${flow}: execution time, ms (ExecutionTime)`, [
          machine.metricTime({ period: FIVE_MINUTES, statistic: 'p50', label: 'p50' }),
          machine.metricTime({ period: FIVE_MINUTES, statistic: 'p99', label: 'p99' }),
        ]),
      );
    }

    this.dashboard.addWidgets(text('## Company systems, as the connectors see them'));
    const outcomes = Object.values(CallOutcome);
    this.dashboard.addWidgets(
      ...props.downstreams.map((system) =>
        graph(
          `${system}: calls by outcome (DownstreamCall)`,
          outcomes.map((outcome) =>
            hub(
              HubMetric.DownstreamCall,
              { [Dimension.downstream]: system, [Dimension.outcome]: outcome },
              'Sum',
              outcome,
            ),
          ),
        ),
      ),
      graph(
        'Call latency per system, ms (DownstreamLatency)',
        props.downstreams.flatMap((system) => [
          hub(HubMetric.DownstreamLatency, { [Dimension.downstream]: system }, 'p50', `${system} p50`),
          hub(HubMetric.DownstreamLatency, { [Dimension.downstream]: system }, 'p99', `${system} p99`),
        ]),
      ),
    );

    const functions = Object.entries(props.functions ?? {});
    if (functions.length > 0) {
      this.dashboard.addWidgets(text('## Functions'));
      const sum = { period: FIVE_MINUTES, statistic: 'Sum' };
      this.dashboard.addWidgets(
        graph(
          'Errors per function (AWS/Lambda Errors)',
          functions.map(([name, fn]) => fn.metricErrors({ ...sum, label: name })),
        ),
        graph(
          'Throttles per function (AWS/Lambda Throttles)',
          functions.map(([name, fn]) => fn.metricThrottles({ ...sum, label: name })),
        ),
        graph(
          'Duration p99 per function, ms (AWS/Lambda Duration)',
          functions.map(([name, fn]) =>
            fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99', label: name }),
          ),
        ),
      );
    }
  }
}
