/**
 * Conformance read-back for the local deployer. Emulators accept a CloudFormation template and silently drop
 * settings, so after CreateStack the deployer reads the deployed configuration back through the service APIs
 * and compares it with the template, resolved against the stack (see `intrinsics.ts`).
 *
 * The check is table-driven: one small checker per resource type turns a resource into a list of comparisons
 * (property, expected, actual, optional patch), and shared helpers normalise both sides and keep the ones that
 * differ. A property the template does not set is not compared. A read-back that fails (for example an API the
 * emulator does not implement) gives a drift with `actual: 'unreadable: <error name>'`, never a pass. Resource
 * types without a checker are only checked for a physical id. `'absent'` stands for a resource, rule target or
 * setting that does not exist.
 *
 * The deployer tells the check what it did on purpose for an emulator: resources it created outside the stack
 * (checked like the others), resources it left out (not expected; references to them resolve to a marker), and
 * properties the emulator does not keep (not compared). It prints each, with its reason.
 */

import { isDeepStrictEqual } from 'node:util';
import { GetRestApiCommand, GetStageCommand, type Op, UpdateStageCommand } from '@aws-sdk/client-api-gateway';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type SSEType,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeRuleCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type RuleState,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  type EventSourceMappingConfiguration,
  type FunctionResponseType,
  GetFunctionConfigurationCommand,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
  type UpdateEventSourceMappingRequest,
} from '@aws-sdk/client-lambda';
import {
  DescribeStateMachineCommand,
  type LoggingConfiguration,
  type TracingConfiguration,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { GetTopicAttributesCommand, SetTopicAttributesCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { LEFT_OUT_PATTERN, type ResolverClients, StackResolver, type StackResource } from './intrinsics.js';

/** The SDK v3 clients the check reads from (and patches through), all pointed at the emulator. */
export type ConformanceClients = ResolverClients & { sns: SNSClient };

/**
 * A fix the deployer may apply for a setting a known emulator drops; `description` says what it calls. Drifts of
 * one resource may share a `Patch` object (e.g. one PutRule for EventPattern and State): apply each once.
 */
export interface Patch {
  description: string;
  apply(): Promise<void>;
}

/** One difference between the resolved template and the deployed configuration. */
export interface Drift {
  logicalId: string;
  resourceType: string;
  property: string;
  expected: unknown;
  actual: unknown;
  patch?: Patch;
}

type Json = Record<string, unknown>;

/** A property an emulator does not keep, so the read-back does not compare it. */
export interface UncheckedProperty {
  readonly resourceType: string;
  readonly property: string;
  /** Why, with the emulator's version and the place in its source. */
  readonly reason: string;
}

/** A comparison a checker asks for; it becomes a drift when the normalised sides differ. */
interface Comparison {
  property: string;
  /** The resolved template value; `undefined` means the template does not set it, so nothing is compared. */
  expected: unknown;
  actual: unknown;
  patch?: Patch;
}

/** A deployed resource as a checker sees it: template properties already resolved against the stack. */
interface Resource {
  logicalId: string;
  type: string;
  physicalId: string;
  props: Json;
  clients: ConformanceClients;
}

type Checker = (resource: Resource) => Promise<Comparison[]>;

const ABSENT = 'absent';

/** The result of a read-back that failed; compared, it always drifts. */
class Unreadable {
  constructor(readonly errorName: string) {}
}

const errorName = (error: unknown): string =>
  error instanceof Error ? error.name : typeof error === 'string' ? error : 'UnknownError';

const isNotFound = (error: unknown): boolean => /NotFound|NonExistent|DoesNotExist/.test(errorName(error));

/** Runs a read-back of a setting; any failure becomes an `Unreadable`. */
async function readBack<T>(read: () => Promise<T>): Promise<T | Unreadable> {
  try {
    return await read();
  } catch (error) {
    return new Unreadable(errorName(error));
  }
}

/** Reads a resource itself: like `readBack`, except that a not-found error (or no result) gives `undefined`. */
async function lookUp<T>(read: () => Promise<T | undefined>): Promise<T | undefined | Unreadable> {
  try {
    return await read();
  } catch (error) {
    return isNotFound(error) ? undefined : new Unreadable(errorName(error));
  }
}

/** Applies `pick` to a successful read-back; an `Unreadable` passes through. */
const from = <T>(read: T | Unreadable, pick: (value: T) => unknown): unknown =>
  read instanceof Unreadable ? read : pick(read);

const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const obj = (value: unknown): Json => (isJson(value) ? value : {});
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : String(value);

/** CloudFormation and several APIs carry numbers and booleans as strings. */
const num = (value: unknown): unknown =>
  typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
const bool = (value: unknown): unknown => (value === 'true' ? true : value === 'false' ? false : value);

const parseJson = (value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

/** A list compared as a set. */
const sorted = (value: unknown): unknown =>
  Array.isArray(value)
    ? [...value].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    : value;

/** Drops `undefined` members, so a missing key and an undefined one compare equal. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isJson(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .map(([key, member]) => [key, canonical(member)]),
  );
}

const patch = (description: string, apply: () => Promise<unknown>): Patch => ({
  description,
  apply: async () => {
    await apply();
  },
});

const missing = (what = 'Exists'): Comparison[] => [{ property: what, expected: 'present', actual: ABSENT }];

// ---------------------------------------------------------------------------------------------------------
// Checkers, one per resource type.
// ---------------------------------------------------------------------------------------------------------

const sqsQueue: Checker = async ({ physicalId: QueueUrl, props, clients }) => {
  const attributes = await lookUp(
    async () =>
      ((await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] })))
        .Attributes ?? {}) as Record<string, string>,
  );
  if (attributes === undefined) return missing();
  const set = (name: string, value: unknown): Patch => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return patch(`SetQueueAttributes ${QueueUrl}: ${name}=${text}`, () =>
      clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { [name]: text } })),
    );
  };
  const redrive = (value: unknown): unknown => {
    const policy = parseJson(value);
    return isJson(policy)
      ? { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: num(policy.maxReceiveCount) }
      : (policy ?? ABSENT);
  };
  const expectedRedrive = props.RedrivePolicy === undefined ? undefined : redrive(props.RedrivePolicy);
  return [
    {
      property: 'RedrivePolicy',
      expected: expectedRedrive,
      actual: from(attributes, (a) => redrive(a.RedrivePolicy)),
      patch: set('RedrivePolicy', expectedRedrive),
    },
    ...['VisibilityTimeout', 'MessageRetentionPeriod', 'MaximumMessageSize', 'KmsMasterKeyId'].map(
      (name): Comparison => ({
        property: name,
        expected: num(props[name]),
        actual: from(attributes, (a) => num(a[name] ?? ABSENT)),
        patch: set(name, str(props[name])),
      }),
    ),
    {
      property: 'SqsManagedSseEnabled',
      expected: bool(props.SqsManagedSseEnabled),
      // With KMS encryption the emulator omits SqsManagedSseEnabled where AWS says "false": same meaning.
      actual: from(attributes, (a) =>
        bool(a.SqsManagedSseEnabled ?? (a.KmsMasterKeyId === undefined ? ABSENT : 'false')),
      ),
      patch: set('SqsManagedSseEnabled', str(props.SqsManagedSseEnabled)),
    },
  ];
};

const eventSourceMapping: Checker = async ({ physicalId, props, clients }) => {
  const FunctionName = str(props.FunctionName);
  const EventSourceArn = str(props.EventSourceArn);
  const mapping = await lookUp(async () => {
    const found: EventSourceMappingConfiguration[] = [];
    let Marker: string | undefined;
    do {
      const page = await clients.lambda.send(
        new ListEventSourceMappingsCommand({ FunctionName, EventSourceArn, Marker }),
      );
      found.push(...(page.EventSourceMappings ?? []));
      Marker = page.NextMarker;
    } while (Marker);
    const candidates = found.filter(
      (m) => EventSourceArn === undefined || m.EventSourceArn === EventSourceArn,
    );
    return candidates.find((m) => m.UUID === physicalId) ?? candidates[0];
  });
  if (mapping === undefined) return missing();
  const update = (change: Omit<UpdateEventSourceMappingRequest, 'UUID'>): Patch => {
    const UUID = mapping instanceof Unreadable ? physicalId : (mapping.UUID ?? physicalId);
    return patch(`UpdateEventSourceMapping ${UUID}: ${JSON.stringify(change)}`, () =>
      clients.lambda.send(new UpdateEventSourceMappingCommand({ UUID, ...change })),
    );
  };
  const scaling = obj(props.ScalingConfig);
  const reportsScaling = from(mapping, (m) => m.ScalingConfig !== undefined);
  return [
    {
      property: 'FunctionResponseTypes',
      expected: sorted(props.FunctionResponseTypes),
      actual: from(mapping, (m) => sorted(m.FunctionResponseTypes ?? [])),
      patch: update({
        FunctionResponseTypes: list(props.FunctionResponseTypes).map(String) as FunctionResponseType[],
      }),
    },
    {
      property: 'BatchSize',
      expected: num(props.BatchSize),
      actual: from(mapping, (m) => m.BatchSize),
      patch: update({ BatchSize: Number(props.BatchSize) }),
    },
    {
      property: 'MaximumBatchingWindowInSeconds',
      expected: num(props.MaximumBatchingWindowInSeconds),
      actual: from(mapping, (m) => m.MaximumBatchingWindowInSeconds ?? ABSENT),
      patch: update({ MaximumBatchingWindowInSeconds: Number(props.MaximumBatchingWindowInSeconds) }),
    },
    {
      // Compared only when the emulator reports a ScalingConfig at all.
      property: 'ScalingConfig.MaximumConcurrency',
      expected: reportsScaling === false ? undefined : num(scaling.MaximumConcurrency),
      actual: from(mapping, (m) => m.ScalingConfig?.MaximumConcurrency ?? ABSENT),
      patch: update({ ScalingConfig: { MaximumConcurrency: Number(scaling.MaximumConcurrency) } }),
    },
  ];
};

const lambdaFunction: Checker = async ({ physicalId, props, clients }) => {
  const config = await lookUp(() =>
    clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physicalId })),
  );
  if (config === undefined) return missing();
  const variables = obj(props.Environment).Variables;
  const actualVariables = from(config, (c): Json => c.Environment?.Variables ?? {});
  // One comparison per variable (template keys and deployed keys), so a drift names the variable.
  const environment: Comparison[] =
    variables === undefined
      ? []
      : actualVariables instanceof Unreadable
        ? [{ property: 'Environment.Variables', expected: variables, actual: actualVariables }]
        : [...new Set([...Object.keys(obj(variables)), ...Object.keys(obj(actualVariables))])].map((key) => ({
            property: `Environment.Variables.${key}`,
            expected: str(obj(variables)[key]) ?? ABSENT,
            actual: obj(actualVariables)[key] ?? ABSENT,
          }));
  return [
    ...environment,
    { property: 'Timeout', expected: num(props.Timeout), actual: from(config, (c) => c.Timeout) },
    { property: 'MemorySize', expected: num(props.MemorySize), actual: from(config, (c) => c.MemorySize) },
    { property: 'Handler', expected: props.Handler, actual: from(config, (c) => c.Handler) },
  ];
};

/** The fields of a rule target that are compared, limited to the parts the template target sets. */
function targetShape(target: unknown, template: Json): unknown {
  if (!isJson(target)) return ABSENT;
  const shape: Json = { Arn: target.Arn };
  if (template.DeadLetterConfig !== undefined)
    shape.DeadLetterConfig = obj(target.DeadLetterConfig).Arn ?? ABSENT;
  if (template.RetryPolicy !== undefined) {
    const policy = obj(target.RetryPolicy);
    shape.RetryPolicy = Object.fromEntries(
      Object.keys(obj(template.RetryPolicy)).map((key) => [key, num(policy[key] ?? ABSENT)]),
    );
  }
  return shape;
}

const eventsRule: Checker = async ({ physicalId, props, clients }) => {
  const Name = str(props.Name) ?? physicalId.split('|').pop() ?? physicalId;
  const EventBusName = str(props.EventBusName);
  const rule = await lookUp(() => clients.eventbridge.send(new DescribeRuleCommand({ Name, EventBusName })));
  if (rule === undefined) return missing();
  const targets = await readBack(async () => {
    const found: Target[] = [];
    let NextToken: string | undefined;
    do {
      const page = await clients.eventbridge.send(
        new ListTargetsByRuleCommand({ Rule: Name, EventBusName, NextToken }),
      );
      found.push(...(page.Targets ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return found;
  });
  const pattern = parseJson(props.EventPattern);
  const putRule = patch(
    `PutRule ${Name} on ${EventBusName ?? 'default'} with the template's pattern and state`,
    () =>
      clients.eventbridge.send(
        new PutRuleCommand({
          Name,
          EventBusName,
          EventPattern: pattern === undefined ? undefined : JSON.stringify(pattern),
          ScheduleExpression: str(props.ScheduleExpression),
          State: str(props.State) as RuleState | undefined,
          Description: str(props.Description),
          RoleArn: str(props.RoleArn),
        }),
      ),
  );
  const templateTargets = list(props.Targets).filter(isJson);
  const putTarget = (target: Json): Patch =>
    patch(`PutTargets ${Name}: ${JSON.stringify(target)}`, async () => {
      const out = await clients.eventbridge.send(
        new PutTargetsCommand({
          Rule: Name,
          EventBusName,
          Targets: [{ ...(target as Partial<Target>), Id: String(target.Id), Arn: String(target.Arn) }],
        }),
      );
      if (out.FailedEntryCount) throw new Error(`PutTargets failed: ${JSON.stringify(out.FailedEntries)}`);
    });
  const actualTargets = targets ?? [];
  return [
    {
      property: 'EventPattern',
      expected: pattern,
      actual: from(rule, (r) => parseJson(r.EventPattern) ?? ABSENT),
      patch: putRule,
    },
    { property: 'State', expected: props.State, actual: from(rule, (r) => r.State), patch: putRule },
    ...templateTargets.map(
      (target): Comparison => ({
        property: `Targets[${str(target.Id)}]`,
        expected: targetShape(target, target),
        actual: from(actualTargets, (found) =>
          targetShape(
            found.find((t) => t.Id === target.Id),
            target,
          ),
        ),
        patch: putTarget(target),
      }),
    ),
    ...(actualTargets instanceof Unreadable ? [] : actualTargets)
      .filter((t) => !templateTargets.some((target) => target.Id === t.Id))
      .map((t): Comparison => ({ property: `Targets[${t.Id}]`, expected: ABSENT, actual: { Arn: t.Arn } })),
  ];
};

const ON_STATUSES = ['ENABLED', 'ENABLING'];

const dynamoTable: Checker = async ({ type, physicalId: TableName, props, clients }) => {
  const table = await lookUp(
    async () => (await clients.dynamodb.send(new DescribeTableCommand({ TableName }))).Table ?? {},
  );
  if (table === undefined) return missing();
  const ttl = await readBack(
    async () =>
      (await clients.dynamodb.send(new DescribeTimeToLiveCommand({ TableName }))).TimeToLiveDescription,
  );
  const backups = await readBack(
    async () =>
      (await clients.dynamodb.send(new DescribeContinuousBackupsCommand({ TableName })))
        .ContinuousBackupsDescription,
  );
  // A GlobalTable (CDK TableV2) keeps per-replica settings on its replicas; the first one is this region's.
  const replica = type === 'AWS::DynamoDB::GlobalTable' ? obj(list(props.Replicas)[0]) : props;
  const ttlSpec =
    props.TimeToLiveSpecification === undefined ? undefined : obj(props.TimeToLiveSpecification);
  const ttlShape = (enabled: unknown, attributeName: unknown) =>
    enabled === true ? { AttributeName: attributeName, Enabled: true } : { Enabled: false };
  const pitr = obj(replica.PointInTimeRecoverySpecification).PointInTimeRecoveryEnabled;
  const sseSpec = props.SSESpecification === undefined ? undefined : obj(props.SSESpecification);
  const sseEnabled = bool(sseSpec?.SSEEnabled) === true;
  const kmsKey = str(sseSpec?.KMSMasterKeyId ?? obj(replica.SSESpecification).KMSMasterKeyId);
  const sseType = sseEnabled ? (str(sseSpec?.SSEType) ?? 'KMS') : undefined;
  return [
    {
      property: 'KeySchema',
      expected: props.KeySchema,
      actual: from(table, (t) =>
        (t.KeySchema ?? []).map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
      ),
    },
    {
      property: 'TimeToLiveSpecification',
      expected: ttlSpec && ttlShape(bool(ttlSpec.Enabled), ttlSpec.AttributeName),
      actual: from(ttl, (t) => ttlShape(ON_STATUSES.includes(t?.TimeToLiveStatus ?? ''), t?.AttributeName)),
      patch: patch(`UpdateTimeToLive ${TableName}: ${JSON.stringify(ttlSpec)}`, () =>
        clients.dynamodb.send(
          new UpdateTimeToLiveCommand({
            TableName,
            TimeToLiveSpecification: {
              AttributeName: str(ttlSpec?.AttributeName),
              Enabled: bool(ttlSpec?.Enabled) === true,
            },
          }),
        ),
      ),
    },
    {
      property: 'PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled',
      expected: pitr === undefined ? undefined : bool(pitr) === true,
      actual: from(backups, (b) =>
        ON_STATUSES.includes(b?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus ?? ''),
      ),
      patch: patch(`UpdateContinuousBackups ${TableName}: PointInTimeRecoveryEnabled=${String(pitr)}`, () =>
        clients.dynamodb.send(
          new UpdateContinuousBackupsCommand({
            TableName,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: bool(pitr) === true },
          }),
        ),
      ),
    },
    {
      property: 'SSESpecification',
      expected: sseSpec && { SSEEnabled: sseEnabled, SSEType: sseType },
      actual: from(table, (t) => {
        const on = ['ENABLED', 'ENABLING', 'UPDATING'].includes(t.SSEDescription?.Status ?? '');
        return { SSEEnabled: on, SSEType: on ? t.SSEDescription?.SSEType : undefined };
      }),
      patch: patch(`UpdateTable ${TableName}: SSESpecification Enabled=${sseEnabled} ${sseType ?? ''}`, () =>
        clients.dynamodb.send(
          new UpdateTableCommand({
            TableName,
            SSESpecification: {
              Enabled: sseEnabled,
              SSEType: sseType as SSEType | undefined,
              KMSMasterKeyId: kmsKey,
            },
          }),
        ),
      ),
    },
  ];
};

/** `DefinitionString` or `Definition`, with `DefinitionSubstitutions` applied, as parsed JSON. */
function stateMachineDefinition(props: Json): unknown {
  const text =
    typeof props.DefinitionString === 'string' ? props.DefinitionString : JSON.stringify(props.Definition);
  if (text === undefined) return undefined;
  const substitutions = obj(props.DefinitionSubstitutions);
  return parseJson(text.replace(/\$\{([^}]+)\}/g, (whole, key: string) => str(substitutions[key]) ?? whole));
}

const logging = (level: unknown, includeExecutionData: unknown, groups: unknown[]): LoggingConfiguration => ({
  level: (str(level) ?? 'OFF') as LoggingConfiguration['level'],
  includeExecutionData: bool(includeExecutionData) === true,
  destinations: groups.map((arn) => ({ cloudWatchLogsLogGroup: { logGroupArn: str(arn) } })),
});

const stateMachine: Checker = async ({ physicalId: stateMachineArn, props, clients }) => {
  const machine = await lookUp(() => clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn })));
  if (machine === undefined) return missing();
  const log = props.LoggingConfiguration === undefined ? undefined : obj(props.LoggingConfiguration);
  const expectedLogging =
    log &&
    logging(
      log.Level,
      log.IncludeExecutionData,
      list(log.Destinations).map((d) => obj(obj(d).CloudWatchLogsLogGroup).LogGroupArn),
    );
  const tracing = props.TracingConfiguration === undefined ? undefined : obj(props.TracingConfiguration);
  const expectedTracing: TracingConfiguration | undefined = tracing && {
    enabled: bool(tracing.Enabled) === true,
  };
  const update = (change: {
    loggingConfiguration?: LoggingConfiguration;
    tracingConfiguration?: TracingConfiguration;
  }) =>
    patch(`UpdateStateMachine ${stateMachineArn}: ${JSON.stringify(change)}`, () =>
      clients.sfn.send(new UpdateStateMachineCommand({ stateMachineArn, ...change })),
    );
  return [
    {
      property: 'DefinitionString',
      expected: stateMachineDefinition(props),
      actual: from(machine, (m) => parseJson(m.definition)),
    },
    {
      property: 'LoggingConfiguration',
      expected: expectedLogging,
      actual: from(machine, (m) => {
        const lc = m.loggingConfiguration;
        return logging(
          lc?.level,
          lc?.includeExecutionData,
          (lc?.destinations ?? []).map((d) => d.cloudWatchLogsLogGroup?.logGroupArn),
        );
      }),
      patch: expectedLogging && update({ loggingConfiguration: expectedLogging }),
    },
    {
      // Compared only when the emulator returns a tracing configuration at all (MiniStack 1.5.33 does not).
      property: 'TracingConfiguration',
      expected: from(machine, (m) => m.tracingConfiguration) === undefined ? undefined : expectedTracing,
      actual: from(machine, (m) => ({ enabled: m.tracingConfiguration?.enabled === true })),
      patch: expectedTracing && update({ tracingConfiguration: expectedTracing }),
    },
  ];
};

const dimensions = (value: unknown): unknown =>
  value === undefined
    ? undefined
    : sorted(list(value).map((d) => ({ Name: obj(d).Name, Value: str(obj(d).Value) })));

/** A metric-math query in one shape for both sides (CloudFormation and the SDK share the casing). */
const metricQuery = (query: unknown) => {
  const q = obj(query);
  const stat = q.MetricStat === undefined ? undefined : obj(q.MetricStat);
  const metric = obj(stat?.Metric);
  return {
    Id: q.Id,
    Expression: q.Expression,
    Label: q.Label,
    ReturnData: bool(q.ReturnData),
    Period: num(q.Period),
    MetricStat: stat && {
      Metric: {
        Namespace: metric.Namespace,
        MetricName: metric.MetricName,
        Dimensions: dimensions(metric.Dimensions),
      },
      Period: num(stat.Period),
      Stat: stat.Stat,
      Unit: stat.Unit,
    },
  };
};

const cloudWatchAlarm: Checker = async ({ physicalId, props, clients }) => {
  const alarm = await lookUp(
    async () =>
      (await clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [physicalId] })))
        .MetricAlarms?.[0],
  );
  if (alarm === undefined) return missing();
  const field = (
    property: string,
    normalise: (value: unknown) => unknown = (value) => value,
  ): Comparison => ({
    property,
    expected: normalise(props[property]),
    actual: from(alarm, (a) => normalise((a as Json)[property]) ?? ABSENT),
  });
  return [
    field('Namespace'),
    field('MetricName'),
    field('Statistic'),
    field('ExtendedStatistic'),
    field('Period', num),
    field('Dimensions', dimensions),
    field('Metrics', (value) => (value === undefined ? undefined : list(value).map(metricQuery))),
    field('Threshold', num),
    field('ComparisonOperator'),
    field('EvaluationPeriods', num),
    field('DatapointsToAlarm', num),
    field('AlarmActions', sorted),
    field('OKActions', sorted),
    field('TreatMissingData'),
  ];
};

