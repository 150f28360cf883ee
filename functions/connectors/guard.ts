/**
 * The downstream guard: a circuit breaker and a rate limiter for one downstream system (accounting, CRM,
 * email platform), shared by every Lambda instance that calls it. Per-instance state would be useless here:
 * with N concurrent instances each would have to see the failures itself before tripping, and each would
 * spend the whole vendor limit. So the state lives in DynamoDB, two small items per system.
 *
 * Patterns: Martin Fowler, "CircuitBreaker" (https://martinfowler.com/bliki/CircuitBreaker.html) for the
 * closed → open → half-open cycle; Amazon Builders' Library, "Timeouts, retries and backoff with jitter"
 * (https://aws.amazon.com/builders-library/timeouts-retries-and-backoff-with-jitter/) for failing fast
 * rather than piling retries on a struggling system; the limiter is a token bucket kept as its
 * "theoretical arrival time" (the generic cell rate algorithm, ITU-T I.371), which needs one number.
 *
 * Item layout (partition key `pk`, string; no sort key, no TTL: the items are tiny and permanent):
 * - `breaker#<system>`
 *   - `state`: `open` while open or half-open; absent or `closed` when closed.
 *   - `openUntil`: epoch ms when the open period ends and the circuit turns half-open.
 *   - `probeUntil`: epoch ms, the lease of the one half-open probe (the prober's own deadline).
 *   - `n<bucket>`, `f<bucket>`: calls and failures that ended in bucket `floor(epoch ms / bucket ms)`.
 *     Buckets are fixed (10 s by default) and the window is the current bucket and the ones before it
 *     (3 by default: 20 to 30 s of history). Fixed buckets rather than a decayed count because `ADD` is
 *     commutative: concurrent instances update the counts without reading them first and never conflict.
 *     A write drops the buckets it saw fall out of the window, so the item stays a few attributes long.
 * - `rate#<system>`
 *   - `tat`: epoch ms, the bucket's theoretical arrival time. With interval T = 1000 / rate and burst b,
 *     the bucket holds min(b, b − (tat − now) / T) tokens, refilled by the passing of time alone. A call
 *     is admitted at max(now, tat − (b − 1)·T) and pushes `tat` by T, so concurrent callers reserve
 *     successive slots with `SET tat = tat + T` under a bound check, without a read and without losing
 *     races; a caller whose slot is within its time waits for it, else gets `RateLimitedError`.
 *
 * DynamoDB operations per `run`, closed circuit:
 * - 1 eventually consistent GetItem of the breaker item (other instances see a transition within about a
 *   second; the probe claim is a conditional write, so a stale read cannot let two probes through);
 * - 1 conditional UpdateItem on the rate item (2 when this instance guessed the bucket's state wrong);
 * - 1 UpdateItem adding to the breaker counts (`ADD`), only for calls that reached the system and were
 *   not throttled.
 * Rare extras: the one caller that opens the circuit (1 conditional write), the half-open probe (claim
 * and settle: 2 conditional writes, no count write), a 429 (1 write pushing `tat` back by `Retry-After`).
 * While the circuit is open a call costs the one read and no write, and does not call the system.
 *
 * Failing open: when the table cannot be read or written, the guard logs, counts `GuardStateUnavailable`
 * and lets the call through (the breaker as if closed, the limiter as if a token were free). An outage of
 * the guard's own table must not stop every flow; the system's own limit (429, retried) and timeouts still
 * protect it, and the `GuardStateUnavailable` metric shows that the guard is blind.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type AttributeValue,
  type ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CallOutcome, Dimension, HubMetric } from '../shared/hub-metrics.js';
import { emitMetric, logger } from '../shared/powertools.js';
import {
  type BreakerSettings,
  defaultRatePerSecond,
  GUARD_METRIC_DIMENSION,
  GuardMetric,
  guardEnvironment,
  type RateSettings,
} from './guard-config.js';
import { CALL_SAFETY_MARGIN_MS, MAX_CALL_TIMEOUT_MS } from './http.js';

/** The circuit is open: the system was failing and is not called. Retryable after `retryAfterSeconds`. */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  constructor(
    readonly system: string,
    /** Seconds until the circuit turns half-open (or until the probe in flight should be done). */
    readonly retryAfterSeconds: number,
  ) {
    super(`${system}: circuit open, retry in ${retryAfterSeconds} s`);
  }
}

