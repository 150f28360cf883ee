import { createHash } from 'node:crypto';
import type { SchemeOptions } from '../sources.js';
import { decodeDigest, hmac, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { type FormFields, parseForm } from './form.js';
import { signatureHeader } from './headers.js';
import { fieldsOf, type Scheme, type SignedRequest } from './types.js';

type TwilioOptions = Extract<SchemeOptions, { scheme: 'twilio' }>;

/** SHA-1 digests are 20 bytes: 28 characters of padded base64. */
const SHA1_BYTES = 20;

/**
 * Verifies Twilio's `X-Twilio-Signature` header: base64 of an HMAC-SHA1, keyed with the account's auth token
 * (primary or secondary: every active secret is tried), over the URL Twilio called followed by the POST
 * parameters. SHA-1 is what Twilio's scheme uses and has no SHA-256 variant; HMAC-SHA1 is not affected by
 * SHA-1's collision attacks. Twilio signs no timestamp: replays are stopped by deduplication.
 *
 * - The URL is `options.publicUrl`, exactly as configured at Twilio, never rebuilt from the request's `Host`
 *   or `X-Forwarded-*` headers. As twilio-node's `validateRequest` does, it is tried without its port and
 *   with it (the scheme's default, `:443` or `:80`, when it has none).
 * - Form bodies (`application/x-www-form-urlencoded`): the URL, then each parameter name followed by its
 *   value, names in sorted order; a repeated name contributes each distinct value, values in sorted order
 *   (`getExpectedTwilioSignature` in twilio-node's lib/webhooks/webhooks.js). The body is parsed strictly
 *   (`parseForm`).
 * - JSON bodies: Twilio calls the URL with `bodySHA256=<hex SHA-256 of the raw body>` appended to its query
 *   and signs that URL alone. The hash is computed here from the received bytes, so a signature for another
 *   body cannot match; the request's `bodySHA256` query parameter, when the caller passes the query, must
 *   equal it (as in `validateRequestWithBody`), and is otherwise not needed.
 *
 * Source: https://www.twilio.com/docs/usage/webhooks/webhooks-security
 * @throws SignatureVerificationError; `malformed_signature` also when the Content-Type is neither a form nor
 *   JSON, or the form body is not well formed (the signed content cannot be rebuilt)
 */
export function verifyTwilio(request: SignedRequest, options: TwilioOptions): void {
  const header = signatureHeader(request.headers, 'x-twilio-signature');
  if (!header) throw new SignatureVerificationError('missing_signature');
  const signature = decodeDigest(header, 'base64', SHA1_BYTES);
  if (!signature) throw new SignatureVerificationError('malformed_signature');

  const urls = urlVariants(options.publicUrl);
  let signed: string[];
  const format = bodyFormat(signatureHeader(request.headers, 'content-type'));
  if (format === 'json') {
    const bodySha256 = createHash('sha256').update(request.body).digest('hex');
    const claimed = request.query?.bodySHA256;
    if (claimed !== undefined && claimed !== bodySha256) {
      throw new SignatureVerificationError('signature_mismatch');
    }
    signed = urls.map((url) => `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${bodySha256}`);
  } else {
    const fields = format === 'form' ? parseForm(request.body) : undefined;
    if (!fields) throw new SignatureVerificationError('malformed_signature');
    const parameters = signedParameters(fields);
    signed = urls.map((url) => url + parameters);
  }

  const expected = request.secrets.flatMap((secret) => signed.map((data) => hmac('sha1', secret, data)));
  if (!matchesAny(expected, [signature])) throw new SignatureVerificationError('signature_mismatch');
}

/** Twilio's concatenation of form parameters: sorted names, each with its distinct values, sorted. */
function signedParameters(fields: FormFields): string {
  let text = '';
  for (const name of [...fields.keys()].sort()) {
    for (const value of [...new Set(fields.get(name))].sort()) text += name + value;
  }
  return text;
}

function bodyFormat(contentType: string | undefined): 'json' | 'form' | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return 'json';
  return undefined;
}

/** The URL without its port, and with its port or else the scheme's default one (as twilio-node tries them). */
function urlVariants(url: string): string[] {
  const match = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!match) return [url];
  const [, scheme = '', authority = '', rest = ''] = match;
  const userInfoEnd = authority.lastIndexOf('@');
  const userInfo = authority.slice(0, userInfoEnd + 1);
  const hostAndPort = authority.slice(userInfoEnd + 1);
  const portStart = hostAndPort.indexOf(':', hostAndPort.lastIndexOf(']') + 1);
  const host = portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart);
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  const port = portStart === -1 ? defaultPort : hostAndPort.slice(portStart);
  return [scheme + userInfo + host + rest, scheme + userInfo + host + port + rest];
}

/**
 * Where Twilio puts the id and type of a delivery: the `I-Twilio-Idempotency-Token` header (the same on
 * every retry of one webhook), else the resource's SID with its status (`MessageSid`/`SmsSid`/`CallSid`,
 * `:<status>` appended when there is one, since one message or call sends a callback per status); type
 * `message.<MessageStatus|SmsStatus>`, `call.<CallStatus>`, else `twilio.request`.
 *
 * Source: https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides,
 * https://www.twilio.com/docs/messaging/guides/webhook-request, https://www.twilio.com/docs/voice/twiml#request-parameters
 */
export function identifyTwilio(
  headers: Parameters<Scheme<'twilio'>['identify']>[0],
  payload: unknown,
): { eventId: unknown; eventType: unknown } {
  const fields = fieldsOf(payload);
  const text = (name: string) => {
    const value = fields[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const messageStatus = text('MessageStatus') ?? text('SmsStatus');
  const callStatus = messageStatus ? undefined : text('CallStatus');
  const status = messageStatus ?? callStatus;
  const sid = text('MessageSid') ?? text('SmsSid') ?? text('CallSid');
  return {
    eventId: headers.single('i-twilio-idempotency-token') ?? (sid && status ? `${sid}:${status}` : sid),
    eventType: messageStatus
      ? `message.${messageStatus}`
      : callStatus
        ? `call.${callStatus}`
        : 'twilio.request',
  };
}

/** Twilio: form bodies (every voice and messaging webhook), and JSON bodies signed with `bodySHA256`. */
export const twilio: Scheme<'twilio'> = {
  formats: ['form', 'json'],
  verify: verifyTwilio,
  identify: identifyTwilio,
};
