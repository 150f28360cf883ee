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
 * A Lambda function with the hub's defaults: Node.js 22 on arm64, a minified ESM bundle with source maps
 * and the AWS SDK bundled (the artifact tested locally is the one deployed), X-Ray tracing, a log group
 * kept one month, and Powertools configured through the environment.
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
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        externalModules: [],
        // Some bundled CommonJS dependencies call require() for Node built-ins.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
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
