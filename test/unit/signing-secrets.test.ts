import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  FAILED_FETCH_BACKOFF_SECONDS,
  FORCED_REFETCH_INTERVAL_SECONDS,
  parseSigningSecrets,
  SigningSecretCache,
} from '../../functions/ingest/signing-secrets.js';
import { SigningSecretUnavailableError } from '../../functions/shared/errors.js';

const NOW_MS = Date.parse('2026-11-21T12:00:00Z');

describe('parseSigningSecrets', () => {
  it('reads a bare string as the one secret, trimmed', () => {
    // Act
    const secrets = parseSigningSecrets('  whsec_abc123\n', NOW_MS);

    // Assess
    expect(secrets).toEqual(['whsec_abc123']);
  });

  it('reads a JSON document with only a current secret', () => {
    // Act
    const secrets = parseSigningSecrets('{"current":"whsec_new"}', NOW_MS);

    // Assess
    expect(secrets).toEqual(['whsec_new']);
  });

  it('accepts current and previous, current first, while no expiry is set', () => {
    // Act
    const secrets = parseSigningSecrets('{"current":"whsec_new","previous":"whsec_old"}', NOW_MS);

    // Assess
    expect(secrets).toEqual(['whsec_new', 'whsec_old']);
  });

  it('accepts the previous secret until previousExpiresAt, and only the current one from then on', () => {
    // Prepare
    const document = JSON.stringify({
      current: 'whsec_new',
      previous: 'whsec_old',
      previousExpiresAt: '2026-11-21T12:00:00Z',
    });

    // Act
    const before = parseSigningSecrets(document, NOW_MS - 1);
    const atExpiry = parseSigningSecrets(document, NOW_MS);
    const after = parseSigningSecrets(document, NOW_MS + 60_000);

    // Assess
    expect(before).toEqual(['whsec_new', 'whsec_old']);
    expect(atExpiry).toEqual(['whsec_new']);
    expect(after).toEqual(['whsec_new']);
  });

  it('honours the offset of previousExpiresAt', () => {
    // Prepare: 13:30 in Paris in winter is 12:30 UTC, after NOW
    const document = JSON.stringify({
      current: 'whsec_new',
      previous: 'whsec_old',
      previousExpiresAt: '2026-11-21T13:30:00+01:00',
    });

    // Act
    const secrets = parseSigningSecrets(document, NOW_MS);

    // Assess
    expect(secrets).toEqual(['whsec_new', 'whsec_old']);
  });

  it('ignores an empty previous secret', () => {
    // Act
    const secrets = parseSigningSecrets('{"current":"whsec_new","previous":""}', NOW_MS);

    // Assess
    expect(secrets).toEqual(['whsec_new']);
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['only whitespace', ' \n\t'],
    ['the placeholder the stack creates', '{"status":"unset","placeholder":"x"}'],
    ['JSON without current', '{"previous":"whsec_old"}'],
    ['JSON with an empty current', '{"current":""}'],
    ['JSON with a non-string current', '{"current":42}'],
    ['bad JSON', '{"current":"whsec_new"'],
    ['a malformed previousExpiresAt', '{"current":"a","previous":"b","previousExpiresAt":"next tuesday"}'],
    [
      'an impossible previousExpiresAt',
      '{"current":"a","previous":"b","previousExpiresAt":"2026-13-45T00:00:00Z"}',
    ],
    ['a numeric previousExpiresAt', '{"current":"a","previous":"b","previousExpiresAt":1763726400000}'],
  ])('fails closed with SigningSecretUnavailableError for %s', (_, value) => {
    // Act
    const run = () => parseSigningSecrets(value, NOW_MS);

    // Assess
    expect(run).toThrow(SigningSecretUnavailableError);
  });

  it('never puts a secret value in its error message', () => {
    // Prepare
    const document = '{"current":"whsec_topsecret","previous":"whsec_older","previousExpiresAt":"soon"}';

    // Act
    let message = '';
    try {
      parseSigningSecrets(document, NOW_MS);
    } catch (error) {
      message = (error as Error).message;
    }

    // Assess
    expect(message).toMatch(/previousExpiresAt/);
    expect(message).not.toMatch(/whsec_/);
  });
});

