import { describe, expect, it } from 'vitest';
import { DuplicateHeaderError, RequestHeaders } from '../../functions/verify/index.js';

describe('RequestHeaders', () => {
  it('finds a header whatever the case of its name', () => {
    // Prepare
    const headers = new RequestHeaders({ 'Stripe-Signature': ['t=1,v1=ab'] });

    // Act
    const values = [headers.single('stripe-signature'), headers.single('STRIPE-SIGNATURE')];

    // Assess
    expect(values).toEqual(['t=1,v1=ab', 't=1,v1=ab']);
  });

  it('answers undefined for an absent header or one without values', () => {
    // Prepare
    const headers = new RequestHeaders({ 'X-Empty': [], 'X-Undefined': undefined, 'X-Holes': [undefined] });

    // Act
    const values = ['x-absent', 'x-empty', 'x-undefined', 'x-holes'].map((name) => headers.single(name));

    // Assess
    expect(values).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('throws DuplicateHeaderError for a header sent twice, also under names that differ only in case', () => {
    // Prepare
    const repeated = new RequestHeaders({ 'Webhook-Id': ['a', 'b'] });
    const twoNames = new RequestHeaders({ 'Webhook-Id': ['a'], 'webhook-id': ['a'] });

    // Act
    const errors = [repeated, twoNames].map((headers) => {
      try {
        headers.single('webhook-id');
        return undefined;
      } catch (error) {
        return error;
      }
    });

    // Assess
    for (const error of errors) {
      expect(error).toBeInstanceOf(DuplicateHeaderError);
      expect((error as DuplicateHeaderError).header).toBe('webhook-id');
    }
  });

  it('builds from multiValueHeaders, which keep every value of a repeated header', () => {
    // Prepare
    const event = {
      headers: { 'Stripe-Signature': 'second' },
      multiValueHeaders: { 'Stripe-Signature': ['first', 'second'], 'Content-Type': ['application/json'] },
    };

    // Act
    const headers = RequestHeaders.fromEvent(event);

    // Assess
    expect(headers.single('content-type')).toBe('application/json');
    expect(() => headers.single('stripe-signature')).toThrow(DuplicateHeaderError);
  });

  it('falls back to headers when multiValueHeaders is missing, null or empty', () => {
    // Prepare
    const headers = { 'Content-Type': 'application/json' };

    // Act
    const values = [
      RequestHeaders.fromEvent({ headers }),
      RequestHeaders.fromEvent({ headers, multiValueHeaders: null }),
      RequestHeaders.fromEvent({ headers, multiValueHeaders: {} }),
      RequestHeaders.fromEvent({ headers: null, multiValueHeaders: null }),
    ].map((view) => view.single('content-type'));

    // Assess
    expect(values).toEqual(['application/json', 'application/json', 'application/json', undefined]);
  });
});