/** No request slot is free within the caller's remaining time. Retryable after `retryAfterSeconds`. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError';
  constructor(
    readonly system: string,
    /** Seconds until the next free slot. */
    readonly retryAfterSeconds: number,
  ) {
    super(`${system}: rate limit reached, retry in ${retryAfterSeconds} s`);
  }
}

/**
 * Time kept back from a caller's remaining time when it waits for a slot, milliseconds: a full call
 * (`MAX_CALL_TIMEOUT_MS`) plus the call's own safety margin, so waiting never shortens the call's timeout.
 */
export const WAIT_RESERVE_MS = MAX_CALL_TIMEOUT_MS + CALL_SAFETY_MARGIN_MS;
/** Longest pause a 429's `Retry-After` imposes on every caller, milliseconds. */
export const MAX_THROTTLE_PAUSE_MS = 60_000;
/** Pause after a 429 that carries no `Retry-After`, milliseconds. */
const DEFAULT_THROTTLE_PAUSE_MS = 1000;
/** The `CircuitState` gauge is re-emitted at least this often while calls flow, milliseconds. */
const GAUGE_EVERY_MS = 60_000;

export interface DownstreamGuardOptions {
  /** The downstream system, e.g. `accounting`. */
  system: string;
  /** The guard's state table (partition key `pk`, string). */
  tableName: string;
  /** A client with short timeouts (e.g. `clientConfig(1000)`): the guard is on every call's path. */
  dynamodb: DynamoDBClient;
  /** @default failure rate 0.5 over ≥ 20 calls in a 30 s window of 10 s buckets, open 30 s */
  breaker?: BreakerSettings;
  /** @default no rate limit */
  rate?: RateSettings;
  /** Clock, epoch milliseconds. @default Date.now */
  now?: () => number;
  /** Waits, milliseconds. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

type Item = Record<string, AttributeValue>;
type State = 'closed' | 'half-open' | 'open';
/** How a call ended, for the breaker: failures count against the system, throttling and no call do not. */
type Outcome = 'success' | 'failure' | 'throttled' | 'not-called';

interface Admission {
  /** The breaker item as read, when it could be read. */
  seen?: Item;
  /** Set when this caller holds the half-open probe: its lease, epoch ms. */
  lease?: number;
}

const STATE_GAUGE: Record<State, number> = { closed: 0, 'half-open': 1, open: 2 };
const BUCKET_ATTRIBUTE = /^([nf])(\d+)$/;

/**
 * Guards the calls to one downstream system: refuses them while its circuit is open, spaces them to the
 * shared rate, and records how they ended.
 */
export class DownstreamGuard {
  readonly system: string;
  private readonly tableName: string;
  private readonly dynamodb: DynamoDBClient;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly breaker: {
    failureRate: number;
    minimumCalls: number;
    bucketMs: number;
    windowBuckets: number;
    openMs: number;
  };
  private readonly rate?: { intervalMs: number; toleranceMs: number };
  /** The last `tat` this instance saw: guesses whether the bucket is idle, saving a conditional miss. */
  private lastTat = 0;
  private lastGauge?: { state: State; at: number };

  constructor(options: DownstreamGuardOptions) {
    this.system = options.system;
    this.tableName = options.tableName;
    this.dynamodb = options.dynamodb;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const breaker = options.breaker ?? {};
    const bucketSeconds = breaker.bucketSeconds ?? 10;
    this.breaker = {
      failureRate: breaker.failureRate ?? 0.5,
      minimumCalls: breaker.minimumCalls ?? 20,
      bucketMs: bucketSeconds * 1000,
      windowBuckets: Math.max(1, Math.ceil((breaker.windowSeconds ?? 30) / bucketSeconds)),
      openMs: (breaker.openSeconds ?? 30) * 1000,
    };
    if (options.rate) {
      const perSecond = options.rate.ratePerSecond ?? defaultRatePerSecond(options.rate.vendorLimitPerSecond);
      const burst = options.rate.burst ?? Math.max(1, Math.floor(perSecond));
      const intervalMs = 1000 / perSecond;
      this.rate = { intervalMs, toleranceMs: (burst - 1) * intervalMs };
    }
  }

