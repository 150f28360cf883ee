import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { STAGES } from '../../bin/stages.js';
import { resolveSla, SLA_DEFAULTS } from '../../lib/alarms.js';
import type { HubSettings, SlaSettings } from '../../lib/config.js';
import { SwitchyardStack } from '../../lib/switchyard-stack.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Resources = Record<string, Resource>;

/** Production with the optional GitHub reconciliation, so its alarms are checked too. */
function production(sla?: SlaSettings): HubSettings {
  const settings = STAGES.production;
  if (!settings) throw new Error('no production stage');
  return {
    ...settings,
    reconcile: { github: { source: 'github', owner: 'octo-org', repo: 'switchyard-demo', hookId: 1 } },
    ...(sla ? { sla } : {}),
  };
}

function synthesize(settings: HubSettings, app = new App()): { template: Template; resources: Resources } {
  const stack = new SwitchyardStack(app, 'Switchyard', { settings, env: { region: 'eu-west-1' } });
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources as Resources };
}

let hub: { template: Template; resources: Resources };
beforeAll(() => {
  hub = synthesize(production());
});

const ofType = (resources: Resources, type: string) =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
const refId = (value: unknown): string | undefined => {
  const ref = value as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
  return ref?.['Fn::GetAtt']?.[0] ?? ref?.Ref;
};
const text = (value: unknown) => JSON.stringify(value);
/** Logical ids of the alarms an AlarmRule (`Fn::Join` of text and `Fn::GetAtt <alarm>.Arn`) refers to. */
const ruleChildren = (rule: unknown): string[] =>
  [...text(rule).matchAll(/"Fn::GetAtt":\["([A-Za-z0-9]+)","Arn"\]/g)].map((match) => match[1] ?? '');
const topicOf = (resources: Resources) => ofType(resources, 'AWS::SNS::Topic')[0]?.[0] ?? '';
const pagesOnItsOwn = (alarm: Resource, topic: string) =>
  text(alarm.Properties?.AlarmActions) === text([{ Ref: topic }]) &&
  text(alarm.Properties?.OKActions) === text([{ Ref: topic }]);
/** Metric alarms whose metric math uses a metric of `namespace`/`metricName` with a dimension referring to `id`. */
const mathAlarmsOn = (resources: Resources, metricName: string, id: string) =>
  ofType(resources, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
    ((alarm.Properties?.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[]) ?? []).some(
      (query) =>
        query.MetricStat?.Metric.MetricName === metricName &&
        text(query.MetricStat.Metric.Dimensions).includes(`"${id}"`),
    ),
  );
/** The metric alarm of `metricName` whose dimensions refer to `id` (a logical id) or equal `value`. */
const alarmOn = (resources: Resources, metricName: string, dimension: string, id: string) =>
  ofType(resources, 'AWS::CloudWatch::Alarm').find(
    ([, alarm]) =>
      alarm.Properties?.MetricName === metricName &&
      (alarm.Properties.Dimensions as { Name: string; Value: unknown }[] | undefined)?.some(
        (candidate) => candidate.Name === dimension && refId(candidate.Value) === id,
      ),
  );

