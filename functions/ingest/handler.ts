/**
 * Ingest function behind `POST /webhooks/{source}`: verifies the vendor's signature on the exact bytes,
 * checks the body, and acknowledges only once the event is in the inbox queue.
 *
 * Answers: 202 `{"id"}` enqueued · 401 bad or missing signature · 404 unknown source · 413 too large ·
 * 415 not JSON · 400 malformed after authentication · 503 + `Retry-After` when the signing secret cannot be
 * read or the queue did not confirm (the vendor keeps the event and retries). Never 500 for client input.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { eventKeyOf, type InboxEnvelope } from '../contracts.js';
import { clientConfig } from '../shared/aws.js';
import { jsonEnv, requiredEnv } from '../shared/env.js';
import { InvalidPayloadError } from '../shared/errors.js';
import { instrument, logger, metrics, tracer } from '../shared/powertools.js';
import {
  DuplicateHeaderError,
  RequestHeaders,
  SignatureVerificationError,
  verifySignature,
} from '../verify/index.js';
import { IngestSources } from './config.js';
import { identifyEvent } from './identify.js';
import { parseSigningSecrets } from './signing-secrets.js';

const sources = jsonEnv('SOURCES', IngestSources);
const queueUrl = requiredEnv('INBOX_QUEUE_URL');

/** Signing secrets are cached this long, seconds: one Secrets Manager call per source per 5 minutes. */
const SECRET_MAX_AGE_SECONDS = 300;
/** SQS's largest message, bytes (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html). */
const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** What a vendor is asked to wait before retrying after a 503, seconds. */
const RETRY_AFTER_SECONDS = 30;

const sqs = tracer.captureAWSv3Client(new SQSClient(clientConfig(1000)));
const secrets = new SecretsProvider({
  awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient(clientConfig(1000))),
});
// ignoreBOM keeps a leading byte-order mark, so the queued body is exactly the verified bytes.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export const handler = instrument(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  try {
    return await receive(event);
  } catch (error) {
    // A bug or an unforeseen failure: the event is not stored, so the vendor must retry rather than get a 502.
    logger.error('unexpected failure', { errorName: (error as Error).name });
    return unavailable();
  }
});

async function receive(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const sourceName = event.pathParameters?.source ?? '';
  const source = Object.hasOwn(sources, sourceName) ? sources[sourceName] : undefined;
  if (!source) return reply(404, { error: 'unknown_source' });
  logger.appendKeys({ source: sourceName });
  metrics.addDimension('source', sourceName);

  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > source.maxBodyBytes) return reject(413, 'payload_too_large');
  const headers = RequestHeaders.fromEvent(event);
  if (!isJsonMediaType(contentTypeOf(headers))) return reject(415, 'unsupported_media_type');

  let activeSecrets: string[];
  try {
    const value = await secrets.get(source.secretArn, { maxAge: SECRET_MAX_AGE_SECONDS });
    activeSecrets = parseSigningSecrets(typeof value === 'string' ? value : undefined, Date.now());
  } catch (error) {
    logger.error('signing secret unavailable', { errorName: (error as Error).name });
    metrics.addMetric('SigningSecretUnavailable', MetricUnit.Count, 1);
    return unavailable();
  }

  try {
    verifySignature(source.scheme, {
      headers,
      body,
      secrets: activeSecrets,
      nowSeconds: Math.floor(Date.now() / 1000),
      toleranceSeconds: source.toleranceSeconds,
    });
  } catch (error) {
    if (!(error instanceof SignatureVerificationError)) throw error;
    logger.warn('signature rejected', { reason: error.reason });
    return reject(401, 'invalid_signature');
  }

  let envelope: InboxEnvelope;
  try {
    const text = decodeUtf8(body);
    const identity = identifyEvent(source.scheme, headers, parseJson(text));
    envelope = { source: sourceName, ...identity, receivedAt: new Date().toISOString(), body: text };
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    logger.warn('payload rejected', { reason: error.message });
    return reject(400, 'invalid_payload');
  }

  const message = JSON.stringify(envelope);
  if (Buffer.byteLength(message) > SQS_MAX_MESSAGE_BYTES) return reject(413, 'payload_too_large');
  const eventKey = eventKeyOf(envelope);
  logger.appendKeys({ eventKey, eventType: envelope.eventType });
  try {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message }));
  } catch (error) {
    logger.error('enqueue failed', { errorName: (error as Error).name });
    metrics.addMetric('EnqueueFailed', MetricUnit.Count, 1);
    return unavailable();
  }
  logger.info('webhook accepted');
  metrics.addMetric('WebhookAccepted', MetricUnit.Count, 1);
  return reply(202, { id: envelope.eventId });
}

/** The one Content-Type of the request; several are as unusable as none. */
function contentTypeOf(headers: RequestHeaders): string | undefined {
  try {
    return headers.single('content-type');
  } catch (error) {
    if (error instanceof DuplicateHeaderError) return undefined;
    throw error;
  }
}

/** `application/json` or a `+json` type, with any parameters (`; charset=utf-8`). */
function isJsonMediaType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InvalidPayloadError('body is not valid UTF-8');
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidPayloadError('body is not valid JSON');
  }
}

function reject(statusCode: number, error: string): APIGatewayProxyResult {
  metrics.addMetric('WebhookRejected', MetricUnit.Count, 1);
  return reply(statusCode, { error });
}

function unavailable(): APIGatewayProxyResult {
  return {
    ...reply(503, { error: 'temporarily_unavailable' }),
    headers: { 'content-type': 'application/json', 'retry-after': String(RETRY_AFTER_SECONDS) },
  };
}

function reply(statusCode: number, body: Record<string, string>): APIGatewayProxyResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
