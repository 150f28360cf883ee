/**
 * Property-based run of every signature scheme through `verifySignature` (the real verifiers, no mocks):
 * generated valid requests must all be accepted, and generated tampered or malformed requests must all be
 * rejected with SignatureVerificationError and nothing else. Goal G1 asks for ≥ 10⁵ fuzzed bad cases per run.
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import type { HmacOptions, SchemeOptions } from '../../functions/sources.js';
import { verifySignature } from '../../functions/verify/index.js';
import {
  mutateByte,
  NOW_SECONDS,
  outcome,
  signedRequest,
  TOLERANCE_SECONDS,
} from './support/signed-request.js';
import { formParams, twilioJsonUrl } from './support/vendor-signing.js';

/** Runs per scheme configuration; each run checks several valid and about a dozen bad requests. */
const RUNS = 1000;
/** Ed25519 verification costs ~0.1 ms (HMAC ~2 µs): fewer runs for v1a keep the whole file under ~15 s. */
const ASYMMETRIC_RUNS = 300;
const MIN_BAD_CASES = 100_000;

type Headers = Record<string, string | string[]>;

/** What signs (a secret, or an Ed25519 private key) and what the hub is configured with. */
interface Credential {
  signing: string | KeyObject;
  verifying: string;
}

interface Harness {
  readonly label: string;
  readonly options: SchemeOptions;
  /** fast-check runs. @default RUNS */
  readonly runs?: number;
  /** A credential in the vendor's format, from random seed bytes. */
  credential(seed: Uint8Array): Credential;
  readonly body: fc.Arbitrary<Buffer>;
  /** Whether the scheme signs a timestamp (then it is sent in a header). */
  readonly timestamped: boolean;
  /** The header whose value is the signature (or the list of signatures). */
  readonly signatureHeader: string;
  /**
   * Headers signed by each signer at `timestamp` (text, so non-canonical spellings can be signed too); only
   * the first signer for schemes that send one signature.
   */
  sign(body: Buffer, signers: readonly Credential[], timestamp: string, id: string): Headers;
  /** For schemes that send a list of signatures: a well-formed entry signed by nobody we know. */
  junkEntry?(random: Buffer): string;
  /** Headers signed with the vendor's own library, when it publishes a signer. */
  vendorSign?(body: Buffer, signer: Credential, timestamp: number, id: string): Headers | undefined;
  /** True when `mutated` is the same signed content as `body` for the vendor (Twilio signs form fields). */
  sameContent?(body: Buffer, mutated: Buffer, signer: Credential): boolean;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const text = (credential: Credential) => credential.signing as string;
const symmetric = (format: (seed: Uint8Array) => string) => (seed: Uint8Array) => {
  const secret = format(seed);
  return { signing: secret, verifying: secret };
};
const mac = (algorithm: string, key: string | Buffer, ...parts: (string | Buffer)[]) => {
  const hmac = createHmac(algorithm, key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
};
/** Valid UTF-8 bodies only can be handed to libraries that take strings. */
const utf8 = (body: Buffer) =>
  Buffer.from(body.toString('utf8'), 'utf8').equals(body) ? body.toString('utf8') : undefined;

const jsonBody = fc.oneof(
  fc.json({ stringUnit: 'grapheme', maxDepth: 3 }),
  fc.json({ maxDepth: 2 }).map((json) => JSON.stringify(JSON.parse(json), null, 2)),
  fc.string({ unit: 'grapheme', maxLength: 120 }),
);
const anyBody = fc.oneof(
  { weight: 3, arbitrary: jsonBody.map((json) => Buffer.from(json, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);
const formBody = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('Body', 'From', 'To', 'MessageSid', 'MediaUrl0', 'CallStatus'),
        fc.string({ maxLength: 8 }),
      ),
      fc.string({ unit: 'grapheme', maxLength: 24 }),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => Buffer.from(new URLSearchParams(pairs).toString(), 'utf8'));

/**
 * Ed25519 key pairs made at load (new ones every run): deriving a key pair costs ~0.4 ms, so the seed picks
 * one of these instead of being the private key itself.
 */
const KEY_PAIRS: Credential[] = Array.from({ length: 64 }, () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { signing: privateKey, verifying: `whpk_${raw.toString('base64')}` };
});
const ed25519 = (seed: Uint8Array): Credential => KEY_PAIRS[(seed[0] ?? 0) % KEY_PAIRS.length] as Credential;

const standardHeaders = (id: string, timestamp: string, entries: string[]): Headers => ({
  'webhook-id': id,
  'webhook-timestamp': timestamp,
  'webhook-signature': entries.join(' '),
});
const standardContent = (id: string, timestamp: string, body: Buffer) =>
  Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);

const TWILIO: Extract<SchemeOptions, { scheme: 'twilio' }> = {
  scheme: 'twilio',
  publicUrl: 'https://hooks.example.com/webhooks/twilio?tenant=acme',
};
const twilioFormSignature = (token: string, body: Buffer) =>
  twilio.getExpectedTwilioSignature(token, TWILIO.publicUrl, formParams(body.toString('utf8')));
const twilioJsonSignature = (token: string, body: Buffer) =>
  mac('sha1', token, twilioJsonUrl(TWILIO.publicUrl, body)).toString('base64');

function hmacHarness(label: string, options: HmacOptions): Harness {
  const template = options.message ?? (options.timestampHeader ? '{timestamp}.{body}' : '{body}');
  return {
    label,
    options,
    credential: symmetric((seed) => b64(seed)),
    body: anyBody,
    timestamped: options.timestampHeader !== undefined,
    signatureHeader: options.signatureHeader,
    sign: (body, [signer], timestamp) => {
      const parts = template
        .split(/(\{timestamp\}|\{body\})/)
        .map((part) => (part === '{body}' ? body : part === '{timestamp}' ? timestamp : part));
      const digest = mac(options.algorithm, text(signer as Credential), ...parts).toString(options.encoding);
      return {
        [options.signatureHeader]: `${options.prefix ?? ''}${digest}`,
        ...(options.timestampHeader ? { [options.timestampHeader]: timestamp } : {}),
      };
    },
  };
}

const HARNESSES: Harness[] = [
  {
    label: 'stripe',
    options: { scheme: 'stripe' },
    credential: symmetric((seed) => `whsec_${hex(seed)}`),
    body: anyBody,
    timestamped: true,
    signatureHeader: 'Stripe-Signature',
    sign: (body, signers, timestamp) => ({
      'Stripe-Signature': [
        `t=${timestamp}`,
        ...signers.map(
          (signer) => `v1=${mac('sha256', text(signer), `${timestamp}.`, body).toString('hex')}`,
        ),
      ].join(','),
    }),
    junkEntry: (random) =>
      [
        `v1=${random.toString('hex')}`,
        `v0=${random.toString('hex')}`,
        `x${random[0]}=${random.toString('base64')}`,
      ][(random[1] ?? 0) % 3] ?? '',
    vendorSign: (body, signer, timestamp) => {
      const payload = utf8(body);
      return payload === undefined
        ? undefined
        : {
            'Stripe-Signature': Stripe.webhooks.generateTestHeaderString({
              payload,
              secret: text(signer),
              timestamp,
            }),
          };
    },
  },
  {
    label: 'shopify',
    options: { scheme: 'shopify' },
    credential: symmetric(hex),
    body: anyBody,
    timestamped: false,
    signatureHeader: 'X-Shopify-Hmac-Sha256',
    sign: (body, [signer]) => ({
      'X-Shopify-Hmac-Sha256': mac('sha256', text(signer as Credential), body).toString('base64'),
    }),
  },
  {
    label: 'github',
    options: { scheme: 'github' },
    credential: symmetric((seed) => b64(seed).replace(/=+$/, '')),
    body: anyBody,
    timestamped: false,
    signatureHeader: 'X-Hub-Signature-256',
    sign: (body, [signer]) => ({
      'X-Hub-Signature-256': `sha256=${mac('sha256', text(signer as Credential), body).toString('hex')}`,
    }),
  },
  {
    label: 'standard-webhooks v1',
    options: { scheme: 'standard-webhooks' },
    credential: symmetric((seed) => `whsec_${b64(seed)}`),
    body: anyBody,
    timestamped: true,
    signatureHeader: 'webhook-signature',
    sign: (body, signers, timestamp, id) =>
      standardHeaders(
        id,
        timestamp,
        signers.map((signer) => {
          const key = Buffer.from(text(signer).slice('whsec_'.length), 'base64');
          return `v1,${mac('sha256', key, standardContent(id, timestamp, body)).toString('base64')}`;
        }),
      ),
    junkEntry: (random) =>
      [
        `v1,${random.toString('base64')}`,
        `v1a,${Buffer.concat([random, random]).toString('base64')}`,
        `v2,${random.toString('hex')}`,
      ][(random[1] ?? 0) % 3] ?? '',
    vendorSign: (body, signer, timestamp, id) => {
      const payload = utf8(body);
      return payload === undefined
        ? undefined
        : standardHeaders(id, String(timestamp), [
            new Webhook(text(signer)).sign(id, new Date(timestamp * 1000), payload),
          ]);
    },
  },
  {
    label: 'standard-webhooks v1a',
    options: { scheme: 'standard-webhooks' },
    runs: ASYMMETRIC_RUNS,
    credential: ed25519,
    body: anyBody,
    timestamped: true,
    signatureHeader: 'webhook-signature',
    sign: (body, signers, timestamp, id) =>
      standardHeaders(
        id,
        timestamp,
        signers.map(
          (signer) =>
            `v1a,${sign(null, standardContent(id, timestamp, body), signer.signing as KeyObject).toString('base64')}`,
        ),
      ),
    junkEntry: (random) =>
      [
        `v1a,${Buffer.concat([random, random]).toString('base64')}`,
        `v1,${random.toString('base64')}`,
        `v9,${random.toString('hex')}`,
      ][(random[1] ?? 0) % 3] ?? '',
  },
  {
    label: 'slack',
    options: { scheme: 'slack' },
    credential: symmetric((seed) => hex(seed).slice(0, 32)),
    body: fc.oneof(anyBody, formBody),
    timestamped: true,
    signatureHeader: 'X-Slack-Signature',
    sign: (body, [signer], timestamp) => ({
      'X-Slack-Request-Timestamp': timestamp,
      'X-Slack-Signature': `v0=${mac('sha256', text(signer as Credential), `v0:${timestamp}:`, body).toString('hex')}`,
    }),
  },
  {
    label: 'twilio form',
    options: TWILIO,
    credential: symmetric((seed) => hex(seed).slice(0, 32)),
    body: formBody,
    timestamped: false,
    signatureHeader: 'X-Twilio-Signature',
    sign: (body, [signer]) => ({
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Twilio-Signature': twilioFormSignature(text(signer as Credential), body),
    }),
    sameContent: (body, mutated, signer) =>
      twilioFormSignature(text(signer), body) === twilioFormSignature(text(signer), mutated),
  },
  {
    label: 'twilio JSON',
    options: TWILIO,
    credential: symmetric((seed) => hex(seed).slice(0, 32)),
    body: anyBody,
    timestamped: false,
    signatureHeader: 'X-Twilio-Signature',
    sign: (body, [signer]) => ({
      'Content-Type': 'application/json; charset=utf-8',
      'X-Twilio-Signature': twilioJsonSignature(text(signer as Credential), body),
    }),
    vendorSign: (body, signer) => ({
      'Content-Type': 'application/json',
      'X-Twilio-Signature': twilio.getExpectedTwilioSignature(
        text(signer),
        twilioJsonUrl(TWILIO.publicUrl, body),
        {},
      ),
    }),
  },
  hmacHarness('hmac sha256 hex prefixed', {
    scheme: 'hmac',
    signatureHeader: 'X-Acme-Signature',
    algorithm: 'sha256',
    encoding: 'hex',
    prefix: 'sha256=',
    eventId: { header: 'X-Acme-Delivery' },
    eventType: { header: 'X-Acme-Event' },
  }),
  hmacHarness('hmac sha512 base64 templated', {
    scheme: 'hmac',
    signatureHeader: 'X-Signature',
    algorithm: 'sha512',
    encoding: 'base64',
    timestampHeader: 'X-Signature-Timestamp',
    message: 'v1:{timestamp}:{body}',
    eventId: { field: 'data.id' },
    eventType: { value: 'acme.event' },
  }),
  hmacHarness('hmac sha256 base64 timestamped', {
    scheme: 'hmac',
    signatureHeader: 'Acme-Signature',
    algorithm: 'sha256',
    encoding: 'base64',
    timestampHeader: 'Acme-Timestamp',
    eventId: { field: 'id' },
    eventType: { field: 'type' },
  }),
];

/** One generated scenario: the request parts every valid and bad variant is built from. */
const scenario = fc.record({
  current: fc.uint8Array({ minLength: 24, maxLength: 48 }),
  previous: fc.uint8Array({ minLength: 24, maxLength: 48 }),
  wrong: fc.uint8Array({ minLength: 24, maxLength: 48 }),
  offset: fc.integer({ min: -TOLERANCE_SECONDS, max: TOLERANCE_SECONDS }),
  staleBy: fc.integer({ min: TOLERANCE_SECONDS + 1, max: 10 * 365 * 86_400 }),
  id: fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'),
    minLength: 1,
    maxLength: 30,
  }),
  index: fc.nat(),
  mask: fc.integer({ min: 1, max: 255 }),
  cut: fc.integer({ min: 1, max: 12 }),
  extra: fc.string({
    unit: fc.constantFrom(...'0123456789abcdefABCDEF+/=-_ ,.;tvxz'),
    minLength: 1,
    maxLength: 12,
  }),
  junk: fc.string({ maxLength: 120 }),
  decoys: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 5, maxLength: 5 }),
  decoyCount: fc.integer({ min: 0, max: 4 }),
  upperCase: fc.boolean(),
  noise: fc.dictionary(
    fc.stringMatching(/^[a-z]{1,8}$/).map((name) => `x-noise-${name}`),
    fc.string({ maxLength: 40 }),
    {
      maxKeys: 3,
    },
  ),
});