describe('Alarms: who pages', () => {
  it('pages every metric alarm on ALARM and OK, itself or through exactly one composite that does', () => {
    // Prepare
    const { resources } = hub;
    const topic = topicOf(resources);
    const composites = ofType(resources, 'AWS::CloudWatch::CompositeAlarm');
    const paging = composites.filter(([, composite]) => pagesOnItsOwn(composite, topic));
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm');

    // Assess
    expect(alarms.length).toBeGreaterThan(30);
    expect(paging.length).toBeGreaterThanOrEqual(8);
    for (const [id, alarm] of alarms) {
      const parents = paging.filter(([, composite]) =>
        ruleChildren(composite.Properties?.AlarmRule).includes(id),
      );
      if (pagesOnItsOwn(alarm, topic)) {
        expect(
          parents.map(([parent]) => parent),
          `${id} pages itself and through a composite`,
        ).toEqual([]);
      } else {
        expect(
          alarm.Properties?.AlarmActions,
          `${id} has actions other than the on-call topic`,
        ).toBeUndefined();
        expect(alarm.Properties?.OKActions, id).toBeUndefined();
        expect(parents.length, `${id} pages through ${parents.length} composites`).toBe(1);
      }
    }
  });

  it('gives composites without actions no other role than suppressing a component', () => {
    // Prepare
    const { resources } = hub;
    const topic = topicOf(resources);
    const composites = ofType(resources, 'AWS::CloudWatch::CompositeAlarm');

    // Assess
    for (const [id, composite] of composites.filter(([, candidate]) => !pagesOnItsOwn(candidate, topic))) {
      expect(composite.Properties?.AlarmActions, id).toBeUndefined();
      const suppressed = composites.filter(([, other]) => refId(other.Properties?.ActionsSuppressor) === id);
      expect(suppressed.length, `${id} suppresses nothing`).toBeGreaterThan(0);
    }
  });

  it('describes every composite by its part, its children and its likely causes, ending with its runbook', () => {
    for (const [id, composite] of ofType(hub.resources, 'AWS::CloudWatch::CompositeAlarm')) {
      const description = String(composite.Properties?.AlarmDescription);
      expect(description, id).toMatch(/Runbook: docs\/runbooks\/[a-z-]+\.md$/);
      expect(description.length, id).toBeLessThanOrEqual(1024);
      if (pagesOnItsOwn(composite, topicOf(hub.resources))) {
        expect(description, id).toMatch(/^Failing: .+ Likely causes: /);
        for (const child of ruleChildren(composite.Properties?.AlarmRule)) {
          // The child's construct id is the middle of its logical id: Alarms<id><hash>.
          const constructId = child.replace(/^Alarms/, '').replace(/[0-9A-F]{8}$/, '');
          expect(description, `${id} does not list ${child}`).toContain(constructId);
        }
      }
    }
  });

  it('holds back the pages of the order-paid flow and email sync while a system they call is failing', () => {
    // Prepare
    const { resources } = hub;
    const composites = Object.fromEntries(ofType(resources, 'AWS::CloudWatch::CompositeAlarm'));
    const idOf = (prefix: string) => Object.keys(composites).find((id) => id.startsWith(prefix)) ?? '';
    const downstreams = ['Accounting', 'Crm', 'Email'].map((system) =>
      idOf(`Alarms${system}DownstreamComponent`),
    );

    // Assess: the flow calls all three systems, email sync the email platform
    const flow = composites[idOf('AlarmsOrderPaidFlowComponent')];
    const flowSuppressor = composites[refId(flow?.Properties?.ActionsSuppressor) ?? ''];
    expect(ruleChildren(flowSuppressor?.Properties?.AlarmRule).sort()).toEqual([...downstreams].sort());
    expect(flow?.Properties).toMatchObject({
      ActionsSuppressorWaitPeriod: 120,
      ActionsSuppressorExtensionPeriod: 900,
    });
    const emailSync = composites[idOf('AlarmsEmailSyncComponent')];
    expect(refId(emailSync?.Properties?.ActionsSuppressor)).toBe(idOf('AlarmsEmailDownstreamComponent'));
    // A downstream component pages itself: its circuit-breaker alarm is its child
    const circuit = ofType(resources, 'AWS::CloudWatch::Alarm').find(([id]) =>
      id.startsWith('AlarmsEmailCircuitOpened'),
    );
    expect(ruleChildren(composites[idOf('AlarmsEmailDownstreamComponent')]?.Properties?.AlarmRule)).toContain(
      circuit?.[0],
    );
  });

  it('lets dead letters and parked sagas page on their own, never through a composite', () => {
    const topic = topicOf(hub.resources);
    const direct = ofType(hub.resources, 'AWS::CloudWatch::Alarm').filter(([, alarm]) =>
      /dead-letter-queue\.md$|saga-parked\.md$/.test(String(alarm.Properties?.AlarmDescription)),
    );
    expect(direct.length).toBe(6);
    for (const [id, alarm] of direct) expect(pagesOnItsOwn(alarm, topic), id).toBe(true);
  });
});

