/**
 * Cost per million events, per path, from the synthesized production template and the list prices in
 * bench/prices.ts. The template says what an event touches (the API, which functions with how much memory
 * and on which architecture, which queues feed which functions in batches of what size, which tables are
 * on demand, the bus archive, the flow's state machine and its success path, logging); `ASSUMPTIONS` holds
 * what the template cannot say (durations, sizes, and the calls each function's code makes per event).
 *
 * Paths: `ingressToBus` (vendor request → canonical event on the bus), then, each from the bus on,
 * `order-paid` (the flow as the template deploys it, Standard), `order-paid-express` (the same definition run
 * as an Express workflow), and `email-sync`. Free tiers are left out; so are fixed monthly costs (secrets,
 * alarms, empty queue polls, storage) and X-Ray traces, which have no price in bench/prices.ts.
 */
import { DetailType } from '../functions/contracts.js';
import { type CfnTemplate, resolveIntrinsics, synthesizeProduction } from './cold-start.js';
import { PRICES, PRICES_READ_AT, PRICES_REGION, type PriceName } from './prices.js';
import { type BenchContext, type BenchSection, type BenchTable, round } from './section.js';

/**
 * What the template cannot tell, one place. Durations are warm invocations, billed per ms; "per event"
 * counts come from the code named beside them.
 */
export const ASSUMPTIONS = {
  /** Webhook bodies and canonical events of at most 64 KB: one SQS or EventBridge request each. */
  chunksPer64Kb: 1,
  /** Size of a canonical event, KB: what the bus archive stores per event. */
  canonicalEventKb: 2,
  /**
   * Records per batch the SQS event source mappings deliver, at most the template's BatchSize: full batches at
   * steady volume. At low volume batches are smaller, so invocations and receives per event grow.
   */
  recordsPerBatch: 10,
  /** ingest, ms: HMAC verification plus one SQS SendMessage (10–20 ms, reference doc §7.2) and Powertools. */
  ingestDurationMs: 40,
  /** router, ms per batch: records run concurrently, each 2 idempotency writes and one PutEvents, then one ledger BatchWriteItem. */
  routerBatchMs: 150,
  /** flow starter, ms per batch: one StartExecution per record, concurrently, then one ledger BatchWriteItem. */
  starterBatchMs: 120,
  /** A flow step, ms: idempotency and guard calls (~40 ms) around one HTTPS call to the company's system (~250 ms). */
  stepDurationMs: 300,
  /** email-sync, ms per batch: records run concurrently, so the slowest HTTPS call to the email platform bounds it. */
  emailSyncBatchMs: 400,
  /** A Step Functions service integration task (DynamoDB PutItem, PutEvents), ms: Express bills the time. */
  serviceIntegrationMs: 30,
  /** Express: time per state on top of its task's, ms. */
  expressOverheadPerStateMs: 10,
  /** Express: memory an execution is billed for, MB (billed in 64 MB units). */
  expressMemoryMb: 64,
  /** Share of invocations that are cold starts; INIT is billed like duration since Aug 2025. */
  coldStartShare: 0.01,
  /** INIT duration of a cold start, ms: realistic Node.js 22 with SDK clients (reference doc §7.2). */
  initDurationMs: 375,
  /**
   * Secrets Manager: each warm ingest environment reads each source's signing secret once per
   * SECRET_CACHE_SECONDS (template), so calls per event = environments × sources / TTL / rate.
   */
  ingestEnvironments: 10,
  eventsPerSecond: 100,
  /** DynamoDB items of at most 1 KB: one WRU per write. */
  writeUnitsPerWrite: 1,
  /** Guard reads are eventually consistent and under 4 KB: half an RRU (functions/connectors/guard.ts). */
  readUnitsPerGuardRead: 0.5,
  /** Powertools idempotency: PutItem (in progress) then UpdateItem (completed) per idempotent call. */
  idempotencyWritesPerCall: 2,
  /**
   * Event-ledger items written per event (functions/shared/ledger.ts), by service: router `received`,
   * `enqueued`, `routed`; starter `flow-started`; each step `step-succeeded`; email-sync `delivered`.
   */
  ledgerEntriesPerEvent: { router: 3, 'order-paid-starter': 1, step: 1, 'email-sync': 1 },
  /**
   * Downstream guard per call, closed circuit (functions/connectors/guard.ts): one read of the breaker and
   * one counting write, plus one write on the rate item when the system has a rate limit (template).
   */
  guardReadsPerCall: 1,
  guardWritesPerCall: 1,
  guardRateWritesPerCall: 1,
  /** email-sync: one conditional PutItem claiming the contact's version (functions/email-sync/handler.ts). */
  versionWritesPerEvent: 1,
  /**
   * CloudWatch Logs bytes: Lambda's START/END/REPORT lines (~350 B), Powertools JSON lines (~550 B each) and
   * embedded-metric-format lines (~450 B each), per invocation and per record.
   */
  logBytes: {
    ingestPerInvocation: 1800,
    batchPerInvocation: 800,
    routerPerRecord: 500,
    starterPerRecord: 500,
    stepPerInvocation: 1400,
    emailSyncPerRecord: 700,
    /** One REST API access-log line in the stage's format (template). */
    apiAccessLogPerRequest: 320,
    /** One execution-history event logged by a state machine at level ALL without execution data. */
    stateMachinePerHistoryEvent: 350,
  },
};