  /**
   * Runs one call to the system under the breaker and the limiter, and counts it: `DownstreamCall`
   * `[downstream, outcome]` for every call, refused ones included, and `DownstreamLatency` `[downstream]`,
   * milliseconds, for a call that reached the system (functions/shared/hub-metrics.ts). Every connector call
   * of the steps and consumers goes through here, one `callDownstream` per `run`.
   * @param call the call; gets the time it has left, milliseconds (less than `remainingTimeMs` when the
   *   guard waited for a slot): pass that to `callDownstream`
   * @param remainingTimeMs the Lambda's remaining time, milliseconds; waits for a slot end at
   *   `remainingTimeMs − WAIT_RESERVE_MS`
   * @returns what `call` returns
   * @throws CircuitOpenError while the circuit is open, or half-open with another caller's probe in flight
   * @throws RateLimitedError when no slot is free in time
   * @throws whatever `call` throws, unchanged
   */
  async run<T>(call: (remainingTimeMs: number) => Promise<T>, remainingTimeMs: number): Promise<T> {
    const deadline = this.now() + remainingTimeMs;
    let admission: Admission;
    try {
      admission = await this.admit(deadline);
    } catch (error) {
      this.counted(CallOutcome.refused);
      throw error;
    }
    try {
      await this.takeSlot(deadline);
    } catch (error) {
      this.counted(CallOutcome.refused);
      if (admission.lease !== undefined) await this.settleProbe(admission, 'not-called');
      throw error;
    }
    const startedAt = this.now();
    let result: T;
    try {
      result = await call(deadline - startedAt);
    } catch (error) {
      const outcome = outcomeOf(error);
      this.counted(
        isTransient(error) ? CallOutcome.transient : CallOutcome.terminal,
        outcome === 'not-called' ? undefined : this.now() - startedAt,
      );
      await this.record(admission, outcome, error);
      throw error;
    }
    this.counted(CallOutcome.ok, this.now() - startedAt);
    await this.record(admission, 'success');
    return result;
  }

