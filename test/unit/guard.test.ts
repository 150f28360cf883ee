import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientResolvedConfig,
  GetItemCommand,
  type GetItemCommandInput,
  InternalServerError,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  DownstreamGuard,
  type DownstreamGuardOptions,
  guardFromEnvironment,
  RateLimitedError,
} from '../../functions/connectors/guard.js';
import { TerminalUpstreamError, TransientUpstreamError } from '../../functions/connectors/http.js';
import { type CapturedLogs, captureLogs } from './support/logs.js';

vi.hoisted(() => {
  // Read when functions/shared/powertools.ts creates its Metrics instance, at import.
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'Switchyard';
  process.env.POWERTOOLS_SERVICE_NAME = 'guard-test';
});

type Item = Record<string, AttributeValue>;

/**
 * The guard's table in memory, behind an aws-sdk-client-mock DynamoDB mock. It evaluates the expressions
 * the way DynamoDB does, for the subset the guard may use: conditions with comparisons, AND/OR/NOT,
 * parentheses and attribute_(not_)exists; updates with SET (`a = v`, `a = b + v`), ADD and REMOVE; the
 * operands of SET are read from the item before the update; ReturnValues ALL_NEW / UPDATED_OLD and
 * ReturnValuesOnConditionCheckFailure ALL_OLD. Like DynamoDB it refuses bare attribute names (a reserved word
 * would break), unused or undefined placeholders and overlapping paths; such requests are kept in `invalid`
 * so a test fails on them even though the guard, failing open, would carry on.
 */
class FakeGuardTable {
  readonly items = new Map<string, Item>();
  readonly operations: { command: 'GetItem' | 'UpdateItem'; pk: string }[] = [];
  readonly invalid: string[] = [];
  /** Which requests fail as if DynamoDB were unreachable. */
  failing: 'none' | 'reads' | 'all' = 'none';

  constructor(dynamodb: AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBClientResolvedConfig>) {
    dynamodb.on(GetItemCommand).callsFake((input: GetItemCommandInput) => this.get(input));
    dynamodb.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => this.update(input));
  }

  /** The item of `pk` with its numbers as numbers. */
  view(pk: string): Record<string, string | number> {
    return Object.fromEntries(
      Object.entries(this.items.get(pk) ?? {}).map(([name, value]) => [
        name,
        value.N === undefined ? (value.S ?? '?') : Number(value.N),
      ]),
    );
  }

  private get(input: GetItemCommandInput) {
    const pk = this.pkOf(input.Key, 'GetItem');
    const item = this.items.get(pk);
    return item ? { Item: { ...item } } : {};
  }

  private update(input: UpdateItemCommandInput) {
    const pk = this.pkOf(input.Key, 'UpdateItem');
    const old = this.items.get(pk);
    const item: Item = { ...(old ?? { pk: { S: pk } }) };
    const used = new Set<string>();
    const names = input.ExpressionAttributeNames ?? {};
    const values = input.ExpressionAttributeValues ?? {};
    try {
      const written = tokenize(`${input.UpdateExpression ?? ''} ${input.ConditionExpression ?? ''}`);
      for (const placeholder of [...Object.keys(names), ...Object.keys(values)]) {
        if (!written.includes(placeholder)) throw new Error(`unused placeholder ${placeholder}`);
      }
      const holds =
        input.ConditionExpression === undefined ||
        evaluateCondition(input.ConditionExpression, old ?? {}, names, values, used);
      if (!holds) {
        throw new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: { httpStatusCode: 400 },
          ...(input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old ? { Item: { ...old } } : {}),
        });
      }
      const updated = applyUpdate(input.UpdateExpression ?? '', old ?? {}, item, names, values, used);
      this.items.set(pk, item);
      if (input.ReturnValues === 'ALL_NEW') return { Attributes: { ...item } };
      if (input.ReturnValues === 'UPDATED_OLD') {
        return {
          Attributes: Object.fromEntries(
            updated.flatMap((name) => (old?.[name] ? [[name, old[name]] as const] : [])),
          ),
        };
      }
      return {};
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        this.invalid.push(`${(error as Error).message} in ${JSON.stringify(input)}`);
      }
      throw error;
    }
  }

  private pkOf(key: Item | undefined, command: 'GetItem' | 'UpdateItem'): string {
    if (this.failing === 'all' || (this.failing === 'reads' && command === 'GetItem')) {
      throw new InternalServerError({ message: 'connect ETIMEDOUT', $metadata: { httpStatusCode: 500 } });
    }
    const pk = key?.pk?.S;
    if (!pk || Object.keys(key ?? {}).length !== 1) throw new Error(`bad key ${JSON.stringify(key)}`);
    this.operations.push({ command, pk });
    return pk;
  }
}

