/**
 * The hub's event contracts: the envelope the ingest function enqueues, and the canonical events the
 * router puts on the bus. Mappers, routes (EventBridge rules), flows and tests all import from here, so a
 * detail type is spelled once.
 */
import * as z from 'zod';

/** Prefix of the EventBridge `source` field of every canonical event: `switchyard.<source name>`. */
export const EVENT_SOURCE_PREFIX = 'switchyard.';

/** Canonical detail types. Routes match these, never vendor event names. */
export const DetailType = {
  OrderPaid: 'order.paid',
  ContactCreated: 'contact.created',
  ContactUpdated: 'contact.updated',
  ContactDeleted: 'contact.deleted',
  FlowFailed: 'flow.failed',
  /** A vendor event with no route (no mapper, or a type the mapper does not route): kept in the archive. */
  Unrouted: 'webhook.unrouted',
} as const;
export type DetailTypeName = (typeof DetailType)[keyof typeof DetailType];

/** Detail types of code-host activity are `github.<X-GitHub-Event>`, e.g. `github.push`. */
export const GITHUB_DETAIL_TYPE_PREFIX = 'github.';

/** Where a claim-checked body is: an S3 object written by the ingest function before it acknowledged. */
export const BodyRef = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  bytes: z.number().int(),
});
export type BodyRef = z.infer<typeof BodyRef>;

/**
 * What the ingest function sends to the inbox queue, one SQS message per accepted webhook. `body` is the raw
 * request body exactly as verified (UTF-8 text: JSON, or form fields); a body too large for a queue message is
 * stored in S3 instead and `bodyRef` points to it (claim check). `bodySha256` (hex) identifies the body, so a
 * redelivery with the same event id but another body is caught. `receivedAt` is ISO 8601.
 */
export const InboxEnvelope = z
  .object({
    source: z.string().min(1),
    eventId: z.string().min(1),
    eventType: z.string().min(1),
    receivedAt: z.iso.datetime(),
    bodySha256: z.string().regex(/^[0-9a-f]{64}$/),
    body: z.string().optional(),
    bodyRef: BodyRef.optional(),
  })
  .refine((envelope) => (envelope.body === undefined) !== (envelope.bodyRef === undefined), {
    message: 'an envelope has either a body or a bodyRef',
  });
export type InboxEnvelope = z.infer<typeof InboxEnvelope>;

/** `source:eventId`: the idempotency key of one vendor event, stable across vendor retries. */
export function eventKeyOf(envelope: Pick<InboxEnvelope, 'source' | 'eventId'>): string {
  return `${envelope.source}:${envelope.eventId}`;
}

const eventKey = z.string().min(3);

/** `order.paid`: a customer paid for an order. Amounts are in minor units (cents). */
export const OrderPaid = z.object({
  eventKey,
  orderId: z.string().min(1),
  currency: z.string().regex(/^[a-z]{3}$/),
  amountTotal: z.number().int().nonnegative(),
  customer: z.object({
    email: z.email(),
    firstName: z.string().optional(),
    lastName: z.string().optional(),
  }),
  paidAt: z.iso.datetime(),
});
export type OrderPaid = z.infer<typeof OrderPaid>;

/** `contact.created` / `contact.updated` / `contact.deleted`: a CRM contact changed. */
export const ContactChanged = z.object({
  eventKey,
  contactId: z.string().min(1),
  email: z.email(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  updatedAt: z.iso.datetime(),
});
export type ContactChanged = z.infer<typeof ContactChanged>;

/** `github.<event>`: activity on a code host, kept for audit. */
export const CodeHostActivity = z.object({
  eventKey,
  event: z.string().min(1),
  action: z.string().optional(),
  repository: z.string().optional(),
  sender: z.string().optional(),
});
export type CodeHostActivity = z.infer<typeof CodeHostActivity>;

/** `flow.failed`: a flow ended in failure after its retries and compensations. */
export const FlowFailed = z.object({
  eventKey,
  flow: z.string().min(1),
  error: z.string(),
  cause: z.string(),
});
export type FlowFailed = z.infer<typeof FlowFailed>;

/** What a mapper makes of a vendor payload: a canonical detail type and its detail. */
export type CanonicalPayload =
  | { detailType: typeof DetailType.OrderPaid; detail: OrderPaid }
  | {
      detailType:
        | typeof DetailType.ContactCreated
        | typeof DetailType.ContactUpdated
        | typeof DetailType.ContactDeleted;
      detail: ContactChanged;
    }
  | { detailType: `github.${string}`; detail: CodeHostActivity }
  | { detailType: typeof DetailType.Unrouted; detail: Unrouted };

/**
 * `webhook.unrouted`: a verified vendor event that no route takes, published so the archive keeps it for
 * replay once a route exists. The raw body is included when small enough for an event, else its claim check.
 */
export const Unrouted = z.object({
  eventKey,
  eventType: z.string().min(1),
  receivedAt: z.iso.datetime(),
  body: z.string().optional(),
  bodyRef: BodyRef.optional(),
});
export type Unrouted = z.infer<typeof Unrouted>;

/** A canonical event ready for `PutEvents`, from source `source` (the source's configured name). */
export type CanonicalEvent = CanonicalPayload & { source: string };

const detailSchemas: Record<string, z.ZodType> = {
  [DetailType.OrderPaid]: OrderPaid,
  [DetailType.ContactCreated]: ContactChanged,
  [DetailType.ContactUpdated]: ContactChanged,
  [DetailType.ContactDeleted]: ContactChanged,
  [DetailType.FlowFailed]: FlowFailed,
  [DetailType.Unrouted]: Unrouted,
};

/**
 * Checks a canonical event's detail against the schema of its detail type (`github.*` share one).
 * @throws z.ZodError when the detail does not match: a mapper bug, not a vendor problem
 */
export function validateCanonicalEvent(event: CanonicalEvent): void {
  const schema = event.detailType.startsWith(GITHUB_DETAIL_TYPE_PREFIX)
    ? CodeHostActivity
    : detailSchemas[event.detailType];
  if (!schema) throw new Error(`no schema for detail type ${event.detailType}`);
  schema.parse(event.detail);
}
