/**
 * Resolves CloudFormation intrinsic functions in template values against a deployed stack, so the local
 * deployer can compare what the template asked for with what the emulator actually built.
 *
 * A `Ref` to a resource resolves to the physical id the stack reports (ListStackResources), whatever the
 * emulator chose to return: MiniStack's `Ref` of an `AWS::SecretsManager::Secret` is the secret NAME where AWS
 * gives the ARN, and the resolver deliberately keeps that, so comparisons stay like with like.
 * `Fn::GetAtt` values are read from the service APIs (GetQueueAttributes, GetFunction, DescribeTable, ...)
 * lazily, once per resource and attribute. A few ARNs have no readable source in the client bundle (IAM roles,
 * log groups, KMS keys) and are computed from the physical id with AWS's documented ARN formats.
 * Supported: `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub` (both forms), `Fn::Select`, `Fn::Split`, `Fn::Base64`.
 * Condition functions (`Fn::If`, ...) and `Fn::ImportValue` are not supported and throw an `IntrinsicError`.
 *
 * Resources the deployer creates through their API after the stack are `adopt`ed (their physical ids are then
 * known); resources it leaves out on purpose resolve, through `leaveOut`, to a marker (`leftOutMarker`) that the
 * code using the value must handle: it is never a usable id.
 */
import { type APIGatewayClient, GetRestApiCommand } from '@aws-sdk/client-api-gateway';
import {
  type CloudFormationClient,
  DescribeStacksCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import { GetFunctionCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * The SDK v3 clients the resolver reads from, all pointed at the same endpoint and region as the stack.
 * `secretsmanager` is optional: it is only needed for `Fn::GetAtt <Secret>.Arn` when the physical id is not
 * already an ARN (MiniStack).
 */
export interface ResolverClients {
  cloudformation: CloudFormationClient;
  sqs: SQSClient;
  lambda: LambdaClient;
  eventbridge: EventBridgeClient;
  dynamodb: DynamoDBClient;
  sfn: SFNClient;
  cloudwatch: CloudWatchClient;
  apigateway: APIGatewayClient;
  secretsmanager?: SecretsManagerClient;
}

/** One resource of the deployed stack: type and status from CloudFormation, physical id when it has one. */
export interface StackResource {
  logicalId: string;
  type: string;
  physicalId: string | undefined;
  status: string;
}

/** A template value that cannot be resolved: unknown resource or parameter, unsupported function or attribute. */
export class IntrinsicError extends Error {
  override name = 'IntrinsicError';
}

type Json = Record<string, unknown>;

/** What an attribute getter gets to work with. */
interface AttributeContext {
  resolver: StackResolver;
  clients: ResolverClients;
  logicalId: string;
  physicalId: string;
  properties: Json;
}

type AttributeGetter = (ctx: AttributeContext) => Promise<string>;

/**
 * What `Ref` and `Fn::GetAtt` of a resource left out on purpose resolve to: a string no AWS id can contain, so
 * a value built from it is recognised (`LEFT_OUT_PATTERN`) and never mistaken for a real id.
 */
export const leftOutMarker = (logicalId: string): string => `<left out: ${logicalId}>`;
/** Finds `leftOutMarker` values in a resolved string; group 1 is the logical id. */
export const LEFT_OUT_PATTERN = /<left out: ([A-Za-z0-9]+)>/g;

/** `Ref: AWS::NoValue` removes the property (or list item) it appears in. */
const NO_VALUE = Symbol('AWS::NoValue');

const isJson = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const defined = <T>(value: T | undefined | null, what: string): T => {
  if (value === undefined || value === null) throw new IntrinsicError(`${what} was not returned`);
  return value;
};

const asString = (value: unknown, where: string): string => {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicError(`${where}: expected a string, got ${JSON.stringify(value)}`);
};

const asList = (value: unknown, where: string): unknown[] => {
  if (Array.isArray(value)) return value;
  throw new IntrinsicError(`${where}: expected a list, got ${JSON.stringify(value)}`);
};

/** The ARN itself when the physical id already is one, else `compute()`. */
const arnOr = async (physicalId: string, compute: () => Promise<string> | string): Promise<string> =>
  physicalId.startsWith('arn:') ? physicalId : compute();

const queueAttribute = async ({ clients, physicalId }: AttributeContext): Promise<string> => {
  const out = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: physicalId, AttributeNames: ['QueueArn'] }),
  );
  return defined(out.Attributes?.QueueArn, `QueueArn of ${physicalId}`);
};

