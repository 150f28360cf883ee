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

/**
 * One GitHub repository webhook whose failed deliveries a scheduled job finds and asks GitHub to deliver again:
 * GitHub never retries a failed delivery (fault row F26). See lib/delivery-reconciliation.ts.
 */
export interface GitHubReconciliationSettings {
  /** The hub source the hook delivers to: one of `sources`, with the `github` scheme. */
  readonly source: string;
  /** Account that owns the repository, e.g. `octo-org`. */
  readonly owner: string;
  /** Repository name without `.git`, e.g. `switchyard-demo`. */
  readonly repo: string;
  /** The webhook's id: the number ending the URL of its settings page (`…/settings/hooks/<id>`). */
  readonly hookId: number;
  /**
   * REST API root. Plain `http` is refused except to a loopback address (the local stand-in).
   * @default 'https://api.github.com' (GitHub Enterprise Server: 'https://HOST/api/v3')
   */
  readonly apiBaseUrl?: string;
  /**
   * ARN of an existing Secrets Manager secret with a GitHub API token that may read and redeliver the hook's
   * deliveries (fine-grained token: repository permission "Webhooks", read and write), as the bare token or
   * JSON `{"token": "…"}`.
   * @default a new secret holding a placeholder; the job logs a warning and does nothing until the token is put in
   */
  readonly tokenSecretArn?: string;
  /**
   * Minutes between runs.
   * @default 10
   */
  readonly everyMinutes?: number;
  /**
   * How far back each run lists deliveries, minutes: at least twice `everyMinutes`, so a failed run is caught
   * up by the next; at most 4320 (GitHub keeps deliveries 3 days).
   * @default 120
   */
  readonly lookBackMinutes?: number;
  /**
   * Most redeliveries one run requests; the rest wait for the next run (counted `ReconcileDeferred`).
   * @default 50
   */
  readonly maxRedeliveriesPerRun?: number;
  /**
   * Failed deliveries of one event within the look-back after which it is no longer redelivered but left to
   * on-call (counted `ReconcileGaveUp`): an event the hub refuses for good is not redelivered every run.
   * @default 6
   */
  readonly maxAttemptsPerEvent?: number;
}

/** Jobs that find what vendors failed to deliver and have it delivered again. */
export interface ReconciliationSettings {
  /**
   * The GitHub repository webhook to reconcile.
   * @default none
   */
  readonly github?: GitHubReconciliationSettings;
}

/**
 * Service levels of one source, which its alarms hold the hub to (lib/alarms.ts). Checked at synthesis.
 */
export interface SourceSla {
  /**
   * How long the vendor waits for the hub's answer before it counts the delivery as failed, seconds (1 to 60).
   * @default by signature scheme (`VENDOR_TIMEOUT_SECONDS` in lib/alarms.ts): slack 3, stripe 3 (unpublished:
   *   the lowest figure claimed), shopify 5, github 10, twilio 15, standard-webhooks 15, hmac 3 (an unknown
   *   vendor: the strictest known)
   */
  readonly vendorTimeoutSeconds?: number;
  /**
   * Acknowledgement budget: the webhook API's p99 latency must stay at or below it, milliseconds (100 up to
   * below `vendorTimeoutSeconds`). The API's latency alarm uses the smallest budget of all sources.
   * @default a third of `vendorTimeoutSeconds`, rounded down (G2: p99 ≤ 1 s against Slack's 3 s)
   */
  readonly ackP99Milliseconds?: number;
  /**
   * Signature failures (answers 401, `WebhookRejected` with reason `signature`) in 5 minutes above which the
   * source pages: a whole number, 0 or more.
   * @default 10
   */
  readonly maxSignatureFailuresPer5Minutes?: number;
}

/** A part of the hub that works events off: the queue it consumes (if any) and its functions. */
export type WorkerName = 'ingest' | 'inbox' | 'order-paid' | 'email-sync' | 'reconcile';

/** Service levels of one worker (lib/alarms.ts). Checked at synthesis. */
export interface WorkerSla {
  /**
   * Age of the oldest message in the worker's queue above which it pages, seconds (60 to 1,209,600, the queue
   * retention). Only for workers that consume a queue: `inbox`, `order-paid` (its starter queue), `email-sync`.
   * @default 300
   */
  readonly maxAgeSeconds?: number;
  /**
   * Share of the invocations of each of the worker's functions that may fail (Errors / Invocations), and share
   * that may be throttled (Throttles / (Invocations + Throttles)), over 5 minutes, as a fraction (0 < rate ≤ 1).
   * @default 0.05
   */
  readonly maxErrorRate?: number;
}

/** Service levels the alarms enforce; every threshold of lib/alarms.ts comes from here. */
export interface SlaSettings {
  /**
   * Per source, by source name (each must be one of `HubSettings.sources`).
   * @default the defaults of `SourceSla` for every source
   */
  readonly sources?: Readonly<Record<string, SourceSla>>;
  /**
   * Per worker.
   * @default the defaults of `WorkerSla` for every worker
   */
  readonly workers?: Readonly<Partial<Record<WorkerName, WorkerSla>>>;
  /**
   * Share of webhook requests the API may answer with a 5xx over 5 minutes, as a fraction (0 < rate ≤ 1).
   * @default 0.01
   */
  readonly max5xxRate?: number;
  /**
   * Per company system: share of the calls to it that may fail (transient or terminal, `DownstreamCall`) over
   * 5 minutes, as a fraction (0 < rate ≤ 1).
   * @default 0.05 for every system
   */
  readonly downstreams?: Readonly<Partial<Record<keyof SystemsSettings, { readonly maxErrorRate?: number }>>>;
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
   * While Secrets Manager fails, how long after its fetch the ingest function still verifies with the last
   * signing secret it read, seconds (fault row F3); then it answers 503 and vendors retry. An outage of up to
   * `secretStaleSeconds - secretCacheSeconds` (10 minutes by default) thus rejects no webhook. Bounded because
   * a rotation cannot be seen meanwhile: the old secret stays accepted that long. At most `secretCacheSeconds`
   * turns serve-stale off.
   * @default 900 (15 minutes)
   */
  readonly secretStaleSeconds?: number;
  /**
   * Redelivery backoff of failed queue records, seconds: first delay and cap (see `redeliveryDelaySeconds`).
   * @default { baseSeconds: 10, capSeconds: 900 }
   */
  readonly redelivery?: { readonly baseSeconds: number; readonly capSeconds: number };
  /**
   * Reconciliation of vendor-side gaps (fault row F26): a scheduled job per vendor that does not retry.
   * @default none
   */
  readonly reconcile?: ReconciliationSettings;
  /**
   * Where the runbooks are published; alarm descriptions link to `<runbookBaseUrl>/<alarm>.md`.
   * @default 'docs/runbooks' (the path in this repository)
   */
  readonly runbookBaseUrl?: string;
  /**
   * Service levels the alarms enforce: ack budgets and signature-failure limits per source, queue age and
   * error rates per worker, the API's 5xx rate, each system's error rate.
   * @default the documented defaults of `SlaSettings`
   */
  readonly sla?: SlaSettings;
}
