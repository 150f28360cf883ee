/**
 * Powertools, configured once: logger, metrics and tracer for every function, `instrument`, which wraps
 * a handler with them, and `withEventKey`, which puts an event's key on every log line written while it is
 * handled. Service name and metrics namespace come from `POWERTOOLS_SERVICE_NAME` and
 * `POWERTOOLS_METRICS_NAMESPACE`, set by the `ServiceFunction` construct. Every log line also carries
 * `xray_trace_id` (Powertools reads it from `_X_AMZN_TRACE_ID`, which Lambda sets per invocation when
 * tracing is active).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';

/** Keys whose values never reach a log line: secrets, signatures, credentials and raw bodies. */
const SENSITIVE_KEY = /secret|signature|authorization|password|token|cookie|^body$|^rawBody$|^headers$/i;
/** Values that look like credentials wherever they appear. */
const SENSITIVE_VALUE = /whsec_|whsk_|sk_(live|test)_|rk_(live|test)_|xox[abp]-|AKIA[0-9A-Z]{16}/;

/**
 * JSON replacer of every log line: redacts sensitive keys and credential-looking values, so a careless
 * `logger.info('…', { headers })` cannot leak a signing secret or a signature.
 */
export function redactSensitive(key: string, value: unknown): unknown {
  if (key !== '' && SENSITIVE_KEY.test(key)) return '[redacted]';
  if (typeof value === 'string' && SENSITIVE_VALUE.test(value)) return '[redacted]';
  return value;
}

/** The keys of the event being handled in the current async context (see `withEventKey`). */
const eventScope = new AsyncLocalStorage<{ eventKey: string }>();

/**
 * A Logger that adds the keys of the current event scope to each line. Records of a batch are processed
 * concurrently (Powertools `processPartialResponse` runs them in parallel), so keys appended to the shared
 * logger (`appendKeys`) would land on the lines of whichever record logs next; an async-context scope cannot.
 */
class EventScopedLogger extends Logger {
  protected override processLogItem(
    logLevel: number,
    input: LogItemMessage,
    extraInput: LogItemExtraInput,
  ): void {
    const scope = eventScope.getStore();
    // Ahead of the call's own extra arguments, so that those win.
    super.processLogItem(logLevel, input, scope ? ([scope, ...extraInput] as LogItemExtraInput) : extraInput);
  }
}

export const logger: Logger = new EventScopedLogger({ jsonReplacerFn: redactSensitive });
export const metrics = new Metrics();
export const tracer = new Tracer();

/**
 * Runs `work` so that every log line it writes, across its awaits, carries `eventKey` (e.g. `stripe:evt_1`),
 * the key to follow one event through every function's logs. Concurrent calls keep their own key.
 */
export function withEventKey<T>(eventKey: string, work: () => Promise<T>): Promise<T> {
  return eventScope.run({ eventKey }, work);
}

/**
 * Emits one metric at once (its own embedded-metric-format log line, no AWS call) with exactly `dimensions`
 * plus `service`, or without `service` when `withService` is false. The invocation's `metrics` object
 * flushes all its metrics under one dimension set; a metric with another set goes through here.
 * Dimension values must be non-empty (Powertools drops an empty one, which would change the set).
 */
export function emitMetric(
  name: string,
  unit: (typeof MetricUnit)[keyof typeof MetricUnit],
  value: number,
  dimensions: Readonly<Record<string, string>>,
  { withService = true }: { withService?: boolean } = {},
): void {
  const single = metrics.singleMetric();
  if (!withService) single.clearDefaultDimensions();
  for (const [dimension, dimensionValue] of Object.entries(dimensions)) {
    single.addDimension(dimension, dimensionValue);
  }
  single.addMetric(name, unit, value);
}

/** Wraps a handler so each invocation logs with the Lambda context, is traced, and flushes its metrics. */
export function instrument<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
