import type { SignatureScheme } from '../contracts.js';
import { InvalidPayloadError } from '../shared/errors.js';
import { DuplicateHeaderError, type RequestHeaders } from '../verify/index.js';

/** The vendor's own id and type of one delivery. */
export interface EventIdentity {
  /** Stable across the vendor's retries of the same event: the deduplication key. */
  eventId: string;
  eventType: string;
}

const MAX_ID_LENGTH = 256;

/**
 * Finds the vendor's event id and event type, where each scheme's vendors put them:
 * - Stripe: body `id` (`evt_…`) and `type` (https://docs.stripe.com/api/events/object);
 * - Shopify: `X-Shopify-Webhook-Id` and `X-Shopify-Topic` (https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates);
 * - GitHub: `X-GitHub-Delivery` and `X-GitHub-Event` (https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers);
 * - Standard Webhooks: `webhook-id` and body `type` (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
 *
 * @param payload the parsed JSON body
 * @throws InvalidPayloadError when the id or the type is missing, repeated, or not a short string
 */
export function identifyEvent(
  scheme: SignatureScheme,
  headers: RequestHeaders,
  payload: unknown,
): EventIdentity {
  try {
    return identifyIn(scheme, headers, payload);
  } catch (error) {
    if (error instanceof DuplicateHeaderError) throw new InvalidPayloadError(error.message);
    throw error;
  }
}

function identifyIn(scheme: SignatureScheme, headers: RequestHeaders, payload: unknown): EventIdentity {
  const body = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
  switch (scheme) {
    case 'stripe':
      return identity(body.id, body.type);
    case 'shopify':
      return identity(headers.single('x-shopify-webhook-id'), headers.single('x-shopify-topic'));
    case 'github':
      return identity(headers.single('x-github-delivery'), headers.single('x-github-event'));
    case 'standard-webhooks':
      return identity(headers.single('webhook-id'), body.type);
  }
}

function identity(eventId: unknown, eventType: unknown): EventIdentity {
  if (typeof eventId !== 'string' || eventId === '' || eventId.length > MAX_ID_LENGTH) {
    throw new InvalidPayloadError('event id missing');
  }
  if (typeof eventType !== 'string' || eventType === '' || eventType.length > MAX_ID_LENGTH) {
    throw new InvalidPayloadError('event type missing');
  }
  return { eventId, eventType };
}