const tableArn: AttributeGetter = async ({ clients, physicalId }) =>
  defined(
    (await clients.dynamodb.send(new DescribeTableCommand({ TableName: physicalId }))).Table?.TableArn,
    `TableArn of ${physicalId}`,
  );

const busArn: AttributeGetter = async ({ clients, physicalId }) =>
  defined(
    (await clients.eventbridge.send(new DescribeEventBusCommand({ Name: physicalId }))).Arn,
    `Arn of bus ${physicalId}`,
  );

const stateMachineArn: AttributeGetter = async ({ clients, physicalId }) =>
  defined(
    (await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: physicalId })))
      .stateMachineArn,
    `stateMachineArn of ${physicalId}`,
  );

const topicArn: AttributeGetter = async ({ physicalId }) => {
  if (!physicalId.startsWith('arn:'))
    throw new IntrinsicError(`topic physical id ${physicalId} is not an ARN`);
  return physicalId;
};

const secretArn: AttributeGetter = ({ clients, physicalId }) =>
  arnOr(physicalId, async () => {
    if (!clients.secretsmanager) {
      throw new IntrinsicError(`the ARN of secret ${physicalId} needs a secretsmanager client`);
    }
    const out = await clients.secretsmanager.send(new DescribeSecretCommand({ SecretId: physicalId }));
    return defined(out.ARN, `ARN of secret ${physicalId}`);
  });

/** `Fn::GetAtt` support, keyed by `<resource type>.<attribute>`. */
const ATTRIBUTES: Record<string, AttributeGetter> = {
  'AWS::SQS::Queue.Arn': queueAttribute,
  'AWS::SQS::Queue.QueueUrl': async ({ physicalId }) => physicalId,
  'AWS::SQS::Queue.QueueName': async ({ resolver, logicalId }) =>
    (await resolver.getAtt(logicalId, 'Arn')).split(':').pop() ?? '',
  'AWS::Lambda::Function.Arn': async ({ clients, physicalId }) =>
    defined(
      (await clients.lambda.send(new GetFunctionCommand({ FunctionName: physicalId }))).Configuration
        ?.FunctionArn,
      `FunctionArn of ${physicalId}`,
    ),
  'AWS::DynamoDB::Table.Arn': tableArn,
  'AWS::DynamoDB::GlobalTable.Arn': tableArn,
  'AWS::DynamoDB::Table.StreamArn': async ({ clients, physicalId }) =>
    defined(
      (await clients.dynamodb.send(new DescribeTableCommand({ TableName: physicalId }))).Table
        ?.LatestStreamArn,
      `LatestStreamArn of ${physicalId}`,
    ),
  'AWS::Events::EventBus.Arn': busArn,
  'AWS::Events::EventBus.Name': async ({ clients, physicalId }) =>
    defined(
      (await clients.eventbridge.send(new DescribeEventBusCommand({ Name: physicalId }))).Name,
      `Name of bus ${physicalId}`,
    ),
  'AWS::Events::Rule.Arn': async ({ clients, physicalId, resolver, properties }) => {
    const bus =
      properties.EventBusName === undefined ? undefined : await resolver.resolve(properties.EventBusName);
    const out = await clients.eventbridge.send(
      new DescribeRuleCommand({
        Name: physicalId.split('|').pop(),
        EventBusName: bus === undefined ? undefined : asString(bus, 'EventBusName'),
      }),
    );
    return defined(out.Arn, `Arn of rule ${physicalId}`);
  },
  'AWS::StepFunctions::StateMachine.Arn': stateMachineArn,
  'AWS::StepFunctions::StateMachine.Name': async ({ clients, physicalId }) =>
    defined(
      (await clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: physicalId }))).name,
      `name of ${physicalId}`,
    ),
  'AWS::SNS::Topic.Arn': topicArn,
  'AWS::SNS::Topic.TopicArn': topicArn,
  'AWS::SNS::Topic.TopicName': async (ctx) => (await topicArn(ctx)).split(':').pop() ?? '',
  'AWS::SecretsManager::Secret.Arn': secretArn,
  'AWS::SecretsManager::Secret.Id': secretArn,
  'AWS::CloudWatch::Alarm.Arn': async ({ clients, physicalId }) =>
    defined(
      (await clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [physicalId] })))
        .MetricAlarms?.[0]?.AlarmArn,
      `AlarmArn of ${physicalId}`,
    ),
  'AWS::CloudWatch::CompositeAlarm.Arn': async ({ clients, physicalId }) =>
    defined(
      (
        await clients.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: [physicalId], AlarmTypes: ['CompositeAlarm'] }),
        )
      ).CompositeAlarms?.[0]?.AlarmArn,
      `AlarmArn of composite alarm ${physicalId}`,
    ),
  'AWS::ApiGateway::RestApi.RootResourceId': async ({ clients, physicalId }) =>
    defined(
      (await clients.apigateway.send(new GetRestApiCommand({ restApiId: physicalId }))).rootResourceId,
      `rootResourceId of ${physicalId}`,
    ),
  'AWS::ApiGateway::RestApi.RestApiId': async ({ physicalId }) => physicalId,
  // No client in the bundle reads these back: computed with AWS's ARN formats from the physical id.
  'AWS::KMS::Key.Arn': async ({ resolver, physicalId }) =>
    arnOr(physicalId, () => resolver.arn('kms', `key/${physicalId}`)),
  'AWS::KMS::Key.KeyId': async ({ physicalId }) => physicalId.split('/').pop() ?? physicalId,
  'AWS::Logs::LogGroup.Arn': async ({ resolver, physicalId }) =>
    arnOr(physicalId, () => resolver.arn('logs', `log-group:${physicalId}:*`)),
  'AWS::IAM::Role.Arn': async ({ resolver, physicalId }) =>
    arnOr(physicalId, () => resolver.arn('iam', `role/${physicalId}`, '')),
};

