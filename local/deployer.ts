/**
 * Deploys a synthesized CDK assembly (`cdk.out`) to an AWS endpoint, the emulator by default, then reads
 * the deployed configuration back and stops on any drift from the template.
 *
 * 1. publishes the file assets to the buckets named in `<stack>.assets.json` and sets the CDK bootstrap
 *    version parameter the template checks;
 * 2. plans around what the emulator's CloudFormation cannot do (`planDeployment`, per emulator: see
 *    `EMULATOR_GAPS`), printing each step with its reason: resources it cannot create are created through their
 *    service API after the stack, resources no API of the emulator can hold as defined are left out, and the
 *    references the stack's other resources make to either are replaced by the names and ARNs the deployer gives
 *    them;
 * 3. creates the stack and waits for it, then creates the deferred resources;
 * 4. runs the conformance read-back (knowing what was deferred, left out, and which properties the emulator does
 *    not keep); settings the emulator dropped are re-applied through the service API, each patch printed, and
 *    the read-back runs again; anything still different fails the deployment.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Output,
} from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand, PutCompositeAlarmCommand } from '@aws-sdk/client-cloudwatch';
import { CreateArchiveCommand, DescribeArchiveCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import yazl from 'yazl';
import type { AwsClients } from './aws-clients.js';
import {
  alarmRuleWithoutLeftOut,
  checkConformance,
  type Drift,
  type UncheckedProperty,
} from './conformance.js';
import { LEFT_OUT_PATTERN, StackResolver, type StackResource } from './intrinsics.js';

/** The emulators the deployer knows. */
export type EmulatorName = 'ministack' | 'other';

/** What one emulator's CloudFormation cannot do, and what the deployer does instead. */
export interface EmulatorGaps {
  /** Resource types created through their service API after the stack, with the reason. */
  readonly deferred: Readonly<Record<string, string>>;
  /** Resources left out of the deployment on purpose: those of `resourceType` for which `applies` holds. */
  readonly leftOut: readonly {
    readonly resourceType: string;
    readonly applies: (properties: Record<string, unknown>) => boolean;
    readonly reason: string;
  }[];
  /** Properties the emulator does not keep: the read-back does not compare them. */
  readonly unchecked: readonly UncheckedProperty[];
}

const MINISTACK_SUPPRESSOR =
  'MiniStack 1.5.33 PutCompositeAlarm does not keep it (ministack/services/cloudwatch.py, _put_composite_alarm)';
export const EMULATOR_GAPS: Readonly<Record<EmulatorName, EmulatorGaps>> = {
  ministack: {
    deferred: {
      // MiniStack 1.5.33 rejects the whole template ("Unrecognized resource types") for either.
      'AWS::Events::Archive': 'its CloudFormation has no provisioner for it; its API has CreateArchive',
      'AWS::CloudWatch::CompositeAlarm':
        'its CloudFormation has no provisioner for it (services/cloudformation/provisioners.py); its API has ' +
        'PutCompositeAlarm',
    },
    leftOut: [
      {
        resourceType: 'AWS::CloudWatch::Alarm',
        applies: (properties) => properties.Metrics !== undefined,
        reason:
          'a metric-math alarm: MiniStack 1.5.33 CloudFormation rejects Properties.Metrics ' +
          '(provisioners.py, _cw_metric_alarm_record) and its PutMetricAlarm drops Metrics (cloudwatch.py, ' +
          '_put_metric_alarm), so no API creates it as defined; composites treat it as never in ALARM',
      },
    ],
    unchecked: [
      {
        resourceType: 'AWS::CloudWatch::CompositeAlarm',
        property: 'ActionsSuppressor',
        reason: MINISTACK_SUPPRESSOR,
      },
      {
        resourceType: 'AWS::CloudWatch::CompositeAlarm',
        property: 'ActionsSuppressorWaitPeriod',
        reason: MINISTACK_SUPPRESSOR,
      },
      {
        resourceType: 'AWS::CloudWatch::CompositeAlarm',
        property: 'ActionsSuppressorExtensionPeriod',
        reason: MINISTACK_SUPPRESSOR,
      },
    ],
  },
  other: { deferred: {}, leftOut: [], unchecked: [] },
};

