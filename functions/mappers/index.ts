import {
  type CanonicalEvent,
  eventKeyOf,
  type InboxEnvelope,
  SOURCES,
  type SourceName,
} from '../contracts.js';
import { MappingError } from '../shared/errors.js';
import { mapCrm } from './crm.js';
import { mapGithub } from './github.js';
import { mapShopify } from './shopify.js';
import { mapStripe } from './stripe.js';

type Mapper = (eventType: string, payload: unknown, eventKey: string) => CanonicalEvent | undefined;

const mappers: Record<SourceName, Mapper> = {
  stripe: mapStripe,
  shopify: mapShopify,
  github: mapGithub,
  crm: mapCrm,
};

/**
 * Maps one inbox envelope to its canonical event, or `undefined` when the vendor's event type has no route
 * (it is acknowledged and counted, not published).
 * @throws MappingError for an unknown source, a body that is not JSON, or a payload missing required fields
 */
export function toCanonicalEvent(envelope: InboxEnvelope): CanonicalEvent | undefined {
  const source = SOURCES.find((name) => name === envelope.source);
  if (!source) throw new MappingError(`no mapper for source ${envelope.source}`);
  let payload: unknown;
  try {
    payload = JSON.parse(envelope.body);
  } catch {
    throw new MappingError('envelope body is not JSON');
  }
  return mappers[source](envelope.eventType, payload, eventKeyOf(envelope));
}