export interface CostResults {
  costPerMillionUsd: {
    ingressToBus: number;
    'order-paid': number;
    'order-paid-express': number;
    'email-sync': number;
  };
  /** USD per million events, per path, item by item. */
  breakdown: Record<string, { item: string; usd: number }[]>;
  prices: { readAt: string; region: string };
  /** What the template says that the figures rest on. */
  template: {
    ingestMemoryMb: number;
    routerMemoryMb: number;
    inboxBatchSize: number;
    orderPaidType: string;
    orderPaidSuccessPath: string[];
    /** State transitions of one order-paid execution on its success path (states entered). */
    orderPaidTransitions: number;
    /** Worst-case retry waits on the success path, seconds, against Express's 300 s limit. */
    orderPaidWorstRetryWaitSeconds: number;
  };
  assumptions: typeof ASSUMPTIONS;
}

export async function costBench(ctx: BenchContext): Promise<BenchSection<CostResults>> {
  const { template } = await synthesizeProduction(ctx);
  ctx.log('cost: walking the template');
  const hub = hubOf(template);
  const bills = {
    ingressToBus: ingressToBus(hub),
    'order-paid': orderPaid(hub, 'standard'),
    'order-paid-express': orderPaid(hub, 'express'),
    'email-sync': emailSync(hub),
  };
  const total = (bill: Bill) => round(bill.totalPerMillion(), 3);
  const results: CostResults = {
    costPerMillionUsd: {
      ingressToBus: total(bills.ingressToBus),
      'order-paid': total(bills['order-paid']),
      'order-paid-express': total(bills['order-paid-express']),
      'email-sync': total(bills['email-sync']),
    },
    breakdown: Object.fromEntries(Object.entries(bills).map(([name, bill]) => [name, bill.items()])),
    prices: { readAt: PRICES_READ_AT, region: PRICES_REGION },
    template: {
      ingestMemoryMb: hub.ingest.memoryMb,
      routerMemoryMb: hub.inbox.worker.memoryMb,
      inboxBatchSize: hub.inbox.batchSize,
      orderPaidType: hub.orderPaid.flow.type,
      orderPaidSuccessPath: hub.orderPaid.flow.successPath.map((state) => state.name),
      orderPaidTransitions: hub.orderPaid.flow.successPath.length,
      orderPaidWorstRetryWaitSeconds: round(worstRetryWaitSeconds(hub.orderPaid.flow.successPath), 0),
    },
    assumptions: ASSUMPTIONS,
  };
  return { results, tables: tablesOf(results) };
}