/** The property naming a resource of each type the deployer may create through the API. */
const NAME_PROPERTY: Readonly<Record<string, string>> = {
  'AWS::Events::Archive': 'ArchiveName',
  'AWS::CloudWatch::CompositeAlarm': 'AlarmName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

/** Resource types whose references the deployer can rewrite: it knows their name (`Ref`) and ARN format. */
const ALARM_TYPES = new Set(['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']);

/** CDK's default bootstrap qualifier and a version its templates accept (they require ≥ 6). */
const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';
const BOOTSTRAP_VERSION = '30';

/** The deployment did not match the template after every patch. */
export class DeploymentDriftError extends Error {
  override readonly name = 'DeploymentDriftError';
  constructor(readonly drifts: readonly Drift[]) {
    super(
      `the deployed stack differs from the template:\n${drifts.map((drift) => `  - ${describeDrift(drift)}`).join('\n')}`,
    );
  }
}

export interface DeployOptions {
  readonly clients: AwsClients;
  /** The `cdk.out` directory. */
  readonly assemblyDir: string;
  readonly stackName: string;
  readonly emulator: EmulatorName;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

/** A resource of a template. */
export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  [key: string]: unknown;
}

/** A CloudFormation template, as parsed JSON. */
export interface Template {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, unknown>;
  [key: string]: unknown;
}

/** A resource the deployer creates through its service API after the stack. */
export interface DeferredResource {
  readonly logicalId: string;
  readonly resource: TemplateResource;
  /** The name it is created with: its name property in the template if set, else `<stack>-<logical id>`. */
  readonly name: string;
}

/** How a template is deployed to one emulator. */
export interface DeploymentPlan {
  /** The template CloudFormation gets: without deferred and left-out resources, references to them rewritten. */
  readonly deployable: Template;
  /** Created through their API after the stack, each after the deferred resources it refers to. */
  readonly deferred: readonly DeferredResource[];
  /** Left out on purpose: logical id → reason. */
  readonly leftOut: Readonly<Record<string, string>>;
  /** Properties the read-back does not compare. */
  readonly unchecked: readonly UncheckedProperty[];
  /** What the plan does and why, one line each, to print. */
  readonly notes: readonly string[];
}

/**
 * Deploys the stack and checks it.
 * @returns the stack's outputs, by output key
 * @throws DeploymentDriftError on drift that no patch fixed; Error when the stack fails to create
 */
export async function deployAssembly(options: DeployOptions): Promise<Record<string, string>> {
  const { clients, log } = options;
  const template = JSON.parse(
    readFileSync(join(options.assemblyDir, `${options.stackName}.template.json`), 'utf8'),
  ) as Template;
  const { Account: account = '000000000000' } = await clients.sts.send(new GetCallerIdentityCommand({}));
  const region = await clients.cloudformation.config.region();

  log('publishing assets');
  const bucket = await publishAssets(options, account, region);
  await clients.ssm.send(
    new PutParameterCommand({
      Name: BOOTSTRAP_VERSION_PARAMETER,
      Value: BOOTSTRAP_VERSION,
      Type: 'String',
      Overwrite: true,
    }),
  );

  const plan = planDeployment(template, options.emulator, options.stackName);
  for (const note of plan.notes) log(`  ${note}`);

  log(`creating stack ${options.stackName}`);
  await createStack(options, plan.deployable, bucket);
  const resolver = await StackResolver.load(options.stackName, clients, template);
  for (const logicalId of Object.keys(plan.leftOut)) resolver.leaveOut(logicalId);
  const outside: StackResource[] = [];
  for (const item of plan.deferred) {
    const physicalId = await createDeferred(clients, item, resolver);
    const created = {
      logicalId: item.logicalId,
      type: item.resource.Type,
      physicalId,
      status: 'CREATE_COMPLETE',
    };
    resolver.adopt(created);
    outside.push(created);
    log(`  created ${item.logicalId} (${item.resource.Type}) through its API`);
  }

  log('reading the deployed configuration back');
  const checked: Template = {
    ...plan.deployable,
    Resources: {
      ...plan.deployable.Resources,
      ...Object.fromEntries(plan.deferred.map((item) => [item.logicalId, item.resource])),
    },
  };
  const check = () =>
    checkConformance({
      stackName: options.stackName,
      template: checked,
      clients,
      outside,
      leftOut: plan.leftOut,
      unchecked: plan.unchecked,
    });
  let drifts = await check();
  const patchable = drifts.filter((drift) => drift.patch);
  for (const drift of patchable) {
    log(`  patch: ${drift.patch?.description} (${describeDrift(drift)})`);
    await drift.patch?.apply();
  }
  if (patchable.length > 0) drifts = await check();
  if (drifts.length > 0) throw new DeploymentDriftError(drifts);
  log('deployed configuration matches the template');

  const { Stacks } = await clients.cloudformation.send(
    new DescribeStacksCommand({ StackName: options.stackName }),
  );
  return Object.fromEntries(
    (Stacks?.[0]?.Outputs ?? []).map((output: Output) => [output.OutputKey ?? '', output.OutputValue ?? '']),
  );
}

/** Zips each directory asset (or takes the file as it is) and puts it where the template expects it. */
/** @returns the bucket the assets went to, where the template goes too */
async function publishAssets(options: DeployOptions, account: string, region: string): Promise<string> {
  const manifest = JSON.parse(
    readFileSync(join(options.assemblyDir, `${options.stackName}.assets.json`), 'utf8'),
  ) as {
    files?: Record<
      string,
      {
        source: { path: string; packaging?: 'zip' | 'file' };
        destinations: Record<string, { bucketName: string; objectKey: string }>;
      }
    >;
  };
  const pseudo: Record<string, string> = { AccountId: account, Region: region, Partition: 'aws' };
  const substitute = (text: string) =>
    text.replace(/\$\{AWS::(AccountId|Region|Partition)\}/g, (_, name: string) => pseudo[name] ?? name);
  const buckets = new Set<string>();
  for (const asset of Object.values(manifest.files ?? {})) {
    const sourcePath = join(options.assemblyDir, asset.source.path);
    const body = asset.source.packaging === 'zip' ? await zipDirectory(sourcePath) : readFileSync(sourcePath);
    for (const destination of Object.values(asset.destinations)) {
      const bucket = substitute(destination.bucketName);
      if (!buckets.has(bucket)) {
        await ensureBucket(options.clients, bucket);
        buckets.add(bucket);
      }
      await options.clients.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: substitute(destination.objectKey), Body: body }),
      );
    }
  }
  const [bucket] = buckets;
  if (!bucket) throw new Error('the assembly has no file assets, so no bucket to put the template in');
  return bucket;
}

