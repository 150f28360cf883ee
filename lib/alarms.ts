import { Duration, Lazy } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CallOutcome, Dimension, HubMetric, RejectReason } from '../functions/shared/hub-metrics.js';
import type { SignatureScheme } from '../functions/sources.js';
import type { SlaSettings, SourceSettings, WorkerName } from './config.js';
import type { EventRouting } from './event-routing.js';
import { pascalCase } from './names.js';
import type { QueueWorker } from './queue-worker.js';
import { METRICS_NAMESPACE } from './service-function.js';
import type { WebhookIngress } from './webhook-ingress.js';

/**
 * How long each vendor waits for the hub's answer before it counts a delivery as failed, seconds, by signature
 * scheme: the default of `SourceSla.vendorTimeoutSeconds`.
 * - slack 3: https://api.slack.com/apis/events-api (acknowledge within 3 seconds);
 * - stripe 3: Stripe publishes no number (https://support.stripe.com/questions/webhooks-how-to-investigate-and-fix-timed-out);
 *   third parties claim 3 to 30 s, so the lowest claim;
 * - shopify 5: 1 s to connect, 5 s in all (https://shopify.dev/docs/apps/build/webhooks/subscribe/https, via
 *   Shopify's support answers);
 * - github 10: https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries;
 * - twilio 15: https://www.twilio.com/docs/errors/11205;
 * - standard-webhooks 15: the spec advises senders 15 to 30 s
 *   (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md), so the lower;
 * - hmac 3: a generic sender whose timeout is unknown: the strictest known (Slack).
 */
export const VENDOR_TIMEOUT_SECONDS: Readonly<Record<SignatureScheme, number>> = {
  slack: 3,
  stripe: 3,
  shopify: 5,
  github: 10,
  twilio: 15,
  'standard-webhooks': 15,
  hmac: 3,
};

/**
 * Share of a vendor's timeout the acknowledgement p99 may take: the rest is the vendor's network, the tail above
 * p99 and cold starts (design goal G2: p99 ≤ 1 s against Slack's 3 s).
 */
export const ACK_BUDGET_SHARE = 1 / 3;

/** The defaults of `SlaSettings` (lib/config.ts). */
export const SLA_DEFAULTS = {
  maxSignatureFailuresPer5Minutes: 10,
  /** Seconds: 5 minutes, as the reference alarm on `ApproximateAgeOfOldestMessage`. */
  maxAgeSeconds: 300,
  maxErrorRate: 0.05,
  /** API 5xx above 1 % over 5 minutes (the reference's on-call alarm). */
  max5xxRate: 0.01,
  downstreamMaxErrorRate: 0.05,
} as const;

/** The workers that consume a queue, so the age of its oldest message can be watched. */
export const QUEUE_WORKERS: readonly WorkerName[] = ['inbox', 'order-paid', 'email-sync'];
const WORKERS: readonly WorkerName[] = ['ingest', 'inbox', 'order-paid', 'email-sync', 'reconcile'];
const SYSTEMS = ['accounting', 'crm', 'email'] as const;
/** SQS keeps a message at most 14 days (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html). */
const MAX_QUEUE_AGE_SECONDS = 1_209_600;
/** CloudWatch limits an alarm description to 1024 characters (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html). */
const MAX_DESCRIPTION_LENGTH = 1024;
/**
 * The ingest function's Powertools service name (lib/webhook-ingress.ts): the `service` dimension of the metrics
 * it emits (functions/shared/hub-metrics.ts).
 */
export const INGEST_SERVICE = 'ingest';

/** One source's service levels, defaults applied. */
export interface ResolvedSourceSla {
  readonly vendorTimeoutSeconds: number;
  readonly ackP99Milliseconds: number;
  readonly maxSignatureFailuresPer5Minutes: number;
}

