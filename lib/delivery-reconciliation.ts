import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  RECONCILE_SETTINGS_ENV,
  ReconcileMetric,
  ReconcileSettings,
  TOKEN_SECRET_ARN_ENV,
} from '../functions/reconcile/settings.js';
import type { Alarms } from './alarms.js';
import type { GitHubReconciliationSettings, SourceSettings } from './config.js';
import { pascalCase } from './names.js';
import { METRICS_NAMESPACE, ServiceFunction } from './service-function.js';

export interface DeliveryReconciliationProps {
  /** The GitHub repository webhook to reconcile, and the job's schedule and bounds. */
  readonly github: GitHubReconciliationSettings;
  /** The hub's sources: `github.source` must be one of them, with the `github` scheme. */
  readonly sources: readonly SourceSettings[];
  /** The on-call alarms the job's alarms join. */
  readonly alarms: Alarms;
}

const DEFAULTS = {
  apiBaseUrl: 'https://api.github.com',
  everyMinutes: 10,
  lookBackMinutes: 120,
  maxRedeliveriesPerRun: 50,
  maxAttemptsPerEvent: 6,
} as const;
/** GitHub keeps a hook's deliveries 3 days (https://docs.github.com/en/webhooks/testing-and-troubleshooting-webhooks/redelivering-webhooks). */
const GITHUB_RETENTION_MINUTES = 3 * 24 * 60;
/** Longest run: listing and up to `maxRedeliveriesPerRun` calls of at most 10 s each, stopped in time. */
const FUNCTION_TIMEOUT = Duration.minutes(2);

/**
 * Reconciliation of one GitHub repository webhook (fault row F26: GitHub never retries a failed delivery): a
 * function (functions/reconcile/) run on a schedule lists the hook's recent deliveries through the GitHub REST
 * API and asks GitHub to redeliver each event that never got a 2xx from the hub; the router's deduplication
 * on `github:<X-GitHub-Delivery>` makes a needless redelivery harmless.
 *
 * Holds the function, the Secrets Manager secret of the GitHub API token (a placeholder `{"status": "unset"}`
 * unless an existing secret is given; the function gets its ARN and reads only it), the schedule rule, whose
 * Lambda target has an explicit retry policy and a dead-letter queue, and its alarms: events found missing
 * (`ReconcileMissing` > 0 in a run, paging on its own), and the job failing, paging once through the job's
 * component: failed runs (function errors), the schedule's dead letters, the function's error and throttle rates.
 *
 * A failed run is not retried by Lambda (async retries 0): the next scheduled run is the retry, and lists the
 * same window again.
 */
export class DeliveryReconciliation extends Construct {
  readonly fn: ServiceFunction;
  /** Where the GitHub API token goes. */
  readonly tokenSecret: secretsmanager.ISecret;
  readonly schedule: events.Rule;
  /** Scheduled events EventBridge could not hand to the function. */
  readonly deadLetterQueue: sqs.Queue;
  /** The job's alarms: missing events, failed runs, dead letters, the function's error and throttle rates. */
  readonly alarms: cloudwatch.Alarm[];

  /** @throws Error at synthesis when the settings are invalid (the message says which one) */
  constructor(scope: Construct, id: string, props: DeliveryReconciliationProps) {
    super(scope, id);
    const { github } = props;
    const settings = validate(github, props.sources);
    const every = Duration.minutes(github.everyMinutes ?? DEFAULTS.everyMinutes);
    const serviceName = `reconcile-${github.source}`;

    this.tokenSecret = github.tokenSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'TokenSecret', github.tokenSecretArn)
      : new secretsmanager.Secret(this, 'TokenSecret', {
          description: `switchyard: GitHub API token for reconciling ${github.owner}/${github.repo} hook ${github.hookId}`,
          generateSecretString: {
            secretStringTemplate: JSON.stringify({ status: 'unset' }),
            generateStringKey: 'placeholder',
          },
        });

