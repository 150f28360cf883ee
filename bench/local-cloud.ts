/**
 * End to end on the local cloud: distinct Stripe-signed `checkout.session.completed` events posted to the hub
 * at a fixed concurrency, each followed through the order-paid flow to its last effect, the receipt the email
 * platform stand-in receives (`POST /messages`, functions/connectors/systems.ts `sendReceipt`).
 *
 * These figures are reported, not budgeted: they are dominated by the emulator, not by the hub. On the local
 * cloud every Lambda runs as a local Node process that MiniStack spawns and feeds (one per concurrent
 * invocation, each a cold start), and MiniStack itself, those processes, the stand-ins and this sender share
 * the machine's cores (2 on the reference machine), where MiniStack times Lambdas out under heavy load. So the
 * load is kept moderate (at concurrency 10 on 2 cores the flows' steps spawned dozens of workers at once and
 * some timed out, failing their flows), a warm-up leaves warm workers behind first, and a delivery answered
 * with a 5xx (or not answered) is sent again after a pause, as a vendor would; the resends are counted.
 * Anything else running on the machine shows in the figures.
 *
 * The stand-ins record requests without a time, so the email stand-in's request log is polled every
 * `POLL_MS` and a receipt's time is when a poll first shows it: a latency is overstated by at most the poll
 * window (the start of the previous poll to the end of the one that saw it; 100 ms and more, as the polls
 * compete for the same cores), whose median and maximum are reported as the precision.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { DescribeExecutionCommand, ListStateMachinesCommand } from '@aws-sdk/client-sfn';
import { STAGES } from '../bin/stages.js';
import { awsClients } from '../local/aws-clients.js';
import {
  type LocalCloud,
  type LocalCloudConfig,
  runningLocalCloud,
  startLocalCloud,
} from '../local/cloud.js';
import { signWebhook } from '../local/signing.js';
import type { RecordedRequest } from '../local/stand-ins.js';
import { type BenchContext, type BenchSection, percentile, round } from './section.js';

export interface LocalCloudResults {
  events: number;
  concurrency: number;
  /** Events per second from the first POST to the last receipt (ingest → flow completion). */
  eventsPerSecond: number;
  /** Milliseconds from an event's first POST to its receipt at the email stand-in, as first seen by a poll. */
  postToLastRequestMs: { p50: number; p99: number };
  /** e.g. `MiniStack 1.5.33 on 2 cores` */
  emulator: string;
}

/** Measured events, and how many are in flight at once. */
const EVENTS = 100;
const CONCURRENCY = 5;
/**
 * Events sent (and followed to their receipts) before the measured ones, so that each function of the path
 * has warm workers for the concurrency and the figures are not cold starts (bench/cold-start.ts measures
 * those).
 */
const WARM_UP_EVENTS = 4 * CONCURRENCY;
/** How often the email stand-in's request log is read, milliseconds. */
const POLL_MS = 100;
/** A delivery is given up after this many attempts; the pause between attempts, and each one's timeout, ms. */
const MAX_ATTEMPTS = 10;
const RESEND_PAUSE_MS = 1000;
const ATTEMPT_TIMEOUT_MS = 30_000;
/** How long the receipts may take after the last delivery is acknowledged, milliseconds. */
const RECEIPTS_TIMEOUT_MS = 120_000;
/** Without a new receipt for this long, the missing events' flows are looked at, milliseconds. */
const STALL_MS = 15_000;

/**
 * Runs the part on the local cloud that is running (`runningLocalCloud`), or on one it starts and stops.
 * Needs the local cloud's fixed ports: run it while holding /tmp/switchyard-e2e.lock.
 * @throws Error when a delivery is refused (4xx) or never acknowledged, or a receipt is missing after
 *   `RECEIPTS_TIMEOUT_MS`
 */
