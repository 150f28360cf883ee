import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonStrict, toSqsSafeJson } from '../../functions/ingest/body.js';
import { InvalidPayloadError } from '../../functions/shared/errors.js';
import { redactSensitive } from '../../functions/shared/powertools.js';

describe('parseJsonStrict', () => {
  it('parses what JSON.parse parses when it is unambiguous', () => {
    // fast-check's JSON values have unique keys and finite numbers; integers of 16+ digits may be beyond 2^53
    const unambiguous = fc
      .jsonValue({ maxDepth: 8 })
      .filter((value) => !/\d{16,}/.test(JSON.stringify(value)));
    fc.assert(
      fc.property(unambiguous, (value) => {
        // Prepare
        const text = JSON.stringify(value);

        // Act & Assess
        expect(parseJsonStrict(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    ['a repeated key', '{"id":"evt_1","id":"evt_2"}'],
    ['a repeated key in a nested object', '{"a":{"b":1,"c":{"d":1,"d":2}}}'],
    ['a repeated key written with an escape', '{"id":1,"\\u0069d":2}'],
    ['an integer beyond 2^53', '{"amount":9007199254740993}'],
    ['a number out of range', '[1e309]'],
    ['nesting one level too deep', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`],
    ['nesting 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['invalid JSON', '{"a":'],
    ['a repeated key after a string ending in escaped backslashes', '{"a":"x\\","a":1}'],
    ['a repeated key after an escaped quote and backslash run', '{"k":"\\\\\\"","k":2}'],
    ['a negative integer beyond -2^53', '{"amount":-9007199254740993}'],
    ['2^53 itself, the first integer that is not safe', '[9007199254740992]'],
  ])('rejects %s with InvalidPayloadError', (_, text) => {
    // Act
    const run = () => parseJsonStrict(text);

    // Assess
    expect(run).toThrow(InvalidPayloadError);
  });

  it('accepts the same key in sibling objects, keys that look alike, and nesting at the limit', () => {
    // Act
    const siblings = parseJsonStrict('[{"id":1},{"id":2}]');
    const lookalike = parseJsonStrict('{"id":1,"ID":2,"id ":3}');
    const deep = parseJsonStrict(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`);

    // Assess
    expect(siblings).toEqual([{ id: 1 }, { id: 2 }]);
    expect(lookalike).toEqual({ id: 1, ID: 2, 'id ': 3 });
    expect(deep).toBeDefined();
  });

  it.each([
    ['strings ending in backslash runs', '{"a":"x\\\\","b":"\\\\\\"","c":""}'],
    ['the largest safe integer and its negative', '[9007199254740991,-9007199254740991]'],
    ['fractions and exponents within range', '[0.1,-2.5e-300,1.7976931348623157e308,1e-400]'],
    ['a 400-digit fraction', `[0.${'1'.repeat(400)}]`],
  ])('accepts %s, as JSON.parse reads them', (_, text) => {
    // Act
    const value = parseJsonStrict(text);

    // Assess
    expect(value).toEqual(JSON.parse(text));
  });

  it('does not mistake braces, commas or digits inside strings for structure', () => {
    // Act
    const value = parseJsonStrict('{"a":"{\\"a\\":1,","b":"9007199254740993","c":"]]]"}');

    // Assess
    expect(value).toEqual({ a: '{"a":1,', b: '9007199254740993', c: ']]]' });
  });
});

describe('toSqsSafeJson', () => {
  it('escapes U+FFFE and U+FFFF, which SQS refuses, and keeps the JSON value identical', () => {
    // Prepare
    const value = { body: 'a\uFFFEb\uFFFFc 👩‍💻 \u0001' };

    // Act
    const json = toSqsSafeJson(value);

    // Assess
    expect(json).not.toMatch(/[\uFFFE\uFFFF]/);
    expect([...json].some((char) => char.charCodeAt(0) < 0x20)).toBe(false);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('redactSensitive', () => {
  it('redacts secret-, signature- and body-named keys and credential-looking values in a log line', () => {
    // Prepare
    const entry = {
      message: 'signature rejected',
      signingSecret: 'plain',
      headers: { 'stripe-signature': 't=1,v1=ab' },
      body: '{"card":"4242"}',
      note: 'secret is whsec_abc123',
      reason: 'signature_mismatch',
    };

    // Act
    const line = JSON.stringify(entry, redactSensitive);

    // Assess
    expect(JSON.parse(line)).toEqual({
      message: 'signature rejected',
      signingSecret: '[redacted]',
      headers: '[redacted]',
      body: '[redacted]',
      note: '[redacted]',
      reason: 'signature_mismatch',
    });
  });
});
