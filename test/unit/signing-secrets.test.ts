import { describe, expect, it } from 'vitest';
import { parseSigningSecrets } from '../../functions/ingest/signing-secrets.js';
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