export async function localCloudBench(ctx: BenchContext): Promise<BenchSection<LocalCloudResults>> {
  let config = await runningLocalCloud();
  let started: LocalCloud | undefined;
  if (config) ctx.log('local cloud: using the one that is running');
  else {
    started = await startLocalCloud((line) => ctx.log(`local cloud: ${line}`));
    config = started.config;
  }
  try {
    const emulator = await describeEmulator(config.emulator);
    const sender = stripeSender(ctx.root, config);
    const receipts = await watchReceipts(config.standIns.email);
    try {
      ctx.log(`local cloud: warming up with ${WARM_UP_EVENTS} events`);
      await sendAndFollow(sender, receipts, WARM_UP_EVENTS, ctx, { warmUp: true });
      ctx.log(`local cloud: ${EVENTS} events at concurrency ${CONCURRENCY} on ${emulator}`);
      const run = await sendAndFollow(sender, receipts, EVENTS, ctx);

      const firstPost = Math.min(...run.map((event) => event.firstPostAt));
      const lastReceipt = Math.max(...run.map((event) => event.receiptSeenAt));
      const latencies = run.map((event) => event.receiptSeenAt - event.firstPostAt);
      const resends = run.reduce((sum, event) => sum + event.statuses.length - 1, 0);
      const windows = run.map((event) => event.pollWindowMs);
      const results: LocalCloudResults = {
        events: EVENTS,
        concurrency: CONCURRENCY,
        eventsPerSecond: round(EVENTS / ((lastReceipt - firstPost) / 1000)),
        postToLastRequestMs: {
          p50: Math.round(percentile(latencies, 50)),
          p99: Math.round(percentile(latencies, 99)),
        },
        emulator,
      };
      return {
        results,
        tables: [
          {
            title: `End to end on the local cloud, POST to the email receipt (${emulator}; emulator-bound: reported, not budgeted)`,
            columns: [
              'events',
              'concurrency',
              'resends',
              'events/s',
              'p50 ms',
              'p99 ms',
              'precision ms (poll window p50/max)',
            ],
            rows: [
              [
                results.events,
                results.concurrency,
                resends,
                results.eventsPerSecond,
                results.postToLastRequestMs.p50,
                results.postToLastRequestMs.p99,
                `+${Math.round(percentile(windows, 50))}/${Math.round(Math.max(...windows))}`,
              ],
            ],
          },
        ],
      };
    } finally {
      await receipts.stop();
    }
  } finally {
    if (started) {
      ctx.log('local cloud: stopping the one this part started');
      await started.stop();
    }
  }
}

/** One measured event: when its first POST left, the statuses of its attempts, when its receipt was seen. */
interface FollowedEvent {
  firstPostAt: number;
  statuses: (number | string)[];
  receiptSeenAt: number;
  /** How late the receipt may have been seen: the poll window that saw it, milliseconds. */
  pollWindowMs: number;
}

/**
 * Sends `count` new events at `CONCURRENCY`, each until acknowledged, then waits for every receipt.
 * Times are `performance.now()` milliseconds.
 */
