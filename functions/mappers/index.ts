import type { CanonicalEvent, CanonicalPayload, InboxEnvelope } from '../contracts.js';
import { eventKeyOf } from '../contracts.js';
import { MappingError } from '../shared/errors.js';
import type { MapperName } from '../sources.js';
import { mapCrm } from './crm.js';
import { mapGithub } from './github.js';
import { mapShopify } from './shopify.js';
import { mapStripe } from './stripe.js';

type Mapper = (eventType: string, payload: unknown, eventKey: string) => CanonicalPayload | undefined;

const mappers: Record<MapperName, Mapper> = {
  stripe: mapStripe,
  shopify: mapShopify,
  github: mapGithub,
  crm: mapCrm,
};

/**
 * Maps one inbox envelope to its canonical event with the source's mapper, or `undefined` when the source
 * has no mapper or the vendor's event type has no route (it is acknowledged and kept, not routed).
 * @throws MappingError for a body that is not JSON, or a payload missing the fields its canonical event needs
 */
export function toCanonicalEvent(
  envelope: InboxEnvelope & { body: string },
  mapper: MapperName | undefined,
): CanonicalEvent | undefined {
  if (!mapper) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(envelope.body);
  } catch {
    throw new MappingError('envelope body is not JSON');
  }
  const mapped = mappers[mapper](envelope.eventType, payload, eventKeyOf(envelope));
  return mapped && { ...mapped, source: envelope.source };
}