function tablesOf(results: CostResults): BenchTable[] {
  const cost = results.costPerMillionUsd;
  const top = (path: string) => {
    const items = [...(results.breakdown[path] ?? [])].sort((a, b) => b.usd - a.usd);
    const total = items.reduce((sum, item) => sum + item.usd, 0);
    const first = items[0];
    return first ? `${first.item} (${round((100 * first.usd) / total, 0)} %)` : '';
  };
  const { template } = results;
  return [
    {
      title:
        `Cost per million events, USD, AWS list prices ${results.prices.region} read ${results.prices.readAt} ` +
        `(bench/prices.ts), assumptions in bench/cost.ts ASSUMPTIONS. Flows count from the bus on. ` +
        `order-paid success path: ${template.orderPaidSuccessPath.join(' → ')} = ${template.orderPaidTransitions} ` +
        `transitions; its worst-case retry waits add up to ${template.orderPaidWorstRetryWaitSeconds} s ` +
        `(Express runs at most 300 s)`,
      columns: ['path', '$ / M events', 'with ingress', 'largest item'],
      rows: [
        ['ingressToBus', cost.ingressToBus, cost.ingressToBus, top('ingressToBus')],
        ...(['order-paid', 'order-paid-express', 'email-sync'] as const).map((path) => [
          path,
          cost[path],
          round(cost.ingressToBus + cost[path], 3),
          top(path),
        ]),
      ],
    },
    {
      title: 'Cost per million events, item by item',
      columns: ['path', 'item', '$ / M events'],
      rows: Object.entries(results.breakdown).flatMap(([path, items]) =>
        items.map((item) => [path, item.item, item.usd]),
      ),
    },
    {
      title: `The prices (bench/prices.ts; ${results.prices.region}, read ${results.prices.readAt})`,
      columns: ['price', 'USD', 'per', 'source'],
      rows: Object.entries(PRICES).map(([name, price]) => [name, price.usd, price.unit, price.source]),
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Paths.

class Bill {
  readonly #items: { item: string; price: PriceName; perEvent: number }[] = [];

  /** Adds `perEvent` units of `price` for each event. */
  add(item: string, price: PriceName, perEvent: number): this {
    this.#items.push({ item, price, perEvent });
    return this;
  }

  items(): { item: string; usd: number }[] {
    return this.#items.map(({ item, price, perEvent }) => ({
      item,
      usd: round(PRICES[price].usd * perEvent * 1_000_000, 4),
    }));
  }

  totalPerMillion(): number {
    return this.#items.reduce(
      (sum, { price, perEvent }) => sum + PRICES[price].usd * perEvent * 1_000_000,
      0,
    );
  }

  /** Lambda invocations, duration and the INIT of cold starts, for `invocations` per event of `ms` each. */
  lambda(fn: FunctionFacts, invocations: number, ms: number, per: string): this {
    const gb = fn.memoryMb / 1024;
    const { coldStartShare, initDurationMs } = ASSUMPTIONS;
    return this.add(
      `${fn.name} Lambda invocations (${round(invocations, 3)} per event)`,
      'lambdaRequest',
      invocations,
    )
      .add(
        `${fn.name} Lambda duration (${fn.memoryMb} MB × ${ms} ms ${per})`,
        'lambdaArmGbSecond',
        invocations * gb * (ms / 1000),
      )
      .add(
        `${fn.name} Lambda INIT (${coldStartShare * 100} % cold × ${initDurationMs} ms)`,
        'lambdaArmGbSecond',
        invocations * coldStartShare * gb * (initDurationMs / 1000),
      );
  }

  /** SQS: one send per event, and one receive and one delete per batch. */
  queue(name: string, consumer: QueueConsumer): this {
    const batch = recordsPerBatch(consumer);
    return this.add(
      `SQS ${name}: send, then receive + delete per batch of ${batch}`,
      'sqsStandardRequest',
      ASSUMPTIONS.chunksPer64Kb + 2 / batch,
    );
  }

  /** The DynamoDB calls of one invocation of `fn` per event, by the tables its environment names. */
  dynamoDb(fn: FunctionFacts, ledgerEntries: number): this {
    const { idempotencyWritesPerCall, writeUnitsPerWrite } = ASSUMPTIONS;
    if (fn.tables.idempotency) {
      this.add(
        `${fn.name} idempotency record (${plural(idempotencyWritesPerCall, 'write')})`,
        'dynamoDbWriteRequestUnit',
        idempotencyWritesPerCall * writeUnitsPerWrite,
      );
    }
    if (fn.tables.ledger && ledgerEntries > 0) {
      this.add(
        `${fn.name} event ledger (${plural(ledgerEntries, 'item')})`,
        'dynamoDbWriteRequestUnit',
        ledgerEntries * writeUnitsPerWrite,
      );
    }
    if (fn.tables.guard) {
      const writes =
        ASSUMPTIONS.guardWritesPerCall + (fn.guardRateLimited ? ASSUMPTIONS.guardRateWritesPerCall : 0);
      this.add(
        `${fn.name} downstream guard (${plural(ASSUMPTIONS.guardReadsPerCall, 'read')})`,
        'dynamoDbReadRequestUnit',
        ASSUMPTIONS.guardReadsPerCall * ASSUMPTIONS.readUnitsPerGuardRead,
      ).add(
        `${fn.name} downstream guard (${plural(writes, 'write')})`,
        'dynamoDbWriteRequestUnit',
        writes * writeUnitsPerWrite,
      );
    }
    if (fn.tables.versions) {
      this.add(
        `${fn.name} contact version (${ASSUMPTIONS.versionWritesPerEvent} conditional write)`,
        'dynamoDbWriteRequestUnit',
        ASSUMPTIONS.versionWritesPerEvent * writeUnitsPerWrite,
      );
    }
    return this;
  }

  logs(item: string, bytesPerEvent: number): this {
    return this.add(
      `CloudWatch Logs: ${item} (${round(bytesPerEvent / 1024, 2)} KB per event)`,
      'cloudWatchLogsIngestedGb',
      bytesPerEvent / 2 ** 30,
    );
  }
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/** Event-ledger items a function writes per event (`ASSUMPTIONS.ledgerEntriesPerEvent`), 0 when not listed. */
function ledgerEntriesOf(service: string): number {
  return (ASSUMPTIONS.ledgerEntriesPerEvent as Record<string, number>)[service] ?? 0;
}