async function ensureBucket(clients: AwsClients, bucket: string): Promise<void> {
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** A zip of a directory's files (CDK's asset directories are flat bundles: index.mjs and its source map). */
async function zipDirectory(directory: string): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  const add = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) add(full, `${prefix}${name}/`);
      else zip.addFile(full, `${prefix}${name}`, { mtime: new Date(0) });
    }
  };
  add(directory, '');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Creates the stack (deleting an earlier one of the same name) and waits for CREATE_COMPLETE. */
async function createStack(options: DeployOptions, template: Template, bucket: string): Promise<void> {
  const { cloudformation } = options.clients;
  const existing = await cloudformation
    .send(new DescribeStacksCommand({ StackName: options.stackName }))
    .then((result) => result.Stacks?.[0])
    .catch(() => undefined);
  if (existing && existing.StackStatus !== 'DELETE_COMPLETE') {
    options.log(`  deleting the earlier stack ${options.stackName}`);
    await cloudformation.send(new DeleteStackCommand({ StackName: options.stackName }));
    await waitForStatus(options, /DELETE_COMPLETE/, /DELETE_FAILED/).catch(() => undefined);
  }
  // Templates over 51,200 bytes must come from S3, as `cdk deploy` does it.
  const body = JSON.stringify(template);
  const key = `${options.stackName}-${createHash('sha256').update(body).digest('hex')}.template.json`;
  await options.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await cloudformation.send(
    new CreateStackCommand({
      StackName: options.stackName,
      TemplateURL: `https://s3.amazonaws.com/${bucket}/${key}`,
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
    }),
  );
  await waitForStatus(options, /^CREATE_COMPLETE$/, /FAILED|ROLLBACK/);
}

