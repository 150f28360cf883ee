import { describe, expect, it } from 'vitest';
import { type Headline, headlineChecks } from '../../bench/budgets.js';

const BUDGETS = { ackPathAwsCalls: 1, ingestBundleBytes: 500_000, ingestInitRatio: 3 };
const baseline: Headline = {
  ackPathAwsCalls: 1,
  ingestBundleBytes: 400_000,
  ingestInitRatio: 2,
  ingestP99Ms: 1,
  routerRecordsPerSecond: 1000,
  costPerMillionUsd: { ingressToBus: 7, 'order-paid': 130 },
};
const verdicts = (now: Headline, committed?: Partial<Headline>) =>
  Object.fromEntries(headlineChecks(now, committed, BUDGETS).map((check) => [check.figure, check.verdict]));

describe('headlineChecks', () => {
  it('passes figures within their budgets and within 10 % of the committed ones', () => {
    // Act
    const result = verdicts(
      { ...baseline, ingestP99Ms: 1.1, routerRecordsPerSecond: 900, ingestBundleBytes: 440_000 },
      baseline,
    );

    // Assess
    expect(Object.values(result).every((verdict) => verdict === 'ok')).toBe(true);
    expect(Object.keys(result)).toEqual(
      expect.arrayContaining(['costPerMillionUsd.ingressToBus', 'costPerMillionUsd.order-paid']),
    );
  });

  it('fails an ack path of any other number of AWS calls than the budget, fewer included', () => {
    // Act
    const two = verdicts({ ...baseline, ackPathAwsCalls: 2 });
    const none = verdicts({ ...baseline, ackPathAwsCalls: 0 });

    // Assess
    expect(two.ackPathAwsCalls).toBe('over budget');
    expect(none.ackPathAwsCalls).toBe('over budget');
  });

  it('fails a figure over its budget even without committed results', () => {
    // Act
    const result = verdicts({ ...baseline, ingestBundleBytes: 500_001, ingestInitRatio: 3.5 });

    // Assess
    expect(result.ingestBundleBytes).toBe('over budget');
    expect(result.ingestInitRatio).toBe('over budget');
  });

  it('fails a regression of more than 10 %, in the direction that is worse for each figure', () => {
    // Act
    const result = verdicts(
      {
        ...baseline,
        ingestP99Ms: 1.11,
        routerRecordsPerSecond: 899,
        costPerMillionUsd: { ingressToBus: 7.8, 'order-paid': 100 },
      },
      baseline,
    );

    // Assess
    expect(result.ingestP99Ms).toBe('regressed');
    expect(result.routerRecordsPerSecond).toBe('regressed');
    expect(result['costPerMillionUsd.ingressToBus']).toBe('regressed');
    expect(result['costPerMillionUsd.order-paid']).toBe('ok');
  });
});
