/**
 * Cold-start proxy per function: the size of the bundle CDK deploys and the time a fresh Node process takes to
 * load and initialise it, against a hello-world bundle built by the same construct in the same run.
 *
 * What is measured: the production stage is synthesized (`cdk synth`, which bundles every `ServiceFunction`
 * with esbuild), each Lambda function of the template is mapped to its asset through `Code.S3Key` and the
 * asset manifest, and its `index.mjs` is imported `COLD_START_RUNS` times, each in a new `node` process that
 * gets the function's environment from the template (references replaced by dummy values of the right shape)
 * plus what the Lambda runtime sets. The loader times `await import(bundle)` with `performance.now()`: module
 * parse, compile and top-level code (environment checks, SDK clients, Powertools), not the runtime's own
 * bootstrap, so a hello world is near zero and the ratio shows what our code and dependencies add. Rounds are
 * interleaved (every target once per round, in a shuffled order) so machine noise hits all targets alike.
 * The loader blocks and records any TCP, UDP or DNS use: initialisation must not touch the network.
 */
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { ServiceFunction } from '../lib/service-function.js';
import { type BenchContext, type BenchSection, percentile, round } from './section.js';

const run = promisify(execFile);

/** Fresh processes per bundle; the median of them is reported. */
export const COLD_START_RUNS = 15;
/**
 * Fresh processes of the hello world per round: its import takes about a millisecond, so it gets more samples
 * to keep the denominator of every ratio steady.
 */
const HELLO_WORLD_PROBES_PER_ROUND = 3;
/** After the first import of each bundle, how long the loader keeps watching for network use, ms. */
const NETWORK_WATCH_MS = 300;
/** Median Lambda cold start of a Node.js 22 hello world on arm64 (lambda-perf, reference doc §7.2), ms. */
const LAMBDA_HELLO_WORLD_COLD_START_MS = 128;
/** The stack `bin/switchyard.ts` creates. */
const STACK_NAME = 'Switchyard';
/** Dummy account and region of the resolved references. */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

export interface FunctionColdStart {
  /** Bytes of the deployed `index.mjs`. */
  bundleBytes: number;
  /** Median time to import the bundle in a fresh process, ms. */
  initMs: number;
  /** `initMs` over the hello world's. */
  initRatio: number;
  /**
   * Median time from the process's start to the end of the import, ms: Node's own bootstrap included, as
   * Lambda's Init Duration includes the runtime's.
   */
  readyMs: number;
  /** `readyMs` over the hello world's: steadier than `initRatio`, whose denominator is about a millisecond. */
  readyRatio: number;
  /**
   * Median time to load the bundle's source map at the first stack trace that has a frame in it, ms (0 when
   * source maps are not enabled at runtime): paid once per execution environment, on the request path.
   */
  firstStackTraceMs: number;
  /** Logical id of the function in the template. */
  logicalId: string;
  /** Memory of the function in the template, MiB. */
  memoryMb: number;
  /** Bytes of the `index.mjs.map` beside the bundle, 0 when none is shipped. */
  sourceMapBytes: number;
  /** TCP, UDP or DNS uses seen while the bundle initialised (must be none). */
  networkAtInit: string[];
}

export interface ColdStartResults {
  helloWorld: { bundleBytes: number; initMs: number; readyMs: number };
  /** By Powertools service name: ingest, router, ... */
  functions: Record<string, FunctionColdStart>;
  ingestBundleBytes: number;
  /**
   * The ingest function's `readyRatio`: process start to initialised bundle, over the hello world's. The
   * import alone (`initRatio`) is not used: the hello world imports in about a millisecond, so that ratio is
   * mostly noise; the whole start is what Lambda's Init Duration measures.
   */
  ingestInitRatio: number;
  /** How the numbers were taken. */
  method: {
    /** Fresh processes per function. */
    runs: number;
    /** Fresh processes of the hello world. */
    helloWorldRuns: number;
    statistic: 'median';
    node: string;
    /** `NODE_OPTIONS` the template gives the functions ('' when none). */
    nodeOptions: string;
    /** Whether the deployed bundles ship source maps, with the sources' content, and load them at start. */
    sourceMaps: { shipped: boolean; sourcesContent: boolean; enabledAtRuntime: boolean };
  };
  /** The largest contributors to the ingest bundle, from its source map, bytes. */
  ingestComposition: { module: string; bytes: number }[];
}

