import { describe, expect, it } from 'vitest';
import {
  type CanonicalEvent,
  type InboxEnvelope,
  validateCanonicalEvent,
} from '../../functions/contracts.js';
import { mapCrm } from '../../functions/mappers/crm.js';
import { mapGithub } from '../../functions/mappers/github.js';
import { toCanonicalEvent } from '../../functions/mappers/index.js';
import { mapShopify, toMinorUnits } from '../../functions/mappers/shopify.js';
import { mapStripe } from '../../functions/mappers/stripe.js';
import { MappingError } from '../../functions/shared/errors.js';
import { MAPPERS } from '../../functions/sources.js';
import { fixture, fixtureText } from './support/lambda.js';

type Json = Record<string, unknown>;

type StripePayload = Json & { data: { object: Json } };

/** A fixture, freshly parsed, with `change` applied. */
function variant<T extends Json = StripePayload>(path: string, change: (payload: T) => void = () => {}): T {
  const payload = fixture<T>(path);
  change(payload);
  return payload;
}

function envelope(
  source: string,
  eventType: string,
  body: string,
  eventId = 'evt_1',
): InboxEnvelope & { body: string } {
  return {
    source,
    eventId,
    eventType,
    receivedAt: '2025-11-21T12:00:01.000Z',
    bodySha256: '0'.repeat(64),
    body,
  };
}

/** Maps with the mapper named like the source, as the local stage configures them. */
const mapWithOwnMapper = (input: InboxEnvelope & { body: string }) =>
  toCanonicalEvent(
    input,
    MAPPERS.find((mapper) => mapper === input.source),
  );

/** The error a call throws, or undefined. */
function errorOf(run: () => unknown): Error | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

