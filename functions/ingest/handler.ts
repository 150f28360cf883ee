/**
 * Ingest function behind `POST /webhooks/{source}`: verifies the vendor's signature on the exact bytes,
 * checks the body, and acknowledges only once the event is durably stored.
 *
 * Order of checks, cheapest first: source → size → media type → signing secret → signature → UTF-8 → strict
 * JSON or form → event id and type → store (one SQS message; a body too large for a message goes to S3 first
 * and the message carries a pointer) → 202 `{"id"}`.
 *
 * Answers: 202 stored · 200 `{"challenge"}` Slack URL verification · 401 bad, missing or stale signature ·
 * 404 unknown source · 413 too large · 415 wrong media type · 400 malformed after authentication · 503 +
 * `Retry-After` when the signing secret cannot be read or storage did not confirm (the vendor keeps the event
 * and retries). Never 500: an unexpected failure is a 503, since nothing was stored. Error bodies are one
 * generic code (`{"error": "invalid_signature"}`), never details.
 *
 * Signing secrets ride out Secrets Manager failures (`SigningSecretCache`): the last good value is used up to
 * `SECRET_STALE_SECONDS` after its fetch (F3), and a signature that matches no cached secret makes one
 * rate-limited refetch, so a rotation takes effect at once (F4).
 *
 * Metrics (functions/shared/hub-metrics.ts; embedded metric format, a log line, so no call on the ack path):
 * `WebhookReceived`, `WebhookRejected` by reason, `WebhookEnqueued` by event type, `EnqueueFailed` and
 * `AckLatency`, for a known source only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import * as z from 'zod';
import { eventKeyOf, type InboxEnvelope } from '../contracts.js';
import { clientConfig, sqsClientConfig } from '../shared/aws.js';
import { jsonEnv, requiredEnv } from '../shared/env.js';
import { InvalidPayloadError } from '../shared/errors.js';
import { Dimension, HubMetric, RejectReason } from '../shared/hub-metrics.js';
import { emitMetric, instrument, logger, metrics, tracer } from '../shared/powertools.js';
import { type IngestSource, IngestSources } from '../sources.js';
import {
  type BodyFormat,
  DuplicateHeaderError,
  formPayload,
  RequestHeaders,
  SignatureVerificationError,
  type SignedRequest,
  schemeOf,
  type VerificationFailure,
  verifySignature,
} from '../verify/index.js';
import { parseJsonStrict, toSqsSafeJson } from './body.js';
import { identifyEvent } from './identify.js';
import { parseSigningSecrets, SigningSecretCache, type SigningSecretRefetch } from './signing-secrets.js';

const sources = jsonEnv('SOURCES', IngestSources);
const queueUrl = requiredEnv('INBOX_QUEUE_URL');
const payloadBucket = requiredEnv('PAYLOAD_BUCKET_NAME');

/** How long signing secrets are cached, seconds (one Secrets Manager call per source per period). */
const secretMaxAgeSeconds = Number(requiredEnv('SECRET_CACHE_SECONDS'));
/** How long after its fetch a signing secret is still used while Secrets Manager fails, seconds (F3). */
const secretStaleSeconds = jsonEnv('SECRET_STALE_SECONDS', z.number().nonnegative());
/**
 * Largest inbox message, bytes, before the body goes to S3 instead (claim check). SQS takes up to 1 MiB
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html); 256 KiB
 * keeps a batch of 10 well inside Lambda's 6 MB invocation payload.
 */
export const CLAIM_CHECK_THRESHOLD_BYTES = 262_144;
/** What a vendor is asked to wait before retrying after a 503, seconds. */
const RETRY_AFTER_SECONDS = 30;

