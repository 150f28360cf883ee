/**
 * The configuration of webhook sources, shared by the CDK app (typed props) and the ingest and router
 * functions (checked at load): which signature scheme a source uses, with that scheme's options, and which
 * mapper turns its payloads into canonical events. No secret values: those live in Secrets Manager.
 */
import * as z from 'zod';

/** Where a generic source puts a value: a header, or a field of the JSON body (dotted path, e.g. `data.id`). */
const Locator = z.union([
  z.object({ header: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) }),
  z.object({ field: z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/) }),
]);
export type Locator = z.infer<typeof Locator>;

/**
 * A vendor without a preset that signs with HMAC: the header, hash, encoding and optional prefix of the
 * signature, the optional signed-timestamp header, and the signed message (`{timestamp}` and `{body}`
 * placeholders; default `{body}`, or `{timestamp}.{body}` when a timestamp header is set).
 */
export const HmacOptions = z.object({
  scheme: z.literal('hmac'),
  signatureHeader: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  algorithm: z.enum(['sha256', 'sha512']),
  encoding: z.enum(['hex', 'base64']),
  prefix: z.string().max(32).optional(),
  timestampHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/)
    .optional(),
  message: z
    .string()
    .refine((template) => template.includes('{body}'), 'the signed message must contain {body}')
    .optional(),
  /** Where the vendor's event id is (the deduplication key). */
  eventId: Locator,
  /** Where the vendor's event type is, or one fixed type for every event. */
  eventType: z.union([Locator, z.object({ value: z.string().min(1) })]),
});
export type HmacOptions = z.infer<typeof HmacOptions>;

/** A signature scheme and its options. */
export const SchemeOptions = z.discriminatedUnion('scheme', [
  /** https://docs.stripe.com/webhooks#verify-manually */
  z.object({ scheme: z.literal('stripe') }),
  /** https://shopify.dev/docs/apps/build/webhooks/subscribe/https */
  z.object({ scheme: z.literal('shopify') }),
  /** https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries */
  z.object({ scheme: z.literal('github') }),
  /** https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md (v1 and v1a) */
  z.object({ scheme: z.literal('standard-webhooks') }),
  /** https://docs.slack.dev/authentication/verifying-requests-from-slack */
  z.object({ scheme: z.literal('slack') }),
  /**
   * https://www.twilio.com/docs/usage/webhooks/webhooks-security. Twilio signs the URL it called, so the
   * public URL of this source is configuration, never rebuilt from the request's `Host`.
   */
  z.object({ scheme: z.literal('twilio'), publicUrl: z.url({ protocol: /^https?$/ }) }),
  HmacOptions,
]);
export type SchemeOptions = z.infer<typeof SchemeOptions>;
export type SignatureScheme = SchemeOptions['scheme'];

/** The mappers from vendor payloads to canonical events (functions/mappers/). */
export const MAPPERS = ['stripe', 'shopify', 'github', 'crm'] as const;
export type MapperName = (typeof MAPPERS)[number];

/** A source name: the last segment of `POST /webhooks/{source}`. */
export const SourceNamePattern = /^[a-z][a-z0-9-]{0,31}$/;

/** What the ingest function knows of each source (env `SOURCES`, a JSON object keyed by source name). */
export const IngestSource = z.intersection(
  SchemeOptions,
  z.object({
    /** ARN (or, on some emulators, name) of the Secrets Manager secret holding the signing secret(s). */
    secretArn: z.string().min(1),
    /** Accepted clock difference for signed timestamps, seconds, both directions. */
    toleranceSeconds: z.number().int().positive(),
    /** Largest accepted body, bytes. */
    maxBodyBytes: z.number().int().positive(),
  }),
);
export type IngestSource = z.infer<typeof IngestSource>;
export const IngestSources = z.record(z.string().regex(SourceNamePattern), IngestSource);

/** What the router knows of each source (env `MAPPERS`): its mapper, if its events are routed. */
export const RouterSources = z.record(z.string().regex(SourceNamePattern), z.enum(MAPPERS));
