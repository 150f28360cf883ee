import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { SourceNamePattern } from '../functions/sources.js';
import type { SourceSettings, WafSettings } from './config.js';
import { ServiceFunction } from './service-function.js';

export interface WebhookIngressProps {
  readonly sources: readonly SourceSettings[];
  /** The queue accepted webhooks are sent to. */
  readonly inbox: sqs.IQueue;
  /** Where bodies too large for a queue message are stored (claim check). */
  readonly payloads: s3.IBucket;
  /**
   * Stage throttling, requests per second and burst (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * A WAF web ACL on the API stage.
   * @default none
   */
  readonly waf?: WafSettings;
  /**
   * How long the ingest function caches a signing secret: a rotation takes effect after at most this long.
   * @default Duration.minutes(5)
   */
  readonly secretCacheTtl?: Duration;
  /**
   * How long after its fetch the ingest function still uses a signing secret while Secrets Manager fails.
   * @default Duration.minutes(15)
   */
  readonly secretStaleTtl?: Duration;
}

const DEFAULT_TOLERANCE_SECONDS = 300;
const DEFAULT_MAX_BODY_BYTES = 1_048_576;
/**
 * Largest body a source may accept, bytes. API Gateway passes the body to Lambda base64-encoded (binary
 * passthrough, for byte-exact signatures), and a synchronous invocation carries at most 6 MB (6,291,456
 * bytes, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 3/4 of that, less 64 KiB
 * for headers and the request context.
 */
export const MAX_BODY_BYTES_LIMIT = (6_291_456 / 4) * 3 - 65_536;

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
      validate(source);
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
      const { name, mapper, signingSecretArn, toleranceSeconds, maxBodyBytes, ...scheme } = source;
      sourcesConfig[source.name] = {
        ...scheme,
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
        PAYLOAD_BUCKET_NAME: props.payloads.bucketName,
        SECRET_CACHE_SECONDS: String((props.secretCacheTtl ?? Duration.minutes(5)).toSeconds()),
        SECRET_STALE_SECONDS: String((props.secretStaleTtl ?? Duration.minutes(15)).toSeconds()),
      },
    });
    props.inbox.grantSendMessages(this.ingest);
    iam.Grant.addToPrincipal({
      grantee: this.ingest,
      actions: ['s3:PutObject'],
      resourceArns: [props.payloads.arnForObjects('*')],
    });
    for (const secret of Object.values(this.signingSecrets)) secret.grantRead(this.ingest);

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const throttling = props.throttling ?? { rateLimit: 500, burstLimit: 1000 };
    this.api = new apigateway.RestApi(this, 'Api', {
      // API Gateway metrics (and so the 5xx and latency alarms) are keyed by the API's name: one per stack.
      restApiName: `${Stack.of(this).stackName}-webhooks`,
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
        methodOptions: {
          '/webhooks/{source}/POST': {
            throttlingRateLimit: throttling.rateLimit,
            throttlingBurstLimit: throttling.burstLimit,
          },
        },
      },
    });
    // Only the path is validated at the gateway: the body must reach the function byte for byte.
    const validator = this.api.addRequestValidator('PathValidator', { validateRequestParameters: true });
    this.api.root
      .addResource('webhooks')
      .addResource('{source}')
      .addMethod('POST', new apigateway.LambdaIntegration(this.ingest), {
        requestValidator: validator,
        requestParameters: { 'method.request.path.source': true },
      });
    if (props.waf) this.protect(props.waf);
    this.webhookBaseUrl = this.api.urlForPath('/webhooks');

    const findings = Validations.of(this);
    if (!props.waf) {
      findings.acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'The web ACL is optional (HubSettings.waf); without it, stage and route throttling bound abuse.',
      });
    }
    findings.acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The gateway validates the path; the body is checked by the ingest function after the signature, on the raw ' +
        'bytes (a gateway body model is skipped for unmatched content types and cannot see signatures).',
    });
    findings.acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<PayloadsBucket1715615A.Arn>/*]',
      reason: 'Claim-checked bodies get generated keys; the grant is PutObject only, on this bucket only.',
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
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: 'The account-level role API Gateway needs to write access and execution logs.',
    });
  }

  /**
   * Attaches a regional web ACL: a rate-based rule per IP, the AWS managed core rule set with its body-size
   * rule (8 KB) set to count, since real webhook payloads are larger
   * (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html), and the
   * known-bad-inputs rule group.
   */
  private protect(settings: WafSettings): void {
    const visibility = (metricName: string) => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName,
    });
    const managed = (name: string, priority: number, overrides: string[] = []) => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: 'AWS',
          name,
          ruleActionOverrides: overrides.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
        },
      },
      visibilityConfig: visibility(name),
    });
    const acl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('switchyard-webhooks'),
      rules: [
        {
          name: 'RatePerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: { limit: settings.requestsPerIpPer5Minutes ?? 3000, aggregateKeyType: 'IP' },
          },
          visibilityConfig: visibility('RatePerIp'),
        },
        managed('AWSManagedRulesCommonRuleSet', 1, ['SizeRestrictions_BODY']),
        managed('AWSManagedRulesKnownBadInputsRuleSet', 2),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: acl.attrArn,
    });
  }
}

/** @throws Error at synthesis for a source the ingest function could not serve */
function validate(source: SourceSettings): void {
  if (!SourceNamePattern.test(source.name)) {
    throw new Error(`source name "${source.name}" must match ${SourceNamePattern}`);
  }
  if (source.maxBodyBytes !== undefined && source.maxBodyBytes > MAX_BODY_BYTES_LIMIT) {
    throw new Error(
      `source "${source.name}": maxBodyBytes ${source.maxBodyBytes} exceeds ${MAX_BODY_BYTES_LIMIT}, the largest body ` +
        'API Gateway can pass to Lambda byte for byte',
    );
  }
}