export async function coldStartBench(ctx: BenchContext): Promise<BenchSection<ColdStartResults>> {
  const stack = await synthesizeProduction(ctx);
  const targets = (await deployedFunctions(stack)).filter((fn) => fn.serviceName !== undefined);
  if (!targets.some((fn) => fn.serviceName === 'ingest'))
    throw new Error('cold-start: the template has no function with POWERTOOLS_SERVICE_NAME=ingest');
  ctx.log(`cold-start: building the hello-world bundle with ServiceFunction`);
  const hello = await helloWorldFunction(ctx.root);

  const work = await mkdtemp(path.join(os.tmpdir(), 'switchyard-cold-start-'));
  try {
    const loader = path.join(work, 'init-probe.mjs');
    await writeFile(loader, INIT_PROBE);
    const samples = new Map<DeployedFunction, InitProbe[]>([hello, ...targets].map((fn) => [fn, []]));
    const network = new Map<DeployedFunction, string[]>();
    for (let round = 1; round <= COLD_START_RUNS; round++) {
      const order = shuffled([
        ...targets,
        ...Array<DeployedFunction>(HELLO_WORLD_PROBES_PER_ROUND).fill(hello),
      ]);
      ctx.log(`cold-start: round ${round}/${COLD_START_RUNS} (${order.length} fresh processes)`);
      for (const fn of order) {
        const firstOfFn = !network.has(fn);
        const probe = await probeInit(loader, fn, firstOfFn ? NETWORK_WATCH_MS : 0);
        samples.get(fn)?.push(probe);
        if (firstOfFn) network.set(fn, probe.network);
      }
    }
    const median = (fn: DeployedFunction, figure: 'initMs' | 'readyMs' | 'firstStackTraceMs') =>
      percentile(
        (samples.get(fn) ?? []).map((probe) => probe[figure]),
        50,
      );
    const helloInitMs = median(hello, 'initMs');
    const helloReadyMs = median(hello, 'readyMs');
    const functions: Record<string, FunctionColdStart> = {};
    for (const fn of targets) {
      const initMs = median(fn, 'initMs');
      const readyMs = median(fn, 'readyMs');
      functions[fn.serviceName as string] = {
        bundleBytes: fn.bundleBytes,
        initMs: round(initMs, 1),
        initRatio: round(initMs / helloInitMs, 1),
        readyMs: round(readyMs, 1),
        readyRatio: round(readyMs / helloReadyMs, 2),
        firstStackTraceMs: round(median(fn, 'firstStackTraceMs'), 1),
        logicalId: fn.logicalId,
        memoryMb: fn.memoryMb,
        sourceMapBytes: fn.sourceMapBytes,
        networkAtInit: network.get(fn) ?? [],
      };
    }
    const ingest = functions.ingest as FunctionColdStart;
    const ingestTarget = targets.find((fn) => fn.serviceName === 'ingest') as DeployedFunction;
    const composition = await bundleComposition(ingestTarget);
    const nodeOptions = ingestTarget.environment.NODE_OPTIONS ?? '';
    const results: ColdStartResults = {
      helloWorld: {
        bundleBytes: hello.bundleBytes,
        initMs: round(helloInitMs, 2),
        readyMs: round(helloReadyMs, 1),
      },
      functions,
      ingestBundleBytes: ingest.bundleBytes,
      ingestInitRatio: ingest.readyRatio,
      method: {
        runs: COLD_START_RUNS,
        helloWorldRuns: COLD_START_RUNS * HELLO_WORLD_PROBES_PER_ROUND,
        statistic: 'median',
        node: process.version,
        nodeOptions,
        sourceMaps: {
          shipped: ingestTarget.sourceMapBytes > 0,
          sourcesContent: composition.hasSourcesContent,
          enabledAtRuntime: /--enable-source-maps/.test(nodeOptions),
        },
      },
      ingestComposition: composition.top,
    };
    return { results, tables: tablesOf(results) };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function tablesOf(results: ColdStartResults): BenchSection<ColdStartResults>['tables'] {
  const { helloWorld, method } = results;
  const ingestBytes = results.ingestBundleBytes;
  const estimate = (initMs: number) =>
    round(LAMBDA_HELLO_WORLD_COLD_START_MS + initMs - helloWorld.initMs, 0);
  const maps = method.sourceMaps;
  return [
    {
      title:
        `Cold-start proxy per function: import of the deployed bundle in a fresh node ${method.node} process, ` +
        `median of ${method.runs} (NODE_OPTIONS="${method.nodeOptions}"; source maps ` +
        `${maps.shipped ? 'shipped' : 'not shipped'}, ${maps.sourcesContent ? 'with' : 'without'} sources, ` +
        `${maps.enabledAtRuntime ? 'loaded at start' : 'not loaded at start'}). ` +
        `Lambda estimate = ${LAMBDA_HELLO_WORLD_COLD_START_MS} ms hello-world anchor + (init − hello init)`,
      columns: [
        'function',
        'memory MiB',
        'bundle bytes',
        'map bytes',
        'init ms',
        '× hello',
        'ready ms',
        '× hello',
        '1st stack trace ms',
        '≈ Lambda cold start ms',
        'network at init',
      ],
      rows: [
        [
          'hello world',
          '',
          helloWorld.bundleBytes,
          '',
          helloWorld.initMs,
          1,
          helloWorld.readyMs,
          1,
          '',
          LAMBDA_HELLO_WORLD_COLD_START_MS,
          '',
        ],
        ...Object.entries(results.functions).map(([name, fn]) => [
          name,
          fn.memoryMb,
          fn.bundleBytes,
          fn.sourceMapBytes,
          fn.initMs,
          fn.initRatio,
          fn.readyMs,
          fn.readyRatio,
          fn.firstStackTraceMs,
          estimate(fn.initMs),
          fn.networkAtInit.length === 0 ? 'none' : fn.networkAtInit.join('; '),
        ]),
      ],
    },
    {
      title: 'What the ingest bundle is made of (bytes of index.mjs by module, from its source map)',
      columns: ['module', 'bytes', '% of bundle'],
      rows: results.ingestComposition.map(({ module, bytes }) => [
        module,
        bytes,
        round((100 * bytes) / ingestBytes, 1),
      ]),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The synthesized production stack, shared with bench/cost.ts.

/** The parts of a CloudFormation template the benchmarks read. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

export interface SynthesizedStack {
  /** The cloud assembly directory (a temporary one, removed when the process exits). */
  readonly dir: string;
  readonly stackName: string;
  readonly template: CfnTemplate;
}

const synthesized = new Map<string, Promise<SynthesizedStack>>();

/**
 * Synthesizes the production stage once per process (`cdk synth --quiet`, cdk-nag included) into a temporary
 * directory, so that it neither races other work on `cdk.out` nor leaves anything in the tree.
 */
export function synthesizeProduction(ctx: BenchContext): Promise<SynthesizedStack> {
  let pending = synthesized.get(ctx.root);
  if (!pending) {
    pending = synthesize(ctx);
    synthesized.set(ctx.root, pending);
  }
  return pending;
}

async function synthesize(ctx: BenchContext): Promise<SynthesizedStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'switchyard-bench-synth-'));
  removeAtExit(dir);
  ctx.log(`synth: npx cdk synth --quiet -c stage=production -o ${dir} (bundles every function)`);
  const started = performance.now();
  await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-c', 'stage=production', '-o', dir], {
    cwd: ctx.root,
    maxBuffer: 64 * 1024 * 1024,
  });
  ctx.log(`synth: done in ${round((performance.now() - started) / 1000, 1)} s`);
  const template = JSON.parse(await readFile(path.join(dir, `${STACK_NAME}.template.json`), 'utf8'));
  return { dir, stackName: STACK_NAME, template };
}

