import { describe, expect, it } from 'vitest';
import { identifyEvent } from '../../functions/ingest/identify.js';
import { InvalidPayloadError } from '../../functions/shared/errors.js';
import type { SchemeOptions } from '../../functions/sources.js';
import { RequestHeaders } from '../../functions/verify/index.js';

const headers = (values: Record<string, string | string[]> = {}) =>
  new RequestHeaders(
    Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, Array.isArray(value) ? value : [value]]),
    ),
  );

describe('identifyEvent', () => {
  it('takes a Stripe event id and type from the body', () => {
    // Act
    const identity = identifyEvent({ scheme: 'stripe' }, headers({ 'x-github-delivery': 'ignored' }), {
      id: 'evt_1',
      type: 'checkout.session.completed',
    });

    // Assess
    expect(identity).toEqual({ eventId: 'evt_1', eventType: 'checkout.session.completed' });
  });

  it('takes a Shopify event id and topic from X-Shopify-Webhook-Id and X-Shopify-Topic', () => {
    // Act
    const identity = identifyEvent(
      { scheme: 'shopify' },
      headers({
        'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
        'X-Shopify-Topic': 'orders/paid',
      }),
      { id: 5821439672381 },
    );

    // Assess
    expect(identity).toEqual({ eventId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', eventType: 'orders/paid' });
  });

  it('takes a GitHub event id and type from X-GitHub-Delivery and X-GitHub-Event', () => {
    // Act
    const identity = identifyEvent(
      { scheme: 'github' },
      headers({ 'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'X-GitHub-Event': 'push' }),
      { id: 'not-this-one', type: 'nor-this' },
    );

    // Assess
    expect(identity).toEqual({ eventId: '72d3162e-cc78-11e3-81ab-4c9367dc0958', eventType: 'push' });
  });

  it('takes a Standard Webhooks event id from webhook-id and its type from the body', () => {
    // Act
    const identity = identifyEvent({ scheme: 'standard-webhooks' }, headers({ 'webhook-id': 'msg_1' }), {
      id: 'not-this-one',
      type: 'contact.created',
    });

    // Assess
    expect(identity).toEqual({ eventId: 'msg_1', eventType: 'contact.created' });
  });

  it.each([
    [
      'a Stripe body without id',
      'stripe',
      headers(),
      { type: 'checkout.session.completed' },
      'event id missing',
    ],
    ['a Stripe body with an empty id', 'stripe', headers(), { id: '', type: 'x' }, 'event id missing'],
    ['a Stripe body with a numeric id', 'stripe', headers(), { id: 42, type: 'x' }, 'event id missing'],
    [
      'a Stripe id over 256 characters',
      'stripe',
      headers(),
      { id: 'e'.repeat(257), type: 'x' },
      'event id missing',
    ],
    ['a Stripe body without type', 'stripe', headers(), { id: 'evt_1' }, 'event type missing'],
    ['a Stripe body that is an array', 'stripe', headers(), ['evt_1'], 'event id missing'],
    ['a Stripe body that is null', 'stripe', headers(), null, 'event id missing'],
    [
      'a Shopify request without webhook id',
      'shopify',
      headers({ 'x-shopify-topic': 'orders/paid' }),
      {},
      'event id missing',
    ],
    [
      'a Shopify request without topic',
      'shopify',
      headers({ 'x-shopify-webhook-id': 'w1' }),
      {},
      'event type missing',
    ],
    [
      'a GitHub request without delivery id',
      'github',
      headers({ 'x-github-event': 'push' }),
      {},
      'event id missing',
    ],
    [
      'a GitHub request with an empty event',
      'github',
      headers({ 'x-github-delivery': 'd1', 'x-github-event': '' }),
      {},
      'event type missing',
    ],
    [
      'a Standard Webhooks request without webhook-id',
      'standard-webhooks',
      headers(),
      { type: 'contact.created' },
      'event id missing',
    ],
    [
      'a Standard Webhooks body with a non-string type',
      'standard-webhooks',
      headers({ 'webhook-id': 'msg_1' }),
      { type: {} },
      'event type missing',
    ],
  ] as const)('throws InvalidPayloadError for %s', (_, scheme, view, payload, message) => {
    // Act
    const run = () => identifyEvent({ scheme } as SchemeOptions, view, payload);

    // Assess
    expect(run).toThrow(InvalidPayloadError);
    expect(run).toThrow(message);
  });

  it('accepts an id of exactly 256 characters', () => {
    // Act
    const identity = identifyEvent({ scheme: 'stripe' }, headers(), { id: 'e'.repeat(256), type: 't' });

    // Assess
    expect(identity.eventId).toHaveLength(256);
  });

  it.each([
    ['shopify', { 'x-shopify-webhook-id': ['w1', 'w2'], 'x-shopify-topic': 'orders/paid' }],
    ['github', { 'x-github-delivery': 'd1', 'x-github-event': ['push', 'ping'] }],
  ] as const)(
    'throws InvalidPayloadError, as documented, when a %s id or type header is repeated',
    (scheme, values) => {
      // Act
      const run = () =>
        identifyEvent(
          { scheme } as SchemeOptions,
          headers(values as unknown as Record<string, string | string[]>),
          {},
        );

      // Assess
      expect(run).toThrow(InvalidPayloadError);
    },
  );
});
