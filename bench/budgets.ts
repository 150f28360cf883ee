/**
 * The performance budgets `npm run bench` checks (not `npm test`: timings on shared machines are noisy), and
 * the regression rule against the last committed bench/results.json.
 */

/** The figures budgeted and compared run to run. */
export interface Headline {
  /** AWS calls per accepted request on the ack path, steady state. */
  ackPathAwsCalls: number;
  /** The ingest function's deployed bundle, bytes. */
  ingestBundleBytes: number;
  /** Start of a fresh Node process to the ingest bundle initialised, over a hello-world bundle's (same run). */
  ingestInitRatio: number;
  /** Ingest handler p99, ms: Stripe scheme, 64 KB body, warm, in-process, AWS stubbed. */
  ingestP99Ms: number;
  /** Router records per second, batches of 10, in-process, AWS stubbed (higher is better). */
  routerRecordsPerSecond: number;
  /** AWS list-price cost per million events, USD, per path. */
  costPerMillionUsd: Record<string, number>;
}

/**
 * Budgets, set after measuring (docs/performance.md has the numbers behind them):
 * - one AWS call on the ack path: SQS SendMessage is the physical minimum for a durable acknowledgement
 *   (DESIGN decision 2);
 * - the ingest bundle and its init ratio: measured 760,967 bytes and 4.5× (Node 20, 2 cores, Nov 2026).
 *   Lambda's hello-world cold start is ~128 ms on Node 22 arm64 and a tuned function with SDK clients ~375 ms,
 *   first HTTPS call included (reference anchors, lambda-perf and speedrun.nobackspacecrew.com). At 5× a
 *   ~28 ms hello-world start, the ingest init adds ~115 ms to the 128 ms anchor, plus ~125 ms for the first
 *   SQS call: ~370 ms, the tuned anchor. Over that, the first delivery after a deploy starts eating into
 *   Slack's 3 s.
 */
export const BUDGETS = {
  ackPathAwsCalls: 1,
  /** Bytes of the deployed ingest `index.mjs`: the measured size and 5 % for growth. */
  ingestBundleBytes: 800_000,
  /** Fresh Node process to initialised bundle, over the hello world's (see above). */
  ingestInitRatio: 5,
} as const;

/** A figure may be at most this much worse than in the last committed results (0.1 = 10 %). */
export const REGRESSION_TOLERANCE = 0.1;

export interface Check {
  figure: string;
  now: number;
  budget: string;
  committed: string;
  verdict: 'ok' | 'over budget' | 'regressed';
}

/** Every headline figure against its budget (if any) and its committed value (if any). */
export function headlineChecks(
  now: Headline,
  committed: Partial<Headline> | undefined,
  budgets: { ackPathAwsCalls: number; ingestBundleBytes: number; ingestInitRatio: number } = BUDGETS,
): Check[] {
  const lowerIsBetter = (
    figure: string,
    value: number,
    before: number | undefined,
    budget?: number,
  ): Check => {
    const overBudget =
      budget !== undefined && (figure === 'ackPathAwsCalls' ? value !== budget : value > budget);
    const regressed = before !== undefined && value > before * (1 + REGRESSION_TOLERANCE);
    return verdictOf(figure, value, before, budget, overBudget, regressed);
  };
  const checks = [
    lowerIsBetter(
      'ackPathAwsCalls',
      now.ackPathAwsCalls,
      committed?.ackPathAwsCalls,
      budgets.ackPathAwsCalls,
    ),
    lowerIsBetter(
      'ingestBundleBytes',
      now.ingestBundleBytes,
      committed?.ingestBundleBytes,
      budgets.ingestBundleBytes,
    ),
    lowerIsBetter(
      'ingestInitRatio',
      now.ingestInitRatio,
      committed?.ingestInitRatio,
      budgets.ingestInitRatio,
    ),
    lowerIsBetter('ingestP99Ms', now.ingestP99Ms, committed?.ingestP99Ms),
    ...Object.entries(now.costPerMillionUsd).map(([path, usd]) =>
      lowerIsBetter(`costPerMillionUsd.${path}`, usd, committed?.costPerMillionUsd?.[path]),
    ),
  ];
  const before = committed?.routerRecordsPerSecond;
  checks.push(
    verdictOf(
      'routerRecordsPerSecond',
      now.routerRecordsPerSecond,
      before,
      undefined,
      false,
      before !== undefined && now.routerRecordsPerSecond < before * (1 - REGRESSION_TOLERANCE),
    ),
  );
  return checks;
}

function verdictOf(
  figure: string,
  now: number,
  committed: number | undefined,
  budget: number | undefined,
  overBudget: boolean,
  regressed: boolean,
): Check {
  return {
    figure,
    now,
    budget: budget === undefined || !Number.isFinite(budget) ? '—' : String(budget),
    committed: committed === undefined ? '—' : String(committed),
    verdict: overBudget ? 'over budget' : regressed ? 'regressed' : 'ok',
  };
}