    this.fn = new ServiceFunction(this, 'Function', {
      entry: 'reconcile/handler.ts',
      serviceName,
      timeout: FUNCTION_TIMEOUT,
      memorySize: 256,
      environment: {
        [RECONCILE_SETTINGS_ENV]: JSON.stringify(settings),
        [TOKEN_SECRET_ARN_ENV]: this.tokenSecret.secretArn,
      },
    });
    this.tokenSecret.grantRead(this.fn);
    this.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: every });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `switchyard: reconcile the deliveries of ${github.owner}/${github.repo} hook ${github.hookId}`,
      schedule: events.Schedule.rate(every),
      targets: [
        new targets.LambdaFunction(this.fn, {
          deadLetterQueue: this.deadLetterQueue,
          // A scheduled event older than the next run is worth nothing: that run does the same work.
          maxEventAge: every,
          retryAttempts: 3,
        }),
      ],
    });

    const alarmId = `${pascalCase(github.source)}Reconcile`;
    const perRun = { period: every, statistic: cloudwatch.Stats.SUM };
    // The job's own failures page once, through one component; missing deliveries page on their own (the
    // cause is GitHub's or the hub's ingress, not the job).
    const job = props.alarms.component(alarmId, {
      what: `the GitHub delivery reconciliation of source "${github.source}"`,
      causes:
        'GitHub unavailable, the API token unset, expired or without the Webhooks permission, the hook id wrong, ' +
        'or the function failing or throttled.',
      runbook: 'github-reconcile-failing',
    });
    this.alarms = [
      props.alarms.watchMetric(
        `${alarmId}Missing`,
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: ReconcileMetric.Missing,
          dimensionsMap: { service: serviceName },
          ...perRun,
        }),
        `GitHub failed to deliver events of ${github.owner}/${github.repo} hook ${github.hookId} to source ` +
          `"${github.source}"; the reconciliation asked GitHub to redeliver them.`,
        'github-deliveries-missing',
      ),
      props.alarms.watchMetric(
        `${alarmId}Errors`,
        this.fn.metricErrors(perRun),
        `A run of the GitHub delivery reconciliation of source "${github.source}" failed (GitHub unavailable, ` +
          'or the token or hook misconfigured): missing deliveries are not being redelivered.',
        'github-reconcile-failing',
        { component: job },
      ),
      props.alarms.watchMetric(
        `${alarmId}DeadLetters`,
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        `The schedule of the GitHub delivery reconciliation of source "${github.source}" could not invoke ` +
          'its function: runs are being skipped.',
        'github-reconcile-failing',
        { component: job },
      ),
      ...props.alarms.watchFunction(
        `${alarmId}Function`,
        this.fn,
        `the GitHub delivery reconciliation function of source "${github.source}"`,
        'reconcile',
        job,
      ),
    ];

    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the schedule target; it is watched by an alarm.',
    });
    if (!github.tokenSecretArn) {
      Validations.of(this.tokenSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The GitHub token is issued by GitHub; it is rotated there (fine-grained tokens expire) and put in here.',
      });
    }
  }
}

/**
 * The function's settings, with defaults, checked against its schema and the hub's sources.
 * @throws Error naming the invalid setting
 */
function validate(
  github: GitHubReconciliationSettings,
  sources: readonly SourceSettings[],
): ReconcileSettings {
  const source = sources.find((candidate) => candidate.name === github.source);
  if (!source) fail(`source "${github.source}" is not one of the hub's sources`);
  if (source?.scheme !== 'github') fail(`source "${github.source}" does not use the github scheme`);
  const every = github.everyMinutes ?? DEFAULTS.everyMinutes;
  const lookBack = github.lookBackMinutes ?? DEFAULTS.lookBackMinutes;
  if (!Number.isInteger(every) || every < 5 || every > 1440) {
    fail(`everyMinutes ${every} must be a whole number from 5 to 1440 (a run may take 2 minutes)`);
  }
  if (!Number.isInteger(lookBack) || lookBack < 2 * every || lookBack > GITHUB_RETENTION_MINUTES) {
    fail(
      `lookBackMinutes ${lookBack} must be a whole number from twice everyMinutes (${2 * every}) to ` +
        `${GITHUB_RETENTION_MINUTES} (GitHub keeps deliveries 3 days)`,
    );
  }
  const parsed = ReconcileSettings.safeParse({
    source: github.source,
    hook: {
      owner: github.owner,
      repo: github.repo,
      hookId: github.hookId,
      apiBaseUrl: github.apiBaseUrl ?? DEFAULTS.apiBaseUrl,
    },
    lookBackMinutes: lookBack,
    maxRedeliveriesPerRun: github.maxRedeliveriesPerRun ?? DEFAULTS.maxRedeliveriesPerRun,
    maxAttemptsPerEvent: github.maxAttemptsPerEvent ?? DEFAULTS.maxAttemptsPerEvent,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    fail(`${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function fail(problem: string): never {
  throw new Error(`reconcile.github: ${problem}`);
}
