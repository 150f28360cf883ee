/**
 * The bad-input table (security-and-reliability reference §6, rows B1–B45) as data: each row builds one
 * request to a source of the local stage and says what the endpoint must answer and whether the event may be
 * stored. The same rows run as fast unit tests against the ingest handler (test/unit/ingest-bad-inputs.test.ts)
 * and through the wire against the local cloud (test/e2e/bad-inputs.test.ts). Rows that need more than one
 * request or a changed secret (B15, B19–B22, B40, B43) are end-to-end tests of their own.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STAGES } from '../../bin/stages.js';
import type { SourceSettings } from '../../lib/config.js';
import { requestUrl, type SignOptions, signWebhook } from '../../local/signing.js';

/** One request to send. Header values with several entries are sent as several header lines. */
export interface BadInputRequest {
  headers: Record<string, string | string[]>;
  body: string | Buffer;
  /** Query string parameters. */
  query?: Record<string, string>;
}

export interface RowContext {
  /** Signing secret of each local source. */
  secrets: Record<string, string>;
  /** Unique per run and row: event ids derive from it, so a stored event can be found. */
  unique: string;
  /** Current time, Unix seconds. */
  now: number;
}

export interface BadInputRow {
  /** Reference row, e.g. `B4`, with a letter per variant. */
  id: string;
  title: string;
  source: string;
  build(context: RowContext): Promise<BadInputRequest>;
  /** The event key of the request, for rows whose event is stored (`source:eventId`). */
  eventKey(context: RowContext): string;
  expected: {
    status: number;
    stored: boolean;
    /** A refusal a gateway in front of the function may answer instead (through the wire only). */
    orGatewayStatus?: number;
  };
}

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const settings = (name: string): SourceSettings => {
  const source = STAGES.local?.sources.find((candidate) => candidate.name === name);
  if (!source) throw new Error(`no local source ${name}`);
  return source;
};

/** A Stripe `checkout.session.completed` whose ids come from `unique`, as compact JSON. */
export function stripeEvent(
  unique: string,
  change: (event: Record<string, unknown>) => void = () => {},
): string {
  const event = JSON.parse(readFileSync(join(fixtures, 'stripe', 'checkout.session.completed.json'), 'utf8'));
  event.id = `evt_${unique}`;
  event.data.object.client_reference_id = `order_${unique}`;
  event.data.object.customer_details.email = `buyer-${unique}@example.com`;
  change(event);
  return JSON.stringify(event);
}

/** Headers of a correctly signed request; `secret` and signing options may be overridden. */
async function signed(
  source: string,
  context: RowContext,
  body: string,
  options: SignOptions & { secret?: string } = {},
): Promise<Record<string, string>> {
  const secret = options.secret ?? context.secrets[source];
  if (!secret) throw new Error(`no secret for ${source}`);
  return signWebhook(settings(source), secret, body, { timestamp: context.now, ...options });
}