function recordsPerBatch(consumer: QueueConsumer): number {
  return Math.min(ASSUMPTIONS.recordsPerBatch, consumer.batchSize);
}

/** Vendor request → canonical event on the bus. */
function ingressToBus(hub: Hub): Bill {
  const bill = new Bill();
  const { ingest, inbox } = hub;
  const router = inbox.worker;
  const batch = recordsPerBatch(inbox);
  const { logBytes } = ASSUMPTIONS;
  bill.add('API Gateway REST API request', 'apiGatewayRestRequest', ASSUMPTIONS.chunksPer64Kb);
  bill.lambda(ingest, 1, ASSUMPTIONS.ingestDurationMs, 'per request');
  const secretCalls =
    (ASSUMPTIONS.ingestEnvironments * hub.sourceCount) / hub.secretCacheSeconds / ASSUMPTIONS.eventsPerSecond;
  bill.add(
    `Secrets Manager GetSecretValue (${hub.sourceCount} secrets cached ${hub.secretCacheSeconds} s in ` +
      `${ASSUMPTIONS.ingestEnvironments} environments, ${ASSUMPTIONS.eventsPerSecond} events/s)`,
    'secretsManagerApiCall',
    secretCalls,
  );
  bill.queue('inbox', inbox);
  bill.lambda(router, 1 / batch, ASSUMPTIONS.routerBatchMs, `per batch of ${batch}`);
  bill.dynamoDb(router, ledgerEntriesOf('router'));
  bill.add('EventBridge PutEvents (custom event)', 'eventBridgeCustomEvent', ASSUMPTIONS.chunksPer64Kb);
  if (hub.busArchived) {
    bill.add(
      `EventBridge archive (${ASSUMPTIONS.canonicalEventKb} KB per event)`,
      'eventBridgeArchiveGb',
      (ASSUMPTIONS.canonicalEventKb * 1024) / 2 ** 30,
    );
  }
  if (hub.apiAccessLogs) bill.logs('API access log', logBytes.apiAccessLogPerRequest);
  bill.logs('ingest', logBytes.ingestPerInvocation);
  bill.logs('router', logBytes.routerPerRecord + logBytes.batchPerInvocation / batch);
  return bill;
}

