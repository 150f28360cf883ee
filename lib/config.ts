import type { MapperName, SchemeOptions } from '../functions/sources.js';
import type { GuardSettings } from './downstream-guards.js';

/**
 * One webhook sender: its name, its signature scheme with that scheme's options (see `SchemeOptions` in
 * functions/sources.ts: e.g. `{ scheme: 'twilio', publicUrl }` or a generic `{ scheme: 'hmac', … }`), and
 * how its events are handled.
 */
export type SourceSettings = SchemeOptions & {
  /** URL path segment: vendors post to `/webhooks/<name>`; lower-case letters, digits and dashes. */
  readonly name: string;
  /**
   * The mapper that turns this source's payloads into canonical events.
   * @default none: every event is acknowledged and kept in the archive as `webhook.unrouted`
   */
  readonly mapper?: MapperName;
  /**
   * ARN of an existing Secrets Manager secret with the signing secret (a bare string, or JSON
   * `{"current", "previous", "previousExpiresAt"}` during a rotation).
   * @default a new secret holding a placeholder; the source answers 503 until the vendor's secret is put in
   */
  readonly signingSecretArn?: string;
  /**
   * Accepted clock difference for signed timestamps, seconds, both directions.
   * @default 300 (Stripe, Slack and Standard Webhooks use 5 minutes)
   */
  readonly toleranceSeconds?: number;
  /**
   * Largest accepted body, bytes; larger requests get 413. Bodies too large for a queue message are stored in
   * S3 (claim check). At most `MAX_BODY_BYTES_LIMIT`.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxBodyBytes?: number;
};

/** Base URLs of the company's systems the connectors call. */
export interface SystemsSettings {
  readonly accounting: string;
  readonly crm: string;
  readonly email: string;
}

/**
 * Circuit breaker and rate limit of each system the connectors call, shared by every function calling it
 * (`GuardSettings` in lib/downstream-guards.ts: e.g. `{ rate: { vendorLimitPerSecond: 25 } }` keeps all
 * workers together at 80 % of the vendor's 25 requests per second).
 */
export type GuardsSettings = Readonly<Partial<Record<keyof SystemsSettings, GuardSettings>>>;

/** AWS WAF in front of the webhook API. */
export interface WafSettings {
  /**
   * Requests one IP address may make in 5 minutes before WAF blocks it (the rate-based rule's window).
   * @default 3000
   */
  readonly requestsPerIpPer5Minutes?: number;
}

/** Everything that differs between deployments of the hub. Read in `bin/`, passed down as props. */
export interface HubSettings {
  readonly sources: readonly SourceSettings[];
  readonly systems: SystemsSettings;
  /**
   * Breaker and rate limit per system.
   * @default breaker defaults (opens at 50 % failures of at least 20 calls in 30 s, for 30 s), no rate limit
   */
  readonly guards?: GuardsSettings;
  /**
   * Throttling of the webhook API, requests per second and burst, for the stage and the webhook route.
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * AWS WAF web ACL on the API: a rate limit per IP and the AWS managed rule groups, with the body-size rule
   * of the core rule set counting instead of blocking (real webhook payloads exceed its 8 KB).
   * @default no web ACL
   */
  readonly waf?: WafSettings;
  /**
   * How long the ingest function caches a signing secret, seconds: a rotation takes effect after at most this.
   * @default 300
   */
  readonly secretCacheSeconds?: number;
  /**
   * Redelivery backoff of failed queue records, seconds: first delay and cap (see `redeliveryDelaySeconds`).
   * @default { baseSeconds: 10, capSeconds: 900 }
   */
  readonly redelivery?: { readonly baseSeconds: number; readonly capSeconds: number };
  /**
   * Where the runbooks are published; alarm descriptions link to `<runbookBaseUrl>/<alarm>.md`.
   * @default 'docs/runbooks' (the path in this repository)
   */
  readonly runbookBaseUrl?: string;
}