  /** Reads the breaker; refuses the call when open, claims the probe when half-open. */
  private async admit(deadline: number): Promise<Admission> {
    let seen: Item;
    try {
      const { Item } = await this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key('breaker') }),
      );
      seen = Item ?? {};
    } catch (error) {
      this.unavailable('read the circuit', error);
      return {};
    }
    const now = this.now();
    const state = stateOf(seen, now);
    this.gauge(state, now);
    if (state === 'closed') return { seen };
    if (state === 'open') throw this.refuse(numberOf(seen.openUntil) - now);
    const probeUntil = numberOf(seen.probeUntil);
    if (probeUntil > now) throw this.refuse(Math.min(probeUntil - now, MAX_CALL_TIMEOUT_MS));
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key('breaker'),
          UpdateExpression: 'SET #probeUntil = :lease',
          ConditionExpression:
            '#state = :open AND #openUntil <= :now AND (attribute_not_exists(#probeUntil) OR #probeUntil <= :now)',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#openUntil': 'openUntil',
            '#probeUntil': 'probeUntil',
          },
          ExpressionAttributeValues: { ':open': { S: 'open' }, ':now': num(now), ':lease': num(deadline) },
        }),
      );
      logger.info('circuit half-open: probing', { downstream: this.system });
      return { seen, lease: deadline };
    } catch (error) {
      if (isConditionFailed(error)) throw this.refuse(MAX_CALL_TIMEOUT_MS);
      this.unavailable('claim the probe', error);
      return { seen };
    }
  }

  /** Takes a slot of the shared rate, waiting for it when it is within the caller's time. */
  private async takeSlot(deadline: number): Promise<void> {
    if (!this.rate) return;
    const { intervalMs, toleranceMs } = this.rate;
    let idle = this.lastTat <= this.now();
    // Idle and busy buckets need different conditional writes; a wrong guess costs one more attempt.
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const now = this.now();
      const maxWaitMs = Math.max(0, deadline - now - WAIT_RESERVE_MS);
      try {
        if (idle) {
          await this.dynamodb.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: this.key('rate'),
              UpdateExpression: 'SET #tat = :next',
              ConditionExpression: 'attribute_not_exists(#tat) OR #tat <= :now',
              ExpressionAttributeNames: { '#tat': 'tat' },
              ExpressionAttributeValues: { ':now': num(now), ':next': num(now + intervalMs) },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          this.lastTat = now + intervalMs;
          return;
        }
        const { Attributes } = await this.dynamodb.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: this.key('rate'),
            UpdateExpression: 'SET #tat = #tat + :interval',
            ConditionExpression: '#tat > :now AND #tat <= :latest',
            ExpressionAttributeNames: { '#tat': 'tat' },
            ExpressionAttributeValues: {
              ':now': num(now),
              ':latest': num(now + toleranceMs + maxWaitMs),
              ':interval': num(intervalMs),
            },
            ReturnValues: 'UPDATED_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const previous = numberOf(Attributes?.tat);
        this.lastTat = previous + intervalMs;
        const waitMs = previous - toleranceMs - now;
        if (waitMs > 0) await this.sleep(waitMs);
        return;
      } catch (error) {
        if (!isConditionFailed(error)) {
          this.unavailable('take a rate slot', error);
          return;
        }
        let tat: number | undefined;
        try {
          tat = await this.currentTat(error);
        } catch (readError) {
          this.unavailable('read the rate', readError);
          return;
        }
        this.lastTat = tat ?? 0;
        idle = tat === undefined || tat <= now;
        const waitMs = (tat ?? 0) - toleranceMs - now;
        if (!idle && waitMs > maxWaitMs) throw this.limit(waitMs);
      }
    }
    throw this.limit(intervalMs);
  }

  /** The stored `tat` after a failed condition: from the error when DynamoDB returned the item, else read. */
  private async currentTat(error: unknown): Promise<number | undefined> {
    let item = (error as ConditionalCheckFailedException).Item;
    if (!item) {
      // Some emulators omit the item (ReturnValuesOnConditionCheckFailure unsupported): read it instead.
      const read = await this.dynamodb.send(
        new GetItemCommand({ TableName: this.tableName, Key: this.key('rate'), ConsistentRead: true }),
      );
      item = read.Item;
    }
    return item?.tat?.N === undefined ? undefined : Number(item.tat.N);
  }

  /** Records how a call ended: settles the probe, or counts the call and opens the circuit when due. */
  private async record(admission: Admission, outcome: Outcome, error?: unknown): Promise<void> {
    if (outcome === 'throttled') {
      this.count(GuardMetric.DownstreamThrottled);
      await this.slowDown((error as { retryAfterSeconds?: number }).retryAfterSeconds);
    }
    if (admission.lease !== undefined) {
      await this.settleProbe(admission, outcome);
      return;
    }
    if (outcome === 'throttled' || outcome === 'not-called') return;
    const now = this.now();
    const bucket = Math.floor(now / this.breaker.bucketMs);
    const names: Record<string, string> = { '#n': `n${bucket}` };
    const adds = ['#n :one'];
    if (outcome === 'failure') {
      names['#f'] = `f${bucket}`;
      adds.push('#f :one');
    }
    const stale = bucketAttributes(admission.seen).filter(
      (attribute) => attribute.bucket <= bucket - this.breaker.windowBuckets,
    );
    stale.forEach((attribute, index) => {
      names[`#s${index}`] = attribute.name;
    });
    const remove = stale.length > 0 ? ` REMOVE ${stale.map((_, index) => `#s${index}`).join(', ')}` : '';
    let counted: Item | undefined;
    try {
      const { Attributes } = await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key('breaker'),
          UpdateExpression: `ADD ${adds.join(', ')}${remove}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':one': num(1) },
          ReturnValues: outcome === 'failure' ? 'ALL_NEW' : 'NONE',
        }),
      );
      counted = Attributes;
    } catch (writeError) {
      this.unavailable('count the call', writeError);
      return;
    }
    if (outcome === 'failure' && counted && this.shouldOpen(counted, bucket)) await this.open(now);
  }

  /** Whether the counts of the window call for opening: closed, enough calls, failure rate reached. */
  private shouldOpen(item: Item, bucket: number): boolean {
    if (item.state?.S === 'open') return false;
    let calls = 0;
    let failures = 0;
    for (const attribute of bucketAttributes(item)) {
      if (attribute.bucket <= bucket - this.breaker.windowBuckets || attribute.bucket > bucket) continue;
      if (attribute.kind === 'n') calls += attribute.value;
      else failures += attribute.value;
    }
    return calls >= this.breaker.minimumCalls && failures / calls >= this.breaker.failureRate;
  }

  /** Opens a closed circuit; of concurrent openers one wins, and only it reports the transition. */
  private async open(now: number): Promise<void> {
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key('breaker'),
          UpdateExpression: 'SET #state = :open, #openUntil = :until REMOVE #probeUntil',
          ConditionExpression: 'attribute_not_exists(#state) OR #state <> :open',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#openUntil': 'openUntil',
            '#probeUntil': 'probeUntil',
          },
          ExpressionAttributeValues: { ':open': { S: 'open' }, ':until': num(now + this.breaker.openMs) },
        }),
      );
    } catch (error) {
      if (!isConditionFailed(error)) this.unavailable('open the circuit', error);
      return;
    }
    this.opened(now, 'failure rate reached');
  }

  /**
   * Ends the half-open probe: a failure re-opens the circuit; a success (any answer but a 5xx, timeout or
   * network error) closes it and clears the counts; a call that never happened gives the probe back.
   * Each write holds only while this caller's lease does.
   */
  private async settleProbe(admission: Admission, outcome: Outcome): Promise<void> {
    const now = this.now();
    const names: Record<string, string> = { '#probeUntil': 'probeUntil' };
    const values: Item = { ':lease': num(admission.lease ?? 0) };
    let update: string;
    if (outcome === 'failure') {
      update = 'SET #openUntil = :until REMOVE #probeUntil';
      names['#openUntil'] = 'openUntil';
      values[':until'] = num(now + this.breaker.openMs);
    } else if (outcome === 'not-called') {
      update = 'REMOVE #probeUntil';
    } else {
      const counts = bucketAttributes(admission.seen);
      counts.forEach((attribute, index) => {
        names[`#c${index}`] = attribute.name;
      });
      names['#state'] = 'state';
      names['#openUntil'] = 'openUntil';
      values[':closed'] = { S: 'closed' };
      update = `SET #state = :closed REMOVE #openUntil, #probeUntil${counts.map((_, index) => `, #c${index}`).join('')}`;
    }
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key('breaker'),
          UpdateExpression: update,
          ConditionExpression: '#probeUntil = :lease',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      // A lost lease means the probe overran its deadline and another caller took over: leave it theirs.
      if (!isConditionFailed(error)) this.unavailable('settle the probe', error);
      return;
    }
    if (outcome === 'failure') this.opened(now, 'probe failed');
    else if (outcome !== 'not-called') {
      logger.info('circuit closed: probe succeeded', { downstream: this.system });
      this.gauge('closed', now, true);
    }
  }

  /** After a 429, holds every caller back for `Retry-After` (capped), then lets them resume at the rate. */
  private async slowDown(retryAfterSeconds: number | undefined): Promise<void> {
    if (!this.rate) return;
    const pauseMs = Math.min(
      MAX_THROTTLE_PAUSE_MS,
      retryAfterSeconds === undefined ? DEFAULT_THROTTLE_PAUSE_MS : retryAfterSeconds * 1000,
    );
    // Admission starts at tat − tolerance, so the first slot is exactly at the end of the pause, no burst.
    const until = this.now() + pauseMs + this.rate.toleranceMs;
    try {
      await this.dynamodb.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: this.key('rate'),
          UpdateExpression: 'SET #tat = :until',
          ConditionExpression: 'attribute_not_exists(#tat) OR #tat < :until',
          ExpressionAttributeNames: { '#tat': 'tat' },
          ExpressionAttributeValues: { ':until': num(until) },
        }),
      );
      this.lastTat = until;
    } catch (error) {
      if (!isConditionFailed(error)) this.unavailable('slow the rate', error);
    }
  }

  private opened(now: number, why: string): void {
    logger.warn('circuit opened', {
      downstream: this.system,
      reason: why,
      openSeconds: this.breaker.openMs / 1000,
    });
    this.count(GuardMetric.CircuitOpened);
    this.gauge('open', now, true);
  }

  private refuse(untilMs: number): CircuitOpenError {
    this.count(GuardMetric.CircuitOpen);
    return new CircuitOpenError(this.system, Math.max(1, Math.ceil(untilMs / 1000)));
  }

  private limit(waitMs: number): RateLimitedError {
    this.count(GuardMetric.RateLimited);
    return new RateLimitedError(this.system, Math.max(1, Math.ceil(waitMs / 1000)));
  }

  private unavailable(action: string, error: unknown): void {
    logger.error('downstream guard state unavailable, failing open', {
      downstream: this.system,
      action,
      error: error as Error,
    });
    this.count(GuardMetric.GuardStateUnavailable);
  }

  /** Emits the state gauge when it changed, when forced, or when a minute has passed since the last one. */
  private gauge(state: State, now: number, force = false): void {
    if (!force && this.lastGauge?.state === state && now - this.lastGauge.at < GAUGE_EVERY_MS) return;
    this.lastGauge = { state, at: now };
    this.emit(GuardMetric.CircuitState, STATE_GAUGE[state], MetricUnit.NoUnit);
  }

  private count(name: string): void {
    this.emit(name, 1, MetricUnit.Count);
  }

  /** Counts one call by outcome, and its duration, milliseconds, when it reached the system. */
  private counted(outcome: CallOutcome, latencyMs?: number): void {
    emitMetric(
      HubMetric.DownstreamCall,
      MetricUnit.Count,
      1,
      { [Dimension.downstream]: this.system, [Dimension.outcome]: outcome },
      { withService: false },
    );
    if (latencyMs !== undefined) this.emit(HubMetric.DownstreamLatency, latencyMs, MetricUnit.Milliseconds);
  }

  /** One metric with the `downstream` dimension only (no `service`), so one alarm covers every caller. */
  private emit(name: string, value: number, unit: (typeof MetricUnit)[keyof typeof MetricUnit]): void {
    emitMetric(name, unit, value, { [GUARD_METRIC_DIMENSION]: this.system }, { withService: false });
  }

  private key(kind: 'breaker' | 'rate'): Item {
    return { pk: { S: `${kind}#${this.system}` } };
  }
}

