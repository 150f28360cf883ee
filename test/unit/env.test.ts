import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { jsonEnv, requiredEnv } from '../../functions/shared/env.js';
import { ConfigurationError } from '../../functions/shared/errors.js';

describe('requiredEnv', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('returns the value of a set variable', () => {
    // Prepare
    vi.stubEnv('SWITCHYARD_TEST_VALUE', 'https://example.com');

    // Act
    const value = requiredEnv('SWITCHYARD_TEST_VALUE');

    // Assess
    expect(value).toBe('https://example.com');
  });

  it('throws ConfigurationError naming a missing or empty variable', () => {
    // Prepare
    vi.stubEnv('SWITCHYARD_TEST_EMPTY', '');
    vi.stubEnv('SWITCHYARD_TEST_MISSING', undefined);

    // Act
    const empty = () => requiredEnv('SWITCHYARD_TEST_EMPTY');
    const missing = () => requiredEnv('SWITCHYARD_TEST_MISSING');

    // Assess
    expect(empty).toThrow(ConfigurationError);
    expect(empty).toThrow('SWITCHYARD_TEST_EMPTY');
    expect(missing).toThrow(ConfigurationError);
    expect(missing).toThrow('SWITCHYARD_TEST_MISSING');
  });
});

describe('jsonEnv', () => {
  const Schema = z.object({ port: z.number().int() });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('parses and checks a JSON variable', () => {
    // Prepare
    vi.stubEnv('SWITCHYARD_TEST_JSON', '{"port":4566,"extra":true}');

    // Act
    const value = jsonEnv('SWITCHYARD_TEST_JSON', Schema);

    // Assess
    expect(value).toEqual({ port: 4566 });
  });

  it.each([
    ['missing', undefined, 'is not set'],
    ['not JSON', '{port: 4566}', 'is not valid JSON'],
    ['of the wrong shape', '{"port":"4566"}', 'SWITCHYARD_TEST_JSON:'],
  ])('throws ConfigurationError for a variable that is %s', (_, value, message) => {
    // Prepare
    vi.stubEnv('SWITCHYARD_TEST_JSON', value);

    // Act
    const run = () => jsonEnv('SWITCHYARD_TEST_JSON', Schema);

    // Assess
    expect(run).toThrow(ConfigurationError);
    expect(run).toThrow(message);
  });
});