/** Removes a temporary directory when the process exits (synchronously: nothing asynchronous runs then). */
function removeAtExit(dir: string): void {
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

/** A Lambda function of a synthesized stack and the bundle it deploys. */
interface DeployedFunction {
  logicalId: string;
  /** `POWERTOOLS_SERVICE_NAME` (every `ServiceFunction` has one). */
  serviceName: string | undefined;
  memoryMb: number;
  bundle: string;
  bundleBytes: number;
  sourceMapBytes: number;
  /** The function's environment with references resolved to dummy values. */
  environment: Record<string, string>;
}

interface AssetManifest {
  files: Record<
    string,
    { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
  >;
}

/** The Lambda functions of `stack`, each mapped to its asset through `Code.S3Key` and the asset manifest. */
async function deployedFunctions(stack: SynthesizedStack): Promise<DeployedFunction[]> {
  const manifest: AssetManifest = JSON.parse(
    await readFile(path.join(stack.dir, `${stack.stackName}.assets.json`), 'utf8'),
  );
  const assetDirOfKey = new Map<string, string>();
  for (const file of Object.values(manifest.files)) {
    for (const destination of Object.values(file.destinations)) {
      assetDirOfKey.set(destination.objectKey, path.join(stack.dir, file.source.path));
    }
  }
  const functions: DeployedFunction[] = [];
  for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = resource.Properties ?? {};
    const code = props.Code as { S3Key?: string } | undefined;
    const assetDir = code?.S3Key ? assetDirOfKey.get(code.S3Key) : undefined;
    if (!assetDir) throw new Error(`cold-start: no asset for the code of ${logicalId} (${code?.S3Key})`);
    const [file] = String(props.Handler ?? 'index.handler').split('.');
    const bundle = path.join(assetDir, `${file}.mjs`);
    if (!existsSync(bundle)) throw new Error(`cold-start: ${logicalId}: ${bundle} does not exist`);
    const map = `${bundle}.map`;
    const variables = (props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    const environment = Object.fromEntries(
      Object.entries(variables ?? {}).map(([name, value]) => [
        name,
        resolveIntrinsics(value, stack.template),
      ]),
    );
    functions.push({
      logicalId,
      serviceName: environment.POWERTOOLS_SERVICE_NAME,
      memoryMb: Number(props.MemorySize ?? 128),
      bundle,
      bundleBytes: (await stat(bundle)).size,
      sourceMapBytes: existsSync(map) ? (await stat(map)).size : 0,
      environment,
    });
  }
  return functions;
}

/**
 * A CloudFormation value with its intrinsic functions resolved to dummy values of the right shape (a queue URL
 * for a queue's `Ref`, an ARN for a secret's or a state machine's), so that environment checks pass.
 * @throws Error on an intrinsic it does not know
 */
export function resolveIntrinsics(value: unknown, template: CfnTemplate): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return refValue(String(node.Ref), template);
  if ('Fn::GetAtt' in node) {
    const [id, attribute] = node['Fn::GetAtt'] as [string, string];
    return attributeValue(id, attribute, template);
  }
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveIntrinsics(part, template)).join(separator);
  }
  if ('Fn::Sub' in node) {
    const text = node['Fn::Sub'];
    if (typeof text !== 'string')
      throw new Error('resolveIntrinsics: Fn::Sub with variables is not supported');
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const [id, attribute] = name.split('.');
      return attribute ? attributeValue(id as string, attribute, template) : refValue(name, template);
    });
  }
  throw new Error(`resolveIntrinsics: unsupported value ${JSON.stringify(value).slice(0, 200)}`);
}

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': STACK_NAME,
};