/** order.paid from the bus on: its queue, the starter, the state machine (as deployed, or as Express) and its steps. */
function orderPaid(hub: Hub, as: 'standard' | 'express'): Bill {
  const bill = new Bill();
  const { consumer, flow } = hub.orderPaid;
  const starter = consumer.worker;
  const batch = recordsPerBatch(consumer);
  const { logBytes } = ASSUMPTIONS;
  bill.queue('order-paid start', consumer);
  bill.lambda(starter, 1 / batch, ASSUMPTIONS.starterBatchMs, `per batch of ${batch}`);
  bill.dynamoDb(starter, ledgerEntriesOf(starter.name));
  bill.logs(starter.name, logBytes.starterPerRecord + logBytes.batchPerInvocation / batch);

  if (as === 'standard') {
    if (flow.type !== 'STANDARD') throw new Error(`cost: order-paid is ${flow.type}, expected STANDARD`);
    bill.add(
      `Step Functions Standard: ${flow.successPath.length} state transitions`,
      'stepFunctionsStandardTransition',
      flow.successPath.length,
    );
  } else {
    const ms = flow.successPath.reduce(
      (sum, state) =>
        sum +
        ASSUMPTIONS.expressOverheadPerStateMs +
        (state.lambda
          ? ASSUMPTIONS.stepDurationMs
          : state.type === 'Task'
            ? ASSUMPTIONS.serviceIntegrationMs
            : 0),
      0,
    );
    const billedMs = Math.ceil(ms / 100) * 100;
    const billedMb = Math.ceil(ASSUMPTIONS.expressMemoryMb / 64) * 64;
    bill
      .add('Step Functions Express: execution request', 'stepFunctionsExpressRequest', 1)
      .add(
        `Step Functions Express: duration (${billedMb} MB × ${billedMs} ms)`,
        'stepFunctionsExpressGbSecond',
        (billedMb / 1024) * (billedMs / 1000),
      );
  }
  for (const state of flow.successPath) {
    if (state.lambda) {
      bill.lambda(state.lambda, 1, ASSUMPTIONS.stepDurationMs, 'per step');
      bill.dynamoDb(state.lambda, ledgerEntriesOf('step'));
      bill.logs(state.lambda.name, logBytes.stepPerInvocation);
    } else if (state.dynamoDbWrite) {
      bill.add(`${state.name}: DynamoDB write from the state machine`, 'dynamoDbWriteRequestUnit', 1);
    } else if (state.putEvents) {
      bill.add(`${state.name}: PutEvents from the state machine`, 'eventBridgeCustomEvent', 1);
    } else if (state.sqsSend) {
      bill.add(`${state.name}: SQS SendMessage from the state machine`, 'sqsStandardRequest', 1);
    }
  }
  if (flow.logLevel === 'ALL') {
    const events = historyEventsOf(flow.successPath);
    bill.logs(
      `state machine at level ALL (${events} history events)`,
      events * logBytes.stateMachinePerHistoryEvent,
    );
  }
  return bill;
}

