import { SigningSecretUnavailableError } from '../shared/errors.js';

/**
 * Reads the active signing secrets of a source from its Secrets Manager value. Two shapes are accepted:
 * - a bare string: one secret, e.g. `whsec_…`;
 * - JSON `{"current": "<secret>", "previous": "<secret>", "previousExpiresAt": "<ISO 8601>"}`: during a
 *   rotation both are accepted until `previousExpiresAt` (without it, until `previous` is removed).
 * The secret the stack creates holds `{"status": "unset", …}` until an operator puts the vendor's secret in;
 * that, an empty value or a malformed document fails closed.
 *
 * @param nowMs current time, epoch milliseconds
 * @returns the active secrets, current first
 * @throws SigningSecretUnavailableError when no usable secret is set
 */
export function parseSigningSecrets(value: string | undefined, nowMs: number): string[] {
  const text = value?.trim() ?? '';
  if (text === '') throw new SigningSecretUnavailableError('signing secret is empty');
  if (!text.startsWith('{')) return [text];

  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SigningSecretUnavailableError('signing secret is not valid JSON');
  }
  const { current, previous, previousExpiresAt } = (document ?? {}) as Record<string, unknown>;
  if (typeof current !== 'string' || current === '') {
    throw new SigningSecretUnavailableError('signing secret has no "current" value');
  }
  if (typeof previous !== 'string' || previous === '') return [current];
  if (previousExpiresAt === undefined) return [current, previous];
  const expiresAt = typeof previousExpiresAt === 'string' ? Date.parse(previousExpiresAt) : Number.NaN;
  if (Number.isNaN(expiresAt)) {
    throw new SigningSecretUnavailableError('signing secret has a malformed "previousExpiresAt"');
  }
  return expiresAt > nowMs ? [current, previous] : [current];
}

/**
 * At most one forced refetch of a secret per this many seconds, per execution environment. A signature that
 * matches no cached secret triggers a refetch (the vendor may sign with a secret rotated after our last
 * fetch, fault row F4); the limit keeps a flood of forged requests from turning into as many Secrets Manager
 * calls (bad-input row B44: a flood costs only the cheap path). With 1,000 environments that is at most
 * ~34 calls a second, well under the GetSecretValue quota of 10,000 a second
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html).
 */
export const FORCED_REFETCH_INTERVAL_SECONDS = 30;
/**
 * After a failed fetch, how long a stale value is served without asking Secrets Manager again, seconds. A
 * throttled or hanging Secrets Manager is not called (and waited for, up to two 1 s attempts) on every
 * request while it fails.
 */
export const FAILED_FETCH_BACKOFF_SECONDS = 5;

/** What the cache needs of a secrets provider (Powertools `SecretsProvider`). */
export interface SecretsReader {
  get(name: string, options: { forceFetch: true }): Promise<unknown>;
}

/** A signing secret's value as read through {@link SigningSecretCache.read}. */
export interface SigningSecretRead {
  /** The secret's value (`undefined` when Secrets Manager holds no string). */
  readonly value: string | undefined;
  /** Set when Secrets Manager failed and the last good value was served instead. */
  readonly stale?: {
    /** Time since the value was fetched, seconds. */
    readonly ageSeconds: number;
    /** Name of the error the fetch failed with (never a message, which could quote the secret). */
    readonly errorName: string;
  };
}

/** What a forced refetch found: nothing (rate limited), the cached value again, or a new value. */
export type SigningSecretRefetch =
  | { readonly outcome: 'rate_limited' }
  | { readonly outcome: 'unchanged' }
  | { readonly outcome: 'changed'; readonly value: string | undefined };

interface SecretState {
  cached?: { value: string | undefined; fetchedAtMs: number };
  failure?: { atMs: number; errorName: string };
  forcedAtMs?: number;
}

/**
 * Caches the signing secrets of the ingest function's execution environment and rides out Secrets Manager
 * failures (fault rows F3 and F4 of docs/reliability.md):
 * - a value is used for `maxAgeSeconds` after its fetch, then fetched again;
 * - when that fetch fails, the last good value is served until `staleSeconds` after its fetch (a cold start,
 *   or an older value, has nothing to serve: the caller fails closed);
 * - {@link refetch} fetches again at once on a signature mismatch, at most once per
 *   {@link FORCED_REFETCH_INTERVAL_SECONDS} per secret.
 * Verification is never skipped: without a servable value, `read` throws.
 */