/**
 * A composite alarm's rule with every `ALARM("<left out>")` replaced by `FALSE`: a child left out of the
 * deployment on purpose never is in ALARM, so the composite still pages for the children that exist.
 * @throws Error when a left-out alarm appears in any other form (`OK(…)`, `NOT`, `AT_LEAST`), where `FALSE` would
 *   change the rule's meaning
 */
export function alarmRuleWithoutLeftOut(rule: string): string {
  const rewritten = rule.replace(/ALARM\(\s*"<left out: [A-Za-z0-9]+>"\s*\)/g, 'FALSE');
  const remaining = [...rewritten.matchAll(LEFT_OUT_PATTERN)].map((match) => match[1]);
  if (remaining.length > 0) {
    throw new Error(
      `the alarm rule refers to alarms left out of the deployment other than as ALARM(…): ${remaining.join(', ')}`,
    );
  }
  return rewritten;
}

const compositeAlarm: Checker = async ({ physicalId, props, clients }) => {
  const alarm = await lookUp(
    async () =>
      (
        await clients.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: [physicalId], AlarmTypes: ['CompositeAlarm'] }),
        )
      ).CompositeAlarms?.[0],
  );
  if (alarm === undefined) return missing();
  const field = (
    property: string,
    normalise: (value: unknown) => unknown = (value) => value,
  ): Comparison => ({
    property,
    expected: normalise(props[property]),
    actual: from(alarm, (a) => normalise((a as Json)[property]) ?? ABSENT),
  });
  return [
    {
      property: 'AlarmRule',
      expected:
        typeof props.AlarmRule === 'string' ? alarmRuleWithoutLeftOut(props.AlarmRule) : props.AlarmRule,
      actual: from(alarm, (a) => a.AlarmRule ?? ABSENT),
    },
    field('ActionsEnabled', bool),
    field('AlarmActions', sorted),
    field('OKActions', sorted),
    field('InsufficientDataActions', sorted),
    field('ActionsSuppressor'),
    field('ActionsSuppressorWaitPeriod', num),
    field('ActionsSuppressorExtensionPeriod', num),
  ];
};