/** contact.* from the bus on: the email-sync queue and function. */
function emailSync(hub: Hub): Bill {
  const bill = new Bill();
  const consumer = hub.emailSync;
  const worker = consumer.worker;
  const batch = recordsPerBatch(consumer);
  bill.queue('email-sync', consumer);
  bill.lambda(worker, 1 / batch, ASSUMPTIONS.emailSyncBatchMs, `per batch of ${batch}`);
  bill.dynamoDb(worker, ledgerEntriesOf(worker.name));
  bill.logs(
    worker.name,
    ASSUMPTIONS.logBytes.emailSyncPerRecord + ASSUMPTIONS.logBytes.batchPerInvocation / batch,
  );
  return bill;
}

/**
 * Execution-history events of a successful run: ExecutionStarted and ExecutionSucceeded, five per task
 * (state entered, scheduled, started, succeeded, state exited) and two per other state (entered, exited).
 */
function historyEventsOf(path: readonly FlowState[]): number {
  return 2 + path.reduce((sum, state) => sum + (state.type === 'Task' ? 5 : 2), 0);
}

/**
 * The longest the retriers of the success path can wait, seconds: per state its slowest retrier
 * (Σ min(interval × backoff^k, MaxDelaySeconds) over its attempts), summed over the path.
 */