/** Splits a stack ARN `arn:<partition>:cloudformation:<region>:<account>:stack/...` into its parts. */
function parseStackArn(stackId: string): { partition: string; region: string; accountId: string } {
  const [, partition, , region, accountId] = stackId.split(':');
  if (!partition || !region || !accountId) throw new IntrinsicError(`cannot parse stack id ${stackId}`);
  return { partition, region, accountId };
}

/**
 * Resolves template values against one deployed stack. Create it with `StackResolver.load`; `resolve` is safe to
 * call concurrently and caches every service read.
 */
export class StackResolver {
  private readonly deployed: Map<string, StackResource>;
  private readonly leftOut = new Set<string>();
  private readonly attributeCache = new Map<string, Promise<string>>();

  constructor(
    readonly stack: {
      stackName: string;
      stackId: string;
      partition: string;
      region: string;
      accountId: string;
      /** Parameter values as CloudFormation resolved them (SSM parameter types give the SSM value). */
      parameters: Record<string, string>;
    },
    resources: Iterable<StackResource>,
    private readonly clients: ResolverClients,
    private readonly template: Json,
  ) {
    this.deployed = new Map([...resources].map((resource) => [resource.logicalId, resource]));
  }

  /** The stack's resources, with those adopted from outside it. */
  get resources(): ReadonlyMap<string, StackResource> {
    return this.deployed;
  }

  /**
   * Adds resources created outside the stack, through their service API (the deployer's fallback for types an
   * emulator's CloudFormation cannot create): from now on `Ref` and `Fn::GetAtt` resolve them like stack resources.
   */
  adopt(...resources: StackResource[]): void {
    for (const resource of resources) this.deployed.set(resource.logicalId, resource);
  }

  /**
   * Marks a template resource as left out of the deployment on purpose: `Ref` and `Fn::GetAtt` of it resolve to
   * `leftOutMarker(logicalId)` instead of failing.
   */
  leaveOut(logicalId: string): void {
    this.leftOut.add(logicalId);
  }