/** The service levels the alarms enforce, defaults applied and checked. */
export interface ResolvedSla {
  readonly sources: Readonly<Record<string, ResolvedSourceSla>>;
  readonly workers: Readonly<
    Record<WorkerName, { readonly maxAgeSeconds: number; readonly maxErrorRate: number }>
  >;
  readonly max5xxRate: number;
  readonly downstreams: Readonly<Record<string, { readonly maxErrorRate: number }>>;
  /** The smallest ack budget of all sources, milliseconds: the threshold of the API's p99 latency alarm. */
  readonly ackP99Milliseconds: number;
}

/**
 * Applies the defaults to `sla` and checks it against the hub's sources.
 * @throws Error at synthesis naming the setting, its value and the accepted range, for a value that makes no
 *   sense (a rate outside (0, 1], an ack budget not below the vendor's timeout, an unknown source or worker, a
 *   queue age for a worker without a queue)
 */
export function resolveSla(sla: SlaSettings = {}, sources: readonly SourceSettings[] = []): ResolvedSla {
  const fail = (path: string, value: unknown, rule: string): never => {
    throw new Error(`sla.${path} ${JSON.stringify(value)} ${rule}`);
  };
  const rate = (path: string, value: number | undefined, fallback: number): number => {
    const chosen = value ?? fallback;
    if (!Number.isFinite(chosen) || chosen <= 0 || chosen > 1) {
      fail(path, value, 'must be a fraction above 0 and at most 1 (0.05 is 5 %)');
    }
    return chosen;
  };
  const names = new Set(sources.map((source) => source.name));
  for (const name of Object.keys(sla.sources ?? {})) {
    if (!names.has(name))
      fail(`sources.${name}`, name, `is not one of the hub's sources (${[...names].join(', ')})`);
  }
  const resolvedSources: Record<string, ResolvedSourceSla> = {};
  for (const source of sources) {
    const given = sla.sources?.[source.name] ?? {};
    const path = `sources.${source.name}`;
    const timeout = given.vendorTimeoutSeconds ?? VENDOR_TIMEOUT_SECONDS[source.scheme];
    if (!Number.isFinite(timeout) || timeout < 1 || timeout > 60) {
      fail(`${path}.vendorTimeoutSeconds`, timeout, 'must be from 1 to 60 seconds');
    }
    const budget = given.ackP99Milliseconds ?? Math.floor(timeout * 1000 * ACK_BUDGET_SHARE);
    if (!Number.isFinite(budget) || budget < 100 || budget >= timeout * 1000) {
      fail(
        `${path}.ackP99Milliseconds`,
        budget,
        `must be from 100 ms to below the vendor's timeout (${timeout * 1000} ms): at the timeout vendors already count deliveries as failed`,
      );
    }
    const failures = given.maxSignatureFailuresPer5Minutes ?? SLA_DEFAULTS.maxSignatureFailuresPer5Minutes;
    if (!Number.isInteger(failures) || failures < 0) {
      fail(`${path}.maxSignatureFailuresPer5Minutes`, failures, 'must be a whole number, 0 or more');
    }
    resolvedSources[source.name] = {
      vendorTimeoutSeconds: timeout,
      ackP99Milliseconds: budget,
      maxSignatureFailuresPer5Minutes: failures,
    };
  }
  for (const name of Object.keys(sla.workers ?? {})) {
    if (!WORKERS.includes(name as WorkerName))
      fail(`workers.${name}`, name, `is not a worker (${WORKERS.join(', ')})`);
  }
  const workers = Object.fromEntries(
    WORKERS.map((name) => {
      const given = sla.workers?.[name] ?? {};
      if (given.maxAgeSeconds !== undefined && !QUEUE_WORKERS.includes(name)) {
        fail(
          `workers.${name}.maxAgeSeconds`,
          given.maxAgeSeconds,
          `is not allowed: ${name} consumes no queue`,
        );
      }
      const age = given.maxAgeSeconds ?? SLA_DEFAULTS.maxAgeSeconds;
      if (!Number.isInteger(age) || age < 60 || age > MAX_QUEUE_AGE_SECONDS) {
        fail(
          `workers.${name}.maxAgeSeconds`,
          age,
          `must be a whole number of seconds from 60 (the alarm's period) to ${MAX_QUEUE_AGE_SECONDS} (the queue's retention)`,
        );
      }
      return [
        name,
        {
          maxAgeSeconds: age,
          maxErrorRate: rate(`workers.${name}.maxErrorRate`, given.maxErrorRate, SLA_DEFAULTS.maxErrorRate),
        },
      ];
    }),
  ) as Record<WorkerName, { maxAgeSeconds: number; maxErrorRate: number }>;
  for (const name of Object.keys(sla.downstreams ?? {})) {
    if (!(SYSTEMS as readonly string[]).includes(name)) {
      fail(`downstreams.${name}`, name, `is not a system (${SYSTEMS.join(', ')})`);
    }
  }
  const downstreams = Object.fromEntries(
    SYSTEMS.map((system) => [
      system,
      {
        maxErrorRate: rate(
          `downstreams.${system}.maxErrorRate`,
          sla.downstreams?.[system]?.maxErrorRate,
          SLA_DEFAULTS.downstreamMaxErrorRate,
        ),
      },
    ]),
  );
  const budgets = Object.values(resolvedSources).map((source) => source.ackP99Milliseconds);
  return {
    sources: resolvedSources,
    workers,
    max5xxRate: rate('max5xxRate', sla.max5xxRate, SLA_DEFAULTS.max5xxRate),
    downstreams,
    ackP99Milliseconds:
      budgets.length > 0
        ? Math.min(...budgets)
        : Math.floor(VENDOR_TIMEOUT_SECONDS.slack * 1000 * ACK_BUDGET_SHARE),
  };
}