function worstRetryWaitSeconds(path: readonly FlowState[]): number {
  return path.reduce((sum, state) => {
    const waits = state.retry.map((retrier) => {
      let total = 0;
      for (let attempt = 0; attempt < (retrier.MaxAttempts ?? 3); attempt++) {
        const wait = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** attempt;
        total += Math.min(wait, retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY);
      }
      return total;
    });
    return sum + Math.max(0, ...waits);
  }, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// What the template says.

interface FunctionFacts {
  logicalId: string;
  /** Powertools service name. */
  name: string;
  memoryMb: number;
  environment: Record<string, string>;
  /** Which of the hub's tables the function's environment names. */
  tables: { idempotency: boolean; ledger: boolean; guard: boolean; versions: boolean };
  /** Whether its downstream guard has a rate limit (DOWNSTREAM_GUARD has `rate`). */
  guardRateLimited: boolean;
}

interface QueueConsumer {
  queueId: string;
  batchSize: number;
  worker: FunctionFacts;
}

interface Retrier {
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
}

interface FlowState {
  name: string;
  type: string;
  /** The function a `lambda:invoke` task invokes. */
  lambda?: FunctionFacts;
  dynamoDbWrite?: boolean;
  putEvents?: boolean;
  sqsSend?: boolean;
  retry: Retrier[];
}

interface Hub {
  ingest: FunctionFacts;
  apiAccessLogs: boolean;
  sourceCount: number;
  secretCacheSeconds: number;
  inbox: QueueConsumer;
  busArchived: boolean;
  orderPaid: {
    consumer: QueueConsumer;
    flow: { type: string; logLevel: string; successPath: FlowState[] };
  };
  emailSync: QueueConsumer;
}

/** Walks the template from the API to the flows. @throws Error when a link is missing or not as priced */
function hubOf(template: CfnTemplate): Hub {
  const resources = Object.entries(template.Resources);
  const props = (id: string) => template.Resources[id]?.Properties ?? {};
  const typeOf = (id: string) => template.Resources[id]?.Type;

  const fn = (id: string): FunctionFacts => {
    if (typeOf(id) !== 'AWS::Lambda::Function') throw new Error(`cost: ${id} is not a Lambda function`);
    const p = props(id);
    const architectures = (p.Architectures as string[] | undefined) ?? ['x86_64'];
    if (!architectures.includes('arm64'))
      throw new Error(`cost: ${id} is not arm64; prices.ts has arm64 only`);
    const raw = (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const environment = Object.fromEntries(
      Object.entries(raw).map(([name, value]) => [name, resolveIntrinsics(value, template)]),
    );
    const table = (variable: string) => {
      const tableId = refOf(raw[variable]);
      if (!tableId) return false;
      const billing = (props(tableId) as { BillingMode?: string }).BillingMode;
      if (billing !== 'PAY_PER_REQUEST')
        throw new Error(`cost: table ${tableId} is not on demand (${billing})`);
      return true;
    };
    const guard = environment.DOWNSTREAM_GUARD ? JSON.parse(environment.DOWNSTREAM_GUARD) : {};
    return {
      logicalId: id,
      name: environment.POWERTOOLS_SERVICE_NAME ?? id,
      memoryMb: Number(p.MemorySize ?? 128),
      environment,
      tables: {
        idempotency: table('IDEMPOTENCY_TABLE_NAME'),
        ledger: table('LEDGER_TABLE_NAME'),
        guard: table('GUARD_TABLE_NAME'),
        versions: table('VERSIONS_TABLE_NAME'),
      },
      guardRateLimited: guard.rate !== undefined,
    };
  };

  const consumerOf = (queueId: string): QueueConsumer => {
    const mappings = resources.filter(
      ([, r]) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        referencedIds(r.Properties?.EventSourceArn).includes(queueId),
    );
    const [mapping] = mappings;
    if (mappings.length !== 1 || !mapping)
      throw new Error(`cost: ${queueId} has ${mappings.length} consumers`);
    const functionId = referencedIds(mapping[1].Properties?.FunctionName)[0] as string;
    return {
      queueId,
      batchSize: Number(mapping[1].Properties?.BatchSize ?? 10),
      worker: fn(functionId),
    };
  };

  // Ingress: the method that proxies to a function.
  const proxies = resources.filter(
    ([, r]) =>
      r.Type === 'AWS::ApiGateway::Method' &&
      (r.Properties?.Integration as { Type?: string } | undefined)?.Type === 'AWS_PROXY',
  );
  const [proxy] = proxies;
  if (proxies.length !== 1 || !proxy)
    throw new Error(`cost: expected one proxy method, found ${proxies.length}`);
  const ingestId = referencedIds(proxy[1].Properties?.Integration).find(
    (id) => typeOf(id) === 'AWS::Lambda::Function',
  );
  if (!ingestId) throw new Error('cost: the proxy method invokes no function');
  const ingest = fn(ingestId);
  const apiAccessLogs = resources.some(
    ([, r]) => r.Type === 'AWS::ApiGateway::Stage' && r.Properties?.AccessLogSetting !== undefined,
  );
  const sources = JSON.parse(ingest.environment.SOURCES ?? '{}') as Record<string, unknown>;
  const rawIngestEnv = (props(ingestId).Environment as { Variables: Record<string, unknown> }).Variables;

  // Inbox → router → bus.
  const inboxId = refOf(rawIngestEnv.INBOX_QUEUE_URL);
  if (!inboxId) throw new Error('cost: the ingest function names no inbox queue');
  const inbox = consumerOf(inboxId);
  const rawRouterEnv = (props(inbox.worker.logicalId).Environment as { Variables: Record<string, unknown> })
    .Variables;
  const busId = refOf(rawRouterEnv.EVENT_BUS_NAME);
  if (!busId) throw new Error('cost: the router names no event bus');
  const busArchived = resources.some(
    ([, r]) => r.Type === 'AWS::Events::Archive' && referencedIds(r.Properties?.SourceArn).includes(busId),
  );

  // Routes: the queue a detail type goes to, and its consumer.
  const routeTo = (detailType: string): QueueConsumer => {
    const rules = resources.filter(([, r]) => {
      if (r.Type !== 'AWS::Events::Rule' || !referencedIds(r.Properties?.EventBusName).includes(busId))
        return false;
      const pattern = r.Properties?.EventPattern as { 'detail-type'?: unknown[] } | undefined;
      return (pattern?.['detail-type'] ?? []).includes(detailType);
    });
    const targets = rules.flatMap(
      ([, r]) => (r.Properties?.Targets as { Arn: unknown }[] | undefined)?.map((target) => target.Arn) ?? [],
    );
    const [queueId] = targets.flatMap(referencedIds).filter((id) => typeOf(id) === 'AWS::SQS::Queue');
    if (targets.length !== 1 || !queueId) {
      throw new Error(`cost: expected one queue target for ${detailType}, found ${targets.length} targets`);
    }
    return consumerOf(queueId);
  };

  const starter = routeTo(DetailType.OrderPaid);
  const rawStarterEnv = (
    props(starter.worker.logicalId).Environment as { Variables: Record<string, unknown> }
  ).Variables;
  const stateMachineId = refOf(rawStarterEnv.STATE_MACHINE_ARN);
  if (!stateMachineId) throw new Error('cost: the order-paid starter names no state machine');
  const machine = props(stateMachineId) as {
    DefinitionString: unknown;
    StateMachineType?: string;
    LoggingConfiguration?: { Level?: string };
  };
  const definition = JSON.parse(
    resolveIntrinsics(machine.DefinitionString, template),
  ) as StateMachineDefinition;

  return {
    ingest,
    apiAccessLogs,
    sourceCount: Object.keys(sources).length,
    secretCacheSeconds: Number(ingest.environment.SECRET_CACHE_SECONDS ?? 300),
    inbox,
    busArchived,
    orderPaid: {
      consumer: starter,
      flow: {
        type: machine.StateMachineType ?? 'STANDARD',
        logLevel: machine.LoggingConfiguration?.Level ?? 'OFF',
        successPath: successPath(definition, (arn) => fn(arn.split(':').at(-1) as string)),
      },
    },
    emailSync: routeTo(DetailType.ContactUpdated),
  };
}

interface StateDefinition {
  Type: string;
  Next?: string;
  End?: boolean;
  Resource?: string;
  Parameters?: { FunctionName?: string };
  Arguments?: { FunctionName?: string };
  Retry?: Retrier[];
}

interface StateMachineDefinition {
  StartAt: string;
  States: Record<string, StateDefinition>;
}

/**
 * The states a successful execution enters, in order: from `StartAt` along `Next` to a `Succeed` state or an
 * `End`. Each state entered is one state transition.
 * @param functionOf the function of a `lambda:invoke` task, by its (resolved) ARN
 * @throws Error on a branching state, which would need an assumption about the branch taken
 */
function successPath(
  definition: StateMachineDefinition,
  functionOf: (arn: string) => FunctionFacts,
): FlowState[] {
  const path: FlowState[] = [];
  let name: string | undefined = definition.StartAt;
  while (name !== undefined) {
    const state: StateDefinition | undefined = definition.States[name];
    if (!state) throw new Error(`cost: state ${name} is not in the definition`);
    if (['Choice', 'Parallel', 'Map'].includes(state.Type)) {
      throw new Error(`cost: ${name} is a ${state.Type} state; say in bench/cost.ts which way events go`);
    }
    const resource = state.Resource ?? '';
    const target = state.Parameters?.FunctionName ?? state.Arguments?.FunctionName;
    path.push({
      name,
      type: state.Type,
      ...(resource.endsWith(':lambda:invoke') && target ? { lambda: functionOf(target) } : {}),
      ...(/:dynamodb:(putItem|updateItem|deleteItem)$/.test(resource) ? { dynamoDbWrite: true } : {}),
      ...(resource.endsWith(':events:putEvents') ? { putEvents: true } : {}),
      ...(resource.endsWith(':sqs:sendMessage') ? { sqsSend: true } : {}),
      retry: state.Retry ?? [],
    });
    if (path.length > 100) throw new Error('cost: the success path loops');
    name = state.Type === 'Succeed' || state.Type === 'Fail' || state.End ? undefined : state.Next;
  }
  return path;
}

/** The resource a `{"Ref": id}` names. */
function refOf(value: unknown): string | undefined {
  return value !== null && typeof value === 'object' && 'Ref' in value ? String(value.Ref) : undefined;
}

/** Every logical id a value references through `Ref` or `Fn::GetAtt`, at any depth. */
function referencedIds(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return [String(node.Ref)];
  if ('Fn::GetAtt' in node) return [String((node['Fn::GetAtt'] as unknown[])[0])];
  return Object.values(node).flatMap(referencedIds);
}
