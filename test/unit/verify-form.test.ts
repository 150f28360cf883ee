import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formPayload, parseForm } from '../../functions/verify/index.js';

const parse = (text: string | Buffer) => {
  const fields = parseForm(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'));
  return fields && Object.fromEntries(fields);
};

describe('parseForm', () => {
  it('decodes names and values: + as a space, %XX escapes of UTF-8', () => {
    // Act
    const fields = parse('Body=Hello+Z%C3%BCrich+%F0%9F%91%8B&To=%2B15017122661&a%26b=c%3Dd');

    // Assess
    expect(fields).toEqual({ Body: ['Hello Zürich 👋'], To: ['+15017122661'], 'a&b': ['c=d'] });
  });

  it('keeps every value of a repeated name in order, gives a bare name an empty value and skips empty pairs', () => {
    // Act
    const fields = parse('m=2&&m=1&flag&m=2&empty=');

    // Assess
    expect(fields).toEqual({ m: ['2', '1', '2'], flag: [''], empty: [''] });
  });

  it('reads names such as __proto__ as plain fields', () => {
    // Act
    const fields = parseForm(Buffer.from('__proto__=x&constructor=y'));

    // Assess
    expect(fields?.get('__proto__')).toEqual(['x']);
    expect(fields?.get('constructor')).toEqual(['y']);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['a lone %', 'a=100%'],
    ['a % without two hex digits', 'a=%4'],
    ['a non-hex escape', 'a=%zz'],
    ['an escape of invalid UTF-8', 'a=%FF'],
    ['an escaped lone surrogate', 'a=%ED%A0%80'],
    ['raw invalid UTF-8', Buffer.from([0x61, 0x3d, 0xc3])],
  ])('answers undefined for %s, which URLSearchParams would accept', (_, body) => {
    // Act
    const fields = parse(body);

    // Assess
    expect(new URLSearchParams(Buffer.isBuffer(body) ? body.toString('utf8') : body).has('a')).toBe(true);
    expect(fields).toBeUndefined();
  });

  it('reads what URLSearchParams writes, as URLSearchParams reads it (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.string({ unit: 'grapheme', maxLength: 10 }),
            fc.string({ unit: 'grapheme', maxLength: 20 }),
          ),
          {
            maxLength: 8,
          },
        ),
        (pairs) => {
          // Prepare
          const body = new URLSearchParams(pairs).toString();
          const expected = new Map<string, string[]>();
          for (const [name, value] of new URLSearchParams(body))
            expected.set(name, [...(expected.get(name) ?? []), value]);

          // Act
          const fields = parseForm(Buffer.from(body));

          // Assess
          expect(fields).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('formPayload', () => {
  it('gives one value as a string and a repeated name as an array, in an object without prototype', () => {
    // Act
    const payload = formPayload(Buffer.from('MessageSid=SM1&MediaUrl=a&MediaUrl=b&__proto__=p'));

    // Assess
    expect(payload).toEqual(
      Object.assign(Object.create(null), { MessageSid: 'SM1', MediaUrl: ['a', 'b'], ['__proto__']: 'p' }),
    );
    expect(Object.getPrototypeOf(payload)).toBeNull();
  });

  it('answers undefined for a body that is not a well-formed form', () => {
    // Act
    const payload = formPayload(Buffer.from('a=%zz'));

    // Assess
    expect(payload).toBeUndefined();
  });
});
