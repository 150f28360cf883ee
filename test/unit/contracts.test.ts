import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  type CanonicalEvent,
  eventKeyOf,
  InboxEnvelope,
  validateCanonicalEvent,
} from '../../functions/contracts.js';

const orderPaid = {
  eventKey: 'stripe:evt_1',
  orderId: 'order_1042',
  currency: 'eur',
  amountTotal: 4990,
  customer: { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
  paidAt: '2025-11-21T12:00:00.000Z',
};
const contact = {
  eventKey: 'crm:msg_1',
  contactId: 'ct_1',
  email: 'katherine.johnson@example.com',
  updatedAt: '2026-11-21T09:30:00.000Z',
};

describe('eventKeyOf', () => {
  it('joins source and event id with a colon', () => {
    // Act
    const key = eventKeyOf({ source: 'stripe', eventId: 'evt_1' });

    // Assess
    expect(key).toBe('stripe:evt_1');
  });
});

describe('InboxEnvelope', () => {
  it('accepts the envelope the ingest function sends and rejects one without an ISO receivedAt', () => {
    // Prepare
    const envelope = {
      source: 'stripe',
      eventId: 'evt_1',
      eventType: 't',
      receivedAt: '2025-11-21T12:00:00.000Z',
      bodySha256: 'a'.repeat(64),
      body: '{}',
    };

    // Act
    const good = InboxEnvelope.safeParse(envelope);
    const bad = InboxEnvelope.safeParse({ ...envelope, receivedAt: 'yesterday' });

    // Assess
    expect([good.success, bad.success]).toEqual([true, false]);
  });
});

describe('validateCanonicalEvent', () => {
  it.each([
    ['order.paid', { source: 'stripe', detailType: 'order.paid', detail: orderPaid }],
    ['contact.created', { source: 'crm', detailType: 'contact.created', detail: contact }],
    ['contact.updated', { source: 'crm', detailType: 'contact.updated', detail: contact }],
    ['contact.deleted', { source: 'crm', detailType: 'contact.deleted', detail: contact }],
    [
      'github.push',
      { source: 'github', detailType: 'github.push', detail: { eventKey: 'github:d1', event: 'push' } },
    ],
  ])('accepts a valid %s event', (_, event) => {
    // Act
    const run = () => validateCanonicalEvent(event as CanonicalEvent);

    // Assess
    expect(run).not.toThrow();
  });

  it.each([
    ['an upper-case currency', { ...orderPaid, currency: 'EUR' }],
    ['a fractional amount', { ...orderPaid, amountTotal: 49.9 }],
    ['a negative amount', { ...orderPaid, amountTotal: -1 }],
    ['an invalid email', { ...orderPaid, customer: { email: 'not-an-email' } }],
    ['a paidAt that is not ISO 8601', { ...orderPaid, paidAt: 'Fri, 21 Nov 2025 12:00:00 GMT' }],
    ['an empty order id', { ...orderPaid, orderId: '' }],
    ['no event key', { ...orderPaid, eventKey: '' }],
  ])('rejects an order.paid detail with %s', (_, detail) => {
    // Act
    const run = () =>
      validateCanonicalEvent({ source: 'stripe', detailType: 'order.paid', detail } as CanonicalEvent);

    // Assess
    expect(run).toThrow(ZodError);
  });

  it('checks every github.* detail type against the code-host schema', () => {
    // Act
    const run = () =>
      validateCanonicalEvent({
        source: 'github',
        detailType: 'github.issues',
        detail: { eventKey: 'github:d1', event: '' },
      } as CanonicalEvent);

    // Assess
    expect(run).toThrow(ZodError);
  });

  it('refuses a detail type it has no schema for', () => {
    // Act
    const run = () =>
      validateCanonicalEvent({
        source: 'stripe',
        detailType: 'order.refunded',
        detail: orderPaid,
      } as unknown as CanonicalEvent);

    // Assess
    expect(run).toThrow('no schema for detail type order.refunded');
  });
});
