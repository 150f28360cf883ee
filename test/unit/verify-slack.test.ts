import { isValidSlackRequest, verifySlackRequest } from '@slack/bolt';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formPayload, RequestHeaders, SignatureVerificationError } from '../../functions/verify/index.js';
import { identifySlack, slack, verifySlack } from '../../functions/verify/slack.js';
import { mutateByte, NOW_SECONDS, outcome, signedRequest } from './support/signed-request.js';
import { slackSignature } from './support/vendor-signing.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const OTHER_SECRET = '3c1f0e9d8b7a69584736251403f2e1d0';
const EVENT = {
  token: 'XXYYZZ',
  team_id: 'T123ABC456',
  api_app_id: 'A123ABC456',
  event: {
    type: 'app_mention',
    user: 'U123ABC456',
    text: 'Zoë says hi 👋 to <@U0LAN0Z89>',
    ts: '1515449522.000016',
  },
  type: 'event_callback',
  event_id: 'Ev123ABC456',
  event_time: 1515449522,
};
const PAYLOAD = JSON.stringify(EVENT);
const COMMAND =
  'token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&channel_id=C2147483705' +
  '&user_id=U2147483697&command=%2Fweather&text=94070&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678' +
  '&trigger_id=13345224609.738474920.8088930838d88f008e0';

function headers(signature: string | string[], timestamp: string | string[] | number = NOW_SECONDS) {
  return {
    'X-Slack-Signature': signature,
    'X-Slack-Request-Timestamp': typeof timestamp === 'number' ? String(timestamp) : timestamp,
  };
}

const sign = (body: string | Buffer = PAYLOAD, secret = SECRET, timestamp: number | string = NOW_SECONDS) =>
  slackSignature(secret, timestamp, body);

const verify = (
  requestHeaders: Record<string, string | string[]>,
  body: string | Buffer = PAYLOAD,
  secrets = [SECRET],
) => outcome(verifySlack, signedRequest(requestHeaders, body, secrets));

