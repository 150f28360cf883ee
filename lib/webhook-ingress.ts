import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SourceSettings } from './config.js';
import { ServiceFunction } from './service-function.js';

export interface WebhookIngressProps {
  readonly sources: readonly SourceSettings[];
  /** The queue accepted webhooks are sent to. */
  readonly inbox: sqs.IQueue;
  /**
   * Stage throttling, requests per second and burst (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
}

const DEFAULT_TOLERANCE_SECONDS = 300;
const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/**
 * The public door: a regional REST API with `POST /webhooks/{source}`, proxied to the ingest function with
 * every media type passed through as binary, so the signature is checked on the exact bytes the vendor
 * signed. One Secrets Manager secret per source holds its signing secret(s); the function gets the ARNs only.
 */
export class WebhookIngress extends Construct {
  readonly api: apigateway.RestApi;
  readonly ingest: ServiceFunction;
  /** Signing secret of each source, by source name. */
  readonly signingSecrets: Record<string, secretsmanager.ISecret> = {};
  /** The URL vendors post to, followed by the source name. */
  readonly webhookBaseUrl: string;

  constructor(scope: Construct, id: string, props: WebhookIngressProps) {
    super(scope, id);
    const sourcesConfig: Record<string, object> = {};
    for (const source of props.sources) {
      const secret = source.signingSecretArn
        ? secretsmanager.Secret.fromSecretCompleteArn(
            this,
            `${source.name}SigningSecret`,
            source.signingSecretArn,
          )
        : new secretsmanager.Secret(this, `${source.name}SigningSecret`, {
            description: `switchyard: signing secret of webhook source "${source.name}" (${source.scheme})`,
            generateSecretString: {
              secretStringTemplate: JSON.stringify({ status: 'unset' }),
              generateStringKey: 'placeholder',
            },
          });
      this.signingSecrets[source.name] = secret;
      sourcesConfig[source.name] = {
        scheme: source.scheme,
        secretArn: secret.secretArn,
        toleranceSeconds: source.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS,
        maxBodyBytes: source.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      };
    }

    this.ingest = new ServiceFunction(this, 'Ingest', {
      entry: 'ingest/handler.ts',
      serviceName: 'ingest',
      timeout: Duration.seconds(6),
      memorySize: 1024,
      environment: {
        SOURCES: Stack.of(this).toJsonString(sourcesConfig),
        INBOX_QUEUE_URL: props.inbox.queueUrl,
      },
    });
    props.inbox.grantSendMessages(this.ingest);
    for (const secret of Object.values(this.signingSecrets)) secret.grantRead(this.ingest);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const throttling = props.throttling ?? { rateLimit: 500, burstLimit: 1000 };
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'switchyard webhook endpoint',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      binaryMediaTypes: ['*/*'],
      cloudWatchRole: true,
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    this.api.root
      .addResource('webhooks')
      .addResource('{source}')
      .addMethod('POST', new apigateway.LambdaIntegration(this.ingest));
    this.webhookBaseUrl = this.api.urlForPath('/webhooks');

    const findings = Validations.of(this);
    findings.acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'No WAF web ACL yet: stage throttling bounds abuse until the optional web ACL is added.',
    });
    findings.acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Signing secrets are issued by the vendors; they rotate on the vendor side (README: rotation).',
    });
    findings.acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Vendors authenticate by signing each request; the ingest function verifies it on the exact bytes.',
    });
    findings.acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Vendors cannot hold Cognito tokens; requests are authenticated by their signatures.',
    });
    findings.acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The body is checked in the ingest function after the signature, on the raw bytes it was signed over.',
    });
    findings.acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The account-level role API Gateway needs to write access and execution logs.',
    });
  }
}