const sqs = tracer.captureAWSv3Client(new SQSClient(sqsClientConfig(1000)));
const s3 = tracer.captureAWSv3Client(new S3Client(clientConfig(3000)));
const signingSecrets = new SigningSecretCache(
  new SecretsProvider({
    awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient(clientConfig(1000))),
  }),
  { maxAgeSeconds: secretMaxAgeSeconds, staleSeconds: secretStaleSeconds },
);
// ignoreBOM keeps a leading byte-order mark, so the stored body is exactly the verified bytes.
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
  const startedMs = performance.now();
  const sourceName = event.pathParameters?.source ?? '';
  const source = Object.hasOwn(sources, sourceName) ? sources[sourceName] : undefined;
  // Not counted: the path is the caller's to choose, and a dimension valued by it would be unbounded.
  if (!source) return reply(404, { error: 'unknown_source' });
  logger.appendKeys({ source: sourceName });
  // The invocation's metrics are flushed under [service, source]; those with more dimensions use emitMetric.
  metrics.addDimension(Dimension.source, sourceName);
  metrics.addMetric(HubMetric.WebhookReceived, MetricUnit.Count, 1);
  const reject = (statusCode: number, error: string, reason: RejectReason) =>
    rejected(statusCode, error, sourceName, reason);

  const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (body.length > source.maxBodyBytes) return reject(413, 'payload_too_large', RejectReason.size);
  const headers = RequestHeaders.fromEvent(event);
  const format = bodyFormat(contentTypeOf(headers), schemeOf(source).formats);
  if (!format) return reject(415, 'unsupported_media_type', RejectReason.mediaType);

  let activeSecrets: string[];
  try {
    const read = await signingSecrets.read(source.secretArn);
    if (read.stale) {
      logger.warn('signing secret served stale', { ...read.stale });
      metrics.addMetric('SigningSecretServedStale', MetricUnit.Count, 1);
    }
    activeSecrets = parseSigningSecrets(read.value, Date.now());
  } catch (error) {
    return secretUnavailable(error);
  }

  const request = {
    headers,
    body,
    nowSeconds: Math.floor(Date.now() / 1000),
    toleranceSeconds: source.toleranceSeconds,
    query: event.queryStringParameters ?? {},
  };
  let rejection = signatureRejection(source, { ...request, secrets: activeSecrets });
  if (rejection?.reason === 'signature_mismatch') {
    // The vendor may already sign with a secret rotated after our last fetch (F4): fetch it again, rate limited.
    let refetch: SigningSecretRefetch;
    try {
      refetch = await signingSecrets.refetch(source.secretArn);
      if (refetch.outcome === 'changed') activeSecrets = parseSigningSecrets(refetch.value, Date.now());
    } catch (error) {
      // Not a 401: the request could not be checked against the current secret, so it may be authentic. A
      // 503 makes the vendor keep the event and retry, as whenever the secret cannot be read; a forger gets
      // at most one per secret per forced-refetch interval, since later misses are not refetched.
      return secretUnavailable(error);
    }
    if (refetch.outcome !== 'rate_limited') metrics.addMetric('SigningSecretRefetched', MetricUnit.Count, 1);
    if (refetch.outcome === 'changed') {
      rejection = signatureRejection(source, { ...request, secrets: activeSecrets });
    }
  }
  if (rejection) {
    logger.warn('signature rejected', { reason: rejection.reason });
    return reject(401, 'invalid_signature', rejectReasonOf(rejection.reason));
  }

  let envelope: InboxEnvelope & { body: string };
  let payload: unknown;
  try {
    const text = decodeUtf8(body);
    if (text.length === 0) throw new InvalidPayloadError('body is empty');
    payload = format === 'json' ? parseJsonStrict(text) : parseFormStrict(body);
    const identity = identifyEvent(source, headers, payload);
    envelope = {
      source: sourceName,
      ...identity,
      receivedAt: new Date().toISOString(),
      bodySha256: createHash('sha256').update(body).digest('hex'),
      body: text,
    };
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    logger.warn('payload rejected', { reason: error.message });
    return reject(400, 'invalid_payload', RejectReason.payload);
  }
  logger.appendKeys({ eventKey: eventKeyOf(envelope), eventType: envelope.eventType });

  const challenge = slackChallenge(source, payload);
  if (challenge !== undefined) return reply(200, { challenge });

  try {
    await store(envelope, body.length);
  } catch (error) {
    logger.error('store failed', { errorName: (error as Error).name });
    metrics.addMetric(HubMetric.EnqueueFailed, MetricUnit.Count, 1);
    return unavailable();
  }
  logger.info('webhook accepted');
  emitMetric(HubMetric.WebhookEnqueued, MetricUnit.Count, 1, {
    [Dimension.source]: sourceName,
    [Dimension.eventType]: envelope.eventType,
  });
  metrics.addMetric(HubMetric.AckLatency, MetricUnit.Milliseconds, performance.now() - startedMs);
  return reply(202, { id: envelope.eventId });
}