export interface AlarmsProps {
  /**
   * Where runbooks are published; each alarm's description links to `<runbookBaseUrl>/<runbook>.md`.
   * @default 'docs/runbooks'
   */
  readonly runbookBaseUrl?: string;
  /**
   * The service levels every threshold comes from, checked against `sources`.
   * @default the documented defaults of `SlaSettings`
   */
  readonly sla?: SlaSettings;
  /**
   * The hub's sources: their SLA defaults follow their signature scheme.
   * @default none
   */
  readonly sources?: readonly SourceSettings[];
}

/** A part of the hub whose alarms page once, through one composite alarm. */
export interface AlarmComponentProps {
  /** The part, as the page names it, e.g. `the webhook ingress (API Gateway and the ingest function)`. */
  readonly what: string;
  /** The likely causes, one sentence or a few. */
  readonly causes: string;
  /** The runbook's name: `<runbookBaseUrl>/<runbook>.md`. */
  readonly runbook: string;
  /**
   * An alarm whose ALARM state means the cause is elsewhere and already pages (a downstream system this part
   * calls): while it is in ALARM, and `SUPPRESSION_EXTENSION` after, this component's page is held back.
   * @default none
   */
  readonly suppressedBy?: cloudwatch.IAlarm;
}

/**
 * How long a composite waits for its suppressor to reach ALARM before paging, and keeps quiet after the
 * suppressor returns to OK: a downstream outage ends in a tail of failures (retries running out) that is part of
 * the same incident (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-suppression.html).
 */
export const SUPPRESSION_WAIT = Duration.minutes(2);
export const SUPPRESSION_EXTENSION = Duration.minutes(15);

/**
 * One component: a composite alarm, ANY of its children in ALARM, that pages on ALARM and on OK. Its children
 * have no actions of their own. Its description names the part, lists the children and links the runbook.
 */