interface Tally {
  valid: number;
  rejected: number;
  bad: number;
  accepted: number;
  equivalent: number;
}

/** A credential made from `seed`, changed until the source is not configured with it. */
function otherCredential(harness: Harness, seed: Uint8Array, configured: readonly string[]): Credential {
  const bytes = Uint8Array.from(seed);
  let credential = harness.credential(bytes);
  while (configured.includes(credential.verifying)) {
    bytes[0] = ((bytes[0] ?? 0) + 1) % 256;
    credential = harness.credential(bytes);
  }
  return credential;
}

function runHarness(harness: Harness): Tally {
  const tally: Tally = { valid: 0, rejected: 0, bad: 0, accepted: 0, equivalent: 0 };
  const check = (request: { headers: Headers; body: Buffer; secrets: string[] }) =>
    outcome(
      (signed) => verifySignature(harness.options, signed),
      signedRequest(request.headers, request.body, request.secrets),
    );

  fc.assert(
    fc.property(harness.body, scenario, (body, generated) => {
      const current = harness.credential(generated.current);
      const previous = harness.credential(generated.previous);
      const secrets = [current.verifying, previous.verifying];
      const wrong = otherCredential(harness, generated.wrong, secrets);
      const timestamp = String(NOW_SECONDS + (harness.timestamped ? generated.offset : 0));
      const id = `msg_${generated.id}`;
      const signed = harness.sign(body, [current], timestamp, id);
      const header = harness.signatureHeader;
      const signature = signed[header] as string;

      const valid = (what: string, headers: Headers, configured = secrets) => {
        const result = check({ headers: { ...generated.noise, ...headers }, body, secrets: configured });
        tally.valid += 1;
        if (result !== 'accepted') {
          tally.rejected += 1;
          throw new Error(`${harness.label}: valid request (${what}) rejected as ${result}`);
        }
      };
      const bad = (what: string, headers: Headers, sent = body) => {
        const result = check({ headers, body: sent, secrets });
        tally.bad += 1;
        if (result === 'accepted') {
          tally.accepted += 1;
          throw new Error(`${harness.label}: bad request (${what}) accepted`);
        }
      };

      // Valid: current secret alone, previous secret during the overlap, case variants of header names.
      valid('current secret only', signed, [current.verifying]);
      valid('previous secret during a rotation', harness.sign(body, [previous], timestamp, id));
      const renamed = Object.fromEntries(
        Object.entries(signed).map(([name, value]) => [
          generated.upperCase ? name.toUpperCase() : name.toLowerCase(),
          value,
        ]),
      );
      valid('header names in another case', renamed);
      if (harness.junkEntry) {
        const decoys = generated.decoys
          .slice(0, generated.decoyCount)
          .map((seed) => harness.junkEntry?.(Buffer.from(seed)) ?? '');
        const withDecoys = harness.sign(body, [previous], timestamp, id);
        const entries = (withDecoys[header] as string).split(header === 'Stripe-Signature' ? ',' : ' ');
        const position = generated.index % (decoys.length + 1);
        entries.splice(entries.length - 1, 0, ...decoys.slice(0, position));
        entries.push(...decoys.slice(position));
        valid('one valid entry among junk entries', {
          ...withDecoys,
          [header]: entries.join(header === 'Stripe-Signature' ? ',' : ' '),
        });
      }
      const vendor = harness.vendorSign?.(body, current, Number(timestamp), id);
      if (vendor) valid("signed by the vendor's library", { ...signed, ...vendor });

      // Bad: the body changed.
      const mutated =
        body.length > 0 ? mutateByte(body, generated.index, generated.mask) : Buffer.from([generated.mask]);
      for (const [what, sent] of [
        ['one byte changed', mutated],
        ['a newline appended', Buffer.concat([body, Buffer.from('\n')])],
        ['bytes appended', Buffer.concat([body, Buffer.from(generated.extra)])],
      ] as const) {
        if (harness.sameContent?.(body, sent, current)) tally.equivalent += 1;
        else bad(what, signed, sent);
      }

      // Bad: the signature changed, cut short, extended, replaced, repeated, removed.
      const at = generated.index % signature.length;
      const replacement =
        generated.extra.charAt(0) === signature.charAt(at) ? '~' : generated.extra.charAt(0);
      bad('a signature character changed', {
        ...signed,
        [header]: `${signature.slice(0, at)}${replacement}${signature.slice(at + 1)}`,
      });
      bad('the signature cut short', {
        ...signed,
        [header]: signature.slice(0, Math.max(0, signature.length - generated.cut)),
      });
      // Appended to the last entry: a separate entry of an unknown scheme would rightly be ignored.
      const suffix = harness.junkEntry ? generated.extra.replace(/[ ,]/g, '') || 'a' : generated.extra;
      bad('the signature extended', { ...signed, [header]: `${signature}${suffix}` });
      bad('the signature replaced by junk', { ...signed, [header]: generated.junk });
      bad('the signature header sent twice', { ...signed, [header]: [signature, signature] });
      bad('the signature header sent under two spellings', {
        ...signed,
        [header.toUpperCase()]: signature,
        [header.toLowerCase()]: signature,
      });
      const { [header]: _removed, ...unsigned } = signed;
      bad('no signature header', unsigned);
      bad('a signature header over 1 KB', {
        ...signed,
        [header]: `${signature}${' '.repeat(1025 - signature.length)}`,
      });

      // Bad: signed with a secret the source does not have.
      bad('another secret', harness.sign(body, [wrong], timestamp, id));

      if (harness.timestamped) {
        const direction = generated.mask % 2 === 0 ? -1 : 1;
        const stale = String(NOW_SECONDS + direction * generated.staleBy);
        if (/^\d{9,10}$/.test(stale))
          bad('a stale timestamp, signed', harness.sign(body, [current], stale, id));
        const variants = [
          `${timestamp}a`,
          `+${timestamp}`,
          ` ${timestamp}`,
          `${timestamp}000`,
          `${timestamp}.0`,
          `0${timestamp}`,
        ];
        const nonCanonical = variants[generated.index % variants.length] ?? '';
        bad('a non-canonical timestamp, signed', harness.sign(body, [current], nonCanonical, id));
        // The signature made for the original timestamp, sent with a moved one (Stripe has it inside its header).
        const moved = String(Number(timestamp) + direction);
        bad('the timestamp moved', {
          ...harness.sign(body, [current], moved, id),
          [header]: signature.replace(`t=${timestamp},`, `t=${moved},`),
        });
      }
      if (harness.junkEntry) {
        const decoys = generated.decoys.map((seed) => harness.junkEntry?.(Buffer.from(seed)) ?? '');
        const all = harness.sign(body, [current, wrong, wrong, wrong, wrong, wrong], timestamp, id);
        bad('six signatures, one valid', all);
        bad('only junk entries', {
          ...signed,
          [header]: decoys.join(header === 'Stripe-Signature' ? ',' : ' '),
        });
      }
      if (harness.options.scheme === 'standard-webhooks') {
        bad('another message id', { ...signed, 'webhook-id': `${id}x` });
        bad('a message id with a dot, signed', harness.sign(body, [current], timestamp, `${id}.1`));
      }
      if (harness.options.scheme === 'twilio') {
        const swapped =
          signed['Content-Type'] === 'application/x-www-form-urlencoded'
            ? 'application/json'
            : 'application/x-www-form-urlencoded';
        bad('the other content type', { ...signed, 'Content-Type': swapped });
      }
      return true;
    }),
    { numRuns: harness.runs ?? RUNS },
  );
  return tally;
}