/** The metric reason of a failed verification: a stale timestamp, or any other signature fault. */
function rejectReasonOf(failure: VerificationFailure): RejectReason {
  return failure === 'stale_timestamp' ? RejectReason.stale : RejectReason.signature;
}

/** The reason the request fails verification, or `undefined` when it is authentic. */
function signatureRejection(
  source: IngestSource,
  request: SignedRequest,
): SignatureVerificationError | undefined {
  try {
    verifySignature(source, request);
    return undefined;
  } catch (error) {
    if (!(error instanceof SignatureVerificationError)) throw error;
    return error;
  }
}

/** The signing secret cannot be read (or is not set): fail closed, and the vendor retries. */
function secretUnavailable(error: unknown): APIGatewayProxyResult {
  logger.error('signing secret unavailable', { errorName: (error as Error).name });
  metrics.addMetric('SigningSecretUnavailable', MetricUnit.Count, 1);
  return unavailable();
}

/**
 * Stores the envelope: one SQS message, or, when it would exceed `CLAIM_CHECK_THRESHOLD_BYTES`, the body in
 * the payload bucket first and a message pointing to it.
 * @param bodyBytes size of the verified bytes `envelope.body` was decoded from, bytes
 */
async function store(envelope: InboxEnvelope & { body: string }, bodyBytes: number): Promise<void> {
  // The message holds the body JSON-escaped, which is never fewer bytes: a body over the threshold is claim
  // checked without building (and measuring) a message of its size first.
  let message = bodyBytes > CLAIM_CHECK_THRESHOLD_BYTES ? undefined : toSqsSafeJson(envelope);
  if (message === undefined || Buffer.byteLength(message) > CLAIM_CHECK_THRESHOLD_BYTES) {
    const key = `${envelope.source}/${new Date().toISOString().slice(0, 10)}/${randomUUID()}`;
    await s3.send(new PutObjectCommand({ Bucket: payloadBucket, Key: key, Body: envelope.body }));
    const { body, ...pointer } = envelope;
    message = toSqsSafeJson({
      ...pointer,
      bodyRef: { bucket: payloadBucket, key, bytes: Buffer.byteLength(body) },
    });
    metrics.addMetric('PayloadClaimChecked', MetricUnit.Count, 1);
  }
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message }));
}

/**
 * Slack checks a new Events API URL with a signed `url_verification` request whose `challenge` must be echoed
 * (https://docs.slack.dev/reference/events/url_verification); it is answered, not stored.
 */
function slackChallenge(source: IngestSource, payload: unknown): string | undefined {
  if (source.scheme !== 'slack') return undefined;
  const { type, challenge } = (payload ?? {}) as { type?: unknown; challenge?: unknown };
  return type === 'url_verification' && typeof challenge === 'string' ? challenge : undefined;
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

/**
 * The body format a Content-Type announces, if the source's scheme accepts it: `application/json` or any
 * `application/*+json` is JSON, `application/x-www-form-urlencoded` is a form; parameters (`; charset=utf-8`)
 * and case are ignored.
 */
function bodyFormat(
  contentType: string | undefined,
  accepted: readonly BodyFormat[],
): BodyFormat | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  const format: BodyFormat | undefined =
    type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)
      ? 'json'
      : type === 'application/x-www-form-urlencoded'
        ? 'form'
        : undefined;
  return format && accepted.includes(format) ? format : undefined;
}

/** The fields of a form body exactly as the signature covered them. @throws InvalidPayloadError */
function parseFormStrict(bytes: Buffer): Record<string, string | string[]> {
  const fields = formPayload(bytes);
  if (!fields) throw new InvalidPayloadError('body is not valid form encoding');
  return fields;
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InvalidPayloadError('body is not valid UTF-8');
  }
}

/** A 4xx answer for a known source, counted as `WebhookRejected` under its reason. */
function rejected(
  statusCode: number,
  error: string,
  source: string,
  reason: RejectReason,
): APIGatewayProxyResult {
  emitMetric(HubMetric.WebhookRejected, MetricUnit.Count, 1, {
    [Dimension.source]: source,
    [Dimension.reason]: reason,
  });
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