const restApi: Checker = async ({ physicalId: restApiId, props, clients }) => {
  const api = await lookUp(() => clients.apigateway.send(new GetRestApiCommand({ restApiId })));
  if (api === undefined) return missing();
  return [
    {
      property: 'BinaryMediaTypes',
      expected: sorted(props.BinaryMediaTypes),
      actual: from(api, (a) => sorted(a.binaryMediaTypes ?? [])),
    },
  ];
};

const snsTopic: Checker = async ({ physicalId: TopicArn, props, clients }) => {
  const attributes = await lookUp(
    async () =>
      ((await clients.sns.send(new GetTopicAttributesCommand({ TopicArn }))).Attributes ?? {}) as Record<
        string,
        string
      >,
  );
  if (attributes === undefined) return missing();
  const key = str(props.KmsMasterKeyId);
  return [
    {
      property: 'KmsMasterKeyId',
      expected: key,
      actual: from(attributes, (a) => a.KmsMasterKeyId ?? ABSENT),
      patch: patch(`SetTopicAttributes ${TopicArn}: KmsMasterKeyId=${key}`, () =>
        clients.sns.send(
          new SetTopicAttributesCommand({ TopicArn, AttributeName: 'KmsMasterKeyId', AttributeValue: key }),
        ),
      ),
    },
  ];
};

