import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Metrics namespace of every function (Powertools Metrics, embedded metric format). */
export const METRICS_NAMESPACE = 'Switchyard';

export interface ServiceFunctionProps {
  /** Handler file below `functions/`, e.g. `ingest/handler.ts`; its export `handler` is the entry point. */
  readonly entry: string;
  /** Powertools service name, e.g. `ingest`. */
  readonly serviceName: string;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Memory, MiB (CPU grows with it).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Extra environment. Never secret values: pass ARNs and let the function read the secret.
   * @default none
   */
  readonly environment?: Record<string, string>;
}

/**
 * How every function is bundled (esbuild, through `NodejsFunction`): one minified ESM file for Node.js 22 with
 * the AWS SDK inside (the artifact tested locally is the one deployed), preferring packages' ESM entry points
 * so that esbuild drops what is not imported.
 *
 * Source maps are written beside the bundle (`index.mjs.map`, without the sources' text, which made it 2.8
 * times larger) but not loaded at runtime: `--enable-source-maps` made Node read the map at every cold start
 * (+15–30 ms) and decode it at the first stack trace, on the request path (+80–150 ms per bundle; measured by
 * bench/cold-start.ts). Map a stack trace with the function's `index.mjs.map` in `cdk.out`, or give the function
 * `environment: { NODE_OPTIONS: '--enable-source-maps' }` while debugging.
 */
export const SERVICE_FUNCTION_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: [],
  // Some bundled CommonJS dependencies call require() for Node built-ins.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
};

/**
 * A Lambda function with the hub's defaults: Node.js 22 on arm64, bundled as `SERVICE_FUNCTION_BUNDLING`
 * says, X-Ray tracing, a log group kept one month, and Powertools configured through the environment.
 */
export class ServiceFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: path.join(import.meta.dirname, '..', 'functions', props.entry),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: props.memorySize ?? 512,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: SERVICE_FUNCTION_BUNDLING,
    });
    const findings = Validations.of(this);
    findings.acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is the runtime the design fixes (DESIGN.md decision 7); moving to 24 is a deliberate change.',
    });
    findings.acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The basic execution policy only lets the function write its own logs.',
    });
    findings.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
  }
}