function tokenize(expression: string): string[] {
  const tokens = expression.match(/<>|<=|>=|[()=<>,+-]|[#:]?\w+/g) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error(`cannot parse "${expression}"`);
  return tokens;
}

function placeholder(
  token: string | undefined,
  names: Record<string, string>,
  values: Item,
  used: Set<string>,
  item: Item,
): AttributeValue | undefined {
  if (token?.startsWith(':')) {
    used.add(token);
    const value = values[token];
    if (!value) throw new Error(`undefined value ${token}`);
    return value;
  }
  return item[pathOf(token, names, used)];
}

function pathOf(token: string | undefined, names: Record<string, string>, used: Set<string>): string {
  if (!token?.startsWith('#')) throw new Error(`bare attribute name "${token}"`);
  used.add(token);
  const name = names[token];
  if (!name) throw new Error(`undefined name ${token}`);
  return name;
}

function evaluateCondition(
  expression: string,
  item: Item,
  names: Record<string, string>,
  values: Item,
  used: Set<string>,
): boolean {
  const tokens = tokenize(expression);
  let position = 0;
  const next = () => tokens[position++];
  const expect = (token: string) => {
    if (next() !== token) throw new Error(`expected "${token}" in "${expression}"`);
  };
  const primary = (): boolean => {
    const token = tokens[position];
    if (token === '(') {
      next();
      const value = or();
      expect(')');
      return value;
    }
    if (token === 'NOT') {
      next();
      return !primary();
    }
    if (token === 'attribute_exists' || token === 'attribute_not_exists') {
      next();
      expect('(');
      const exists = item[pathOf(next(), names, used)] !== undefined;
      expect(')');
      return token === 'attribute_exists' ? exists : !exists;
    }
    const left = placeholder(next(), names, values, used, item);
    const operator = next();
    const right = placeholder(next(), names, values, used, item);
    return compare(left, operator ?? '', right);
  };
  const and = (): boolean => {
    let value = primary();
    while (tokens[position] === 'AND') {
      next();
      const right = primary();
      value = value && right;
    }
    return value;
  };
  const or = (): boolean => {
    let value = and();
    while (tokens[position] === 'OR') {
      next();
      const right = and();
      value = value || right;
    }
    return value;
  };
  const result = or();
  if (position !== tokens.length) throw new Error(`trailing tokens in "${expression}"`);
  return result;
}

function compare(left: AttributeValue | undefined, operator: string, right: AttributeValue | undefined) {
  if (!left || !right) return false;
  const numeric = left.N !== undefined && right.N !== undefined;
  if (!numeric && (left.S === undefined || right.S === undefined)) return false;
  const [a, b] = numeric ? [Number(left.N), Number(right.N)] : [left.S ?? '', right.S ?? ''];
  switch (operator) {
    case '=':
      return a === b;
    case '<>':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      throw new Error(`unknown comparator "${operator}"`);
  }
}

/** Applies SET/ADD/REMOVE clauses to `item` (operands read from `old`); returns the SET and ADD paths. */
function applyUpdate(
  expression: string,
  old: Item,
  item: Item,
  names: Record<string, string>,
  values: Item,
  used: Set<string>,
): string[] {
  const parts = expression.split(/\b(SET|ADD|REMOVE)\b/);
  const touched: string[] = [];
  const updated: string[] = [];
  const touch = (name: string) => {
    if (touched.includes(name)) throw new Error(`Two document paths overlap: ${name}`);
    touched.push(name);
  };
  if (parts[0]?.trim()) throw new Error(`cannot parse "${expression}"`);
  for (let index = 1; index < parts.length; index += 2) {
    const clauses = (parts[index + 1] ?? '').split(',').map((clause) => tokenize(clause));
    for (const tokens of clauses) {
      const name = pathOf(tokens[0], names, used);
      touch(name);
      if (parts[index] === 'REMOVE') {
        if (tokens.length !== 1) throw new Error(`bad REMOVE in "${expression}"`);
        delete item[name];
      } else if (parts[index] === 'ADD') {
        const value = placeholder(tokens[1], names, values, used, old);
        if (tokens.length !== 2 || value?.N === undefined) throw new Error(`bad ADD in "${expression}"`);
        item[name] = { N: String(Number(old[name]?.N ?? 0) + Number(value.N)) };
        updated.push(name);
      } else {
        if (tokens[1] !== '=') throw new Error(`bad SET in "${expression}"`);
        let value = placeholder(tokens[2], names, values, used, old);
        if (tokens.length === 5) {
          const other = placeholder(tokens[4], names, values, used, old);
          if (value?.N === undefined || other?.N === undefined)
            throw new Error(
              `The provided expression refers to an attribute that does not exist: "${expression}"`,
            );
          const sum =
            tokens[3] === '+' ? Number(value.N) + Number(other.N) : Number(value.N) - Number(other.N);
          value = { N: String(sum) };
        } else if (tokens.length !== 3) throw new Error(`bad SET in "${expression}"`);
        if (!value) throw new Error(`SET from a missing attribute in "${expression}"`);
        item[name] = value;
        updated.push(name);
      }
    }
  }
  return updated;
}

const START = Date.UTC(2026, 10, 21, 12, 0, 0);

/** A clock that only moves when every caller is asleep: then to the earliest wake-up time. */
class FakeClock {
  private t = START;
  private readonly sleepers: { at: number; wake: () => void }[] = [];
  readonly now = () => this.t;
  readonly sleep = (ms: number) =>
    new Promise<void>((wake) => {
      this.sleepers.push({ at: this.t + ms, wake });
    });
  advance(ms: number): void {
    this.t += ms;
  }
  /** Settles `work`, moving the clock to wake sleepers one by one whenever nothing else can run. */
  async drive<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    work.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return work;
      this.sleepers.sort((a, b) => a.at - b.at);
      const sleeper = this.sleepers.shift();
      if (!sleeper) throw new Error('nothing is asleep, yet the work is not done');
      this.t = Math.max(this.t, sleeper.at);
      sleeper.wake();
    }
  }
}