/**
 * The guard of the function's downstream system, from `GUARD_TABLE_NAME` and `DOWNSTREAM_GUARD` (set by the
 * `DownstreamGuards` construct). Call at module load.
 * @throws ConfigurationError when the environment is missing or malformed
 */
export function guardFromEnvironment(dynamodb: DynamoDBClient): DownstreamGuard {
  const { tableName, settings } = guardEnvironment();
  return new DownstreamGuard({
    system: settings.system,
    tableName,
    dynamodb,
    ...(settings.breaker ? { breaker: settings.breaker } : {}),
    ...(settings.rate ? { rate: settings.rate } : {}),
  });
}

/**
 * How a failed call counts. Only `TransientUpstreamError` (5xx, 408, timeouts, network errors) is a failure
 * of the system; a 429 is throttling; `no time left` means the system was never called; anything else (a
 * 4xx as `TerminalUpstreamError`, a malformed answer) means the system answered. Errors are matched by name,
 * as step retries match them.
 */
function outcomeOf(error: unknown): Outcome {
  if (!(error instanceof Error) || error.name !== 'TransientUpstreamError') return 'success';
  const status = (error as { status?: unknown }).status;
  if (status === 429 || /\bHTTP 429\b/.test(error.message)) return 'throttled';
  if (/no time left/.test(error.message)) return 'not-called';
  return 'failure';
}