/** CloudFormation MethodSetting fields: GetStage field name and UpdateStage patch path. */
const METHOD_SETTING_FIELDS: Record<string, [field: string, path: string]> = {
  ThrottlingBurstLimit: ['throttlingBurstLimit', 'throttling/burstLimit'],
  ThrottlingRateLimit: ['throttlingRateLimit', 'throttling/rateLimit'],
  LoggingLevel: ['loggingLevel', 'logging/loglevel'],
  DataTraceEnabled: ['dataTraceEnabled', 'logging/dataTrace'],
  MetricsEnabled: ['metricsEnabled', 'metrics/enabled'],
  CachingEnabled: ['cachingEnabled', 'caching/enabled'],
};

const apiStage: Checker = async ({ physicalId, props, clients }) => {
  const restApiId = str(props.RestApiId);
  const stageName = str(props.StageName) ?? physicalId;
  const stage = await lookUp(() => clients.apigateway.send(new GetStageCommand({ restApiId, stageName })));
  if (stage === undefined) return missing();
  const update = (operations: Array<[path: string, value: unknown]>): Patch => {
    const patchOperations = operations.map(([path, value]) => ({
      op: 'replace' as Op,
      path,
      value: str(value),
    }));
    return patch(`UpdateStage ${restApiId}/${stageName}: ${JSON.stringify(patchOperations)}`, () =>
      clients.apigateway.send(new UpdateStageCommand({ restApiId, stageName, patchOperations })),
    );
  };
  const methodSettings = list(props.MethodSettings).map((setting): Comparison => {
    const s = obj(setting);
    // Settings for resource path "/~1items" and method GET live under "~1items/GET"; "/*" and "*" under "*/*".
    const key = `${(str(s.ResourcePath) ?? '/*').replace(/^\//, '')}/${str(s.HttpMethod) ?? '*'}`;
    const set = Object.keys(METHOD_SETTING_FIELDS).filter((name) => s[name] !== undefined);
    const shape = (read: (name: string, field: string) => unknown) =>
      Object.fromEntries(
        set.map((name) => [name, num(bool(read(name, METHOD_SETTING_FIELDS[name]?.[0] ?? '')))]),
      );
    return {
      property: `MethodSettings[${key}]`,
      expected: shape((name) => s[name]),
      actual: from(stage, (st) => {
        // AWS keys a method's settings `~1items/GET`; MiniStack 1.5.33 keeps the leading slash.
        const current = st.methodSettings?.[key] ?? st.methodSettings?.[`/${key}`];
        return current ? shape((_, field) => (current as Json)[field]) : ABSENT;
      }),
      patch: update(set.map((name) => [`/${key}/${METHOD_SETTING_FIELDS[name]?.[1]}`, s[name]])),
    };
  });
  const access = props.AccessLogSetting === undefined ? undefined : obj(props.AccessLogSetting);
  return [
    ...methodSettings,
    {
      property: 'TracingEnabled',
      expected: bool(props.TracingEnabled),
      actual: from(stage, (st) => st.tracingEnabled === true),
      patch: update([['/tracingEnabled', props.TracingEnabled]]),
    },
    {
      property: 'AccessLogSetting',
      expected: access && { DestinationArn: access.DestinationArn, Format: access.Format },
      actual: from(stage, (st) => ({
        DestinationArn: st.accessLogSettings?.destinationArn ?? ABSENT,
        Format: st.accessLogSettings?.format ?? ABSENT,
      })),
      patch: update([
        ['/accessLogSettings/destinationArn', access?.DestinationArn],
        ['/accessLogSettings/format', access?.Format],
      ]),
    },
  ];
};