async function sendAndFollow(
  sender: StripeSender,
  receipts: ReceiptWatch,
  count: number,
  ctx: BenchContext,
  options: { warmUp?: boolean } = {},
): Promise<FollowedEvent[]> {
  const events = Array.from({ length: count }, () => sender.newEvent());
  const sent = await pool(
    events.map((event) => () => sendUntilAcknowledged(sender, event)),
    CONCURRENCY,
  );
  const acknowledgedAt = performance.now();
  const resends = sent.reduce((sum, attempt) => sum + attempt.statuses.length - 1, 0);
  ctx.log(
    `local cloud: ${count} events acknowledged, ${resends} resends (${describeStatuses(sent.flatMap((attempt) => attempt.statuses))})`,
  );
  const deadline = performance.now() + RECEIPTS_TIMEOUT_MS;
  let progress = { seen: -1, at: performance.now() };
  for (;;) {
    const missing = events.filter((event) => !receipts.seen.has(event.email));
    if (missing.length === 0) break;
    const now = performance.now();
    if (missing.length !== progress.seen) progress = { seen: missing.length, at: now };
    // Without progress for a while, look at the missing events' flows: when none is still running, no
    // receipt will come.
    const stalled = now - progress.at > STALL_MS;
    if (stalled || now > deadline) {
      const flows = await flowStates(sender.endpoint, missing);
      if (now > deadline || !flows.some((state) => state === 'RUNNING' || state === 'NOT STARTED')) {
        const message = `${missing.length} of ${count} events had no receipt ${Math.round((now - acknowledgedAt) / 1000)} s after the last acknowledgement; their flows: ${describeStatuses(flows)}`;
        // A warm-up only has to leave warm workers behind: cold starts under load may time a step out.
        if (!options.warmUp) throw new Error(message);
        ctx.log(`local cloud: warm-up: ${message}`);
        return [];
      }
      progress.at = now;
    }
    receipts.check();
    await delay(POLL_MS);
  }
  receipts.check();
  return events.map((event, index) => {
    const seen = receipts.seen.get(event.email) as { at: number; windowMs: number };
    const attempt = sent[index] as { firstPostAt: number; statuses: (number | string)[] };
    return { ...attempt, receiptSeenAt: seen.at, pollWindowMs: seen.windowMs };
  });
}

interface StripeEvent {
  eventId: string;
  email: string;
  body: string;
}

type StripeSender = ReturnType<typeof stripeSender>;

/** New distinct Stripe checkouts (fixture test/fixtures/stripe/checkout.session.completed.json) and their delivery. */
function stripeSender(root: string, config: LocalCloudConfig) {
  const fixture = readFileSync(
    join(root, 'test', 'fixtures', 'stripe', 'checkout.session.completed.json'),
    'utf8',
  );
  const settings = STAGES.local?.sources.find((source) => source.name === 'stripe');
  const secret = config.secrets.stripe;
  const url = config.webhooks.stripe;
  if (!settings || !secret || !url) throw new Error('the local cloud has no Stripe source, secret or URL');
  const run = randomBytes(4).toString('hex');
  let next = 0;
  return {
    endpoint: config.emulator,
    newEvent(): StripeEvent {
      const unique = `bench${run}${String(next++).padStart(4, '0')}`;
      const event = JSON.parse(fixture);
      event.id = `evt_${unique}`;
      event.data.object.client_reference_id = `order_${unique}`;
      event.data.object.customer_details.email = `buyer-${unique}@example.com`;
      return {
        eventId: event.id,
        email: event.data.object.customer_details.email,
        body: JSON.stringify(event),
      };
    },
    /** One attempt, signed at the time it is sent (as Stripe signs each attempt): its status, or the error. */
    async send(event: StripeEvent): Promise<number | string> {
      const headers = await signWebhook(settings, secret, event.body);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: event.body,
          signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
        });
        await response.arrayBuffer();
        return response.status;
      } catch (error) {
        return error instanceof Error ? error.name : String(error);
      }
    },
  };
}

/**
 * Sends like a vendor: a 5xx or no answer is not an acknowledgement, so the delivery is repeated after a
 * pause. Returns when the first attempt left and every attempt's status.
 * @throws Error on a 4xx (final) or when no attempt of `MAX_ATTEMPTS` is acknowledged
 */
async function sendUntilAcknowledged(sender: StripeSender, event: StripeEvent) {
  const firstPostAt = performance.now();
  const statuses: (number | string)[] = [];
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const status = await sender.send(event);
    statuses.push(status);
    if (typeof status === 'number' && status < 300) return { firstPostAt, statuses };
    if (typeof status === 'number' && status < 500)
      throw new Error(`the hub refused ${event.email}'s checkout with ${status}`);
    await delay(RESEND_PAUSE_MS);
  }
  throw new Error(`the hub acknowledged no attempt of ${event.email}'s checkout: ${statuses.join(', ')}`);
}

