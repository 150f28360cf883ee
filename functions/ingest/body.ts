/**
 * Strict reading of webhook bodies, after the signature has been verified: JSON that is unambiguous (no
 * duplicate keys, bounded nesting, integers that survive as JavaScript numbers), and the conversion of an
 * envelope to text SQS accepts. (Form bodies are read by functions/verify/form.ts, as their signature covers them.)
 */
import { InvalidPayloadError } from '../shared/errors.js';

/** Deepest accepted nesting of arrays and objects (EventBridge itself stops at 1,100). */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses JSON and rejects what `JSON.parse` would accept silently but ambiguously: a key repeated in one
 * object (`JSON.parse` keeps the last one, a validator may read the first), nesting deeper than
 * `MAX_JSON_DEPTH`, and numbers that cannot be represented exactly (integers beyond 2^53, `1e309`).
 * The nesting is checked by an iterative scan before parsing, so a hostile body cannot exhaust the stack.
 *
 * Source of the rules: security-and-reliability reference, bad inputs B28–B30; RFC 8259 §4 ("names within an
 * object SHOULD be unique").
 * @throws InvalidPayloadError naming the problem, never quoting the body
 */
export function parseJsonStrict(text: string): unknown {
  scanJson(text);
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidPayloadError('body is not valid JSON');
  }
}

type Frame = { kind: 'array' } | { kind: 'object'; keys: Set<string>; expectingKey: boolean };

function scanJson(text: string): void {
  const stack: Frame[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    const top = stack.at(-1);
    if (char === '"') {
      const end = endOfString(text, index);
      if (top?.kind === 'object' && top.expectingKey) {
        const key = decodeString(text.slice(index, end));
        if (top.keys.has(key)) throw new InvalidPayloadError('body repeats a key in one object');
        top.keys.add(key);
        top.expectingKey = false;
      }
      index = end;
      continue;
    }
    if (char === '{' || char === '[') {
      if (stack.length >= MAX_JSON_DEPTH)
        throw new InvalidPayloadError(`body nests deeper than ${MAX_JSON_DEPTH}`);
      stack.push(char === '{' ? { kind: 'object', keys: new Set(), expectingKey: true } : { kind: 'array' });
    } else if (char === '}' || char === ']') {
      stack.pop();
    } else if (char === ',' && top?.kind === 'object') {
      top.expectingKey = true;
    } else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
      const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(index, index + 400))?.[0] ?? char;
      checkNumber(number);
      index += number.length;
      continue;
    }
    index += 1;
  }
}

/** Index just past the string literal starting at `start` (or the end of the text if unterminated). */
function endOfString(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length) {
    const char = text[index];
    if (char === '\\') index += 2;
    else if (char === '"') return index + 1;
    else index += 1;
  }
  return text.length;
}

function decodeString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw new InvalidPayloadError('body is not valid JSON');
  }
}

function checkNumber(literal: string): void {
  const value = Number(literal);
  if (!Number.isFinite(value)) throw new InvalidPayloadError('body has a number out of range');
  if (/^-?\d+$/.test(literal) && !Number.isSafeInteger(value)) {
    throw new InvalidPayloadError('body has an integer beyond 2^53 that would lose precision');
  }
}

/**
 * Characters SQS refuses that `JSON.stringify` leaves as they are (it escapes U+0000–U+001F already)
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 */
const NOT_SQS_SAFE = /[\uFFFE\uFFFF]/g;

/**
 * JSON text of `value` that SQS accepts: U+FFFE and U+FFFF can only occur inside strings, where `\uXXXX`
 * escapes keep the JSON value identical.
 */
export function toSqsSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_SQS_SAFE, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}
