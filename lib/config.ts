import type { SignatureScheme, SourceName } from '../functions/contracts.js';

/** One webhook sender. */
export interface SourceSettings {
  /** URL path segment: vendors post to `/webhooks/<name>`. */
  readonly name: SourceName;
  readonly scheme: SignatureScheme;
  /**
   * ARN of an existing Secrets Manager secret with the signing secret (a bare string, or JSON
   * `{"current", "previous", "previousExpiresAt"}` during a rotation).
   * @default a new secret holding a placeholder; the source answers 503 until the vendor's secret is put in
   */
  readonly signingSecretArn?: string;
  /**
   * Accepted clock difference for signed timestamps, seconds, both directions.
   * @default 300 (Stripe and Standard Webhooks use 5 minutes)
   */
  readonly toleranceSeconds?: number;
  /**
   * Largest accepted body, bytes.
   * @default 1_048_576 (1 MiB); bodies whose envelope exceeds SQS's 1 MiB message limit are refused with 413
   */
  readonly maxBodyBytes?: number;
}

/** Base URLs of the company's systems the connectors call. */
export interface SystemsSettings {
  readonly accounting: string;
  readonly crm: string;
  readonly email: string;
}

/** Everything that differs between deployments of the hub. Read in `bin/`, passed down as props. */
export interface HubSettings {
  readonly sources: readonly SourceSettings[];
  readonly systems: SystemsSettings;
  /**
   * Stage throttling of the webhook API, requests per second and burst.
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttling?: { readonly rateLimit: number; readonly burstLimit: number };
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