/** GitHub-style signing over raw bytes, for bodies that are not valid UTF-8 text. */
function githubHeaders(context: RowContext, body: Buffer): Record<string, string> {
  const secret = context.secrets.github ?? '';
  return {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-delivery': `gh-${context.unique}`,
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

const stripeKey = (context: RowContext) => `stripe:evt_${context.unique}`;
const githubKey = (context: RowContext) => `github:gh-${context.unique}`;

/** A Stripe row: the request is the signed event, changed by `change`. */
function stripeRow(
  id: string,
  title: string,
  expected: BadInputRow['expected'],
  change: (
    request: BadInputRequest,
    context: RowContext,
    body: string,
  ) => Promise<BadInputRequest> | BadInputRequest,
  options: { sign?: SignOptions & { secret?: string }; body?: (unique: string) => string } = {},
): BadInputRow {
  return {
    id,
    title,
    source: 'stripe',
    expected,
    eventKey: stripeKey,
    build: async (context) => {
      const body = options.body ? options.body(context.unique) : stripeEvent(context.unique);
      const headers = await signed('stripe', context, body, options.sign);
      return change({ headers, body }, context, body);
    },
  };
}

/** A GitHub row over raw bytes. */
function githubBytesRow(id: string, title: string, bytes: (unique: string) => Buffer): BadInputRow {
  return {
    id,
    title,
    source: 'github',
    expected: { status: 400, stored: false },
    eventKey: githubKey,
    build: async (context) => {
      const body = bytes(context.unique);
      return { headers: githubHeaders(context, body), body };
    },
  };
}

const withHeaders = (
  request: BadInputRequest,
  headers: Record<string, string | string[]>,
): BadInputRequest => ({
  ...request,
  headers: { ...request.headers, ...headers },
});
const withoutHeader = (request: BadInputRequest, name: string): BadInputRequest => ({
  ...request,
  headers: Object.fromEntries(Object.entries(request.headers).filter(([key]) => key.toLowerCase() !== name)),
});
const stripeSignature = (request: BadInputRequest) => String(request.headers['stripe-signature']);
const v1Of = (request: BadInputRequest) => /v1=([0-9a-f]+)/.exec(stripeSignature(request))?.[1] ?? '';
const tOf = (request: BadInputRequest) => /t=(\d+)/.exec(stripeSignature(request))?.[1] ?? '';

const rejected = { status: 401, stored: false } as const;
const malformed = { status: 400, stored: false } as const;
const stored = { status: 202, stored: true } as const;

export const BAD_INPUT_ROWS: BadInputRow[] = [
  stripeRow('B1', 'no signature header', rejected, (request) => withoutHeader(request, 'stripe-signature')),
  stripeRow('B2a', 'an empty signature header', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': '' }),
  ),
  stripeRow('B2b', 'a whitespace signature header', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': '   ' }),
  ),
  stripeRow('B3', 'signed with another secret', rejected, (request) => request, {
    sign: { secret: 'whsec_0123456789abcdef0123456789abcdef' },
  }),
  stripeRow('B4a', 'one byte of the body changed after signing', rejected, (request, _context, body) => ({
    ...request,
    body: body.replace('4990', '4991'),
  })),
  stripeRow('B4b', 'a newline appended after signing', rejected, (request, _context, body) => ({
    ...request,
    body: `${body}\n`,
  })),
  stripeRow('B4c', 'a trailing space appended after signing', rejected, (request, _context, body) => ({
    ...request,
    body: `${body} `,
  })),
  stripeRow(
    'B5',
    'pretty-printed with reordered keys, signed over those exact bytes',
    stored,
    (request) => request,
    {
      body: (unique) => {
        const event = JSON.parse(stripeEvent(unique));
        const reordered = Object.fromEntries(Object.entries(event).reverse());
        return JSON.stringify(reordered, null, 2);
      },
    },
  ),
  stripeRow('B6', 'signed over minified JSON, sent pretty-printed', rejected, (request, _context, body) => ({
    ...request,
    body: JSON.stringify(JSON.parse(body), null, 2),
  })),
  stripeRow('B7', 'timestamp 301 s in the past', rejected, async (request, context, body) =>
    withHeaders(request, await signed('stripe', context, body, { timestamp: context.now - 301 })),
  ),
  stripeRow('B8', 'timestamp 301 s in the future', rejected, async (request, context, body) =>
    withHeaders(request, await signed('stripe', context, body, { timestamp: context.now + 301 })),
  ),
  stripeRow('B9a', 'timestamp 299 s in the past', stored, async (request, context, body) =>
    withHeaders(request, await signed('stripe', context, body, { timestamp: context.now - 299 })),
  ),
  stripeRow('B9b', 'timestamp 299 s in the future', stored, async (request, context, body) =>
    withHeaders(request, await signed('stripe', context, body, { timestamp: context.now + 299 })),
  ),
  ...['abc', '+', ' ', '.0', 'e0', '000'].map((junk, index) =>
    stripeRow(
      `B10${'abcdef'[index]}`,
      `a non-canonical timestamp (${JSON.stringify(junk)} added)`,
      rejected,
      (request) =>
        withHeaders(request, {
          'stripe-signature': stripeSignature(request).replace(/t=(\d+)/, `t=$1${junk}`),
        }),
    ),
  ),
  stripeRow('B10g', 'a millisecond timestamp', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': stripeSignature(request).replace(/t=(\d+)/, 't=$1000') }),
  ),
  stripeRow('B10h', 'a negative timestamp', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': stripeSignature(request).replace(/t=(\d+)/, 't=-$1') }),
  ),
  stripeRow('B11a', 'a signature one hex character short', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `t=${tOf(request)},v1=${v1Of(request).slice(0, 63)}` }),
  ),
  stripeRow('B11b', 'a signature one hex character long', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `t=${tOf(request)},v1=${v1Of(request)}0` }),
  ),
  stripeRow('B12a', 'non-hex characters in the signature', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `t=${tOf(request)},v1=${v1Of(request).slice(0, 62)}zz` }),
  ),
  stripeRow('B12b', 'upper-case hex', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `t=${tOf(request)},v1=${v1Of(request).toUpperCase()}` }),
  ),
  stripeRow('B12c', 'a space inside the hex', rejected, (request) =>
    withHeaders(request, {
      'stripe-signature': `t=${tOf(request)},v1=${v1Of(request).slice(0, 32)} ${v1Of(request).slice(32)}`,
    }),
  ),
  stripeRow('B13a', 'only a v0 signature (downgrade)', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `t=${tOf(request)},v0=${v1Of(request)}` }),
  ),
  stripeRow('B13b', 'only an unknown v2 signature', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `t=${tOf(request)},v2=${v1Of(request)}` }),
  ),
  {
    id: 'B13c',
    title: 'only a SHA-1 X-Hub-Signature (downgrade)',
    source: 'github',
    expected: rejected,
    eventKey: githubKey,
    build: async (context) => {
      const body = readFileSync(join(fixtures, 'github', 'push.json'), 'utf8');
      const headers = await signed('github', context, body, { eventId: `gh-${context.unique}` });
      const { 'x-hub-signature-256': _, ...rest } = headers;
      const sha1 = createHmac('sha1', context.secrets.github ?? '')
        .update(body)
        .digest('hex');
      return { headers: { ...rest, 'x-hub-signature': `sha1=${sha1}` }, body };
    },
  },
  {
    id: 'B13d',
    title: 'a Standard Webhooks v1a entry when only a symmetric secret is set',
    source: 'crm',
    expected: rejected,
    eventKey: (context) => `crm:msg_${context.unique}`,
    build: async (context) => {
      const body = readFileSync(join(fixtures, 'crm', 'contact.created.json'), 'utf8');
      const headers = await signed('crm', context, body, { eventId: `msg_${context.unique}` });
      const signature = String(headers['webhook-signature']).replace(/^v1,/, 'v1a,');
      return { headers: { ...headers, 'webhook-signature': signature }, body };
    },
  },
  stripeRow('B14a', 'two timestamps in one header', rejected, (request, context) =>
    withHeaders(request, { 'stripe-signature': `t=${context.now - 1000},${stripeSignature(request)}` }),
  ),
  stripeRow('B14b', 'the signature header sent twice', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': [stripeSignature(request), stripeSignature(request)] }),
  ),
  // ~66 KB of header: API Gateway (10 KB of headers) or the emulator's HTTP server refuses it first.
  stripeRow('B16a', '1,000 v1 entries', { ...rejected, orGatewayStatus: 431 }, (request) =>
    withHeaders(request, {
      'stripe-signature': `t=${tOf(request)},${Array.from({ length: 1000 }, () => `v1=${v1Of(request)}`).join(',')}`,
    }),
  ),
  stripeRow('B16b', 'a signature header of 20 KB', rejected, (request) =>
    withHeaders(request, { 'stripe-signature': `${stripeSignature(request)},x=${'a'.repeat(20_000)}` }),
  ),
  stripeRow('B17', 'the signature header name in capitals', stored, (request) => {
    const { 'stripe-signature': signature, ...rest } = request.headers;
    return { ...request, headers: { ...rest, 'STRIPE-SIGNATURE': signature ?? '' } };
  }),
  {
    id: 'B18a',
    title: 'Standard Webhooks: webhook-id changed after signing',
    source: 'crm',
    expected: rejected,
    eventKey: (context) => `crm:msg_${context.unique}x`,
    build: async (context) => {
      const body = readFileSync(join(fixtures, 'crm', 'contact.created.json'), 'utf8');
      const headers = await signed('crm', context, body, { eventId: `msg_${context.unique}` });
      return { headers: { ...headers, 'webhook-id': `msg_${context.unique}x` }, body };
    },
  },
  {
    id: 'B18b',
    title: 'Standard Webhooks: a webhook-id containing a dot',
    source: 'crm',
    expected: rejected,
    eventKey: (context) => `crm:msg.${context.unique}`,
    build: async (context) => {
      const body = readFileSync(join(fixtures, 'crm', 'contact.created.json'), 'utf8');
      return { headers: await signed('crm', context, body, { eventId: `msg.${context.unique}` }), body };
    },
  },
  stripeRow('B23a', 'Content-Type text/plain', { status: 415, stored: false }, (request) =>
    withHeaders(request, { 'content-type': 'text/plain' }),
  ),
  stripeRow('B23b', 'a form Content-Type for a JSON vendor', { status: 415, stored: false }, (request) =>
    withHeaders(request, { 'content-type': 'application/x-www-form-urlencoded' }),
  ),
  stripeRow('B23c', 'no Content-Type', { status: 415, stored: false }, (request) =>
    withoutHeader(request, 'content-type'),
  ),
  stripeRow('B24', 'Content-Type application/JSON; charset=UTF-8', stored, (request) =>
    withHeaders(request, { 'content-type': 'application/JSON; charset=UTF-8' }),
  ),
  ...[
    ['B25a', 'truncated JSON', (body: string) => body.slice(0, -1)],
    ['B25b', 'a trailing comma', (body: string) => body.replace(/}$/, ',}')],
    ['B25c', 'NaN', (body: string) => body.replace('"amount_total":4990', '"amount_total":NaN')],
    ['B25d', 'a comment', (body: string) => `// a comment\n${body}`],
    ['B26a', 'no event id', (body: string) => body.replace(/"id":"evt_[^"]+",/, '')],
    [
      'B26b',
      'no event type',
      (body: string) => body.replace('"type":"checkout.session.completed"', '"kind":"x"'),
    ],
    ['B28a', 'a duplicate id key', (body: string) => body.replace(/^\{/, '{"id":"evt_other",')],
    [
      'B28b',
      'a duplicate amount key',
      (body: string) => body.replace('"amount_total":4990', '"amount_total":1,"amount_total":4990'),
    ],
    [
      'B29',
      'nesting 10,000 deep',
      (body: string) =>
        body.replace(
          '"metadata":{"cart":"c_88213"}',
          `"metadata":${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        ),
    ],
    [
      'B30a',
      'a number out of range (1e309)',
      (body: string) => body.replace('"amount_total":4990', '"amount_total":1e309'),
    ],
    [
      'B30b',
      'an integer beyond 2^53',
      (body: string) => body.replace('"amount_total":4990', '"amount_total":9007199254740993'),
    ],
    [
      'B33a',
      'a raw control character inside a string',
      (body: string) => body.replace('Ada Lovelace', 'Ada\u0001Lovelace'),
    ],
    ['B34', 'an empty body', () => ''],
  ].map(([id, title, rewrite]) =>
    stripeRow(String(id), `valid signature, ${title}`, malformed, async (_request, context) => {
      const body = (rewrite as (body: string) => string)(stripeEvent(context.unique));
      return { headers: await signed('stripe', context, body), body };
    }),
  ),
  stripeRow('B27', 'an unknown event type', stored, async (_request, context) => {
    const body = stripeEvent(context.unique, (event) => {
      event.type = 'invoice.upcoming_preview_from_the_future';
    });
    return { headers: await signed('stripe', context, body), body };
  }),
  stripeRow('B30c', 'numbers -0 and a decimal string amount', stored, async (_request, context) => {
    const body = stripeEvent(context.unique, (event) => {
      (event.data as { object: Record<string, unknown> }).object.metadata = { zero: -0, price: '12.30' };
    }).replace('"zero":0', '"zero":-0');
    return { headers: await signed('stripe', context, body), body };
  }),
  stripeRow(
    'B31',
    'unicode: emoji, RTL override, combining marks, NFD, zero-width joiner',
    stored,
    async (_request, context) => {
      const body = stripeEvent(context.unique, (event) => {
        (event.data as { object: Record<string, unknown> }).object.metadata = {
          note: 'Zoë 👩‍💻 \u202Eevil\u202C e\u0301 Z\u006F\u0308e',
        };
      });
      return { headers: await signed('stripe', context, body), body };
    },
  ),
  stripeRow(
    'B33b',
    'escaped \\u0000 and a lone surrogate escape, and a literal U+FFFE',
    stored,
    async (_request, context) => {
      const body = stripeEvent(context.unique).replace('"cart":"c_88213"', '"cart":"c\\u0000\\ud800\uFFFEx"');
      return { headers: await signed('stripe', context, body), body };
    },
  ),
  githubBytesRow('B32a', 'invalid UTF-8 (0xFF)', (unique) =>
    Buffer.concat([Buffer.from(`{"id":"${unique}","x":"`), Buffer.from([0xff]), Buffer.from('"}')]),
  ),
  githubBytesRow('B32b', 'an overlong UTF-8 encoding', (unique) =>
    Buffer.concat([Buffer.from(`{"id":"${unique}","x":"`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
  ),
  githubBytesRow('B32c', 'a UTF-8 byte-order mark before the JSON', (unique) =>
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"id":"${unique}"}`)]),
  ),
  githubBytesRow('B32d', 'a UTF-16LE body', (unique) => Buffer.from(`{"id":"${unique}"}`, 'utf16le')),
  stripeRow('B35', 'a body of 1 MiB, stored through the claim check', stored, async (_request, context) => {
    const base = stripeEvent(context.unique);
    const padding = 'x'.repeat(1_048_576 - Buffer.byteLength(base) - '"padding":"",'.length);
    const body = base.replace('"livemode":false,', `"livemode":false,"padding":"${padding}",`);
    return { headers: await signed('stripe', context, body), body };
  }),
  stripeRow(
    'B35b',
    'a body 1 byte over the source limit (1 MiB)',
    { status: 413, stored: false },
    async (_request, context) => {
      const base = stripeEvent(context.unique);
      const padding = 'x'.repeat(1_048_577 - Buffer.byteLength(base) - '"padding":"",'.length);
      const body = base.replace('"livemode":false,', `"livemode":false,"padding":"${padding}",`);
      return { headers: await signed('stripe', context, body), body };
    },
  ),
  stripeRow('B38', 'a legitimate 40 KB payload', stored, async (_request, context) => {
    const body = stripeEvent(context.unique, (event) => {
      (event.data as { object: Record<string, unknown> }).object.line_items = Array.from(
        { length: 400 },
        (_, n) => ({
          id: `li_${n}`,
          description: 'Compiler Handbook, hardcover, signed by the author',
          amount: 1299,
        }),
      );
    });
    return { headers: await signed('stripe', context, body), body };
  }),
  stripeRow('B41', 'the signature in the query string instead of a header', rejected, (request) => ({
    ...withoutHeader(request, 'stripe-signature'),
    query: { 'stripe-signature': stripeSignature(request) },
  })),
  {
    id: 'B42a',
    title: 'Twilio: signed over a URL with a spoofed host',
    source: 'twilio',
    expected: rejected,
    eventKey: (context) => `twilio:tw-${context.unique}`,
    build: async (context) => {
      const body = `MessageSid=SM${context.unique}&MessageStatus=delivered&To=%2B15005550006`;
      const spoofed = {
        ...settings('twilio'),
        publicUrl: 'https://evil.example/webhooks/twilio',
      } as SourceSettings;
      const headers = await signWebhook(spoofed, context.secrets.twilio ?? '', body, {
        eventId: `tw-${context.unique}`,
      });
      return {
        headers: { ...headers, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
        body,
      };
    },
  },
  {
    id: 'B42b',
    title: 'Twilio: signed over the configured URL, with spoofed forwarding headers',
    source: 'twilio',
    expected: stored,
    eventKey: (context) => `twilio:tw-${context.unique}`,
    build: async (context) => {
      const body = `MessageSid=SM${context.unique}&MessageStatus=delivered&To=%2B15005550006`;
      const headers = await signed('twilio', context, body, { eventId: `tw-${context.unique}` });
      return {
        headers: { ...headers, 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
        body,
      };
    },
  },
  {
    id: 'B45',
    title: 'mass-assignment fields in the payload',
    source: 'stripe',
    expected: stored,
    eventKey: stripeKey,
    build: async (context) => {
      const body = stripeEvent(context.unique, (event) => {
        const session = (event.data as { object: Record<string, unknown> }).object;
        session.isAdmin = true;
        session.status = 'refunded';
        Object.assign(session, { constructor: { prototype: { polluted: true } } });
      }).replace(/^\{/, '{"__proto__":{"polluted":true},');
      return { headers: await signed('stripe', context, body), body };
    },
  },
  ...(['slack', 'acme'] as const).flatMap((source): BadInputRow[] => {
    const bodyOf = (unique: string) =>
      source === 'slack'
        ? JSON.stringify({
            type: 'event_callback',
            event_id: `Ev${unique}`,
            event: { type: 'app_mention', text: 'hi' },
          })
        : JSON.stringify({ id: `acme-${unique}`, amount: 12 });
    const keyOf = (context: RowContext) =>
      source === 'slack' ? `slack:Ev${context.unique}` : `acme:acme-${context.unique}`;
    return [
      {
        id: `S-${source}-ok`,
        title: `${source}: a correctly signed event`,
        source,
        expected: stored,
        eventKey: keyOf,
        build: async (context) => ({
          headers: await signed(source, context, bodyOf(context.unique)),
          body: bodyOf(context.unique),
        }),
      },
      {
        id: `S-${source}-tampered`,
        title: `${source}: the body changed after signing`,
        source,
        expected: rejected,
        eventKey: keyOf,
        build: async (context) => ({
          headers: await signed(source, context, bodyOf(context.unique)),
          body: `${bodyOf(context.unique)} `,
        }),
      },
      {
        id: `S-${source}-stale`,
        title: `${source}: signed 301 s ago`,
        source,
        expected: rejected,
        eventKey: keyOf,
        build: async (context) => ({
          headers: await signed(source, context, bodyOf(context.unique), { timestamp: context.now - 301 }),
          body: bodyOf(context.unique),
        }),
      },
    ];
  }),
  {
    id: 'S-twilio-json',
    title: 'Twilio: a JSON body signed with bodySHA256 in the URL',
    source: 'twilio',
    expected: stored,
    eventKey: (context) => `twilio:tw-${context.unique}`,
    build: async (context) => {
      const body = JSON.stringify({ MessageSid: `SM${context.unique}`, MessageStatus: 'sent' });
      const headers = await signed('twilio', context, body, {
        eventId: `tw-${context.unique}`,
        format: 'json',
      });
      const url = new URL(requestUrl(settings('twilio'), 'https://x.invalid/', body, { format: 'json' }));
      return { headers, body, query: Object.fromEntries(url.searchParams) };
    },
  },
];
