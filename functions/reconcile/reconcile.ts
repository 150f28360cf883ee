/**
 * Reconciliation of one GitHub webhook's deliveries: GitHub does not retry a failed delivery
 * (https://docs.github.com/en/webhooks/using-webhooks/handling-failed-webhook-deliveries), so a scheduled run
 * lists the hook's recent delivery attempts, finds the events that never got a 2xx from the hub, and asks
 * GitHub to deliver each again, as GitHub's own script does
 * (https://docs.github.com/en/webhooks/using-webhooks/automatically-redelivering-failed-deliveries-for-a-repository-webhook).
 *
 * An event is a delivery `guid` (the `X-GitHub-Delivery` header, the same on every attempt, so the router's
 * deduplication on `github:<guid>` makes a redelivery of an event that did get through harmless). An event
 * is missing when its attempts in the look-back window include no 2xx: its most recent failed attempt is
 * redelivered. Bounds: at most `maxRedeliveries` per run (fewest attempts first, then oldest: a new gap is not
 * starved by events that keep failing), no new call without the time for it, and an event that already failed
 * `maxAttemptsPerEvent` times in the window is given up (left to on-call) instead of redelivered every run.
 */
import {
  type GitHubDeliveriesApi,
  GitHubResponseError,
  GitHubUnavailableError,
  type HookDelivery,
} from './github-api.js';

/** What the reconciliation needs of the API (`GitHubDeliveriesApi`). */
export type DeliveriesApi = Pick<GitHubDeliveriesApi, 'listPage' | 'redeliver'>;

/** An event with failed attempts and no 2xx one in the window. */
export interface MissingEvent {
  /** The `X-GitHub-Delivery` of the event. */
  guid: string;
  /** `X-GitHub-Event`, e.g. `push`. */
  event: string;
  /** Failed attempts in the window (GitHub's first one and redeliveries alike). */
  failedAttempts: number;
  /** The most recent failed attempt: the one redelivered. */
  latest: HookDelivery;
  /** When the event's earliest attempt in the window was made, epoch milliseconds. */
  firstAttemptAtMs: number;
}

