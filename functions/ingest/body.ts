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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** Characters of a number literal read at once; the rest of a longer literal is read as another number. */
const NUMBER_WINDOW = 400;

/**
 * One pass over the text by character codes (the hot path of the ingest function: every body goes through
 * it), jumping from quote to quote inside strings; a key is decoded by `JSON.parse` only when it has an
 * escape or a control character.
 */
function scanJson(text: string): void {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  let index = 0;
  while (index < text.length) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      const end = endOfString(text, index);
      if (top?.kind === 'object' && top.expectingKey) {
        const key = decodeKey(text, index, end);
        if (top.keys.has(key)) throw new InvalidPayloadError('body repeats a key in one object');
        top.keys.add(key);
        top.expectingKey = false;
      }
      index = end;
      continue;
    }
    if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (stack.length >= MAX_JSON_DEPTH)
        throw new InvalidPayloadError(`body nests deeper than ${MAX_JSON_DEPTH}`);
      top = code === OPEN_BRACE ? { kind: 'object', keys: new Set(), expectingKey: true } : { kind: 'array' };
      stack.push(top);
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      stack.pop();
      top = stack.at(-1);
    } else if (code === COMMA && top?.kind === 'object') {
      top.expectingKey = true;
    } else if (code === MINUS || isDigit(code)) {
      index = readNumber(text, index);
      continue;
    }
    index += 1;
  }
}

/** Index just past the string literal starting at `start` (or the end of the text if unterminated). */
function endOfString(text: string, start: number): number {
  let quote = text.indexOf('"', start + 1);
  while (quote !== -1) {
    // A quote ends the string unless an odd run of backslashes precedes it (then the last one escapes it).
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes += 1;
    if (backslashes % 2 === 0) return quote + 1;
    quote = text.indexOf('"', quote + 1);
  }
  return text.length;
}

/** The key whose literal spans `start` to `end`: its text as is, unless it has escapes or control characters. */
function decodeKey(text: string, start: number, end: number): string {
  if (end - start < 2 || text.charCodeAt(end - 1) !== QUOTE) return decodeString(text.slice(start, end));
  for (let index = start + 1; index < end - 1; index += 1) {
    const code = text.charCodeAt(index);
    if (code === BACKSLASH || code < 0x20) return decodeString(text.slice(start, end));
  }
  return text.slice(start + 1, end - 1);
}

function decodeString(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw new InvalidPayloadError('body is not valid JSON');
  }
}

/**
 * Reads the number literal at `start` as `/^-?\d+(\.\d+)?([eE][+-]?\d+)?/` matches it within the next
 * `NUMBER_WINDOW` characters, checks it, and returns the index just past it.
 * @throws InvalidPayloadError when it is out of range or an integer beyond 2^53 (a lone `-` is out of range)
 */
function readNumber(text: string, start: number): number {
  const limit = Math.min(text.length, start + NUMBER_WINDOW);
  let index = text.charCodeAt(start) === MINUS ? start + 1 : start;
  const digits = index;
  index = skipDigits(text, index, limit);
  if (index === digits) throw new InvalidPayloadError('body has a number out of range');
  let integer = true;
  if (index + 1 < limit && text.charCodeAt(index) === DOT && isDigit(text.charCodeAt(index + 1))) {
    index = skipDigits(text, index + 2, limit);
    integer = false;
  }
  let exponent = false;
  const marker = text.charCodeAt(index);
  if (index < limit && (marker === LOWER_E || marker === UPPER_E)) {
    let next = index + 1;
    const sign = text.charCodeAt(next);
    if (next < limit && (sign === PLUS || sign === MINUS)) next += 1;
    if (next < limit && isDigit(text.charCodeAt(next))) {
      index = skipDigits(text, next + 1, limit);
      exponent = true;
    }
  }
  // Without an exponent, up to 15 characters of integer stay below 2^53 and up to 300 of decimal fraction
  // stay finite: only other literals need converting.
  if (exponent || index - start > (integer ? 15 : 300)) checkNumber(text.slice(start, index));
  return index;
}

function skipDigits(text: string, start: number, limit: number): number {
  let index = start;
  while (index < limit && isDigit(text.charCodeAt(index))) index += 1;
  return index;
}

function isDigit(code: number): boolean {
  return code >= DIGIT_0 && code <= DIGIT_9;
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
