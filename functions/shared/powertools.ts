/**
 * Powertools, configured once: logger, metrics and tracer for every function, and `instrument`, which wraps
 * a handler with them. Service name and metrics namespace come from `POWERTOOLS_SERVICE_NAME` and
 * `POWERTOOLS_METRICS_NAMESPACE`, set by the `ServiceFunction` construct.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
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

export const logger = new Logger({ jsonReplacerFn: redactSensitive });
export const metrics = new Metrics();
export const tracer = new Tracer();

/** Wraps a handler so each invocation logs with the Lambda context, is traced, and flushes its metrics. */
export function instrument<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