/** The checker for each resource type. A type not listed here is only checked for a physical id. */
const CHECKERS: Record<string, Checker> = {
  'AWS::SQS::Queue': sqsQueue,
  'AWS::Lambda::EventSourceMapping': eventSourceMapping,
  'AWS::Lambda::Function': lambdaFunction,
  'AWS::Events::Rule': eventsRule,
  'AWS::DynamoDB::Table': dynamoTable,
  'AWS::DynamoDB::GlobalTable': dynamoTable,
  'AWS::StepFunctions::StateMachine': stateMachine,
  'AWS::CloudWatch::Alarm': cloudWatchAlarm,
  'AWS::CloudWatch::CompositeAlarm': compositeAlarm,
  'AWS::ApiGateway::RestApi': restApi,
  'AWS::ApiGateway::Stage': apiStage,
  'AWS::SNS::Topic': snsTopic,
};

const SKIPPED_TYPES = new Set(['AWS::CDK::Metadata']);

/** Turns the comparisons that differ into drifts. */
function drifts(resource: { logicalId: string; type: string }, comparisons: Comparison[]): Drift[] {
  return comparisons.flatMap(({ property, expected, actual, patch: fix }): Drift[] => {
    if (expected === undefined) return [];
    const base = { logicalId: resource.logicalId, resourceType: resource.type, property };
    if (actual instanceof Unreadable)
      return [{ ...base, expected, actual: `unreadable: ${actual.errorName}` }];
    if (isDeepStrictEqual(canonical(expected), canonical(actual))) return [];
    return [{ ...base, expected, actual, ...(fix ? { patch: fix } : {}) }];
  });
}