export class AlarmComponent {
  readonly alarm: cloudwatch.CompositeAlarm;
  readonly children: cloudwatch.Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: AlarmComponentProps,
    topic: sns.ITopic,
    runbookBaseUrl: string,
  ) {
    const describe = () =>
      `Failing: ${props.what}. At least one of its alarms is in ALARM (${this.children
        .map((child) => child.node.id)
        .join(', ')}); the notification names it, and its description says what broke. Likely causes: ` +
      `${props.causes} ` +
      `Runbook: ${runbookBaseUrl}/${props.runbook}.md`;
    this.alarm = new cloudwatch.CompositeAlarm(scope, id, {
      alarmRule: {
        renderAlarmRule: () =>
          Lazy.string({ produce: () => cloudwatch.AlarmRule.anyOf(...this.children).renderAlarmRule() }),
      },
      alarmDescription: Lazy.string({ produce: describe }),
      ...(props.suppressedBy
        ? {
            actionsSuppressor: props.suppressedBy,
            actionsSuppressorWaitPeriod: SUPPRESSION_WAIT,
            actionsSuppressorExtensionPeriod: SUPPRESSION_EXTENSION,
          }
        : {}),
    });
    this.alarm.addAlarmAction(new actions.SnsAction(topic));
    this.alarm.addOkAction(new actions.SnsAction(topic));
    this.alarm.node.addValidation({
      validate: () => {
        if (this.children.length === 0) return [`the composite alarm ${id} has no alarms`];
        const length = describe().length;
        return length > MAX_DESCRIPTION_LENGTH
          ? [
              `the description of ${id} is ${length} characters, more than CloudWatch's ${MAX_DESCRIPTION_LENGTH}`,
            ]
          : [];
      },
    });
  }

  /** Makes `alarm` a child: it pages through this component only. */
  add(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    this.children.push(alarm);
    return alarm;
  }
}

/** Where an alarm pages and when it breaches. */
export interface WatchOptions {
  /**
   * The component whose composite pages for the alarm; the alarm then has no actions of its own.
   * @default none: the alarm pages on its own (ALARM and OK)
   */
  readonly component?: AlarmComponent;
  /**
   * The alarm is in ALARM above this.
   * @default 0
   */
  readonly threshold?: number;
  /**
   * Periods evaluated.
   * @default 1
   */
  readonly evaluationPeriods?: number;
  /**
   * Periods of `evaluationPeriods` above the threshold that make ALARM.
   * @default evaluationPeriods
   */
  readonly datapointsToAlarm?: number;
}

