/**
 * Deploys a synthesized CDK assembly (`cdk.out`) to an AWS endpoint, the emulator by default, then reads
 * the deployed configuration back and stops on any drift from the template.
 *
 * 1. publishes the file assets to the buckets named in `<stack>.assets.json` and sets the CDK bootstrap
 *    version parameter the template checks;
 * 2. removes the resources the emulator's CloudFormation cannot create, to create them through their service
 *    API after the stack (printed, per emulator: see `UNSUPPORTED_RESOURCES`);
 * 3. creates the stack and waits for it;
 * 4. runs the conformance read-back; settings the emulator dropped are re-applied through the service API,
 *    each patch printed, and the read-back runs again; anything still different fails the deployment.
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
import { CreateArchiveCommand, DescribeArchiveCommand } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import yazl from 'yazl';
import type { AwsClients } from './aws-clients.js';
import { checkConformance, type Drift } from './conformance.js';
import { StackResolver } from './intrinsics.js';

/** The emulators the deployer knows, and what each one's CloudFormation cannot create. */
export type EmulatorName = 'ministack' | 'other';
const UNSUPPORTED_RESOURCES: Record<EmulatorName, readonly string[]> = {
  // MiniStack 1.5.33 rejects the whole template ("Unrecognized resource types"); its API has CreateArchive.
  ministack: ['AWS::Events::Archive'],
  other: [],
};

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

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  [key: string]: unknown;
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

  const deferred: Template['Resources'] = {};
  const deployable: Template = { ...template, Resources: {} };
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (UNSUPPORTED_RESOURCES[options.emulator].includes(resource.Type)) {
      log(
        `  ${options.emulator} cannot create ${resource.Type} through CloudFormation: ${logicalId} is created after the stack`,
      );
      deferred[logicalId] = resource;
    } else {
      deployable.Resources[logicalId] = resource;
    }
  }

  log(`creating stack ${options.stackName}`);
  await createStack(options, deployable, bucket);
  const resolver = await StackResolver.load(options.stackName, clients, template);
  for (const [logicalId, resource] of Object.entries(deferred)) {
    await createDeferred(clients, logicalId, resource, resolver, options.stackName);
    log(`  created ${logicalId} (${resource.Type}) through its API`);
  }

  log('reading the deployed configuration back');
  let drifts = await checkConformance({ stackName: options.stackName, template: deployable, clients });
  const patchable = drifts.filter((drift) => drift.patch);
  for (const drift of patchable) {
    log(`  patch: ${drift.patch?.description} (${describeDrift(drift)})`);
    await drift.patch?.apply();
  }
  if (patchable.length > 0) {
    drifts = await checkConformance({ stackName: options.stackName, template: deployable, clients });
  }
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

/** Creates a resource the emulator's CloudFormation cannot, through its service API, and checks it exists. */
async function createDeferred(
  clients: AwsClients,
  logicalId: string,
  resource: Template['Resources'][string],
  resolver: StackResolver,
  stackName: string,
): Promise<void> {
  if (resource.Type !== 'AWS::Events::Archive') throw new Error(`no API fallback for ${resource.Type}`);
  const properties = (await resolver.resolve(resource.Properties ?? {})) as {
    SourceArn: string;
    Description?: string;
    EventPattern?: unknown;
    RetentionDays?: number;
  };
  const ArchiveName = `${stackName}-${logicalId}`.slice(0, 48);
  await clients.eventbridge.send(
    new CreateArchiveCommand({
      ArchiveName,
      EventSourceArn: properties.SourceArn,
      Description: properties.Description,
      ...(properties.EventPattern === undefined
        ? {}
        : { EventPattern: JSON.stringify(properties.EventPattern) }),
      RetentionDays: properties.RetentionDays,
    }),
  );
  const archive = await clients.eventbridge.send(new DescribeArchiveCommand({ ArchiveName }));
  if (archive.EventSourceArn !== properties.SourceArn) {
    throw new Error(
      `archive ${ArchiveName} was created for ${archive.EventSourceArn}, not ${properties.SourceArn}`,
    );
  }
}

function describeDrift(drift: Drift): string {
  return `${drift.logicalId} (${drift.resourceType}) ${drift.property}: expected ${JSON.stringify(drift.expected)}, found ${JSON.stringify(drift.actual)}`;
}