const dynamoMock = mockClient(DynamoDBClient);
const serverError = () => new TransientUpstreamError('POST invoices: HTTP 503');
const throttled = (retryAfterSeconds?: number) =>
  new TransientUpstreamError('POST invoices: HTTP 429', retryAfterSeconds);
const badRequest = () => new TerminalUpstreamError('POST invoices: HTTP 400', 400);

/** The error a promise rejects with (fails the test when it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

describe('DownstreamGuard', () => {
  let table: FakeGuardTable;
  let clock: FakeClock;
  let logs: CapturedLogs;

  beforeEach(() => {
    dynamoMock.reset();
    table = new FakeGuardTable(dynamoMock);
    clock = new FakeClock();
    logs = captureLogs();
  });

  afterEach(() => {
    logs.restore();
    vi.unstubAllEnvs();
    expect(table.invalid).toEqual([]);
  });

  function guard(options: Partial<DownstreamGuardOptions> = {}): DownstreamGuard {
    return new DownstreamGuard({
      system: 'accounting',
      tableName: 'guards',
      dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
      now: clock.now,
      sleep: clock.sleep,
      ...options,
    });
  }

  /** Values of a guard metric emitted so far, with the dimensions each was emitted under. */
  function metric(name: string): { value: unknown; dimensions: unknown; downstream: unknown }[] {
    return logs
      .entries()
      .filter((entry) => '_aws' in entry && name in entry)
      .map((entry) => ({
        value: entry[name],
        dimensions: (entry._aws as { CloudWatchMetrics: { Dimensions: unknown }[] }).CloudWatchMetrics[0]
          ?.Dimensions,
        downstream: entry.downstream,
      }));
  }

  /** Runs calls one after another, each failing with `error` or succeeding when it is undefined. */
  async function runCalls(target: DownstreamGuard, outcomes: (Error | undefined)[]): Promise<void> {
    for (const error of outcomes) {
      await target
        .run(async () => {
          if (error) throw error;
          return 'ok';
        }, 10_000)
        .catch((thrown: Error) => {
          if (thrown !== error) throw thrown;
        });
    }
  }

  /** Opens the circuit: 20 calls of which 10 fail with a 5xx. */
  async function openCircuit(target: DownstreamGuard): Promise<void> {
    await runCalls(target, [
      ...Array.from({ length: 10 }, () => undefined),
      ...Array.from({ length: 10 }, serverError),
    ]);
    expect(table.view('breaker#accounting').state).toBe('open');
  }

  describe('circuit breaker', () => {
    it('opens once half of at least 20 calls in the window failed, and reports the transition', async () => {
      // Prepare
      const accounting = guard();
      await runCalls(accounting, [
        ...Array.from({ length: 10 }, () => undefined),
        ...Array.from({ length: 9 }, serverError),
      ]);
      const closedAfter19 = table.view('breaker#accounting').state;

      // Act
      await runCalls(accounting, [serverError()]);

      // Assess
      expect(closedAfter19).toBeUndefined();
      expect(table.view('breaker#accounting')).toMatchObject({ state: 'open', openUntil: START + 30_000 });
      expect(metric('CircuitOpened')).toEqual([
        { value: 1, dimensions: [['downstream']], downstream: 'accounting' },
      ]);
      expect(metric('CircuitState').at(-1)).toMatchObject({ value: 2, downstream: 'accounting' });
    });

    it('refuses calls while open without calling the system, retryable when half-open begins', async () => {
      // Prepare
      const accounting = guard();
      await openCircuit(accounting);
      clock.advance(12_000);
      const call = vi.fn(async () => 'ok');

      // Act
      const error = await rejectionOf(accounting.run(call, 10_000));

      // Assess
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error).toMatchObject({ name: 'CircuitOpenError', system: 'accounting', retryAfterSeconds: 18 });
      expect(call).not.toHaveBeenCalled();
      expect(metric('CircuitOpen')).toEqual([
        { value: 1, dimensions: [['downstream']], downstream: 'accounting' },
      ]);
    });

    it('opens for callers on other instances too', async () => {
      // Prepare
      await openCircuit(guard());
      const otherInstance = guard();
      const call = vi.fn(async () => 'ok');

      // Act
      const error = await rejectionOf(otherInstance.run(call, 10_000));

      // Assess
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(call).not.toHaveBeenCalled();
    });

    it('counts neither 429 nor other 4xx as failures (a 4xx is an answer, a 429 is not counted at all)', async () => {
      // Prepare
      const accounting = guard();

      // Act
      await runCalls(accounting, [
        ...Array.from({ length: 20 }, () => throttled()),
        ...Array.from({ length: 20 }, badRequest),
        ...Array.from({ length: 5 }, serverError),
      ]);

      // Assess
      const bucket = Math.floor(START / 10_000);
      expect(table.view('breaker#accounting')).toEqual({
        pk: 'breaker#accounting',
        [`n${bucket}`]: 25,
        [`f${bucket}`]: 5,
      });
      const call = vi.fn(async () => 'ok');
      await expect(accounting.run(call, 10_000)).resolves.toBe('ok');
      expect(metric('DownstreamThrottled')).toHaveLength(20);
      expect(metric('CircuitOpened')).toEqual([]);
    });

    it('forgets calls older than the window and drops their counts from the item', async () => {
      // Prepare
      const accounting = guard();
      await runCalls(accounting, Array.from({ length: 15 }, serverError));
      const oldBucket = Math.floor(START / 10_000);
      clock.advance(30_000);

      // Act
      await runCalls(accounting, Array.from({ length: 10 }, serverError));

      // Assess
      const item = table.view('breaker#accounting');
      expect(item.state).toBeUndefined();
      expect(item).not.toHaveProperty(`n${oldBucket}`);
      expect(item).not.toHaveProperty(`f${oldBucket}`);
      expect(item[`n${oldBucket + 3}`]).toBe(10);
    });

    it('judges only the window even when stale counts could not be pruned (the read failed)', async () => {
      // Prepare
      const accounting = guard();
      await runCalls(accounting, Array.from({ length: 15 }, serverError));
      clock.advance(30_000);
      table.failing = 'reads';

      // Act
      await runCalls(accounting, Array.from({ length: 10 }, serverError));

      // Assess
      const item = table.view('breaker#accounting');
      expect(item[`f${Math.floor(START / 10_000)}`]).toBe(15);
      expect(item.state).toBeUndefined();
    });

    it('lets exactly one of many concurrent callers probe after openSeconds; its success closes', async () => {
      // Prepare
      const accounting = guard();
      await openCircuit(accounting);
      clock.advance(30_000);
      let answer: (value: string) => void = () => undefined;
      const probe = vi.fn(() => new Promise<string>((resolve) => (answer = resolve)));
      const instances = Array.from({ length: 8 }, () => guard());

      // Act
      const runs = Promise.allSettled(instances.map((instance) => instance.run(probe, 10_000)));
      await new Promise((resolve) => setImmediate(resolve));
      const duringProbe = await rejectionOf(guard().run(probe, 10_000));
      answer('ok');
      const results = await runs;

      // Assess
      expect(probe).toHaveBeenCalledTimes(1);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
      expect(refused).toHaveLength(7);
      for (const error of refused) expect(error).toBeInstanceOf(CircuitOpenError);
      expect(duringProbe).toBeInstanceOf(CircuitOpenError);
      expect(table.view('breaker#accounting')).toEqual({ pk: 'breaker#accounting', state: 'closed' });
      await expect(accounting.run(async () => 'after', 10_000)).resolves.toBe('after');
    });

    it('re-opens for openSeconds when the probe fails', async () => {
      // Prepare
      const accounting = guard();
      await openCircuit(accounting);
      clock.advance(30_000);

      // Act
      const probeError = await rejectionOf(
        accounting.run(async () => {
          throw serverError();
        }, 10_000),
      );
      clock.advance(1000);
      const next = await rejectionOf(accounting.run(async () => 'ok', 10_000));

      // Assess
      expect(probeError).toBeInstanceOf(TransientUpstreamError);
      expect(next).toMatchObject({ name: 'CircuitOpenError', retryAfterSeconds: 29 });
      expect(table.view('breaker#accounting')).toMatchObject({ state: 'open', openUntil: START + 60_000 });
      expect(table.view('breaker#accounting')).not.toHaveProperty('probeUntil');
      expect(metric('CircuitOpened')).toHaveLength(2);
    });

    it('lets another caller probe when the prober died before settling (its lease ran out)', async () => {
      // Prepare
      const accounting = guard();
      await openCircuit(accounting);
      clock.advance(30_000);
      void accounting.run(() => new Promise<string>(() => undefined), 5000);
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(5000);

      // Act
      const result = await guard().run(async () => 'ok', 10_000);

      // Assess
      expect(result).toBe('ok');
      expect(table.view('breaker#accounting').state).toBe('closed');
    });
  });

  describe('rate limiter', () => {
    it('admits at most ratePerSecond calls a second, summed over every instance', async () => {
      // Prepare
      const instances = Array.from({ length: 3 }, () =>
        guard({ rate: { vendorLimitPerSecond: 7, ratePerSecond: 5 } }),
      );
      const startedAt: number[] = [];
      const call = async () => {
        startedAt.push(clock.now() - START);
        return 'ok';
      };

      // Act
      await clock.drive(
        Promise.all(Array.from({ length: 24 }, (_, index) => instances[index % 3]?.run(call, 20_000))),
      );

      // Assess
      expect(startedAt).toEqual([
        0,
        0,
        0,
        0,
        0,
        ...Array.from({ length: 19 }, (_, index) => 200 * (index + 1)),
      ]);
      for (const from of startedAt.filter((at) => at > 0)) {
        expect(startedAt.filter((at) => at >= from && at < from + 1000).length).toBeLessThanOrEqual(5);
      }
    });

    it('defaults to 80 % of the vendor limit, with a burst of that many', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 10 } });
      const startedAt: number[] = [];

      // Act
      await clock.drive(
        Promise.all(
          Array.from({ length: 10 }, () =>
            accounting.run(async () => startedAt.push(clock.now() - START), 20_000),
          ),
        ),
      );

      // Assess
      expect(startedAt).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 125, 250]);
    });

    it('waits for a slot, then calls with the time left', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 2, ratePerSecond: 1 } });
      await accounting.run(async () => 'first', 10_000);
      const call = vi.fn(async (remainingTimeMs: number) => remainingTimeMs);

      // Act
      const remaining = await clock.drive(accounting.run(call, 10_000));

      // Assess
      expect(clock.now() - START).toBe(1000);
      expect(remaining).toBe(9000);
    });

    it('throws RateLimitedError without calling when the wait would leave too little time', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 2, ratePerSecond: 1 } });
      await accounting.run(async () => 'first', 10_000);
      const call = vi.fn(async () => 'ok');

      // Act
      const error = await rejectionOf(clock.drive(accounting.run(call, 6500)));

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect(error).toMatchObject({ name: 'RateLimitedError', system: 'accounting', retryAfterSeconds: 1 });
      expect(call).not.toHaveBeenCalled();
      expect(metric('RateLimited')).toHaveLength(1);
      clock.advance(1000);
      await expect(accounting.run(call, 6500)).resolves.toBe('ok');
      expect(clock.now() - START).toBe(1000);
    });

    it('holds every caller back for Retry-After after a 429, and does not count it against the circuit', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 25 } });
      await rejectionOf(
        accounting.run(async () => {
          throw throttled(3);
        }, 10_000),
      );
      const otherInstance = guard({ rate: { vendorLimitPerSecond: 25 } });

      // Act
      await clock.drive(otherInstance.run(async () => 'ok', 10_000));

      // Assess
      expect(clock.now() - START).toBe(3000);
      expect(metric('DownstreamThrottled')).toEqual([
        { value: 1, dimensions: [['downstream']], downstream: 'accounting' },
      ]);
      expect(table.view('breaker#accounting')).not.toHaveProperty(`f${Math.floor(START / 10_000)}`);
    });
  });

  describe('DynamoDB use', () => {
    it('costs one read and two writes for a call through a closed circuit', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 25 } });

      // Act
      await accounting.run(async () => 'ok', 10_000);

      // Assess
      expect(table.operations).toEqual([
        { command: 'GetItem', pk: 'breaker#accounting' },
        { command: 'UpdateItem', pk: 'rate#accounting' },
        { command: 'UpdateItem', pk: 'breaker#accounting' },
      ]);
    });

    it('costs one read and no write while the circuit is open', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 25 } });
      await openCircuit(accounting);
      table.operations.length = 0;

      // Act
      await rejectionOf(accounting.run(async () => 'ok', 10_000));

      // Assess
      expect(table.operations).toEqual([{ command: 'GetItem', pk: 'breaker#accounting' }]);
    });

    it('fails open when the table is unreachable: calls the system, logs and counts it', async () => {
      // Prepare
      const accounting = guard({ rate: { vendorLimitPerSecond: 25 } });
      table.failing = 'all';
      const call = vi.fn(async () => 'ok');

      // Act
      const result = await accounting.run(call, 10_000);
      const failure = await rejectionOf(
        accounting.run(async () => {
          throw badRequest();
        }, 10_000),
      );

      // Assess
      expect(result).toBe('ok');
      expect(call).toHaveBeenCalledTimes(1);
      expect(failure).toBeInstanceOf(TerminalUpstreamError);
      expect(metric('GuardStateUnavailable')).toHaveLength(6);
      expect(metric('GuardStateUnavailable')[0]).toEqual({
        value: 1,
        dimensions: [['downstream']],
        downstream: 'accounting',
      });
      expect(
        logs
          .entries()
          .filter((entry) => entry.message === 'downstream guard state unavailable, failing open'),
      ).toHaveLength(6);
    });
  });

  describe('guardFromEnvironment', () => {
    it('builds the guard of the system named in DOWNSTREAM_GUARD', async () => {
      // Prepare
      vi.stubEnv('GUARD_TABLE_NAME', 'guards');
      vi.stubEnv('DOWNSTREAM_GUARD', JSON.stringify({ system: 'crm', rate: { vendorLimitPerSecond: 10 } }));

      // Act
      const crm = guardFromEnvironment(new DynamoDBClient({ region: 'eu-west-1' }));
      await crm.run(async () => 'ok', 10_000);

      // Assess
      expect(crm.system).toBe('crm');
      expect([...table.items.keys()].sort()).toEqual(['breaker#crm', 'rate#crm']);
    });

    it('fails at load when the settings are malformed', () => {
      // Prepare
      vi.stubEnv('GUARD_TABLE_NAME', 'guards');
      vi.stubEnv('DOWNSTREAM_GUARD', JSON.stringify({ system: 'crm', rate: { vendorLimitPerSecond: 0 } }));

      // Act
      const build = () => guardFromEnvironment(new DynamoDBClient({ region: 'eu-west-1' }));

      // Assess
      expect(build).toThrow(/DOWNSTREAM_GUARD/);
    });
  });
});