describe('SigningSecretCache', () => {
  const STRIPE = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard/stripe-AbCdEf';
  const GITHUB = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchyard/github-AbCdEf';
  const secretsManager = mockClient(SecretsManagerClient);
  const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
  let nowMs: number;
  let cache: SigningSecretCache;
  const at = (seconds: number) => {
    nowMs = NOW_MS + seconds * 1000;
  };
  const calls = () => secretsManager.commandCalls(GetSecretValueCommand).length;

  beforeEach(() => {
    secretsManager.reset();
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'whsec_one' });
    nowMs = NOW_MS;
    cache = new SigningSecretCache(
      new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({ region: 'eu-west-1' }) }),
      { maxAgeSeconds: 300, staleSeconds: 900, now: () => nowMs },
    );
  });

  it('uses a fetched value for maxAgeSeconds, and fetches it again from then on', async () => {
    // Act
    await cache.read(STRIPE);
    at(299.999);
    const cached = await cache.read(STRIPE);
    const callsWhileFresh = calls();
    at(300);
    await cache.read(STRIPE);

    // Assess
    expect(cached).toEqual({ value: 'whsec_one' });
    expect(callsWhileFresh).toBe(1);
    expect(calls()).toBe(2);
  });

  it('serves the last good value while Secrets Manager fails, up to staleSeconds after its fetch', async () => {
    // Prepare
    await cache.read(STRIPE);
    secretsManager.on(GetSecretValueCommand).rejects(throttled());

    // Act
    at(301);
    const early = await cache.read(STRIPE);
    at(900);
    const atLimit = await cache.read(STRIPE);
    at(900.001);
    const beyond = cache.read(STRIPE);

    // Assess
    expect(early).toEqual({
      value: 'whsec_one',
      stale: { ageSeconds: 301, errorName: 'ThrottlingException' },
    });
    expect(atLimit).toEqual({
      value: 'whsec_one',
      stale: { ageSeconds: 900, errorName: 'ThrottlingException' },
    });
    await expect(beyond).rejects.toThrow('Rate exceeded');
  });

  it('throws the fetch error on a cold start, having nothing to serve', async () => {
    // Prepare
    secretsManager.on(GetSecretValueCommand).rejects(throttled());

    // Act
    const read = cache.read(STRIPE);

    // Assess
    await expect(read).rejects.toThrow('Rate exceeded');
  });

  it('does not call a failing Secrets Manager again for the backoff while it serves a stale value', async () => {
    // Prepare
    await cache.read(STRIPE);
    secretsManager.on(GetSecretValueCommand).rejects(throttled());
    at(400);
    await cache.read(STRIPE);

    // Act
    at(400 + FAILED_FETCH_BACKOFF_SECONDS - 0.001);
    const duringBackoff = await cache.read(STRIPE);
    const callsDuringBackoff = calls();
    at(400 + FAILED_FETCH_BACKOFF_SECONDS);
    await cache.read(STRIPE);

    // Assess
    expect(duringBackoff.stale).toEqual({ ageSeconds: 404, errorName: 'ThrottlingException' });
    expect(callsDuringBackoff).toBe(2);
    expect(calls()).toBe(3);
  });

  it('stops serving stale, and starts a new max age, once a fetch succeeds again', async () => {
    // Prepare
    await cache.read(STRIPE);
    secretsManager.on(GetSecretValueCommand).rejects(throttled());
    at(400);
    await cache.read(STRIPE);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'whsec_two' });

    // Act
    at(406);
    const recovered = await cache.read(STRIPE);
    at(406 + 299);
    const cached = await cache.read(STRIPE);

    // Assess
    expect(recovered).toEqual({ value: 'whsec_two' });
    expect(cached).toEqual({ value: 'whsec_two' });
    expect(calls()).toBe(3);
  });

  it('force-fetches a secret at most once per interval, and tells a new value from the cached one', async () => {
    // Prepare
    await cache.read(STRIPE);
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'whsec_two' });

    // Act
    const first = await cache.refetch(STRIPE);
    at(FORCED_REFETCH_INTERVAL_SECONDS - 0.001);
    const limited = await cache.refetch(STRIPE);
    const callsWhileLimited = calls();
    at(FORCED_REFETCH_INTERVAL_SECONDS);
    const unchanged = await cache.refetch(STRIPE);
    const read = await cache.read(STRIPE);

    // Assess
    expect(first).toEqual({ outcome: 'changed', value: 'whsec_two' });
    expect(limited).toEqual({ outcome: 'rate_limited' });
    expect(callsWhileLimited).toBe(2);
    expect(unchanged).toEqual({ outcome: 'unchanged' });
    expect(read).toEqual({ value: 'whsec_two' });
    expect(calls()).toBe(3);
  });

  it('rate-limits forced fetches per secret, and counts a failed one', async () => {
    // Prepare
    await cache.read(STRIPE);
    await cache.read(GITHUB);
    secretsManager.on(GetSecretValueCommand).rejects(throttled());

    // Act
    const failed = cache.refetch(STRIPE);
    await expect(failed).rejects.toThrow('Rate exceeded');
    const again = await cache.refetch(STRIPE);
    const other = cache.refetch(GITHUB);

    // Assess
    expect(again).toEqual({ outcome: 'rate_limited' });
    await expect(other).rejects.toThrow('Rate exceeded');
    expect(calls()).toBe(4);
  });
});
