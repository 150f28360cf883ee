import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../local/signing.js';
import {
  cloud,
  deliver,
  fixture,
  post,
  received,
  settle,
  sourceSettings,
  unique,
  webhookUrl,
} from './hub.js';

function checkout() {
  const event = fixture<{ id: string; data: { object: { client_reference_id: string } } }>(
    'stripe/checkout.session.completed.json',
  );
  const id = unique();
  event.id = `evt_bad${id}`;
  event.data.object.client_reference_id = `order_bad_${id}`;
  return { body: JSON.stringify(event), orderId: `order_bad_${id}` };
}

async function invoicesFor(orderId: string) {
  return (await received('accounting')).filter(
    (request) => (request.body as { orderId?: string })?.orderId === orderId,
  );
}

describe('webhook ingress, end to end', () => {
  it('answers 401 to a tampered body and lets nothing through', async () => {
    // Prepare
    const event = checkout();

    // Act
    const response = await post('stripe', event.body, { tamper: (body) => body.replace('4990', '1') });

    // Assess
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ error: 'invalid_signature' });
    await settle(3000);
    expect(await invoicesFor(event.orderId)).toEqual([]);
  });

  it('answers 401 to a body signed with another secret and lets nothing through', async () => {
    // Prepare
    const event = checkout();

    // Act
    const response = await post('stripe', event.body, { secret: 'whsec_not_the_endpoint_secret' });

    // Assess
    expect(response.status).toBe(401);
    await settle(3000);
    expect(await invoicesFor(event.orderId)).toEqual([]);
  });

  it('answers 404 to an unknown source', async () => {
    // Prepare
    const body = JSON.stringify({ id: 'evt_x', type: 'x' });
    const headers = await signWebhook(sourceSettings('stripe'), cloud().secrets.stripe ?? '', body);

    // Act
    const response = await deliver(webhookUrl('stripe').replace(/\/stripe$/, '/acme-unknown'), {
      headers,
      body,
    });

    // Assess
    expect(response.status).toBe(404);
  });
});
