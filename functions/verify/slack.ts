import { checkTimestamp, decodeDigest, hmacSha256, matchesAny } from './crypto.js';
import { SignatureVerificationError } from './errors.js';
import { signatureHeader } from './headers.js';
import { fieldsOf, type Scheme, type SignedRequest } from './types.js';

const VERSION = 'v0';

/**
 * Verifies Slack's `X-Slack-Signature: v0=<64 lowercase hex>` header: HMAC-SHA256, keyed with the app's
 * signing secret, over `"v0:<X-Slack-Request-Timestamp>:<raw body>"`. Only `v0` exists; any other version
 * is malformed. The timestamp (Unix seconds, 9–10 digits) must be within the tolerance in both directions
 * (Bolt's `verifySlackRequest` checks only the past).
 *
 * Source: https://docs.slack.dev/authentication/verifying-requests-from-slack
 * @throws SignatureVerificationError
 */
export function verifySlack(request: SignedRequest): void {
  const header = signatureHeader(request.headers, 'x-slack-signature');
  const timestamp = signatureHeader(request.headers, 'x-slack-request-timestamp');
  if (!header || !timestamp) throw new SignatureVerificationError('missing_signature');
  const signature = header.startsWith(`${VERSION}=`)
    ? decodeDigest(header.slice(VERSION.length + 1), 'hex', 32)
    : undefined;
  if (!signature) throw new SignatureVerificationError('malformed_signature');
  checkTimestamp(timestamp, request.nowSeconds, request.toleranceSeconds);

  const expected = request.secrets.map((secret) =>
    hmacSha256(secret, `${VERSION}:${timestamp}:`, request.body),
  );
  if (!matchesAny(expected, [signature])) throw new SignatureVerificationError('signature_mismatch');
}

/**
 * Where Slack puts the id and type of a delivery:
 * - Events API (JSON): `event_id`, and `event.type` (else the body's `type`); the `url_verification`
 *   handshake, which has no id, is `url_verification:<challenge>`; `app_rate_limited` notices are
 *   `app_rate_limited:<team_id>:<minute_rate_limited>`.
 * - Slash commands (form): `trigger_id`, type `command:<command>`.
 * - Interactivity (form field `payload`, JSON): its `trigger_id`, type `interactive:<payload type>`.
 *
 * Sources: https://docs.slack.dev/apis/events-api/, https://docs.slack.dev/interactivity/implementing-slash-commands,
 * https://docs.slack.dev/interactivity/handling-user-interaction
 */
export function identifySlack(payload: unknown): { eventId: unknown; eventType: unknown } {
  const fields = fieldsOf(payload);
  if (typeof fields.command === 'string') {
    return { eventId: fields.trigger_id, eventType: `command:${fields.command}` };
  }
  if (typeof fields.payload === 'string') {
    const interaction = fieldsOf(parseJson(fields.payload));
    return {
      eventId: interaction.trigger_id,
      eventType: typeof interaction.type === 'string' ? `interactive:${interaction.type}` : undefined,
    };
  }
  if (fields.type === 'url_verification') {
    return {
      eventId: typeof fields.challenge === 'string' ? `url_verification:${fields.challenge}` : undefined,
      eventType: 'url_verification',
    };
  }
  if (fields.type === 'app_rate_limited') {
    const { team_id: team, minute_rate_limited: minute } = fields;
    return {
      eventId:
        typeof team === 'string' && Number.isSafeInteger(minute)
          ? `app_rate_limited:${team}:${minute}`
          : undefined,
      eventType: 'app_rate_limited',
    };
  }
  const eventType = fieldsOf(fields.event).type;
  return { eventId: fields.event_id, eventType: typeof eventType === 'string' ? eventType : fields.type };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Slack: Events API JSON, and forms for slash commands and interactivity. */
export const slack: Scheme<'slack'> = {
  formats: ['json', 'form'],
  verify: verifySlack,
  identify: (_headers, payload) => identifySlack(payload),
};