function refValue(id: string, template: CfnTemplate): string {
  const pseudo = PSEUDO_PARAMETERS[id];
  if (pseudo) return pseudo;
  const type = template.Resources[id]?.Type;
  switch (type) {
    case 'AWS::SQS::Queue':
      return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${id}`;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${id}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${id}`;
    case undefined:
      throw new Error(`resolveIntrinsics: Ref to unknown ${id}`);
    default:
      // Tables, buckets, buses, functions: their name.
      return id;
  }
}

function attributeValue(id: string, attribute: string, template: CfnTemplate): string {
  const type = template.Resources[id]?.Type;
  if (!type) throw new Error(`resolveIntrinsics: Fn::GetAtt of unknown ${id}`);
  const service = type.split('::')[1]?.toLowerCase() ?? 'unknown';
  if (attribute === 'Arn') return `arn:aws:${service}:${REGION}:${ACCOUNT}:${id}`;
  if (attribute === 'QueueUrl') return refValue(id, template);
  return `${id}-${attribute}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The hello world, built by the construct every function uses, so its bundling options are the same.

const HELLO_WORLD_SOURCE = 'export const handler = async () => ({ statusCode: 200 });\n';

async function helloWorldFunction(root: string): Promise<DeployedFunction> {
  // NodejsFunction wants the entry under the project root; node_modules/.cache is ignored by git.
  const cache = path.join(root, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const work = await mkdtemp(path.join(cache, 'switchyard-bench-hello-'));
  removeAtExit(work);
  const entry = path.join(work, 'hello-world.ts');
  await writeFile(entry, HELLO_WORLD_SOURCE);
  const outdir = path.join(work, 'cdk.out');
  await mkdir(outdir);
  const app = new App({ outdir });
  const stackName = 'SwitchyardBenchHelloWorld';
  const stack = new Stack(app, stackName, { env: { account: ACCOUNT, region: REGION } });
  // `entry` is relative to functions/; the construct's bundling (and environment) is what we compare with.
  new ServiceFunction(stack, 'HelloWorld', {
    entry: path.relative(path.join(root, 'functions'), entry),
    serviceName: 'hello-world',
  });
  const template = app.synth().getStackByName(stackName).template as CfnTemplate;
  const [hello] = await deployedFunctions({ dir: outdir, stackName, template });
  if (!hello) throw new Error('cold-start: the hello-world stack has no function');
  return hello;
}

// ---------------------------------------------------------------------------------------------------------------
// The probe: one fresh node process per measurement.

/** What one fresh process reports. */
interface InitProbe {
  /** `await import(bundle)`, ms. */
  initMs: number;
  /** From the process's time origin to the end of the import, ms. */
  readyMs: number;
  /** Loading the bundle's source map, as the first stack trace with a frame in it does, ms (0: not enabled). */
  firstStackTraceMs: number;
  network: string[];
}

/**
 * Loader run in each fresh process: blocks and records network use, times `await import(bundle)`, then times
 * what the first stack trace with a frame in the bundle adds (`findSourceMap` decodes the bundle's map when
 * source maps are enabled, as formatting such a stack does), and prints an `InitProbe` on one line. With a
 * watch time, it waits that long after the import for network use started by the import but not awaited.
 */
const INIT_PROBE = `import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { findSourceMap, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';

const network = [];
const blocked = () => Object.assign(new Error('network blocked by the init probe'), { code: 'ENETUNREACH' });
net.Socket.prototype.connect = function (...args) {
  const target = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0], host: args[1] };
  network.push('tcp ' + (target.path ?? (target.host ?? 'localhost') + ':' + target.port));
  process.nextTick(() => this.destroy(blocked()));
  return this;
};
dgram.Socket.prototype.send = function (...args) {
  network.push('udp send');
  const callback = args.findLast((arg) => typeof arg === 'function');
  if (callback) process.nextTick(callback, blocked());
};
const lookup = (host, ...rest) => {
  network.push('dns ' + host);
  const callback = rest.findLast((arg) => typeof arg === 'function');
  if (callback) process.nextTick(callback, blocked());
};
dns.lookup = lookup;
dns.promises.lookup = async (host) => {
  network.push('dns ' + host);
  throw blocked();
};
syncBuiltinESMExports();