/** Checks one template resource; never throws, every failure is a drift. */
async function checkResource(
  logicalId: string,
  definition: Json,
  resolver: StackResolver,
  clients: ConformanceClients,
  unchecked: readonly UncheckedProperty[],
): Promise<Drift[]> {
  const type = String(definition.Type);
  const skipped = new Set(
    unchecked.filter((entry) => entry.resourceType === type).map((entry) => entry.property),
  );
  const deployed = resolver.resources.get(logicalId);
  const existing = deployed?.physicalId && !/FAILED|DELETE_COMPLETE/.test(deployed.status);
  if (!existing) {
    return drifts({ logicalId, type }, [
      {
        property: 'PhysicalResourceId',
        expected: 'present',
        actual: deployed ? `${deployed.status}` : ABSENT,
      },
    ]);
  }
  const checker = CHECKERS[type];
  if (!checker) return [];
  let props: Json;
  try {
    props = obj(await resolver.resolve(definition.Properties ?? {}));
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return drifts({ logicalId, type }, [
      { property: 'Properties', expected: 'resolvable', actual: `unresolvable: ${message}` },
    ]);
  }
  try {
    const comparisons = await checker({
      logicalId,
      type,
      physicalId: deployed.physicalId ?? '',
      props,
      clients,
    });
    return drifts(
      { logicalId, type },
      comparisons.filter((comparison) => !skipped.has(comparison.property)),
    );
  } catch (error) {
    return drifts({ logicalId, type }, [
      { property: '*', expected: 'readable', actual: new Unreadable(errorName(error)) },
    ]);
  }
}

