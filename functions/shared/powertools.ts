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

export const logger = new Logger();
export const metrics = new Metrics();
export const tracer = new Tracer();

/** Wraps a handler so each invocation logs with the Lambda context, is traced, and flushes its metrics. */
export function instrument<E, R>(handler: (event: E, context: Context) => Promise<R>) {
  return middy(handler)
    .use(captureLambdaHandler(tracer, { captureResponse: false }))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