describe('signature verification of every scheme (property)', () => {
  const tallies = new Map<string, Tally>();

  it.each(HARNESSES.map((harness) => [harness.label, harness] as const))(
    'accepts every valid and rejects every tampered or malformed %s request',
    (_, harness) => {
      // Act
      const started = performance.now();
      const tally = runHarness(harness);
      const seconds = (performance.now() - started) / 1000;
      tallies.set(harness.label, tally);
      console.log(
        `[verify-properties] ${harness.label}: ${tally.valid} valid (${tally.rejected} rejected), ` +
          `${tally.bad} bad (${tally.accepted} accepted), ${tally.equivalent} equivalent form re-encodings skipped, ${seconds.toFixed(1)} s`,
      );

      // Assess
      expect(tally.rejected).toBe(0);
      expect(tally.accepted).toBe(0);
      expect(tally.valid).toBeGreaterThanOrEqual(3 * (harness.runs ?? RUNS));
      expect(tally.bad).toBeGreaterThanOrEqual(10 * (harness.runs ?? RUNS));
    },
    60_000,
  );

  it(`checks at least ${MIN_BAD_CASES} bad cases in total across every scheme, none accepted, and no valid one rejected`, () => {
    // Act
    const all = [...tallies.values()];
    const total = (key: keyof Tally) => all.reduce((sum, tally) => sum + tally[key], 0);
    console.log(
      `[verify-properties] total: ${total('valid')} valid (${total('rejected')} rejected), ${total('bad')} bad (${total('accepted')} accepted) over ${all.length} scheme configurations`,
    );

    // Assess
    expect(all).toHaveLength(HARNESSES.length);
    expect(total('bad')).toBeGreaterThanOrEqual(MIN_BAD_CASES);
    expect(total('accepted')).toBe(0);
    expect(total('rejected')).toBe(0);
  });
});
