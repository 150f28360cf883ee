/**
 * Settings of a downstream guard (circuit breaker and shared rate limiter of one downstream system), as the
 * `DownstreamGuards` construct writes them into a function's environment and the function reads them at
 * load: `GUARD_TABLE_NAME` (the state table) and `DOWNSTREAM_GUARD` (these settings, JSON). Also the names
 * of the guard's metrics, shared by the function that emits them and the alarms that watch them.
 */
import * as z from 'zod';
import { jsonEnv, requiredEnv } from '../shared/env.js';

/** Environment variable with the name of the guard's DynamoDB table. */
export const GUARD_TABLE_ENV = 'GUARD_TABLE_NAME';
/** Environment variable with the guard's settings, JSON of `DownstreamGuardSettings`. */
export const GUARD_SETTINGS_ENV = 'DOWNSTREAM_GUARD';

/** Metric names of the guard (namespace `Switchyard`, one dimension: `downstream` = the system's name). */
export const GuardMetric = {
  /** Count: a call was refused because the circuit was open (or half-open with a probe in flight). */
  CircuitOpen: 'CircuitOpen',
  /** Count: the circuit went from closed or half-open to open. Alarmed on. */
  CircuitOpened: 'CircuitOpened',
  /** Gauge: 0 closed, 1 half-open, 2 open, as a caller saw it (at most once a minute per instance unless it changes). */
  CircuitState: 'CircuitState',
  /** Count: the system answered 429. */
  DownstreamThrottled: 'DownstreamThrottled',
  /** Count: a call was refused because no request slot was free within the caller's time. */
  RateLimited: 'RateLimited',
  /** Count: the guard's table could not be read or written; the guard failed open. */
  GuardStateUnavailable: 'GuardStateUnavailable',
} as const;

/** The dimension every guard metric carries, valued with the system's name. */
export const GUARD_METRIC_DIMENSION = 'downstream';

/** Circuit breaker settings; every field has a default. */
export const BreakerSettings = z.strictObject({
  /** Failure rate that opens the circuit, a fraction in (0, 1]. @default 0.5 */
  failureRate: z.number().gt(0).max(1).optional(),
  /** Fewest calls in the window before the rate is judged. @default 20 */
  minimumCalls: z.number().int().positive().optional(),
  /** Length of the rolling window, seconds; a whole number of buckets. @default 30 */
  windowSeconds: z.number().int().positive().optional(),
  /** Length of one counting bucket, seconds. @default 10 */
  bucketSeconds: z.number().int().positive().optional(),
  /** How long the circuit stays open before one probe is let through, seconds. @default 30 */
  openSeconds: z.number().positive().optional(),
});
export type BreakerSettings = z.infer<typeof BreakerSettings>;

/** Rate limiter settings: the vendor's published limit, and optionally our own rate and burst. */
export const RateSettings = z.strictObject({
  /** The system's published limit for this account or endpoint, requests per second. */
  vendorLimitPerSecond: z.number().positive(),
  /**
   * Requests per second allowed, summed over every instance.
   * @default floor(0.8 × vendorLimitPerSecond), or 0.8 × vendorLimitPerSecond when that floor is 0
   */
  ratePerSecond: z.number().positive().optional(),
  /**
   * Requests allowed at once after a quiet period. A window of 1 s admits at most burst + ratePerSecond − 1
   * requests, so keep burst ≤ vendorLimitPerSecond − ratePerSecond + 1 where the vendor counts per second.
   * @default max(1, floor(ratePerSecond))
   */
  burst: z.number().int().positive().optional(),
});
export type RateSettings = z.infer<typeof RateSettings>;

/** What `DOWNSTREAM_GUARD` holds: the system's name and its breaker and limiter settings. */
export const DownstreamGuardSettings = z.strictObject({
  /** The downstream system, e.g. `accounting`: names the state items and the metric dimension. */
  system: z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  breaker: BreakerSettings.optional(),
  /** @default no rate limit */
  rate: RateSettings.optional(),
});
export type DownstreamGuardSettings = z.infer<typeof DownstreamGuardSettings>;

/** The default rate: 80 % of the vendor's limit, leaving headroom for clock skew and other clients. */
export function defaultRatePerSecond(vendorLimitPerSecond: number): number {
  const rate = Math.floor(0.8 * vendorLimitPerSecond);
  return rate >= 1 ? rate : 0.8 * vendorLimitPerSecond;
}

/**
 * Reads the guard's table name and settings from the environment. Call at module load.
 * @throws ConfigurationError when either variable is missing or the settings are malformed
 */
export function guardEnvironment(): { tableName: string; settings: DownstreamGuardSettings } {
  return {
    tableName: requiredEnv(GUARD_TABLE_ENV),
    settings: jsonEnv(GUARD_SETTINGS_ENV, DownstreamGuardSettings),
  };
}
