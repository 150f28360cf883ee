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
