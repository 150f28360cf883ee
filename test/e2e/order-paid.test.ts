import { describe, expect, it } from 'vitest';
import { eventually, fixture, post, received, settle, unique } from './hub.js';

type StripeEvent = {
  id: string;
  data: { object: { client_reference_id: string; customer_details: { email: string } } };
};

function stripeCheckout() {
  const event = fixture<StripeEvent>('stripe/checkout.session.completed.json');
  const id = unique();
  event.id = `evt_e2e${id}`;
  event.data.object.client_reference_id = `order_${id}`;
  event.data.object.customer_details.email = `buyer-${id}@example.com`;
  return {
    body: JSON.stringify(event),
    orderId: `order_${id}`,
    email: `buyer-${id}@example.com`,
    eventId: event.id,
  };
}

function shopifyOrder() {
  const order = fixture<{ id: number; email: string; customer: { email: string } }>(
    'shopify/orders-paid.json',
  );
  const id = unique();
  order.id = Number.parseInt(id, 16);
  order.email = `shopper-${id}@example.com`;
  order.customer.email = order.email;
  return {
    body: JSON.stringify(order),
    orderId: String(order.id),
    email: order.email,
    webhookId: `wh-${id}`,
  };
}

/** The requests of one order at the three stand-ins. */
async function effectsOf(orderId: string, email: string) {
  const invoices = (await received('accounting')).filter(
    (request) => request.path === '/invoices' && (request.body as { orderId?: string })?.orderId === orderId,
  );
  const customers = (await received('crm')).filter(
    (request) => request.path === `/customers/${encodeURIComponent(email)}`,
  );
  const receipts = (await received('email')).filter(
    (request) => request.path === '/messages' && (request.body as { to?: string })?.to === email,
  );
  return { invoices, customers, receipts };
}

async function completedFlow(orderId: string, email: string) {
  return eventually(`the order-paid flow of ${orderId}`, async () => {
    const effects = await effectsOf(orderId, email);
    return effects.receipts.length > 0 ? effects : undefined;
  });
}

describe('order-paid flow, end to end', () => {
  it('turns a Stripe-signed checkout.session.completed into one invoice, one CRM update and one receipt', async () => {
    // Prepare
    const checkout = stripeCheckout();

    // Act
    const response = await post('stripe', checkout.body);

    // Assess
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: checkout.eventId });
    await completedFlow(checkout.orderId, checkout.email);
    await settle(3000);
    const effects = await effectsOf(checkout.orderId, checkout.email);
    expect(effects.invoices).toHaveLength(1);
    expect(effects.customers).toHaveLength(1);
    expect(effects.receipts).toHaveLength(1);
    expect(effects.invoices[0]?.body).toMatchObject({
      amountTotal: 4990,
      currency: 'eur',
      customerEmail: checkout.email,
    });
    expect(effects.invoices[0]?.headers['idempotency-key']).toBe(`stripe:${checkout.eventId}:create-invoice`);
    expect(effects.customers[0]?.body).toMatchObject({
      firstName: 'Ada',
      lastName: 'Lovelace',
      lastOrderId: checkout.orderId,
    });
  });

  it('turns a Shopify-signed orders/paid into one invoice, one CRM update and one receipt', async () => {
    // Prepare
    const order = shopifyOrder();

    // Act
    const response = await post('shopify', order.body, {
      eventType: 'orders/paid',
      eventId: order.webhookId,
    });

    // Assess
    expect(response.status).toBe(202);
    await completedFlow(order.orderId, order.email);
    await settle(3000);
    const effects = await effectsOf(order.orderId, order.email);
    expect(effects.invoices).toHaveLength(1);
    expect(effects.customers).toHaveLength(1);
    expect(effects.receipts).toHaveLength(1);
    expect(effects.invoices[0]?.body).toMatchObject({ amountTotal: 6372, currency: 'usd' });
  });

  it('answers 2xx to a redelivery of the same event and calls no system again', async () => {
    // Prepare
    const checkout = stripeCheckout();
    expect((await post('stripe', checkout.body)).status).toBe(202);
    await completedFlow(checkout.orderId, checkout.email);

    // Act
    const again = await post('stripe', checkout.body);
    const shopify = shopifyOrder();
    await post('shopify', shopify.body, { eventType: 'orders/paid', eventId: shopify.webhookId });
    const shopifyAgain = await post('shopify', shopify.body, {
      eventType: 'orders/paid',
      eventId: shopify.webhookId,
    });
    await completedFlow(shopify.orderId, shopify.email);
    await settle(5000);

    // Assess
    expect(again.status).toBe(202);
    expect(shopifyAgain.status).toBe(202);
    for (const effects of [
      await effectsOf(checkout.orderId, checkout.email),
      await effectsOf(shopify.orderId, shopify.email),
    ]) {
      expect(effects.invoices).toHaveLength(1);
      expect(effects.customers).toHaveLength(1);
      expect(effects.receipts).toHaveLength(1);
    }
  });
});