/**
 * Reads back every resource of the deployed stack `stackName` and compares it with `template` (the template it
 * was deployed from, as a parsed object), resolving the template's intrinsic functions against the stack.
 * Returns the drifts in template order; an empty list means the stack conforms. A drift carries a `patch` when
 * the setting can be re-applied through the service API. Pass `resolver` to reuse a loaded `StackResolver`.
 * `outside`: resources of `template` created outside the stack, through their API (checked like the others);
 * `leftOut`: logical ids left out of the deployment on purpose, with the reason (not expected, and references
 * to them resolve to a marker); `unchecked`: properties the emulator does not keep (not compared).
 * Rejects only when the stack itself cannot be read (DescribeStacks / ListStackResources fail).
 */
export async function checkConformance(input: {
  stackName: string;
  template: object;
  clients: ConformanceClients;
  resolver?: StackResolver;
  outside?: readonly StackResource[];
  leftOut?: Readonly<Record<string, string>>;
  unchecked?: readonly UncheckedProperty[];
}): Promise<Drift[]> {
  const { stackName, template, clients } = input;
  const resolver = input.resolver ?? (await StackResolver.load(stackName, clients, template));
  resolver.adopt(...(input.outside ?? []));
  const leftOut = input.leftOut ?? {};
  for (const logicalId of Object.keys(leftOut)) resolver.leaveOut(logicalId);
  const resources = Object.entries(obj((template as Json).Resources)).filter(
    ([logicalId, definition]) => !SKIPPED_TYPES.has(String(obj(definition).Type)) && !(logicalId in leftOut),
  );
  const results = await Promise.all(
    resources.map(([logicalId, definition]) =>
      checkResource(logicalId, obj(definition), resolver, clients, input.unchecked ?? []),
    ),
  );
  return results.flat();
}