describe('Alarms: what is watched', () => {
  it('watches the age of the oldest message of every consumed queue against the SLA', () => {
    const { resources } = hub;
    const mappings = ofType(resources, 'AWS::Lambda::EventSourceMapping');
    expect(mappings.length).toBe(3);
    for (const [, mapping] of mappings) {
      const queue = refId(mapping.Properties?.EventSourceArn) ?? '';
      const alarm = alarmOn(resources, 'ApproximateAgeOfOldestMessage', 'QueueName', queue);
      expect(alarm, `no age alarm on ${queue}`).toBeDefined();
      expect(alarm?.[1].Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Period: 60,
        Threshold: SLA_DEFAULTS.maxAgeSeconds,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmDescription: expect.stringMatching(/Runbook: docs\/runbooks\/queue-age\.md$/),
      });
    }
  });

  it('watches every function error rate and throttle rate as metric math against the SLA', () => {
    const { resources } = hub;
    const functions = ofType(resources, 'AWS::Lambda::Function');
    expect(functions.length).toBe(9);
    for (const [id] of functions) {
      const errors = mathAlarmsOn(resources, 'Errors', id);
      const throttles = mathAlarmsOn(resources, 'Throttles', id);
      expect(errors.length, `${id}: error-rate alarms`).toBe(1);
      expect(throttles.length, `${id}: throttle-rate alarms`).toBe(1);
      const expressions = (alarm: Resource | undefined) =>
        ((alarm?.Properties?.Metrics as { Expression?: string; ReturnData?: boolean }[]) ?? [])
          .filter((query) => query.Expression)
          .map((query) => query.Expression);
      expect(expressions(errors[0]?.[1])).toEqual([
        'IF(FILL(invocations, 0) > 0, FILL(errors, 0) / FILL(invocations, 0), 0)',
      ]);
      expect(expressions(throttles[0]?.[1])).toEqual([
        'IF(FILL(invocations, 0) + FILL(throttles, 0) > 0, FILL(throttles, 0) / (FILL(invocations, 0) + FILL(throttles, 0)), 0)',
      ]);
      for (const [, alarm] of [...errors, ...throttles]) {
        expect(alarm.Properties).toMatchObject({
          Threshold: SLA_DEFAULTS.maxErrorRate,
          ComparisonOperator: 'GreaterThanThreshold',
          AlarmDescription: expect.stringMatching(
            /Runbook: docs\/runbooks\/function-(errors|throttles)\.md$/,
          ),
        });
      }
    }
  });

  it('watches every flow for failed, timed-out and aborted executions', () => {
    const { resources } = hub;
    for (const [machine] of ofType(resources, 'AWS::StepFunctions::StateMachine')) {
      for (const metricName of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
        expect(
          alarmOn(resources, metricName, 'StateMachineArn', machine),
          `${machine} ${metricName}`,
        ).toBeDefined();
      }
    }
  });

  it('watches the API: its 5xx rate and its p99 latency against the tightest ack budget', () => {
    // Prepare: production's sources are stripe (3 s), shopify (5 s), github (10 s), crm (standard webhooks, 15 s)
    const api = ofType(hub.resources, 'AWS::ApiGateway::RestApi')[0]?.[0] ?? '';
    const stage = ofType(hub.resources, 'AWS::ApiGateway::Stage')[0]?.[0] ?? '';
    // The API's name is the metrics' key, so it is the stack's own: two hubs in one account keep their alarms apart
    const dimensions = [
      { Name: 'ApiName', Value: 'Switchyard-webhooks' },
      { Name: 'Stage', Value: { Ref: stage } },
    ];

    // Assess
    expect(api).not.toBe('');
    hub.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Average',
      Period: 300,
      Threshold: 0.01,
      AlarmDescription: Match.stringLikeRegexp('api-errors\\.md$'),
    });
    const [, latency] =
      ofType(hub.resources, 'AWS::CloudWatch::Alarm').find(
        ([, alarm]) => alarm.Properties?.MetricName === 'Latency',
      ) ?? [];
    expect(latency?.Properties).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      ExtendedStatistic: 'p99',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Threshold: 1000,
      Dimensions: expect.arrayContaining(dimensions),
      AlarmDescription: expect.stringMatching(/ack budget of stripe.*ack-latency\.md$/),
    });
  });

  it('watches the signature failures of every source with the exact dimensions the ingest function emits', () => {
    // Prepare
    const ingest = ofType(hub.resources, 'AWS::Lambda::Function').find(([id]) =>
      id.startsWith('IngressIngest'),
    );
    const environment = (ingest?.[1].Properties?.Environment ?? {}) as { Variables?: Record<string, string> };
    const service = environment.Variables?.POWERTOOLS_SERVICE_NAME;
    expect(service).toBe('ingest');

    // Assess
    for (const source of production().sources) {
      hub.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Switchyard',
        MetricName: 'WebhookRejected',
        // Exactly these three (CDK sorts dimensions by name): an alarm matches a metric only with all of them.
        Dimensions: [
          { Name: 'reason', Value: 'signature' },
          { Name: 'service', Value: service },
          { Name: 'source', Value: source.name },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: SLA_DEFAULTS.maxSignatureFailuresPer5Minutes,
        AlarmDescription: Match.stringLikeRegexp('signature-failures\\.md$'),
      });
    }
  });

  it('watches every route of the bus for failed deliveries, with the custom bus dimensions', () => {
    const { resources } = hub;
    const routes = ofType(resources, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties?.EventBusName);
    expect(routes.length).toBe(3);
    for (const [rule, definition] of routes) {
      const alarm = ofType(resources, 'AWS::CloudWatch::Alarm').find(
        ([, candidate]) =>
          candidate.Properties?.MetricName === 'FailedInvocations' &&
          text(candidate.Properties.Dimensions).includes(`{"Ref":"${rule}"}`),
      );
      expect(alarm, `no FailedInvocations alarm on ${rule}`).toBeDefined();
      expect(alarm?.[1].Properties?.Dimensions).toEqual([
        { Name: 'EventBusName', Value: definition.Properties?.EventBusName },
        { Name: 'RuleName', Value: { Ref: rule } },
      ]);
    }
  });

  it('watches each company system: its circuit breaker and its call error rate', () => {
    for (const system of ['accounting', 'crm', 'email']) {
      hub.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'CircuitOpened',
        Dimensions: [{ Name: 'downstream', Value: system }],
      });
      const rate = ofType(hub.resources, 'AWS::CloudWatch::Alarm').find(([, alarm]) =>
        ((alarm.Properties?.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[]) ?? []).some(
          (query) =>
            query.MetricStat?.Metric.MetricName === 'DownstreamCall' &&
            text(query.MetricStat.Metric.Dimensions).includes(`"Value":"${system}"`),
        ),
      );
      expect(rate?.[1].Properties?.Threshold, system).toBe(SLA_DEFAULTS.downstreamMaxErrorRate);
    }
  });
});