describe('verifySlack', () => {
  it('accepts an Events API JSON body and a slash-command form body signed as Slack documents', () => {
    // Act
    const json = verify(headers(sign(PAYLOAD)), PAYLOAD);
    const form = verify(headers(sign(COMMAND)), COMMAND);

    // Assess
    expect([json, form]).toEqual(['accepted', 'accepted']);
  });

  it('accepts a request signed with either secret during a rotation overlap, and not a retired one', () => {
    // Prepare
    const secrets = [SECRET, OTHER_SECRET];

    // Act
    const current = verify(headers(sign(PAYLOAD, SECRET)), PAYLOAD, secrets);
    const previous = verify(headers(sign(PAYLOAD, OTHER_SECRET)), PAYLOAD, secrets);
    const retired = verify(headers(sign(PAYLOAD, 'retired-secret')), PAYLOAD, secrets);

    // Assess
    expect([current, previous, retired]).toEqual(['accepted', 'accepted', 'signature_mismatch']);
  });

  it('keys HMAC-SHA256 with the signing secret over "v0:<timestamp>:<body>"', () => {
    // Prepare: Slack's documented example values
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const timestamp = 1531420618;

    // Act
    const result = outcome(
      verifySlack,
      signedRequest(
        headers('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503', timestamp),
        body,
        [secret],
        timestamp,
      ),
    );

    // Assess
    expect(result).toBe('accepted');
  });

  it.each([
    ['no signature header', { 'X-Slack-Request-Timestamp': String(NOW_SECONDS) }],
    ['no timestamp header', { 'X-Slack-Signature': sign() }],
    ['an empty signature', headers('')],
    ['an empty timestamp', headers(sign(), '')],
    ['no headers at all', {}],
  ])('rejects %s as missing_signature', (_, requestHeaders) => {
    // Act
    const result = verify(requestHeaders);

    // Assess
    expect(result).toBe('missing_signature');
  });

  it.each([
    ['another secret', headers(sign(PAYLOAD, OTHER_SECRET)), PAYLOAD],
    ['a changed value', headers(sign()), PAYLOAD.replace('Ev123ABC456', 'Ev123ABC457')],
    ['an appended newline', headers(sign()), `${PAYLOAD}\n`],
    ['an appended space', headers(sign()), `${PAYLOAD} `],
    ['the body signed minified but sent pretty-printed', headers(sign()), JSON.stringify(EVENT, null, 2)],
    ['the body Unicode-normalized (NFD) after signing', headers(sign()), PAYLOAD.normalize('NFD')],
    ['the signed timestamp moved by one second', headers(sign(), NOW_SECONDS + 1), PAYLOAD],
  ])('rejects %s as signature_mismatch', (_, requestHeaders, body) => {
    // Act
    const result = verify(requestHeaders, body);

    // Assess
    expect(result).toBe('signature_mismatch');
  });

  it('accepts a pretty-printed body when the signature covers those exact bytes', () => {
    // Prepare
    const pretty = JSON.stringify(EVENT, null, 2);

    // Act
    const result = verify(headers(sign(pretty)), pretty);

    // Assess
    expect(result).toBe('accepted');
  });

  it.each([
    ['301 s in the past', -301, 'stale_timestamp'],
    ['301 s in the future', 301, 'stale_timestamp'],
    ['300 s in the past', -300, 'accepted'],
    ['299 s in the past', -299, 'accepted'],
    ['299 s in the future', 299, 'accepted'],
    ['300 s in the future', 300, 'accepted'],
  ])('answers a timestamp %s with %s', (_, offset, expected) => {
    // Prepare
    const timestamp = NOW_SECONDS + offset;

    // Act
    const result = verify(headers(sign(PAYLOAD, SECRET, timestamp), timestamp));

    // Assess
    expect(result).toBe(expected);
  });

  it.each([
    ['trailing junk', `${NOW_SECONDS}abc`],
    ['a plus sign', `+${NOW_SECONDS}`],
    ['a leading space', ` ${NOW_SECONDS}`],
    ['exponent notation', '1.76e9'],
    ['13 digits (milliseconds)', `${NOW_SECONDS}000`],
    ['a minus sign', `-${NOW_SECONDS}`],
    ['a fraction', `${NOW_SECONDS}.0`],
  ])(
    'rejects a timestamp with %s as malformed_signature, even when it is what was signed',
    (_, timestamp) => {
      // Act
      const result = verify(headers(sign(PAYLOAD, SECRET, timestamp), timestamp));

      // Assess
      expect(result).toBe('malformed_signature');
    },
  );

  const hex = sign().slice('v0='.length);
  it.each([
    ['63 hex characters', `v0=${hex.slice(0, 63)}`],
    ['65 hex characters', `v0=${hex}0`],
    ['uppercase hex', `v0=${hex.toUpperCase()}`],
    ['no version prefix', hex],
    ['an unknown version v1= (no downgrade or upgrade)', `v1=${hex}`],
    ['an uppercase version', `V0=${hex}`],
    ['a sha256= prefix', `sha256=${hex}`],
    ['a space after the prefix', `v0= ${hex}`],
    ['a trailing newline', `v0=${hex}\n`],
    ['hex with spaces', `v0=${hex.slice(0, 32)} ${hex.slice(32)}`],
    ['junk a lenient hex decoder would stop at (abzz)', `v0=${hex.slice(0, 60)}abzz`],
    ['the digest in base64', `v0=${Buffer.from(hex, 'hex').toString('base64')}`],
    ['two signatures in one header', `v0=${hex},v0=${hex}`],
    ['a header over 1 KB', `v0=${hex}${' '.repeat(1100)}`],
  ])('rejects %s as malformed_signature', (_, signature) => {
    // Act
    const result = verify(headers(signature));

    // Assess
    expect(result).toBe('malformed_signature');
  });

  it.each([
    ['X-Slack-Signature', headers([sign(), sign()])],
    ['X-Slack-Request-Timestamp', headers(sign(), [String(NOW_SECONDS), String(NOW_SECONDS)])],
    ['X-Slack-Signature under two spellings', { ...headers(sign()), 'x-slack-signature': sign() }],
  ])('rejects %s sent twice as duplicate_header, even when both copies are valid', (_, requestHeaders) => {
    // Act
    const result = verify(requestHeaders);

    // Assess
    expect(result).toBe('duplicate_header');
  });

  it('finds the headers whatever the case of their names', () => {
    // Act
    const upper = verify({ 'X-SLACK-SIGNATURE': sign(), 'X-SLACK-REQUEST-TIMESTAMP': String(NOW_SECONDS) });
    const lower = verify({ 'x-slack-signature': sign(), 'x-slack-request-timestamp': String(NOW_SECONDS) });

    // Assess
    expect([upper, lower]).toEqual(['accepted', 'accepted']);
  });

  it('rejects any single-byte change of a validly signed body (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (bytes, index, mask) => {
          // Prepare
          const body = Buffer.from(bytes);
          const signed = headers(sign(body));

          // Act
          const result = verify(signed, mutateByte(body, index, mask));

          // Assess
          expect(verify(signed, body)).toBe('accepted');
          expect(result).toBe('signature_mismatch');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws nothing but SignatureVerificationError for arbitrary header values and bodies (property)', () => {
    const hexish = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEFz'),
      minLength: 60,
      maxLength: 68,
    });
    const values = (item: fc.Arbitrary<string>) => fc.array(item, { maxLength: 2 });
    fc.assert(
      fc.property(
        values(
          fc.oneof(
            fc.string({ maxLength: 80 }),
            hexish.map((value) => `v0=${value}`),
          ),
        ),
        values(
          fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 2 * NOW_SECONDS }).map(String)),
        ),
        fc.uint8Array({ maxLength: 64 }),
        (signature, timestamp, body) => {
          // Act
          let thrown: unknown;
          try {
            verifySlack(
              signedRequest(
                { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
                Buffer.from(body),
                [SECRET],
              ),
            );
          } catch (error) {
            thrown = error;
          }

          // Assess
          expect(thrown).toBeInstanceOf(SignatureVerificationError);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('verifySlack cross-checked with @slack/bolt verifySlackRequest', () => {
  const bolt = (body: string, signature: string, timestamp: number, secret = SECRET) =>
    isValidSlackRequest({
      signingSecret: secret,
      body,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
      nowMilliseconds: NOW_SECONDS * 1000,
    });

  it('accepts every request Bolt accepts within the tolerance, and only those (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => JSON.stringify({ ...EVENT, text })),
          fc
            .dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 20 }))
            .map((fields) => new URLSearchParams(fields).toString()),
        ),
        fc.stringMatching(/^[0-9a-f]{32}$/),
        fc.integer({ min: -300, max: 0 }),
        fc.boolean(),
        (body, secret, offset, tamper) => {
          // Prepare
          const timestamp = NOW_SECONDS + offset;
          const signature = slackSignature(secret, timestamp, body);
          const sent = tamper ? `${body} ` : body;

          // Act
          const ours = verify(headers(signature, timestamp), sent, [secret]);
          const theirs = bolt(sent, signature, timestamp, secret);

          // Assess
          expect(theirs).toBe(!tamper);
          expect(ours).toBe(tamper ? 'signature_mismatch' : 'accepted');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('agrees with Bolt on a stale timestamp and another secret', () => {
    // Prepare
    const stale = NOW_SECONDS - 301;

    // Act
    const staleOurs = verify(headers(sign(PAYLOAD, SECRET, stale), stale));
    const staleTheirs = () =>
      verifySlackRequest({
        signingSecret: SECRET,
        body: PAYLOAD,
        headers: { 'x-slack-signature': sign(PAYLOAD, SECRET, stale), 'x-slack-request-timestamp': stale },
        nowMilliseconds: NOW_SECONDS * 1000,
      });
    const otherOurs = verify(headers(sign(PAYLOAD, OTHER_SECRET)));
    const otherTheirs = bolt(PAYLOAD, sign(PAYLOAD, OTHER_SECRET), NOW_SECONDS);

    // Assess
    expect(staleOurs).toBe('stale_timestamp');
    expect(staleTheirs).toThrow(/stale/);
    expect(otherOurs).toBe('signature_mismatch');
    expect(otherTheirs).toBe(false);
  });

  it('rejects a timestamp 301 s in the future, which Bolt (past-only check) accepts', () => {
    // Prepare
    const future = NOW_SECONDS + 301;
    const signature = sign(PAYLOAD, SECRET, future);

    // Act
    const ours = verify(headers(signature, future));
    const theirs = bolt(PAYLOAD, signature, future);

    // Assess
    expect(theirs).toBe(true);
    expect(ours).toBe('stale_timestamp');
  });
});

