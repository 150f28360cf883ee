import { InvalidPayloadError } from '../shared/errors.js';
import type { SchemeOptions } from '../sources.js';
import { DuplicateHeaderError, type RequestHeaders, schemeOf } from '../verify/index.js';

/** The vendor's own id and type of one delivery. */
export interface EventIdentity {
  /** Stable across the vendor's retries of the same event: the deduplication key. */
  eventId: string;
  eventType: string;
}

const MAX_ID_LENGTH = 256;

/**
 * Finds the vendor's event id and event type where the source's scheme says its vendors put them (see each
 * scheme in functions/verify/), and checks them.
 *
 * @param payload the parsed body: a JSON value, or an object of form fields
 * @throws InvalidPayloadError when the id or the type is missing, repeated, or not a short string
 */
export function identifyEvent(
  options: SchemeOptions,
  headers: RequestHeaders,
  payload: unknown,
): EventIdentity {
  try {
    const found = schemeOf(options).identify(headers, payload, options as never);
    return identity(found.eventId, found.eventType);
  } catch (error) {
    if (error instanceof DuplicateHeaderError) throw new InvalidPayloadError(error.message);
    throw error;
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