/**
 * The on-call topic (encrypted with a key CloudWatch may use) and the alarms that page it, with thresholds from
 * the SLA (`HubSettings.sla`). Every alarm's description says what broke and its likely causes, and ends with
 * `Runbook: <runbookBaseUrl>/<runbook>.md`.
 *
 * Paging rule: every metric alarm notifies on ALARM and OK either itself or through exactly one component
 * composite that does; its children carry no actions. Alarms on work that waits for an operator (dead-letter
 * queues, parked sagas) page themselves: their state lasts until someone acts, and a composite already in ALARM
 * (or held back by a suppressor) would never announce them. Composites used only as suppressors have no actions.
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  /** Every metric alarm. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Every composite alarm: the components' and the suppressors. */
  readonly composites: cloudwatch.CompositeAlarm[] = [];
  /** The thresholds. */
  readonly sla: ResolvedSla;
  private readonly runbookBaseUrl: string;
  private readonly downstreamComponents = new Map<string, AlarmComponent>();

  /** @throws Error at synthesis for an SLA that makes no sense (see `resolveSla`) */
  constructor(scope: Construct, id: string, props: AlarmsProps = {}) {
    super(scope, id);
    this.runbookBaseUrl = props.runbookBaseUrl ?? 'docs/runbooks';
    this.sla = resolveSla(props.sla, props.sources);
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

  /** A component whose alarms page once, through its composite alarm `<id>Component`. */
  component(id: string, props: AlarmComponentProps): AlarmComponent {
    const component = new AlarmComponent(this, `${id}Component`, props, this.topic, this.runbookBaseUrl);
    this.composites.push(component.alarm);
    return component;
  }

  /**
   * The component of one company system (`accounting`, `crm`, `email`), created on first use with its error-rate
   * alarm (`DownstreamCall` transient and terminal over all calls, above the SLA's `downstreams.<system>`); the
   * circuit-breaker alarm joins it (lib/downstream-guards.ts).
   */
  downstream(system: string): AlarmComponent {
    const known = this.downstreamComponents.get(system);
    if (known) return known;
    const component = this.component(`${pascalCase(system)}Downstream`, {
      what: `the ${system} system, as the connectors see it`,
      causes: `${system} is down, slow, throttling, or refuses the hub's requests (credentials, contract change).`,
      runbook: 'downstream',
    });
    this.downstreamComponents.set(system, component);
    const call = (outcome: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: HubMetric.DownstreamCall,
        dimensionsMap: { [Dimension.downstream]: system, [Dimension.outcome]: outcome },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      });
    const maxErrorRate = this.sla.downstreams[system]?.maxErrorRate ?? SLA_DEFAULTS.downstreamMaxErrorRate;
    this.add(
      `${pascalCase(system)}DownstreamErrorRate`,
      new cloudwatch.MathExpression({
        expression:
          'IF(FILL(ok, 0) + FILL(transient, 0) + FILL(terminal, 0) > 0, (FILL(transient, 0) + FILL(terminal, 0)) / ' +
          '(FILL(ok, 0) + FILL(transient, 0) + FILL(terminal, 0)), 0)',
        usingMetrics: {
          ok: call(CallOutcome.ok),
          transient: call(CallOutcome.transient),
          terminal: call(CallOutcome.terminal),
        },
        label: `${system} call error rate`,
        period: Duration.minutes(5),
      }),
      `More than ${percent(maxErrorRate)} of the calls to ${system} failed over 5 minutes (5xx, 429, timeouts, or ` +
        '4xx refusals): flows and consumers calling it retry, then fail or dead-letter.',
      'downstream',
      { component, threshold: maxErrorRate },
    );
    return component;
  }

  /**
   * The alarm to suppress a component with while any of `systems` is failing: the system's component itself for
   * one system, else a composite of theirs (ANY, no actions of its own).
   */
  downstreamSuppressor(id: string, systems: readonly string[]): cloudwatch.IAlarm {
    const components = [...new Set(systems)].map((system) => this.downstream(system));
    const [only] = components;
    if (components.length === 1 && only) return only.alarm;
    const suppressor = new cloudwatch.CompositeAlarm(this, `${id}Suppressor`, {
      alarmRule: cloudwatch.AlarmRule.anyOf(...components.map((component) => component.alarm)),
      alarmDescription:
        `Any of the systems ${systems.join(', ')} is failing. No actions: it only holds back the pages of the parts ` +
        `that call them while those systems page themselves. Runbook: ${this.runbookBaseUrl}/downstream.md`,
    });
    this.composites.push(suppressor);
    return suppressor;
  }

  /**
   * The ingress components: `Ingress` (the API's 5xx rate and p99 latency, the ingest function's error and
   * throttle rates) and `Signatures` (each source's signature failures).
   */
  watchIngress(ingress: WebhookIngress, sources: readonly SourceSettings[]): AlarmComponent[] {
    const component = this.component('Ingress', {
      what: 'the webhook ingress (API Gateway and the ingest function)',
      causes:
        'SQS, KMS, S3 or Secrets Manager failing or slow, a bad deploy of the ingest function, cold starts, or the ' +
        "account's Lambda concurrency spent.",
      runbook: 'ingress',
    });
    this.watchApi('WebhookApi', ingress.api, component);
    this.watchFunction('Ingest', ingress.ingest, 'the ingest function', 'ingest', component);
    const signatures = this.component('Signatures', {
      what: 'signature verification of the webhook sources',
      causes:
        'a vendor rotated its signing secret and the hub has the old one, a source misconfigured (scheme, ' +
        'secret, public URL), or someone probing the endpoint.',
      runbook: 'signature-failures',
    });
    for (const source of sources) {
      this.watchSignatureFailures(`${pascalCase(source.name)}SignatureFailures`, source.name, signatures);
    }
    return [component, signatures];
  }

  /**
   * The `Routing` component: the inbox queue's age, the router's error and throttle rates, and each route of
   * `routing` (every rule on its bus at the time of the call) failing to deliver.
   */
  watchRouting(inbox: QueueWorker, routing: EventRouting): AlarmComponent {
    const component = this.component('Routing', {
      what: 'routing (the inbox queue, the router function and the routes of the event bus)',
      causes:
        'a mapper failing on a vendor payload, the idempotency table or the event bus failing or throttling, a ' +
        'bad deploy of the router, or a route target removed or locked (queue policy, key).',
      runbook: 'routing',
    });
    this.watchQueueAge('InboxAge', inbox.queue.queue, 'inbox', component);
    this.watchFunction('Router', inbox.worker, 'the router function', 'inbox', component);
    for (const rule of routing.node.children.filter(
      (child): child is events.Rule => child instanceof events.Rule,
    )) {
      this.watchRoute(`${rule.node.id}Failed`, rule, routing.bus, rule.node.id, component);
    }
    return component;
  }

  /**
   * The component of one flow: its executions failing, timing out or aborted, its starter queue's age, and the
   * error and throttle rates of its starter and of every step, held back while a system it calls is failing.
   * @param dependsOn the systems its steps call
   */
  watchFlowComponent(
    id: string,
    flow: WorkerName,
    parts: {
      readonly stateMachine: sfn.IStateMachine;
      readonly starter: QueueWorker;
      readonly steps: readonly lambda.IFunction[];
    },
    dependsOn: readonly string[],
  ): AlarmComponent {
    const component = this.component(id, {
      what: `the ${flow} flow (its starter queue, starter, steps and executions)`,
      causes:
        'a company system refusing or failing calls (held back while that system pages), a step bug or bad ' +
        'deploy, Step Functions or the idempotency table failing, or a stuck starter.',
      runbook: `${flow}-flow`,
      ...(dependsOn.length > 0
        ? { suppressedBy: this.downstreamSuppressor(`${id}Downstreams`, dependsOn) }
        : {}),
    });
    this.watchFlow(id, parts.stateMachine, flow, component);
    this.watchQueueAge(`${id}StartAge`, parts.starter.queue.queue, flow, component);
    this.watchFunction(`${id}Starter`, parts.starter.worker, `the ${flow} starter`, flow, component);
    for (const step of parts.steps) {
      this.watchFunction(step.node.id, step, `the ${flow} step ${step.node.id}`, flow, component);
    }
    return component;
  }

  /**
   * The component of one queue consumer: its queue's age and its function's error and throttle rates, held
   * back while a system it calls is failing.
   * @param dependsOn the systems it calls
   */
  watchConsumer(
    id: string,
    worker: WorkerName,
    consumer: QueueWorker,
    dependsOn: readonly string[],
  ): AlarmComponent {
    const component = this.component(id, {
      what: `the ${worker} consumer (its queue and function)`,
      causes:
        'the system it calls refusing or failing calls (held back while that system pages), a bug or bad ' +
        'deploy, or its tables failing or throttling.',
      runbook: worker,
      ...(dependsOn.length > 0
        ? { suppressedBy: this.downstreamSuppressor(`${id}Downstreams`, dependsOn) }
        : {}),
    });
    this.watchQueueAge(`${id}Age`, consumer.queue.queue, worker, component);
    this.watchFunction(id, consumer.worker, `the ${worker} consumer`, worker, component);
    return component;
  }

  /**
   * Pages when a dead-letter queue holds any message: an event could not be processed and waits for on-call.
   * Always pages itself (see the paging rule).
   */
  watchDeadLetterQueue(id: string, queue: sqs.IQueue, holds: string): cloudwatch.Alarm {
    return this.add(
      id,
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      `${holds} is not empty: events failed after every retry and wait for a redrive.`,
      'dead-letter-queue',
    );
  }

  /**
   * Pages when a flow execution fails, times out or is aborted: one alarm each (Sum over 1 minute above 0), so
   * the page says which; through `component` when given.
   */
  watchFlow(
    id: string,
    stateMachine: sfn.IStateMachine,
    flow: string,
    component?: AlarmComponent,
  ): cloudwatch.Alarm[] {
    const period = { period: Duration.minutes(1), statistic: 'Sum' };
    const outcomes = [
      [
        'Failed',
        stateMachine.metricFailed(period),
        'failed: a step failed for good (a system refused it, or retries ran out), compensations ran, and flow.failed was emitted',
      ],
      ['TimedOut', stateMachine.metricTimedOut(period), 'timed out: an execution ran past the flow timeout'],
      [
        'Aborted',
        stateMachine.metricAborted(period),
        'was aborted: someone or something stopped an execution',
      ],
    ] as const;
    return outcomes.map(([outcome, metric, what]) =>
      this.add(`${id}${outcome}`, metric, `An execution of the ${flow} flow ${what}.`, 'flow-failed', {
        ...(component ? { component } : {}),
      }),
    );
  }

  /** Pages when `metric` (its own statistic and period) is above `options.threshold` (0 by default). */
  watchMetric(
    id: string,
    metric: cloudwatch.IMetric,
    what: string,
    runbook: string,
    options: WatchOptions = {},
  ): cloudwatch.Alarm {
    return this.add(id, metric, what, runbook, options);
  }

  /**
   * Pages, through `component`, when the oldest message of `queue` (the one `worker` consumes) is older than
   * the worker's `maxAgeSeconds` (Maximum over 1 minute): the consumer is stuck, failing or too slow.
   */
  watchQueueAge(
    id: string,
    queue: sqs.IQueue,
    worker: WorkerName,
    component: AlarmComponent,
  ): cloudwatch.Alarm {
    const { maxAgeSeconds } = this.sla.workers[worker];
    return this.add(
      id,
      queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      `The ${worker} queue's oldest message waits for more than ${maxAgeSeconds} s: its consumer is failing, ` +
        'throttled or too slow for the traffic (records keep coming back), or its event source mapping is disabled.',
      'queue-age',
      { component, threshold: maxAgeSeconds },
    );
  }

  /**
   * Two alarms on `fn`, through `component`, over 5 minutes against the worker's `maxErrorRate`: its error rate
   * (Errors / Invocations) and its throttle rate (Throttles / (Invocations + Throttles): a throttled invocation is
   * not counted in Invocations), both metric math
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html,
   * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
   * @param what the function, as the page names it, e.g. `the router function`
   */
  watchFunction(
    id: string,
    fn: lambda.IFunction,
    what: string,
    worker: WorkerName,
    component: AlarmComponent,
  ): cloudwatch.Alarm[] {
    const { maxErrorRate } = this.sla.workers[worker];
    const sum = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
    const invocations = fn.metricInvocations(sum);
    return [
      this.add(
        `${id}ErrorRate`,
        new cloudwatch.MathExpression({
          expression: 'IF(FILL(invocations, 0) > 0, FILL(errors, 0) / FILL(invocations, 0), 0)',
          usingMetrics: { invocations, errors: fn.metricErrors(sum) },
          label: 'error rate',
          period: Duration.minutes(5),
        }),
        `More than ${percent(maxErrorRate)} of the invocations of ${what} failed over 5 minutes: a bug or a bad ` +
          'deploy, a dependency failing (AWS service or company system), or timeouts.',
        'function-errors',
        { component, threshold: maxErrorRate },
      ),
      this.add(
        `${id}ThrottleRate`,
        new cloudwatch.MathExpression({
          expression:
            'IF(FILL(invocations, 0) + FILL(throttles, 0) > 0, FILL(throttles, 0) / (FILL(invocations, 0) + FILL(throttles, 0)), 0)',
          usingMetrics: { invocations, throttles: fn.metricThrottles(sum) },
          label: 'throttle rate',
          period: Duration.minutes(5),
        }),
        `More than ${percent(maxErrorRate)} of the invocations of ${what} were throttled over 5 minutes: the ` +
          "account's concurrency is spent (other functions, a burst) or a reserved concurrency is too low.",
        'function-throttles',
        { component, threshold: maxErrorRate },
      ),
    ];
  }

  /**
   * The webhook API's alarms, through `component`: its 5xx rate (`5XXError` Average over 5 minutes, which is the
   * share of requests, above `max5xxRate`) and its p99 latency (`Latency` p99 per minute above the tightest ack
   * budget of all sources, 3 of 5 minutes)
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html).
   */
  watchApi(id: string, api: apigateway.RestApi, component: AlarmComponent): cloudwatch.Alarm[] {
    const stage = api.deploymentStage;
    const budget = this.sla.ackP99Milliseconds;
    const tightest = Object.entries(this.sla.sources)
      .filter(([, sla]) => sla.ackP99Milliseconds === budget)
      .map(([name]) => name);
    return [
      this.add(
        `${id}5xxRate`,
        stage.metricServerError({ period: Duration.minutes(5), statistic: cloudwatch.Stats.AVERAGE }),
        `More than ${percent(this.sla.max5xxRate)} of webhook requests were answered 5xx over 5 minutes: events ` +
          'could not be stored (SQS, KMS or S3 failing: 503) or the ingest function failed (502); vendors retry ' +
          'them, some (GitHub) never.',
        'api-errors',
        { component, threshold: this.sla.max5xxRate },
      ),
      this.add(
        `${id}LatencyP99`,
        stage.metricLatency({ period: Duration.minutes(1), statistic: cloudwatch.Stats.p(99) }),
        `The webhook API's p99 latency was above ${budget} ms in 3 of 5 minutes, the ack budget of ${tightest.join(', ')}: ` +
          'vendors may time out and retry or count failures. Likely cold starts, a slow SQS or Secrets Manager, or ' +
          'large bodies claim-checked to S3.',
        'ack-latency',
        { component, threshold: budget, evaluationPeriods: 5, datapointsToAlarm: 3 },
      ),
    ];
  }

  /**
   * Pages, through `component`, when a source's signature failures (`WebhookRejected`, dimensions exactly
   * `service`=`ingest`, `source`, `reason`=`signature`, Sum over 5 minutes) exceed its SLA's
   * `maxSignatureFailuresPer5Minutes`.
   */
  watchSignatureFailures(id: string, source: string, component: AlarmComponent): cloudwatch.Alarm {
    const sla = this.sla.sources[source];
    if (!sla) throw new Error(`no SLA for source "${source}": pass it in AlarmsProps.sources`);
    return this.add(
      id,
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: HubMetric.WebhookRejected,
        dimensionsMap: {
          [Dimension.service]: INGEST_SERVICE,
          [Dimension.source]: source,
          [Dimension.reason]: RejectReason.signature,
        },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      `More than ${sla.maxSignatureFailuresPer5Minutes} requests to source "${source}" had a wrong or missing ` +
        'signature in 5 minutes (401): the vendor rotated its signing secret and the hub does not have the new ' +
        'one, the source is misconfigured, or someone is probing the endpoint.',
      'signature-failures',
      { component, threshold: sla.maxSignatureFailuresPer5Minutes },
    );
  }

  /**
   * Pages, through `component`, when EventBridge fails to deliver to a route's target for good
   * (`FailedInvocations`, dimensions `EventBusName` and `RuleName` as for a custom bus, Sum over 1 minute above 0;
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-monitoring.html).
   */
  watchRoute(
    id: string,
    rule: events.IRule,
    bus: events.IEventBus,
    route: string,
    component: AlarmComponent,
  ): cloudwatch.Alarm {
    return this.add(
      id,
      new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        dimensionsMap: { EventBusName: bus.eventBusName, RuleName: rule.ruleName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(1),
      }),
      `EventBridge failed to deliver events of the route ${route} to its target for good: the target queue was ` +
        'deleted, its policy or key no longer lets EventBridge send, or it refuses the event.',
      'route-failed',
      { component },
    );
  }

  private add(
    id: string,
    metric: cloudwatch.IMetric,
    what: string,
    runbook: string,
    options: WatchOptions = {},
  ): cloudwatch.Alarm {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold: options.threshold ?? 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
      ...(options.datapointsToAlarm !== undefined ? { datapointsToAlarm: options.datapointsToAlarm } : {}),
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${what} Runbook: ${this.runbookBaseUrl}/${runbook}.md`,
    });
    if (options.component) {
      options.component.add(alarm);
    } else {
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
    }
    this.alarms.push(alarm);
    return alarm;
  }
}

const percent = (fraction: number): string => `${Number((fraction * 100).toPrecision(3))} %`;
