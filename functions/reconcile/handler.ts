/**
 * Reconcile function, run by a schedule: finds the GitHub deliveries of the configured repository webhook that
 * never reached the hub (GitHub does not retry them) and asks GitHub to deliver them again; the pure logic is
 * in reconcile.ts and github-api.ts.
 *
 * The GitHub API token is read from Secrets Manager at each run (never logged, never in the environment).
 * While the secret holds the stack's placeholder, the run logs a warning and does nothing. A run fails (so the
 * function's error alarm pages, and the next scheduled run tries again) when the token secret cannot be read
 * or is malformed, when GitHub refuses access (the hook or the token is misconfigured: the log names the hook),
 * and when GitHub stays unavailable after one retry. Metrics: `ReconcileMissing`, `ReconcileRedelivered`,
 * `ReconcileFailed`, `ReconcileDeferred`, `ReconcileGaveUp` (settings.ts), every run once the token is set.
 *
 * Returns a summary (counts and guids), for whoever invokes it by hand.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { clientConfig } from '../shared/aws.js';
import { jsonEnv, requiredEnv } from '../shared/env.js';
import { instrument, logger, metrics, tracer } from '../shared/powertools.js';
import { GitHubAccessError, GitHubDeliveriesApi } from './github-api.js';
import { type MissingEvent, type ReconcileReport, reconcileDeliveries } from './reconcile.js';
import {
  RECONCILE_SETTINGS_ENV,
  ReconcileMetric,
  ReconcileSettings,
  TOKEN_SECRET_ARN_ENV,
} from './settings.js';
import { parseApiToken } from './token.js';

const settings = jsonEnv(RECONCILE_SETTINGS_ENV, ReconcileSettings);
const tokenSecretArn = requiredEnv(TOKEN_SECRET_ARN_ENV);
const hookName = `${settings.hook.owner}/${settings.hook.repo} hook ${settings.hook.hookId}`;
/** Time kept back from the function's remaining time, milliseconds, to log and flush metrics. */
const FINISH_MARGIN_MS = 1000;
/** Most guids listed in one log line. */
const MAX_LOGGED_GUIDS = 50;

const secrets = new SecretsProvider({
  awsSdkV3Client: tracer.captureAWSv3Client(new SecretsManagerClient(clientConfig(3000))),
});

/** What a run did: counts, and the guids of the events concerned. */
export type ReconcileSummary =
  | { status: 'token-unset' }
  | {
      status: 'done';
      listed: number;
      complete: boolean;
      missing: number;
      redelivered: string[];
      failed: string[];
      deferred: string[];
      gaveUp: string[];
    };

export const handler = instrument(async (_event: unknown, context: Context): Promise<ReconcileSummary> => {
  logger.appendKeys({ source: settings.source, hook: hookName });
  const token = await readToken();
  if (token === undefined) {
    logger.warn(
      'GitHub API token not set: nothing reconciled; put the token in the secret of stack output ReconcileTokenGithub',
    );
    return { status: 'token-unset' };
  }

  const remainingTimeMs = () => context.getRemainingTimeInMillis() - FINISH_MARGIN_MS;
  const api = new GitHubDeliveriesApi({ hook: settings.hook, token, remainingTimeMs });
  let report: ReconcileReport;
  try {
    report = await reconcileDeliveries(api, {
      nowMs: Date.now(),
      lookBackMs: settings.lookBackMinutes * 60_000,
      maxRedeliveries: settings.maxRedeliveriesPerRun,
      maxAttemptsPerEvent: settings.maxAttemptsPerEvent,
      remainingTimeMs,
    });
  } catch (error) {
    logFailure('listing the deliveries failed', error);
    throw error;
  }

  record(report);
  if (report.abortedBy) {
    logFailure('redeliveries stopped', report.abortedBy);
    throw report.abortedBy;
  }
  return summarize(report);
});

/** @throws the Secrets Manager error, or ApiTokenInvalidError, after logging it */
async function readToken(): Promise<string | undefined> {
  try {
    const value = await secrets.get(tokenSecretArn);
    return parseApiToken(typeof value === 'string' ? value : undefined);
  } catch (error) {
    logger.error('GitHub API token unavailable', {
      errorName: (error as Error).name,
      reason: (error as Error).name === 'ApiTokenInvalidError' ? (error as Error).message : undefined,
    });
    throw error;
  }
}

/** Logs and counts what the run found and did. */
function record(report: ReconcileReport): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count(ReconcileMetric.Missing, report.missing.length);
  count(ReconcileMetric.Redelivered, report.redelivered.length);
  count(ReconcileMetric.Failed, report.failed.length);
  count(ReconcileMetric.Deferred, report.deferred.length);
  count(ReconcileMetric.GaveUp, report.gaveUp.length);

  for (const event of report.redelivered) logger.info('redelivery requested', describe(event));
  for (const { event, reason } of report.failed) {
    logger.warn('redelivery refused by GitHub', { ...describe(event), reason });
  }
  for (const event of report.gaveUp) {
    logger.error(
      'event given up: it failed every attempt; redeliver it by hand once the cause is fixed',
      describe(event),
    );
  }
  if (report.deferred.length > 0) {
    logger.warn('missing events left for the next run', {
      deferred: report.deferred.length,
      guids: report.deferred.slice(0, MAX_LOGGED_GUIDS).map((event) => event.guid),
    });
  }
  if (!report.complete) {
    logger.warn('the look-back window was not listed to its start: shorten it, or run more often', {
      listed: report.listed,
    });
  }
  logger.info('reconciliation done', {
    listed: report.listed,
    missing: report.missing.length,
    redelivered: report.redelivered.length,
    failed: report.failed.length,
    deferred: report.deferred.length,
    gaveUp: report.gaveUp.length,
  });
}

function describe(event: MissingEvent) {
  return {
    guid: event.guid,
    event: event.event,
    deliveryId: event.latest.id,
    failedAttempts: event.failedAttempts,
    lastStatus: event.latest.status_code,
  };
}

function logFailure(what: string, error: unknown): void {
  const { name, message } = error as Error;
  if (error instanceof GitHubAccessError) {
    logger.error(`${what}: GitHub refused access to ${hookName}: misconfigured hook or token`, {
      errorName: name,
      status: error.status,
      reason: message,
    });
  } else {
    logger.error(`${what}: GitHub could not be used; the next run tries again`, {
      errorName: name,
      reason: message,
    });
  }
}

function summarize(report: ReconcileReport): ReconcileSummary {
  const guids = (events: MissingEvent[]) => events.map((event) => event.guid);
  return {
    status: 'done',
    listed: report.listed,
    complete: report.complete,
    missing: report.missing.length,
    redelivered: guids(report.redelivered),
    failed: guids(report.failed.map(({ event }) => event)),
    deferred: guids(report.deferred),
    gaveUp: guids(report.gaveUp),
  };
}