type ReceiptWatch = Awaited<ReturnType<typeof watchReceipts>>;

/**
 * Polls the email stand-in's request log every `POLL_MS` in the background and notes, per recipient, when a
 * receipt (`POST /messages`) was first seen and the window of the poll that saw it. Requests logged before
 * the watch started are skipped.
 * @throws Error (from `check` or `stop`) when a poll failed
 */
async function watchReceipts(standIn: string) {
  const seen = new Map<string, { at: number; windowMs: number }>();
  const read = async () => {
    const response = await fetch(`${standIn}/_requests`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`the email stand-in answered ${response.status} to GET /_requests`);
    return (await response.json()) as RecordedRequest[];
  };
  let cursor = (await read()).length;
  let previousStart = performance.now();
  let stopped = false;
  let failure: unknown;
  const polling = (async () => {
    while (!stopped) {
      const start = performance.now();
      const requests = await read();
      const end = performance.now();
      // A shorter log was cleared (DELETE /_requests) since the last poll.
      if (requests.length < cursor) cursor = 0;
      for (const request of requests.slice(cursor)) {
        const to = (request.body as { to?: unknown } | null)?.to;
        if (
          request.method === 'POST' &&
          request.path === '/messages' &&
          typeof to === 'string' &&
          !seen.has(to)
        )
          seen.set(to, { at: end, windowMs: end - previousStart });
      }
      cursor = requests.length;
      previousStart = start;
      await delay(Math.max(0, POLL_MS - (end - start)));
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  const check = () => {
    if (failure) throw failure;
  };
  return {
    seen: seen as ReadonlyMap<string, { at: number; windowMs: number }>,
    check,
    async stop() {
      stopped = true;
      await polling;
      check();
    },
  };
}

/** Runs `tasks` with at most `concurrency` in flight; results in the tasks' order. */
async function pool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * The state of each event's order-paid execution (`RUNNING`, `SUCCEEDED`, `FAILED <error>`, …, or
 * `NOT STARTED`), found by the name the flow starter gives it: `order-paid-<SHA-256 of stripe:<event id>>`
 * (functions/flow-starter/handler.ts `executionName`).
 */
async function flowStates(endpoint: string, events: readonly StripeEvent[]): Promise<string[]> {
  const { sfn } = awsClients(endpoint);
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  const machine = stateMachines.find((candidate) => candidate.name?.includes('OrderPaidFlow'));
  if (!machine?.stateMachineArn) return events.map(() => 'NO STATE MACHINE');
  const prefix = machine.stateMachineArn.replace(':stateMachine:', ':execution:');
  return Promise.all(
    events.map(async (event) => {
      const name = `order-paid-${createHash('sha256').update(`stripe:${event.eventId}`).digest('hex')}`;
      try {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn: `${prefix}:${name}` }));
        return [execution.status, execution.error].filter(Boolean).join(' ');
      } catch (error) {
        if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return 'NOT STARTED';
        throw error;
      }
    }),
  );
}

/** e.g. `202 ×100, 503 ×2, TimeoutError ×1` */
function describeStatuses(statuses: (number | string)[]): string {
  const counts = new Map<number | string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts].map(([status, count]) => `${status} ×${count}`).join(', ');
}

/** `MiniStack <version> on <cores> cores`, from the emulator's health endpoint; the URL for another emulator. */
async function describeEmulator(endpoint: string): Promise<string> {
  const cores = `${availableParallelism()} cores`;
  try {
    const response = await fetch(`${endpoint}/_ministack/health`, { signal: AbortSignal.timeout(2000) });
    const { version } = (await response.json()) as { version?: unknown };
    if (response.ok && typeof version === 'string') return `MiniStack ${version} on ${cores}`;
  } catch {}
  return `the emulator at ${endpoint} on ${cores}`;
}