describe('slack.identify', () => {
  const none = new RequestHeaders({});
  const form = (text: string) => formPayload(Buffer.from(text, 'utf8'));

  it('takes an Events API event id from event_id and its type from event.type', () => {
    // Act
    const identity = slack.identify(none, EVENT, { scheme: 'slack' });

    // Assess
    expect(identity).toEqual({ eventId: 'Ev123ABC456', eventType: 'app_mention' });
  });

  it('falls back to the body type when the body has no event object', () => {
    // Act
    const identity = identifySlack({ type: 'event_callback', event_id: 'Ev1', event: 'not an object' });

    // Assess
    expect(identity).toEqual({ eventId: 'Ev1', eventType: 'event_callback' });
  });

  it('identifies the url_verification handshake by its challenge', () => {
    // Act
    const identity = identifySlack({
      token: 'x',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const withoutChallenge = identifySlack({ type: 'url_verification' });

    // Assess
    expect(identity).toEqual({
      eventId: 'url_verification:3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      eventType: 'url_verification',
    });
    expect(withoutChallenge.eventId).toBeUndefined();
  });

  it('identifies an app_rate_limited notice by team and minute', () => {
    // Act
    const identity = identifySlack({
      token: 'x',
      type: 'app_rate_limited',
      team_id: 'T123456',
      minute_rate_limited: 1518467820,
      api_app_id: 'A123456',
    });

    // Assess
    expect(identity).toEqual({
      eventId: 'app_rate_limited:T123456:1518467820',
      eventType: 'app_rate_limited',
    });
  });

  it('takes a slash command id from trigger_id and its type from the command', () => {
    // Act
    const identity = identifySlack(form(COMMAND));

    // Assess
    expect(identity).toEqual({
      eventId: '13345224609.738474920.8088930838d88f008e0',
      eventType: 'command:/weather',
    });
  });

  it('takes an interaction id and type from the JSON in the payload field', () => {
    // Prepare
    const interaction = { type: 'block_actions', trigger_id: '12466734323.1395872398', user: { id: 'U1' } };

    // Act
    const identity = identifySlack(form(`payload=${encodeURIComponent(JSON.stringify(interaction))}`));

    // Assess
    expect(identity).toEqual({ eventId: '12466734323.1395872398', eventType: 'interactive:block_actions' });
  });

  it('finds no id in a payload field that is not JSON, and no string in a repeated field', () => {
    // Act
    const badPayload = identifySlack(form('payload=%7Bnot-json'));
    const repeated = identifySlack(form('command=%2Fa&trigger_id=1&trigger_id=2'));

    // Assess
    expect(badPayload).toEqual({ eventId: undefined, eventType: undefined });
    expect(repeated.eventId).toEqual(['1', '2']);
  });
});
