/**
 * AWS list prices the cost benchmark (bench/cost.ts) multiplies, us-east-1, on-demand, first pricing tier, free
 * tiers left out. One table: each price says its unit, where it is published and when it was read.
 *
 * Read on 2026-11-21 from /work/shared/reference/anchors-and-prices.md §7.1 (compiled 2026-11 from the pages
 * below), not re-checked against the live pages: check them before publishing a figure.
 */

export interface Price {
  /** US dollars per `unit`. */
  readonly usd: number;
  readonly unit: string;
  /** The public page that publishes it. */
  readonly source: string;
  /** ISO date it was read. */
  readonly readAt: string;
}

/** When the table was read (every price below). */
export const PRICES_READ_AT = '2026-11-21';
export const PRICES_REGION = 'us-east-1';

const read = (usd: number, unit: string, source: string): Price => ({
  usd,
  unit,
  source,
  readAt: PRICES_READ_AT,
});

const MILLION = 1_000_000;

export const PRICES = {
  apiGatewayRestRequest: read(
    3.5 / MILLION,
    'REST API request (first 333 M a month)',
    'https://aws.amazon.com/api-gateway/pricing/',
  ),
  lambdaRequest: read(0.2 / MILLION, 'Lambda invocation', 'https://aws.amazon.com/lambda/pricing/'),
  lambdaArmGbSecond: read(
    0.0000133334,
    'GB-second of Lambda duration, arm64, billed per ms (INIT included since Aug 2025)',
    'https://aws.amazon.com/lambda/pricing/',
  ),
  sqsStandardRequest: read(
    0.4 / MILLION,
    'SQS standard-queue request (each 64 KB chunk of a payload is one request; a batch is one request)',
    'https://aws.amazon.com/sqs/pricing/',
  ),
  eventBridgeCustomEvent: read(
    1 / MILLION,
    'custom event put on an event bus (each 64 KB chunk)',
    'https://aws.amazon.com/eventbridge/pricing/',
  ),
  eventBridgeArchiveGb: read(
    0.1,
    'GB of events archived (processing)',
    'https://aws.amazon.com/eventbridge/pricing/',
  ),
  stepFunctionsStandardTransition: read(
    0.025 / 1000,
    'Standard workflow state transition (retries count)',
    'https://aws.amazon.com/step-functions/pricing/',
  ),
  stepFunctionsExpressRequest: read(
    1 / MILLION,
    'Express workflow request (execution started)',
    'https://aws.amazon.com/step-functions/pricing/',
  ),
  stepFunctionsExpressGbSecond: read(
    0.00001667,
    'GB-second of Express workflow duration (64 MB memory units, 100 ms rounding)',
    'https://aws.amazon.com/step-functions/pricing/',
  ),
  dynamoDbWriteRequestUnit: read(
    0.625 / MILLION,
    'on-demand write request unit (one write of up to 1 KB)',
    'https://aws.amazon.com/dynamodb/pricing/',
  ),
  dynamoDbReadRequestUnit: read(
    0.125 / MILLION,
    'on-demand read request unit (one strongly consistent read of up to 4 KB; an eventually consistent one is half)',
    'https://aws.amazon.com/dynamodb/pricing/',
  ),
  secretsManagerApiCall: read(
    0.05 / 10_000,
    'Secrets Manager API call',
    'https://aws.amazon.com/secrets-manager/pricing/',
  ),
  cloudWatchLogsIngestedGb: read(
    0.5,
    'GB of CloudWatch Logs ingested (standard class)',
    'https://aws.amazon.com/cloudwatch/pricing/',
  ),
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;