export class SigningSecretCache {
  readonly #provider: SecretsReader;
  readonly #maxAgeMs: number;
  readonly #staleMs: number;
  readonly #now: () => number;
  readonly #states = new Map<string, SecretState>();

  /**
   * @param options.maxAgeSeconds how long a fetched value is used before it is fetched again, seconds
   * @param options.staleSeconds how long after its fetch a value may still be served while Secrets Manager
   *   fails, seconds; at most `maxAgeSeconds` turns serve-stale off
   * @param options.now the clock, epoch milliseconds (default `Date.now`)
   */
  constructor(
    provider: SecretsReader,
    options: { maxAgeSeconds: number; staleSeconds: number; now?: () => number },
  ) {
    this.#provider = provider;
    this.#maxAgeMs = options.maxAgeSeconds * 1000;
    this.#staleMs = options.staleSeconds * 1000;
    this.#now = options.now ?? (() => Date.now());
  }

  /**
   * The secret's value: the cached one while it is fresh, else a fetched one, else (Secrets Manager failing)
   * the last good one while it is within the stale limit.
   * @throws the provider's error when the fetch fails and no value within the stale limit is held
   */
  async read(secretId: string): Promise<SigningSecretRead> {
    const now = this.#now();
    const state = this.#stateOf(secretId);
    const { cached, failure } = state;
    if (cached && now - cached.fetchedAtMs < this.#maxAgeMs) return { value: cached.value };
    const servable = cached && now - cached.fetchedAtMs <= this.#staleMs ? cached : undefined;
    if (servable && failure && now - failure.atMs < FAILED_FETCH_BACKOFF_SECONDS * 1000) {
      return { value: servable.value, stale: staleness(servable.fetchedAtMs, now, failure.errorName) };
    }
    try {
      return { value: await this.#fetch(secretId, state) };
    } catch (error) {
      if (!servable) throw error;
      return { value: servable.value, stale: staleness(servable.fetchedAtMs, now, errorNameOf(error)) };
    }
  }

  /**
   * Fetches the secret again now, bypassing the cache, unless it was force-fetched less than
   * {@link FORCED_REFETCH_INTERVAL_SECONDS} ago (a failed attempt counts too).
   * @throws the provider's error when the fetch fails
   */
  async refetch(secretId: string): Promise<SigningSecretRefetch> {
    const now = this.#now();
    const state = this.#stateOf(secretId);
    if (state.forcedAtMs !== undefined && now - state.forcedAtMs < FORCED_REFETCH_INTERVAL_SECONDS * 1000) {
      return { outcome: 'rate_limited' };
    }
    state.forcedAtMs = now;
    const before = state.cached;
    const value = await this.#fetch(secretId, state);
    return before && before.value === value ? { outcome: 'unchanged' } : { outcome: 'changed', value };
  }

  async #fetch(secretId: string, state: SecretState): Promise<string | undefined> {
    try {
      const fetched = await this.#provider.get(secretId, { forceFetch: true });
      const value = typeof fetched === 'string' ? fetched : undefined;
      state.cached = { value, fetchedAtMs: this.#now() };
      state.failure = undefined;
      return value;
    } catch (error) {
      state.failure = { atMs: this.#now(), errorName: errorNameOf(error) };
      throw error;
    }
  }

  #stateOf(secretId: string): SecretState {
    let state = this.#states.get(secretId);
    if (!state) {
      state = {};
      this.#states.set(secretId, state);
    }
    return state;
  }
}

function staleness(fetchedAtMs: number, nowMs: number, errorName: string) {
  return { ageSeconds: Math.floor((nowMs - fetchedAtMs) / 1000), errorName };
}

/** The error's name, or its cause's: Powertools wraps the SDK's error (`ThrottlingException`) in `GetParameterError`. */
function errorNameOf(error: unknown): string {
  if (!(error instanceof Error)) return 'UnknownError';
  return error.cause instanceof Error ? error.cause.name : error.name;
}