describe('mapStripe', () => {
  const STRIPE = 'stripe/checkout.session.completed.json';
  const KEY = 'stripe:evt_1QxD8rLkdIwHu7ix6mQ0Zb3T';

  it('maps a paid checkout session to order.paid with exactly the canonical fields', () => {
    // Act
    const event = mapWithOwnMapper(
      envelope('stripe', 'checkout.session.completed', fixtureText(STRIPE), 'evt_1QxD8rLkdIwHu7ix6mQ0Zb3T'),
    );

    // Assess
    expect(event).toStrictEqual({
      source: 'stripe',
      detailType: 'order.paid',
      detail: {
        eventKey: KEY,
        orderId: 'order_1042',
        currency: 'eur',
        amountTotal: 4990,
        customer: { email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
        paidAt: '2025-11-21T12:00:00.000Z',
      },
    });
    expect(() => validateCanonicalEvent(event as CanonicalEvent)).not.toThrow();
  });

  it('uses the session id as order id when there is no client_reference_id', () => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.client_reference_id = null;
    });

    // Act
    const event = mapStripe('checkout.session.completed', payload, KEY);

    // Assess
    expect(event?.detail).toMatchObject({ orderId: 'cs_test_a1Yb3mKp9QwErTyUiOp0AsDfGhJkLzXcVbNm' });
  });

  it('lower-cases the currency and splits the name at the first space only', () => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.currency = 'EUR';
      p.data.object.customer_details = { email: 'ada@example.com', name: '  Augusta Ada  King Lovelace ' };
    });

    // Act
    const event = mapStripe('checkout.session.completed', payload, KEY);

    // Assess
    expect(event?.detail).toMatchObject({
      currency: 'eur',
      customer: { email: 'ada@example.com', firstName: 'Augusta', lastName: 'Ada  King Lovelace' },
    });
  });

  it.each([
    ['a single name', 'Ada', { email: 'ada@example.com', firstName: 'Ada' }],
    ['no name', null, { email: 'ada@example.com' }],
    ['a blank name', '   ', { email: 'ada@example.com' }],
  ])('maps a customer with %s without inventing name fields', (_, name, customer) => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.customer_details = { email: 'ada@example.com', name };
    });

    // Act
    const event = mapStripe('checkout.session.completed', payload, KEY);

    // Assess
    expect((event?.detail as { customer?: unknown } | undefined)?.customer).toStrictEqual(customer);
  });

  it('does not route a completed session whose payment is still unpaid (a delayed payment method)', () => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.payment_status = 'unpaid';
    });

    // Act
    const event = mapStripe('checkout.session.completed', payload, KEY);

    // Assess
    expect(event).toBeUndefined();
  });

  it('routes a completed session that needed no payment (e.g. a full discount) as order.paid', () => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.payment_status = 'no_payment_required';
      p.data.object.amount_total = 0;
    });

    // Act
    const event = mapStripe('checkout.session.completed', payload, KEY);

    // Assess
    expect(event).toMatchObject({ detailType: 'order.paid', detail: { amountTotal: 0 } });
  });

  it.each(['payment_intent.succeeded', 'customer.created', 'checkout.session.expired'])(
    'does not route a %s event',
    (type) => {
      // Act
      const event = mapStripe(type, { id: 'evt_1', type }, KEY);

      // Assess
      expect(event).toBeUndefined();
    },
  );

  it('routes a delayed payment that succeeded later (checkout.session.async_payment_succeeded) as order.paid', () => {
    // Prepare: Stripe's fulfillment guide, cited by the mapper, fulfils on this event for delayed payment methods
    const payload = variant(STRIPE, (p) => {
      p.type = 'checkout.session.async_payment_succeeded';
    });

    // Act
    const event = mapStripe('checkout.session.async_payment_succeeded', payload, KEY);

    // Assess
    expect(event).toMatchObject({
      detailType: 'order.paid',
      detail: { orderId: 'order_1042', amountTotal: 4990 },
    });
  });

  it('throws MappingError naming a missing email field without revealing customer data', () => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.customer_details = { name: 'Ada Lovelace' };
    });

    // Act
    const error = errorOf(() => mapStripe('checkout.session.completed', payload, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain('data.object.customer_details.email');
    expect(error?.message).not.toContain('Lovelace');
  });

  it('throws MappingError naming a mistyped email field but not its value', () => {
    // Prepare
    const payload = variant(STRIPE, (p) => {
      p.data.object.customer_details = { email: 'ada.lovelace(at)example.com', name: 'Ada Lovelace' };
    });

    // Act
    const error = errorOf(() => mapStripe('checkout.session.completed', payload, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain('customer_details.email');
    expect(error?.message).not.toContain('ada.lovelace');
  });

  it.each([
    [
      'a fractional amount',
      (p: { data: { object: Json } }) => {
        p.data.object.amount_total = 49.9;
      },
      'data.object.amount_total',
    ],
    [
      'a negative amount',
      (p: { data: { object: Json } }) => {
        p.data.object.amount_total = -1;
      },
      'data.object.amount_total',
    ],
    [
      'a created time that is a string',
      (p: Json) => {
        p.created = '1763726400';
      },
      'created',
    ],
  ])('throws MappingError for %s', (_, change, field) => {
    // Prepare
    const payload = variant(STRIPE, change as (p: StripePayload) => void);

    // Act
    const error = errorOf(() => mapStripe('checkout.session.completed', payload, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain(field);
  });
});

describe('mapShopify', () => {
  const SHOPIFY = 'shopify/orders-paid.json';
  const KEY = 'shopify:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';

  it('maps orders/paid to order.paid in minor units of the order currency', () => {
    // Act
    const event = mapWithOwnMapper(
      envelope('shopify', 'orders/paid', fixtureText(SHOPIFY), 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043'),
    );

    // Assess
    expect(event).toStrictEqual({
      source: 'shopify',
      detailType: 'order.paid',
      detail: {
        eventKey: KEY,
        orderId: '5821439672381',
        currency: 'usd',
        amountTotal: 6372,
        customer: { email: 'grace.hopper@example.com', firstName: 'Grace', lastName: 'Hopper' },
        paidAt: '2026-11-21T15:14:01.000Z',
      },
    });
    expect(() => validateCanonicalEvent(event as CanonicalEvent)).not.toThrow();
  });

  it('falls back to the order email and to updated_at when the customer has no email and processed_at is null', () => {
    // Prepare
    const payload = variant<Json>(SHOPIFY, (p) => {
      p.customer = { email: null, first_name: null, last_name: null };
      p.processed_at = null;
    });

    // Act
    const event = mapShopify('orders/paid', payload, KEY);

    // Assess
    expect(event?.detail).toMatchObject({
      customer: { email: 'grace.hopper@example.com' },
      paidAt: '2026-11-21T15:14:05.000Z',
    });
    expect((event?.detail as { customer?: Json } | undefined)?.customer).toStrictEqual({
      email: 'grace.hopper@example.com',
    });
  });

  it('throws MappingError naming the email when neither the customer nor the order has one', () => {
    // Prepare
    const payload = variant<Json>(SHOPIFY, (p) => {
      p.email = null;
      p.customer = null;
    });

    // Act
    const error = errorOf(() => mapShopify('orders/paid', payload, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain('email');
  });

  it('throws MappingError naming a malformed total_price without its value', () => {
    // Prepare
    const payload = variant<Json>(SHOPIFY, (p) => {
      p.total_price = '63,72';
    });

    // Act
    const error = errorOf(() => mapShopify('orders/paid', payload, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain('total_price');
    expect(error?.message).not.toContain('63,72');
  });

  it.each(['orders/create', 'orders/updated', 'customers/create'])('does not route the %s topic', (topic) => {
    // Act
    const event = mapShopify(topic, fixture(SHOPIFY), KEY);

    // Assess
    expect(event).toBeUndefined();
  });
});

describe('toMinorUnits', () => {
  it.each([
    ['63.72', 'USD', 6372],
    ['63.7', 'USD', 6370],
    ['63', 'USD', 6300],
    ['63.720', 'USD', 6372],
    ['0.00', 'EUR', 0],
    ['0.05', 'EUR', 5],
    ['1500', 'JPY', 1500],
    ['1500.00', 'JPY', 1500],
    ['1.234', 'KWD', 1234],
    ['1.2', 'KWD', 1200],
    ['12.345', 'BHD', 12345],
    ['990', 'CLP', 990],
    ['19999999.99', 'USD', 1999999999],
  ])('converts %s %s to %i minor units', (amount, currency, expected) => {
    // Act
    const minor = toMinorUnits(amount, currency);

    // Assess
    expect(minor).toBe(expected);
  });

  it.each([
    ['1.234', 'USD'],
    ['1500.5', 'JPY'],
    ['1.2345', 'KWD'],
    ['0.001', 'EUR'],
  ])('throws MappingError for %s %s, which has more decimals than the currency', (amount, currency) => {
    // Act
    const run = () => toMinorUnits(amount, currency);

    // Assess
    expect(run).toThrow(MappingError);
  });

  it('uses the ISO 4217 minor unit it documents, also where locale data rounds differently', () => {
    // Prepare: ISO 4217 minor units: HUF 2, IDR 2, COP 2, IQD 3
    const cases = { HUF: '1500.50', IDR: '10000.00', COP: '2500.00', IQD: '1.250' };

    // Act
    const minor = Object.fromEntries(
      Object.entries(cases).map(([currency, amount]) => [
        currency,
        errorOf(() => toMinorUnits(amount, currency))?.message ?? toMinorUnits(amount, currency),
      ]),
    );

    // Assess
    expect(minor).toEqual({ HUF: 150050, IDR: 1000000, COP: 250000, IQD: 1250 });
  });
});

describe('mapCrm', () => {
  const CRM = 'crm/contact.created.json';
  const KEY = 'crm:msg_2pQz8Yb3mKp9QwErTyUiOp';

  it('maps contact.created to a canonical contact.created with exactly the canonical fields', () => {
    // Act
    const event = mapWithOwnMapper(
      envelope('crm', 'contact.created', fixtureText(CRM), 'msg_2pQz8Yb3mKp9QwErTyUiOp'),
    );

    // Assess
    expect(event).toStrictEqual({
      source: 'crm',
      detailType: 'contact.created',
      detail: {
        eventKey: KEY,
        contactId: 'ct_01JD2Q8Y5RZ4M9V7K3N6B1X0PA',
        email: 'katherine.johnson@example.com',
        firstName: 'Katherine',
        lastName: 'Johnson',
        updatedAt: '2026-11-21T09:30:00.000Z',
      },
    });
    expect(() => validateCanonicalEvent(event as CanonicalEvent)).not.toThrow();
  });

  it.each(['contact.updated', 'contact.deleted'])('keeps the name of %s', (type) => {
    // Prepare
    const payload = variant<Json>(CRM, (p) => {
      p.type = type;
    });

    // Act
    const event = mapCrm(type, payload, KEY);

    // Assess
    expect(event?.detailType).toBe(type);
  });

  it('normalizes updatedAt to UTC and leaves out null names', () => {
    // Prepare
    const payload = variant<Json>(CRM, (p) => {
      p.data = {
        id: 'ct_1',
        email: 'kj@example.com',
        firstName: null,
        lastName: null,
        updatedAt: '2026-11-21T10:30:00+01:00',
      };
    });

    // Act
    const event = mapCrm('contact.updated', payload, KEY);

    // Assess
    expect(event?.detail).toStrictEqual({
      eventKey: KEY,
      contactId: 'ct_1',
      email: 'kj@example.com',
      updatedAt: '2026-11-21T09:30:00.000Z',
    });
  });

  it.each(['contact.merged', 'company.created', '__proto__', 'toString', 'hasOwnProperty'])(
    'does not route a %s event',
    (type) => {
      // Act
      const event = mapCrm(type, fixture(CRM), KEY);

      // Assess
      expect(event).toBeUndefined();
    },
  );

  it('throws MappingError naming a mistyped email but not its value', () => {
    // Prepare
    const payload = variant<Json>(CRM, (p) => {
      (p.data as Json).email = 'katherine.johnson-at-nasa';
    });

    // Act
    const error = errorOf(() => mapCrm('contact.created', payload, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain('data.email');
    expect(error?.message).not.toContain('katherine');
  });
});

describe('mapGithub', () => {
  const KEY = 'github:72d3162e-cc78-11e3-81ab-4c9367dc0958';

  it('maps a push to github.push with only the event, repository and sender', () => {
    // Act
    const event = mapWithOwnMapper(
      envelope('github', 'push', fixtureText('github/push.json'), '72d3162e-cc78-11e3-81ab-4c9367dc0958'),
    );

    // Assess
    expect(event).toStrictEqual({
      source: 'github',
      detailType: 'github.push',
      detail: { eventKey: KEY, event: 'push', repository: 'octo-org/switchyard-demo', sender: 'octocat' },
    });
    expect(() => validateCanonicalEvent(event as CanonicalEvent)).not.toThrow();
  });

  it('keeps the action of events that have one', () => {
    // Act
    const event = mapGithub('issues', { action: 'opened', sender: { login: 'hubot' } }, KEY);

    // Assess
    expect(event.detail).toStrictEqual({ eventKey: KEY, event: 'issues', action: 'opened', sender: 'hubot' });
    expect(event.detailType).toBe('github.issues');
  });

  it('throws MappingError for a mistyped repository', () => {
    // Act
    const error = errorOf(() => mapGithub('push', { repository: { full_name: 42 } }, KEY));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toContain('repository.full_name');
  });
});

describe('toCanonicalEvent', () => {
  it('routes nothing for a source without a mapper: the event is kept as unrouted', () => {
    // Act
    const event = toCanonicalEvent(envelope('paypal', 'PAYMENT.CAPTURE.COMPLETED', '{}'), undefined);

    // Assess
    expect(event).toBeUndefined();
  });

  it('uses the configured mapper, whatever the source is called', () => {
    // Act
    const event = toCanonicalEvent(
      envelope('shop-eu', 'push', JSON.stringify({ repository: { full_name: 'a/b' } })),
      'github',
    );

    // Assess
    expect(event).toMatchObject({
      source: 'shop-eu',
      detailType: 'github.push',
      detail: { repository: 'a/b' },
    });
  });

  it('throws MappingError for a body that is not JSON', () => {
    // Act
    const error = errorOf(() => mapWithOwnMapper(envelope('github', 'push', '{"ref":')));

    // Assess
    expect(error).toBeInstanceOf(MappingError);
    expect(error?.message).toBe('envelope body is not JSON');
  });

  it('copies no extra or hostile fields from a vendor payload into the detail', () => {
    // Prepare
    const stripe = fixtureText('stripe/checkout.session.completed.json')
      .replace('"object": "event",', '"object": "event", "isAdmin": true, "__proto__": {"isAdmin": true},')
      .replace(
        '"email": "ada.lovelace@example.com",',
        '"email": "ada.lovelace@example.com", "isAdmin": true, "__proto__": {"polluted": "yes"},',
      );
    const crm = fixtureText('crm/contact.created.json').replace(
      '"id": "ct_01JD2Q8Y5RZ4M9V7K3N6B1X0PA",',
      '"id": "ct_01JD2Q8Y5RZ4M9V7K3N6B1X0PA", "isAdmin": true, "role": "owner", "__proto__": {"isAdmin": true},',
    );
    const github =
      '{"action":"opened","isAdmin":true,"sender":{"login":"octocat","site_admin":true,"__proto__":{"isAdmin":true}}}';

    // Act
    const events = [
      mapWithOwnMapper(envelope('stripe', 'checkout.session.completed', stripe)),
      mapWithOwnMapper(envelope('crm', 'contact.created', crm)),
      mapWithOwnMapper(envelope('github', 'issues', github)),
    ];

    // Assess
    expect(stripe).toContain('"__proto__": {"polluted": "yes"}');
    for (const event of events) {
      const detail = event?.detail as Json;
      expect(JSON.stringify(detail)).not.toMatch(/isAdmin|polluted|role|site_admin/);
      expect(Object.getPrototypeOf(detail)).toBe(Object.prototype);
      expect((detail as { isAdmin?: unknown }).isAdmin).toBeUndefined();
      expect(Object.hasOwn(detail, '__proto__')).toBe(false);
    }
    expect(Object.keys(events[0]?.detail ?? {}).sort()).toEqual(
      ['amountTotal', 'currency', 'customer', 'eventKey', 'orderId', 'paidAt'].sort(),
    );
    expect(({} as { isAdmin?: unknown; polluted?: unknown }).isAdmin).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
