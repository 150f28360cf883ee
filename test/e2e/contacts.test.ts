import { describe, expect, it } from 'vitest';
import { eventually, fixture, post, received, unique } from './hub.js';

describe('contact sync, end to end', () => {
  it('subscribes a contact created in the CRM (Standard Webhooks) at the email platform', async () => {
    // Prepare
    const event = fixture<{ data: { id: string; email: string } }>('crm/contact.created.json');
    const id = unique();
    event.data.id = `ct_${id}`;
    event.data.email = `contact-${id}@example.com`;
    const path = `/subscribers/${encodeURIComponent(event.data.email)}`;

    // Act
    const response = await post('crm', JSON.stringify(event));

    // Assess
    expect(response.status).toBe(202);
    const subscribe = await eventually('the subscribe request', async () =>
      (await received('email')).find((request) => request.path === path),
    );
    expect(subscribe.method).toBe('PUT');
    expect(subscribe.body).toMatchObject({
      email: event.data.email,
      firstName: 'Katherine',
      lastName: 'Johnson',
    });
  });
});