export interface ReconcileOptions {
  /** Now, epoch milliseconds. */
  nowMs: number;
  /** Attempts made earlier than `nowMs - lookBackMs` are not listed, milliseconds. */
  lookBackMs: number;
  /** Most redeliveries requested in this run. */
  maxRedeliveries: number;
  /** Failed attempts of one event in the window after which it is given up. */
  maxAttemptsPerEvent: number;
  /** Time left for the run, milliseconds: no call starts without `TIME_RESERVE_MS` left. */
  remainingTimeMs: () => number;
  /**
   * Most pages listed (of 100 attempts each); the window is reported incomplete beyond.
   * @default 50
   */
  maxPages?: number;
  /**
   * Wait before the one retry of a call GitHub could not answer, milliseconds (a longer `Retry-After` within
   * the run's time is honoured).
   * @default 1000
   */
  retryDelayMs?: number;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export interface ReconcileReport {
  /** Attempts listed in the window. */
  listed: number;
  /** False when `maxPages` was reached before the start of the window: older failures were not seen. */
  complete: boolean;
  missing: MissingEvent[];
  /** Redeliveries GitHub accepted. */
  redelivered: MissingEvent[];
  /** Redeliveries GitHub refused for that delivery, with why (`GitHubResponseError` message). */
  failed: { event: MissingEvent; reason: string }[];
  /** Missing events left for the next run: over `maxRedeliveries`, out of time, or after `abortedBy`. */
  deferred: MissingEvent[];
  /** Missing events that already failed `maxAttemptsPerEvent` times: not redelivered. */
  gaveUp: MissingEvent[];
  /** The error that stopped the redeliveries (`GitHubAccessError`, `GitHubUnavailableError`), if one did. */
  abortedBy?: Error;
}

/** Time a call needs, milliseconds: its timeout (10 s) and a margin to report. */
export const TIME_RESERVE_MS = 12_000;
const DEFAULT_MAX_PAGES = 50;

/**
 * Lists the attempts made since `sinceMs`, newest first, following the pages' cursors until an attempt older
 * than `sinceMs` shows up (the list is newest first), the last page, or `maxPages`.
 * @throws GitHubAccessError | GitHubUnavailableError | GitHubResponseError
 */
export async function listDeliveriesSince(
  api: DeliveriesApi,
  sinceMs: number,
  options: { maxPages: number; call: <T>(request: () => Promise<T>) => Promise<T> },
): Promise<{ deliveries: HookDelivery[]; complete: boolean }> {
  const byId = new Map<number, HookDelivery>();
  let cursor: string | undefined;
  for (let page = 0; page < options.maxPages; page++) {
    const { deliveries, nextCursor } = await options.call(() => api.listPage(cursor));
    let reachedOlder = false;
    for (const delivery of deliveries) {
      if (Date.parse(delivery.delivered_at) < sinceMs) reachedOlder = true;
      else byId.set(delivery.id, delivery);
    }
    if (reachedOlder || !nextCursor) return { deliveries: [...byId.values()], complete: true };
    cursor = nextCursor;
  }
  return { deliveries: [...byId.values()], complete: false };
}

/**
 * Groups attempts by event (`guid`) and returns the events none of whose attempts got a 2xx, fewest failed
 * attempts first, then oldest first.
 */
export function findMissing(deliveries: readonly HookDelivery[]): MissingEvent[] {
  const byGuid = new Map<string, HookDelivery[]>();
  for (const delivery of deliveries) {
    const attempts = byGuid.get(delivery.guid) ?? [];
    attempts.push(delivery);
    byGuid.set(delivery.guid, attempts);
  }
  const missing: MissingEvent[] = [];
  for (const [guid, attempts] of byGuid) {
    if (attempts.some(succeeded)) continue;
    const newestFirst = attempts.toSorted(
      (a, b) => Date.parse(b.delivered_at) - Date.parse(a.delivered_at) || b.id - a.id,
    );
    const latest = newestFirst[0];
    const earliest = newestFirst.at(-1);
    if (!latest || !earliest) continue;
    missing.push({
      guid,
      event: latest.event,
      failedAttempts: attempts.length,
      latest,
      firstAttemptAtMs: Date.parse(earliest.delivered_at),
    });
  }
  return missing.sort(
    (a, b) => a.failedAttempts - b.failedAttempts || a.firstAttemptAtMs - b.firstAttemptAtMs,
  );
}

/**
 * Runs one reconciliation: lists the window, finds the missing events and redelivers them within the bounds.
 * A refused redelivery (`GitHubResponseError`) is reported and the run goes on; an access error or GitHub
 * being unavailable (after one retry) stops the redeliveries and is returned as `abortedBy`, the rest deferred.
 * @throws GitHubAccessError | GitHubUnavailableError | GitHubResponseError while listing (nothing is known yet)
 */
export async function reconcileDeliveries(
  api: DeliveriesApi,
  options: ReconcileOptions,
): Promise<ReconcileReport> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const call = <T>(request: () => Promise<T>) =>
    withOneRetry(request, options.retryDelayMs ?? 1000, options.remainingTimeMs, sleep);

  const { deliveries, complete } = await listDeliveriesSince(api, options.nowMs - options.lookBackMs, {
    maxPages: options.maxPages ?? DEFAULT_MAX_PAGES,
    call,
  });
  const missing = findMissing(deliveries);
  const report: ReconcileReport = {
    listed: deliveries.length,
    complete,
    missing,
    redelivered: [],
    failed: [],
    deferred: [],
    gaveUp: missing.filter((event) => event.failedAttempts >= options.maxAttemptsPerEvent),
  };
  for (const event of missing) {
    if (event.failedAttempts >= options.maxAttemptsPerEvent) continue;
    const attempted = report.redelivered.length + report.failed.length;
    if (
      report.abortedBy ||
      attempted >= options.maxRedeliveries ||
      options.remainingTimeMs() < TIME_RESERVE_MS
    ) {
      report.deferred.push(event);
      continue;
    }
    try {
      await call(() => api.redeliver(event.latest.id));
      report.redelivered.push(event);
    } catch (error) {
      if (error instanceof GitHubResponseError) {
        report.failed.push({ event, reason: error.message });
      } else {
        report.abortedBy = error as Error;
        report.deferred.push(event);
      }
    }
  }
  return report;
}

/** 2xx: the hub stored the event. */
function succeeded(delivery: HookDelivery): boolean {
  return delivery.status_code >= 200 && delivery.status_code < 300;
}

/**
 * Runs `request`, and once more after a pause when GitHub was unavailable, if the run has the time
 * (the pause is GitHub's `Retry-After` when it sent one).
 */
async function withOneRetry<T>(
  request: () => Promise<T>,
  delayMs: number,
  remainingTimeMs: () => number,
  sleep: (ms: number) => Promise<void>,
): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (!(error instanceof GitHubUnavailableError)) throw error;
    const waitMs = Math.max(delayMs, (error.retryAfterSeconds ?? 0) * 1000);
    if (remainingTimeMs() - waitMs < TIME_RESERVE_MS) throw error;
    await sleep(waitMs);
    return request();
  }
}