async function waitForStatus(options: DeployOptions, done: RegExp, failed: RegExp, timeoutMs = 300_000) {
  const { cloudformation } = options.clients;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: options.stackName }));
    const status = Stacks?.[0]?.StackStatus ?? 'UNKNOWN';
    if (done.test(status)) return;
    if (failed.test(status)) {
      const { StackEvents = [] } = await cloudformation.send(
        new DescribeStackEventsCommand({ StackName: options.stackName }),
      );
      const reasons = StackEvents.filter((event) => /FAILED/.test(event.ResourceStatus ?? '')).map(
        (event) => `  ${event.LogicalResourceId}: ${event.ResourceStatusReason}`,
      );
      const why = reasons.length > 0 ? reasons.join('\n') : '  (no reason given: see the emulator log)';
      throw new Error(`stack ${options.stackName} is ${status}:\n${why}`);
    }
    if (Date.now() > deadline)
      throw new Error(`stack ${options.stackName} still ${status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Creates a resource the emulator's CloudFormation cannot, through its service API, and checks it exists.
 * @returns its physical id (what `Ref` gives)
 * @throws Error for a type with no API fallback, or when the created resource cannot be read back
 */
export async function createDeferred(
  clients: Pick<AwsClients, 'cloudwatch' | 'eventbridge'>,
  { logicalId, resource, name }: DeferredResource,
  resolver: StackResolver,
): Promise<string> {
  const properties = (await resolver.resolve(resource.Properties ?? {})) as Record<string, unknown>;
  switch (resource.Type) {
    case 'AWS::Events::Archive':
      return createArchive(clients, name, properties);
    case 'AWS::CloudWatch::CompositeAlarm':
      return createCompositeAlarm(clients, logicalId, name, properties);
    default:
      throw new Error(`no API fallback for ${resource.Type} (${logicalId})`);
  }
}

async function createArchive(
  clients: Pick<AwsClients, 'eventbridge'>,
  ArchiveName: string,
  properties: Record<string, unknown>,
): Promise<string> {
  const { SourceArn, Description, EventPattern, RetentionDays } = properties as {
    SourceArn: string;
    Description?: string;
    EventPattern?: unknown;
    RetentionDays?: number;
  };
  await clients.eventbridge.send(
    new CreateArchiveCommand({
      ArchiveName,
      EventSourceArn: SourceArn,
      Description,
      ...(EventPattern === undefined ? {} : { EventPattern: JSON.stringify(EventPattern) }),
      RetentionDays,
    }),
  );
  const archive = await clients.eventbridge.send(new DescribeArchiveCommand({ ArchiveName }));
  if (archive.EventSourceArn !== SourceArn) {
    throw new Error(`archive ${ArchiveName} was created for ${archive.EventSourceArn}, not ${SourceArn}`);
  }
  return ArchiveName;
}

/**
 * PutCompositeAlarm with the resolved properties; children left out of the deployment count as never in ALARM
 * (`alarmRuleWithoutLeftOut`).
 */
async function createCompositeAlarm(
  clients: Pick<AwsClients, 'cloudwatch'>,
  logicalId: string,
  AlarmName: string,
  properties: Record<string, unknown>,
): Promise<string> {
  const { AlarmRule, ...rest } = properties as { AlarmRule: string } & Record<string, unknown>;
  const unusable = JSON.stringify(rest).match(LEFT_OUT_PATTERN);
  if (unusable) {
    throw new Error(
      `${logicalId} refers to alarms left out of the deployment outside its rule: ${unusable.join(', ')}`,
    );
  }
  const strings = (value: unknown) => (Array.isArray(value) ? value.map(String) : undefined);
  const seconds = (value: unknown) => (value === undefined ? undefined : Number(value));
  await clients.cloudwatch.send(
    new PutCompositeAlarmCommand({
      AlarmName,
      AlarmRule: alarmRuleWithoutLeftOut(String(AlarmRule)),
      AlarmDescription: rest.AlarmDescription === undefined ? undefined : String(rest.AlarmDescription),
      ActionsEnabled:
        rest.ActionsEnabled === undefined
          ? undefined
          : rest.ActionsEnabled === true || rest.ActionsEnabled === 'true',
      AlarmActions: strings(rest.AlarmActions),
      OKActions: strings(rest.OKActions),
      InsufficientDataActions: strings(rest.InsufficientDataActions),
      ActionsSuppressor: rest.ActionsSuppressor === undefined ? undefined : String(rest.ActionsSuppressor),
      ActionsSuppressorWaitPeriod: seconds(rest.ActionsSuppressorWaitPeriod),
      ActionsSuppressorExtensionPeriod: seconds(rest.ActionsSuppressorExtensionPeriod),
    }),
  );
  const { CompositeAlarms = [] } = await clients.cloudwatch.send(
    new DescribeAlarmsCommand({ AlarmNames: [AlarmName], AlarmTypes: ['CompositeAlarm'] }),
  );
  if (CompositeAlarms.length === 0) throw new Error(`composite alarm ${AlarmName} was not created`);
  return AlarmName;
}

/**
 * How `template` is deployed to `emulator`: which resources are created through their API after the stack
 * (ordered so each comes after the deferred resources it refers to), which are left out on purpose and why, and
 * the template CloudFormation gets, in which every `Ref` and `Fn::GetAtt <id>.Arn` of an alarm created after the
 * stack or left out is replaced by the name and ARN the deployer gives it (`<stack>-<logical id>` unless the
 * template names it), and `DependsOn` on them is dropped. Pure: no AWS calls.
 * @throws Error when a kept resource or output refers to a deferred or left-out resource whose name and ARN the
 *   deployer cannot know (not an alarm), or when deferred resources refer to each other in a cycle
 */
export function planDeployment(
  template: Template,
  emulator: EmulatorName,
  stackName: string,
): DeploymentPlan {
  const gaps = EMULATOR_GAPS[emulator];
  const notes: string[] = [];
  const deferred = new Map<string, DeferredResource>();
  const leftOut: Record<string, string> = {};
  const kept: Template['Resources'] = {};
  const nameOf = (logicalId: string, resource: TemplateResource) => {
    const named = resource.Properties?.[NAME_PROPERTY[resource.Type] ?? ''];
    if (typeof named === 'string') return named;
    // An archive name has at most 48 characters, an alarm name 255.
    return `${stackName}-${logicalId}`.slice(0, resource.Type === 'AWS::Events::Archive' ? 48 : 255);
  };
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const why = gaps.deferred[resource.Type];
    const omission = gaps.leftOut.find(
      (gap) => gap.resourceType === resource.Type && gap.applies(resource.Properties ?? {}),
    );
    if (omission) {
      leftOut[logicalId] = omission.reason;
    } else if (why !== undefined) {
      deferred.set(logicalId, { logicalId, resource, name: nameOf(logicalId, resource) });
    } else {
      kept[logicalId] = resource;
    }
  }

  for (const [reason, ids] of groupBy(Object.entries(leftOut))) {
    notes.push(`${emulator}: left out ${ids.length} resource(s), ${reason}: ${ids.join(', ')}`);
  }
  for (const [type, why] of Object.entries(gaps.deferred)) {
    const ids = [...deferred.values()]
      .filter((item) => item.resource.Type === type)
      .map((item) => item.logicalId);
    if (ids.length > 0) {
      notes.push(
        `${emulator} cannot create ${type} through CloudFormation (${why}): created after the stack: ${ids.join(', ')}`,
      );
    }
  }
  for (const { resourceType, property, reason } of gaps.unchecked) {
    if (Object.values(template.Resources).some((resource) => resource.Type === resourceType)) {
      notes.push(`${emulator}: ${resourceType} ${property} is not compared: ${reason}`);
    }
  }

  const outside = new Map<string, TemplateResource>(
    [...Object.keys(leftOut), ...deferred.keys()].map((id) => [
      id,
      template.Resources[id] as TemplateResource,
    ]),
  );
  const rewritten = new Set<string>();
  const rewrite = (value: unknown, where: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => rewrite(item, where));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value as Record<string, unknown>);
    const [only] = entries;
    if (entries.length === 1 && only) {
      const [fn, arg] = only;
      const target =
        fn === 'Ref' && typeof arg === 'string'
          ? arg
          : fn === 'Fn::GetAtt'
            ? String(Array.isArray(arg) ? arg[0] : String(arg).split('.')[0])
            : undefined;
      const resource = target === undefined ? undefined : outside.get(target);
      if (target !== undefined && resource) {
        const attribute =
          fn === 'Ref' ? 'Ref' : String(Array.isArray(arg) ? arg[1] : String(arg).split('.')[1]);
        if (!ALARM_TYPES.has(resource.Type) || !['Ref', 'Arn'].includes(attribute)) {
          throw new Error(
            `${where} refers to ${target} (${resource.Type}, ${attribute}), which ${emulator} gets outside the ` +
              'stack: the deployer cannot give the stack its value',
          );
        }
        rewritten.add(`${where} → ${target}`);
        const name =
          leftOut[target] === undefined ? (deferred.get(target)?.name ?? '') : nameOf(target, resource);
        return attribute === 'Ref'
          ? name
          : {
              'Fn::Sub': `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${name}`,
            };
      }
      if (fn === 'Fn::Sub') {
        const text = JSON.stringify(arg);
        const hit = [...outside.keys()].find((id) => text.includes(`\${${id}`));
        if (hit)
          throw new Error(`${where} refers to ${hit} in an Fn::Sub, which the deployer cannot rewrite`);
      }
    }
    return Object.fromEntries(entries.map(([key, member]) => [key, rewrite(member, where)]));
  };
  const deployable: Template = {
    ...template,
    Resources: Object.fromEntries(
      Object.entries(kept).map(([logicalId, resource]) => {
        const dependsOn = [resource.DependsOn ?? []].flat().filter((id) => !outside.has(id));
        const { DependsOn: _, ...rest } = resource;
        return [
          logicalId,
          {
            ...(rewrite(rest, logicalId) as TemplateResource),
            ...(dependsOn.length > 0 ? { DependsOn: dependsOn } : {}),
          },
        ];
      }),
    ),
    ...(template.Outputs ? { Outputs: rewrite(template.Outputs, 'Outputs') as Template['Outputs'] } : {}),
  };
  if (rewritten.size > 0) {
    notes.push(
      `references to alarms outside the stack replaced by their name or ARN: ${[...new Set([...rewritten].map((entry) => entry.split(' → ')[0]))].join(', ')}`,
    );
  }
  return {
    deployable,
    deferred: creationOrder(deferred),
    leftOut,
    unchecked: gaps.unchecked.filter((entry) =>
      Object.values(template.Resources).some((resource) => resource.Type === entry.resourceType),
    ),
    notes,
  };
}

/** Deferred resources ordered so that each comes after the deferred resources its properties refer to. */
function creationOrder(deferred: ReadonlyMap<string, DeferredResource>): DeferredResource[] {
  const order: DeferredResource[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (item: DeferredResource, path: readonly string[]) => {
    const seen = state.get(item.logicalId);
    if (seen === 'done') return;
    if (seen === 'visiting')
      throw new Error(`deferred resources refer to each other: ${[...path, item.logicalId].join(' → ')}`);
    state.set(item.logicalId, 'visiting');
    for (const id of references(item.resource.Properties ?? {})) {
      const dependency = deferred.get(id);
      if (dependency && id !== item.logicalId) visit(dependency, [...path, item.logicalId]);
    }
    state.set(item.logicalId, 'done');
    order.push(item);
  };
  for (const item of deferred.values()) visit(item, []);
  return order;
}

/** Logical ids a template value refers to through `Ref` and `Fn::GetAtt`. */
function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const ref = record.Ref;
  const getAtt = record['Fn::GetAtt'];
  const own =
    typeof ref === 'string'
      ? [ref]
      : Array.isArray(getAtt)
        ? [String(getAtt[0])]
        : typeof getAtt === 'string'
          ? [getAtt.split('.')[0] ?? '']
          : [];
  return [...own, ...Object.values(record).flatMap(references)];
}

function groupBy(entries: readonly [string, string][]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [id, reason] of entries) groups.set(reason, [...(groups.get(reason) ?? []), id]);
  return groups;
}

function describeDrift(drift: Drift): string {
  return `${drift.logicalId} (${drift.resourceType}) ${drift.property}: expected ${JSON.stringify(drift.expected)}, found ${JSON.stringify(drift.actual)}`;
}
