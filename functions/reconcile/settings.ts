/**
 * Settings of the GitHub delivery reconciliation, as the `DeliveryReconciliation` construct writes them into
 * the function's environment and the function reads them at load: `RECONCILE_SETTINGS` (JSON of
 * `ReconcileSettings`) and `TOKEN_SECRET_ARN` (the Secrets Manager secret holding the GitHub API token, never
 * the token). Also the names of the job's metrics, shared by the function that emits them and the alarms.
 */
import * as z from 'zod';

/** Environment variable with the settings, JSON of `ReconcileSettings`. */
export const RECONCILE_SETTINGS_ENV = 'RECONCILE_SETTINGS';
/** Environment variable with the ARN of the secret holding the GitHub API token. */
export const TOKEN_SECRET_ARN_ENV = 'TOKEN_SECRET_ARN';

/**
 * Metric names of the job (namespace `Switchyard`, dimension `service` = the function's service name,
 * `reconcile-<source>`). Each run emits every count, 0 included.
 */
export const ReconcileMetric = {
  /** Events (GitHub delivery guids) with failed deliveries and no 2xx one in the look-back. Alarmed on. */
  Missing: 'ReconcileMissing',
  /** Redeliveries GitHub accepted (202). */
  Redelivered: 'ReconcileRedelivered',
  /** Redeliveries GitHub refused (400, 404, 422: e.g. a delivery older than GitHub keeps). */
  Failed: 'ReconcileFailed',
  /** Missing events left for the next run: over the per-run cap, or out of time. */
  Deferred: 'ReconcileDeferred',
  /** Missing events not redelivered again: they already failed `maxAttemptsPerEvent` times. */
  GaveUp: 'ReconcileGaveUp',
} as const;

/** The repository webhook whose deliveries are reconciled. */
export const GitHubHook = z.strictObject({
  /** Account that owns the repository, e.g. `octo-org`. */
  owner: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/),
  /** Repository name without `.git`, e.g. `switchyard-demo`. */
  repo: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/),
  /** The hook's id (Settings → Webhooks → the hook's URL ends with it). */
  hookId: z.number().int().positive(),
  /**
   * REST API root without a trailing slash: `https://api.github.com`, or `https://HOST/api/v3` for GitHub
   * Enterprise Server. Plain `http` only to a loopback address (the local stand-in): the token must not
   * travel in clear text.
   */
  apiBaseUrl: z
    .url({ protocol: /^https?$/ })
    .refine(
      (url) =>
        url.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(url),
      'plain http only to a loopback address',
    )
    .transform((url) => url.replace(/\/+$/, '')),
});
export type GitHubHook = z.infer<typeof GitHubHook>;

/** Everything the function needs besides the token. */
export const ReconcileSettings = z.strictObject({
  /** The hub source the hook delivers to (for logs), e.g. `github`. */
  source: z.string().min(1),
  hook: GitHubHook,
  /** How far back deliveries are listed, minutes. At least twice the schedule interval. */
  lookBackMinutes: z.number().int().positive(),
  /** Most redeliveries requested per run; the rest wait for the next run. */
  maxRedeliveriesPerRun: z.number().int().positive(),
  /** Failed deliveries of one event in the look-back after which it is left to on-call. */
  maxAttemptsPerEvent: z.number().int().min(2),
});
export type ReconcileSettings = z.infer<typeof ReconcileSettings>;