describe('Alarms: thresholds follow the SLA', () => {
  it('moves each threshold with a custom SLA', () => {
    // Prepare
    const sla: SlaSettings = {
      sources: { stripe: { ackP99Milliseconds: 800, maxSignatureFailuresPer5Minutes: 3 } },
      workers: { inbox: { maxAgeSeconds: 120 }, 'email-sync': { maxErrorRate: 0.2 } },
      max5xxRate: 0.02,
      downstreams: { crm: { maxErrorRate: 0.3 } },
    };

    // Act
    const { template, resources } = synthesize(production(sla));

    // Assess
    const threshold = (predicate: (id: string, alarm: Resource) => boolean) =>
      ofType(resources, 'AWS::CloudWatch::Alarm').find(([id, alarm]) => predicate(id, alarm))?.[1].Properties
        ?.Threshold;
    expect(threshold((_, alarm) => alarm.Properties?.MetricName === 'Latency')).toBe(800);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WebhookRejected',
      Dimensions: [
        { Name: 'reason', Value: 'signature' },
        { Name: 'service', Value: 'ingest' },
        { Name: 'source', Value: 'stripe' },
      ],
      Threshold: 3,
    });
    expect(threshold((id) => id.startsWith('AlarmsInboxAge'))).toBe(120);
    expect(threshold((id) => id.startsWith('AlarmsEmailSyncAge'))).toBe(SLA_DEFAULTS.maxAgeSeconds);
    expect(threshold((id) => id.startsWith('AlarmsEmailSyncErrorRate'))).toBe(0.2);
    expect(threshold((id) => id.startsWith('AlarmsRouterErrorRate'))).toBe(SLA_DEFAULTS.maxErrorRate);
    expect(threshold((_, alarm) => alarm.Properties?.MetricName === '5XXError')).toBe(0.02);
    expect(threshold((id) => id.startsWith('AlarmsCrmDownstreamErrorRate'))).toBe(0.3);
  });

  it('derives each source default from its vendor timeout: a third of it, by scheme', () => {
    // Act
    const sla = resolveSla(undefined, [
      { name: 'slack', scheme: 'slack' },
      { name: 'shopify', scheme: 'shopify' },
      { name: 'github', scheme: 'github' },
      { name: 'twilio', scheme: 'twilio', publicUrl: 'https://hooks.example.com/webhooks/twilio' },
    ]);

    // Assess
    expect(sla.sources.slack).toEqual({
      vendorTimeoutSeconds: 3,
      ackP99Milliseconds: 1000,
      maxSignatureFailuresPer5Minutes: SLA_DEFAULTS.maxSignatureFailuresPer5Minutes,
    });
    expect(sla.sources.shopify?.ackP99Milliseconds).toBe(1666);
    expect(sla.sources.github?.ackP99Milliseconds).toBe(3333);
    expect(sla.sources.twilio?.ackP99Milliseconds).toBe(5000);
    expect(sla.ackP99Milliseconds).toBe(1000);
    expect(
      resolveSla({ sources: { github: { vendorTimeoutSeconds: 30 } } }, [
        { name: 'github', scheme: 'github' },
      ]),
    ).toMatchObject({ ackP99Milliseconds: 10_000 });
  });

  it.each([
    ['a rate above 1', { max5xxRate: 1.5 }, /sla\.max5xxRate 1\.5 must be a fraction/],
    ['a rate of 0', { workers: { inbox: { maxErrorRate: 0 } } }, /sla\.workers\.inbox\.maxErrorRate 0 /],
    [
      'an ack budget at the vendor timeout',
      { sources: { stripe: { ackP99Milliseconds: 3000 } } },
      /sla\.sources\.stripe\.ackP99Milliseconds 3000 must be .* below the vendor's timeout \(3000 ms\)/,
    ],
    [
      'an unknown source',
      { sources: { gitlab: {} } },
      /sla\.sources\.gitlab "gitlab" is not one of the hub's sources/,
    ],
    [
      'an unknown worker',
      { workers: { ledger: {} } } as never,
      /sla\.workers\.ledger "ledger" is not a worker/,
    ],
    [
      'a queue age for a worker without a queue',
      { workers: { ingest: { maxAgeSeconds: 120 } } },
      /consumes no queue/,
    ],
    [
      'a queue age shorter than the period',
      { workers: { inbox: { maxAgeSeconds: 30 } } },
      /maxAgeSeconds 30/,
    ],
    [
      'a fractional failure count',
      { sources: { github: { maxSignatureFailuresPer5Minutes: 2.5 } } },
      /whole number/,
    ],
    [
      'a vendor timeout of a minute and more',
      { sources: { crm: { vendorTimeoutSeconds: 90 } } },
      /from 1 to 60/,
    ],
  ] as const)('refuses %s at synthesis', (_, sla, message) => {
    // Act
    const build = () => resolveSla(sla as SlaSettings, production().sources);

    // Assess
    expect(build).toThrow(message);
  });

  it('refuses a nonsense SLA when the stack is synthesized', () => {
    expect(() => synthesize(production({ max5xxRate: -1 }))).toThrow(/sla\.max5xxRate -1/);
  });
});