/**
 * Whether a call's error is retryable (`TransientUpstreamError`, matched by name like `outcomeOf`); any other
 * error (a 4xx as `TerminalUpstreamError`, an answer the connector cannot use) ends the flow's step for good.
 */
function isTransient(error: unknown): boolean {
  return error instanceof Error && error.name === 'TransientUpstreamError';
}

/** Matched by name: the error may come from another copy of the SDK (a traced or bundled client). */
function isConditionFailed(error: unknown): boolean {
  return (error as { name?: unknown })?.name === 'ConditionalCheckFailedException';
}

function stateOf(item: Item, now: number): State {
  if (item.state?.S !== 'open') return 'closed';
  return numberOf(item.openUntil) > now ? 'open' : 'half-open';
}

function bucketAttributes(
  item: Item | undefined,
): { name: string; kind: 'n' | 'f'; bucket: number; value: number }[] {
  return Object.entries(item ?? {}).flatMap(([name, value]) => {
    const match = BUCKET_ATTRIBUTE.exec(name);
    if (!match || value.N === undefined) return [];
    return [{ name, kind: match[1] as 'n' | 'f', bucket: Number(match[2]), value: Number(value.N) }];
  });
}

function numberOf(value: AttributeValue | undefined): number {
  return value?.N === undefined ? 0 : Number(value.N);
}

function num(value: number): AttributeValue {
  return { N: String(value) };
}