  /**
   * Reads the stack's parameters (DescribeStacks) and resources (ListStackResources, every page) and returns a
   * resolver for it. `template` is the template the stack was deployed from; its parameter defaults fill gaps.
   * Throws the SDK error when the stack does not exist, or an `IntrinsicError` when its id is malformed.
   */
  static async load(stackName: string, clients: ResolverClients, template: object): Promise<StackResolver> {
    const described = await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = described.Stacks?.[0];
    if (!stack?.StackId) throw new IntrinsicError(`stack ${stackName} not found`);
    const templateJson = template as Json;
    const parameters: Record<string, string> = {};
    const declared = isJson(templateJson.Parameters) ? templateJson.Parameters : {};
    for (const [key, declaration] of Object.entries(declared)) {
      if (isJson(declaration) && declaration.Default !== undefined)
        parameters[key] = String(declaration.Default);
    }
    for (const parameter of stack.Parameters ?? []) {
      const value = parameter.ResolvedValue ?? parameter.ParameterValue;
      if (parameter.ParameterKey && value !== undefined) parameters[parameter.ParameterKey] = value;
    }
    const summaries: StackResourceSummary[] = [];
    let nextToken: string | undefined;
    do {
      const page = await clients.cloudformation.send(
        new ListStackResourcesCommand({ StackName: stackName, NextToken: nextToken }),
      );
      summaries.push(...(page.StackResourceSummaries ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    const resources = summaries.flatMap((summary): StackResource[] =>
      summary.LogicalResourceId
        ? [
            {
              logicalId: summary.LogicalResourceId,
              type: summary.ResourceType ?? '',
              physicalId: summary.PhysicalResourceId || undefined,
              status: summary.ResourceStatus ?? '',
            },
          ]
        : [],
    );
    return new StackResolver(
      { stackName, stackId: stack.StackId, ...parseStackArn(stack.StackId), parameters },
      resources,
      clients,
      templateJson,
    );
  }

  /** An ARN in the stack's partition, region (unless `region` is given, e.g. '' for IAM) and account. */
  arn(service: string, resource: string, region = this.stack.region): string {
    return `arn:${this.stack.partition}:${service}:${region}:${this.stack.accountId}:${resource}`;
  }

  /** The physical id of a deployed resource; throws an `IntrinsicError` when the stack has none for it. */
  physicalId(logicalId: string): string {
    const physicalId = this.deployed.get(logicalId)?.physicalId;
    if (!physicalId) throw new IntrinsicError(`resource ${logicalId} has no physical id in the stack`);
    return physicalId;
  }

  /**
   * Returns `value` with every intrinsic function evaluated, recursively; plain values come back as they are
   * and `Ref: AWS::NoValue` drops its property or list item. Rejects with an `IntrinsicError` for anything it
   * cannot resolve, or with the SDK error of a failed read-back.
   */
  async resolve(value: unknown): Promise<unknown> {
    const resolved = await this.evaluate(value);
    return resolved === NO_VALUE ? undefined : resolved;
  }

  /** `Fn::GetAtt` of one resource attribute, read from its service once and cached. */
  getAtt(logicalId: string, attribute: string): Promise<string> {
    if (this.leftOut.has(logicalId)) return Promise.resolve(leftOutMarker(logicalId));
    const key = `${logicalId}.${attribute}`;
    let pending = this.attributeCache.get(key);
    if (!pending) {
      pending = this.readAttribute(logicalId, attribute);
      pending.catch(() => this.attributeCache.delete(key));
      this.attributeCache.set(key, pending);
    }
    return pending;
  }

  private async readAttribute(logicalId: string, attribute: string): Promise<string> {
    const type = this.deployed.get(logicalId)?.type ?? this.templateResource(logicalId).Type;
    const getter = ATTRIBUTES[`${type}.${attribute}`];
    if (!getter)
      throw new IntrinsicError(`Fn::GetAtt ${attribute} of ${type} (${logicalId}) is not supported`);
    const properties = this.templateResource(logicalId).Properties;
    return getter({
      resolver: this,
      clients: this.clients,
      logicalId,
      physicalId: this.physicalId(logicalId),
      properties: isJson(properties) ? properties : {},
    });
  }

  private templateResource(logicalId: string): Json {
    const resources = isJson(this.template.Resources) ? this.template.Resources : {};
    const resource = resources[logicalId];
    return isJson(resource) ? resource : {};
  }

  private ref(name: string): unknown {
    const { stack } = this;
    const pseudo: Record<string, unknown> = {
      'AWS::Region': stack.region,
      'AWS::AccountId': stack.accountId,
      'AWS::Partition': stack.partition,
      'AWS::URLSuffix': stack.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
      'AWS::StackName': stack.stackName,
      'AWS::StackId': stack.stackId,
      'AWS::NotificationARNs': [],
      'AWS::NoValue': NO_VALUE,
    };
    if (name in pseudo) return pseudo[name];
    const parameter = stack.parameters[name];
    if (parameter !== undefined) {
      const declared = isJson(this.template.Parameters) ? this.template.Parameters[name] : undefined;
      const type = isJson(declared) ? String(declared.Type ?? '') : '';
      return type === 'CommaDelimitedList' || type.startsWith('List<') ? parameter.split(',') : parameter;
    }
    if (name.startsWith('AWS::')) throw new IntrinsicError(`pseudo parameter ${name} is not supported`);
    if (this.leftOut.has(name)) return leftOutMarker(name);
    return this.physicalId(name);
  }

  private async sub(template: string, variables: Json): Promise<string> {
    const pieces: Array<string | Promise<string>> = [];
    let last = 0;
    for (const match of template.matchAll(/\$\{([^}]*)\}/g)) {
      pieces.push(template.slice(last, match.index));
      last = match.index + match[0].length;
      const name = (match[1] ?? '').trim();
      if (name.startsWith('!')) {
        pieces.push(`\${${name.slice(1)}}`);
      } else if (name in variables) {
        pieces.push(this.evaluate(variables[name]).then((v) => asString(v, `Fn::Sub \${${name}}`)));
      } else if (name.includes('.')) {
        const dot = name.indexOf('.');
        pieces.push(this.getAtt(name.slice(0, dot), name.slice(dot + 1)));
      } else {
        pieces.push(asString(this.ref(name), `Fn::Sub \${${name}}`));
      }
    }
    pieces.push(template.slice(last));
    return (await Promise.all(pieces)).join('');
  }

  private async evaluate(value: unknown): Promise<unknown> {
    if (Array.isArray(value)) {
      const items = await Promise.all(value.map((item) => this.evaluate(item)));
      return items.filter((item) => item !== NO_VALUE);
    }
    if (!isJson(value)) return value;
    const keys = Object.keys(value);
    const fn = keys[0];
    if (keys.length === 1 && fn && (fn === 'Ref' || fn.startsWith('Fn::'))) {
      return this.intrinsic(fn, value[fn]);
    }
    const entries = await Promise.all(
      keys.map(async (key) => [key, await this.evaluate(value[key])] as const),
    );
    return Object.fromEntries(entries.filter(([, item]) => item !== NO_VALUE));
  }

  private async intrinsic(fn: string, arg: unknown): Promise<unknown> {
    switch (fn) {
      case 'Ref':
        return this.ref(asString(await this.evaluate(arg), 'Ref'));
      case 'Fn::GetAtt': {
        const parts = typeof arg === 'string' ? arg.split(/\.(.*)/s) : asList(arg, fn);
        const [logicalId, attribute] = await Promise.all(
          parts.slice(0, 2).map((part) => this.evaluate(part)),
        );
        return this.getAtt(asString(logicalId, fn), asString(attribute, fn));
      }
      case 'Fn::Join': {
        const [delimiter, list] = asList(arg, fn);
        const items = asList(await this.evaluate(list), fn);
        return items.map((item) => asString(item, fn)).join(asString(delimiter ?? '', fn));
      }
      case 'Fn::Sub': {
        if (typeof arg === 'string') return this.sub(arg, {});
        const [template, variables] = asList(arg, fn);
        return this.sub(asString(template, fn), isJson(variables) ? variables : {});
      }
      case 'Fn::Select': {
        const [index, list] = await Promise.all(asList(arg, fn).map((part) => this.evaluate(part)));
        const item = asList(list, fn)[Number(index)];
        if (item === undefined) throw new IntrinsicError(`Fn::Select index ${String(index)} is out of range`);
        return item;
      }
      case 'Fn::Split': {
        const [delimiter, source] = await Promise.all(asList(arg, fn).map((part) => this.evaluate(part)));
        return asString(source, fn).split(asString(delimiter, fn));
      }
      case 'Fn::Base64':
        return Buffer.from(asString(await this.evaluate(arg), fn)).toString('base64');
      default:
        throw new IntrinsicError(`${fn} is not supported`);
    }
  }
}