const [bundle, watchMs] = process.argv.slice(2);
const url = pathToFileURL(bundle).href;
const started = performance.now();
await import(url);
const readyMs = performance.now();
const initMs = readyMs - started;
const mapped = performance.now();
const map = process.sourceMapsEnabled ? findSourceMap(url) : undefined;
const firstStackTraceMs = map ? performance.now() - mapped : 0;
if (Number(watchMs) > 0) await new Promise((resolve) => setTimeout(resolve, Number(watchMs)));
process.stdout.write(JSON.stringify({ initMs, readyMs, firstStackTraceMs, network }) + '\\n');
process.exit(0);
`;

/** What the Lambda runtime puts in every function's environment (dummy credentials, no real account). */
function lambdaEnvironment(fn: DeployedFunction): Record<string, string> {
  const name = `${STACK_NAME}-${fn.logicalId}`;
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/11/21/[$LATEST]0123456789abcdef',
    AWS_ACCESS_KEY_ID: 'ASIABENCHDUMMYKEY000',
    AWS_SECRET_ACCESS_KEY: 'bench-dummy-secret',
    AWS_SESSION_TOKEN: 'bench-dummy-token',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000',
    _AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129',
    _AWS_XRAY_DAEMON_PORT: '2000',
    LAMBDA_TASK_ROOT: path.dirname(fn.bundle),
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    _HANDLER: 'index.handler',
    ...fn.environment,
  };
}

async function probeInit(loader: string, fn: DeployedFunction, watchMs: number): Promise<InitProbe> {
  try {
    const { stdout } = await run(process.execPath, [loader, fn.bundle, String(watchMs)], {
      env: lambdaEnvironment(fn),
      cwd: path.dirname(fn.bundle),
      timeout: 60_000,
    });
    const line = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(line) as InitProbe;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(
      `cold-start: ${fn.serviceName ?? fn.logicalId} failed to initialise: ${(stderr ?? String(error)).slice(0, 2000)}`,
    );
  }
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------------------
// What a bundle is made of, from its source map (esbuild's metafile is not part of the asset).

const BASE64 = new Map(
  [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]),
);
/** How many modules the composition lists; the rest is summed as "other". */
const COMPOSITION_TOP = 12;

/**
 * Bytes of the bundle per module (an npm package, or a folder of `functions/`), attributing each generated
 * segment of the source map to its source; code no segment maps (esbuild's runtime, the banner) is "unmapped".
 */
async function bundleComposition(
  fn: DeployedFunction,
): Promise<{ top: { module: string; bytes: number }[]; hasSourcesContent: boolean }> {
  if (fn.sourceMapBytes === 0) return { top: [], hasSourcesContent: false };
  const map = JSON.parse(await readFile(`${fn.bundle}.map`, 'utf8')) as {
    sources: string[];
    mappings: string;
    sourcesContent?: unknown[];
  };
  const lines = (await readFile(fn.bundle, 'utf8')).split('\n');
  const bytes = new Map<string, number>();
  const add = (module: string, count: number) => bytes.set(module, (bytes.get(module) ?? 0) + count);
  const modules = map.sources.map(moduleOf);
  let source = 0;
  map.mappings.split(';').forEach((mapping, line) => {
    const length = (lines[line]?.length ?? 0) + 1;
    // [generated column, module index or -1]
    const segments: [number, number][] = [];
    let column = 0;
    for (const segment of mapping.split(',')) {
      if (segment === '') continue;
      const fields = decodeVlq(segment);
      column += fields[0] ?? 0;
      if (fields.length >= 4) {
        source += fields[1] ?? 0;
        segments.push([column, source]);
      } else {
        segments.push([column, -1]);
      }
    }
    add('unmapped', segments[0]?.[0] ?? length);
    segments.forEach(([start, index], i) => {
      const end = segments[i + 1]?.[0] ?? length;
      add(index < 0 ? 'unmapped' : (modules[index] ?? 'unmapped'), end - start);
    });
  });
  const sorted = [...bytes.entries()].sort((a, b) => b[1] - a[1]);
  const top = sorted.slice(0, COMPOSITION_TOP).map(([module, count]) => ({ module, bytes: count }));
  const rest = sorted.slice(COMPOSITION_TOP).reduce((sum, [, count]) => sum + count, 0);
  if (rest > 0) top.push({ module: `other (${sorted.length - COMPOSITION_TOP} modules)`, bytes: rest });
  return { top, hasSourcesContent: Array.isArray(map.sourcesContent) && map.sourcesContent.length > 0 };
}

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.get(char) ?? 0;
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value - 1) / 2 : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** `../../node_modules/@aws-sdk/client-s3/dist-es/x.js` → `@aws-sdk/client-s3`; `../../functions/ingest/a.ts` → `functions/ingest`. */
function moduleOf(source: string): string {
  const pkg = source.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1] as string;
  const own = source.match(/(functions\/[^/]+)(\/|$)/);
  if (own) return (own[1] as string).replace(/\.ts$/, '');
  return source;
}
