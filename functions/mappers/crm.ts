import * as z from 'zod';
import { type CanonicalPayload, DetailType } from '../contracts.js';
import { parsePayload } from './parse.js';

const CONTACT_TYPES = {
  'contact.created': DetailType.ContactCreated,
  'contact.updated': DetailType.ContactUpdated,
  'contact.deleted': DetailType.ContactDeleted,
} as const;

const ContactPayload = z.object({
  type: z.string(),
  timestamp: z.iso.datetime({ offset: true }),
  data: z.object({
    id: z.string().min(1),
    email: z.email(),
    firstName: z.string().nullish(),
    lastName: z.string().nullish(),
    updatedAt: z.iso.datetime({ offset: true }),
  }),
});

/**
 * Maps a CRM webhook (Standard Webhooks payload envelope `{type, timestamp, data}`) to a canonical contact
 * event: `contact.created` / `contact.updated` / `contact.deleted` keep their names; other types are not
 * routed (`undefined`).
 *
 * Source: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#payload-structure
 * @throws MappingError when the contact lacks an id, an email or a valid `updatedAt`
 */
export function mapCrm(eventType: string, payload: unknown, eventKey: string): CanonicalPayload | undefined {
  if (!Object.hasOwn(CONTACT_TYPES, eventType)) return undefined;
  const detailType = CONTACT_TYPES[eventType as keyof typeof CONTACT_TYPES];
  const { data } = parsePayload(ContactPayload, payload, `crm ${eventType}`);
  return {
    detailType,
    detail: {
      eventKey,
      contactId: data.id,
      email: data.email,
      ...(data.firstName ? { firstName: data.firstName } : {}),
      ...(data.lastName ? { lastName: data.lastName } : {}),
      updatedAt: new Date(data.updatedAt).toISOString(),
    },
  };
}