type Widget = { type: string; properties: { metrics?: unknown[][]; alarms?: string[]; title?: string } };

/**
 * The dashboard body as JSON, each token (`Ref`, `Fn::GetAtt`) of its `Fn::Join` replaced by `@<id>[.<attribute>]@`.
 */
function dashboardWidgets(resources: Resources): Widget[] {
  const [, dashboard] = ofType(resources, 'AWS::CloudWatch::Dashboard')[0] ?? [];
  const body = dashboard?.Properties?.DashboardBody as { 'Fn::Join'?: [string, unknown[]] } | undefined;
  const join = body?.['Fn::Join']?.[1] ?? [];
  const json = join
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return token.Ref ? `@${token.Ref}@` : `@${token['Fn::GetAtt']?.join('.')}@`;
    })
    .join('');
  return (JSON.parse(json) as { widgets: Widget[] }).widgets;
}

describe('HubDashboard', () => {
  let widgets: Widget[];
  /** Every metric line of every graph: `[namespace, name, dimension, value, …]` or `[{ expression }]`. */
  let lines: unknown[][];
  beforeAll(() => {
    widgets = dashboardWidgets(hub.resources);
    lines = widgets.flatMap((widget) => widget.properties.metrics ?? []);
  });
  const named = (metricName: string) =>
    lines.filter(
      (line) =>
        line[1] === metricName ||
        String((line[0] as { expression?: string })?.expression).includes(`MetricName="${metricName}"`),
    );

  it('graphs requests, outcomes, ack latency, duplicates and downstream calls from the hub metric contract', () => {
    for (const metric of [
      'WebhookReceived',
      'WebhookEnqueued',
      'WebhookRejected',
      'EnqueueFailed',
      'AckLatency',
      'DuplicateDropped',
      'DownstreamCall',
      'DownstreamLatency',
    ]) {
      expect(named(metric).length, metric).toBeGreaterThan(0);
    }
    for (const source of production().sources) {
      for (const metric of [
        'WebhookReceived',
        'WebhookEnqueued',
        'WebhookRejected',
        'AckLatency',
        'DuplicateDropped',
      ]) {
        expect(text(named(metric)), `${metric} of ${source.name}`).toContain(source.name);
      }
    }
    for (const system of ['accounting', 'crm', 'email']) {
      for (const outcome of ['ok', 'transient', 'terminal', 'refused']) {
        expect(
          named('DownstreamCall').some((line) => line.includes(system) && line.includes(outcome)),
          `${system} ${outcome}`,
        ).toBe(true);
      }
      expect(named('DownstreamLatency').some((line) => line.includes(system))).toBe(true);
    }
  });

  it('graphs API latency p50 and p99, queue depth and age of every queue and dead-letter queue, flow outcomes and durations', () => {
    const stats = (metricName: string) =>
      named(metricName).map((line) => (line.at(-1) as { stat?: string }).stat);
    expect(stats('Latency')).toEqual(['p50', 'p99']);
    expect(stats('AckLatency')).toContain('p99');
    expect(named('5XXError').length).toBe(1);
    for (const metric of [
      'ExecutionsStarted',
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
    ]) {
      expect(named(metric).length, metric).toBe(1);
    }
    expect(stats('ExecutionTime')).toEqual(['p50', 'p99']);
    for (const [queue] of ofType(hub.resources, 'AWS::SQS::Queue')) {
      for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']) {
        expect(
          named(metric).some((line) => line.includes(`@${queue}.QueueName@`)),
          `${metric} of ${queue}`,
        ).toBe(true);
      }
    }
  });

  it('shows the status of every alarm, metric and composite', () => {
    const shown = widgets
      .filter((widget) => widget.type === 'alarm')
      .flatMap((widget) => widget.properties.alarms ?? []);
    const alarms = [
      ...ofType(hub.resources, 'AWS::CloudWatch::Alarm'),
      ...ofType(hub.resources, 'AWS::CloudWatch::CompositeAlarm'),
    ];
    expect(shown.sort()).toEqual(alarms.map(([id]) => `@${id}.Arn@`).sort());
  });

  it("outputs the dashboard's console URL", () => {
    const outputs = hub.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const dashboard = ofType(hub.resources, 'AWS::CloudWatch::Dashboard')[0]?.[0];
    expect(outputs.DashboardUrl?.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/',
          { Ref: dashboard },
        ],
      ],
    });
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the hub with its alarms and dashboard', () => {
    // Prepare
    const app = new App();
    synthesize(production(), app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const synth = () => app.synth();

    // Assess
    expect(synth).not.toThrow();
  });
});
