import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DetailType, GITHUB_DETAIL_TYPE_PREFIX } from '../functions/contracts.js';
import { Alarms } from './alarms.js';
import type { HubSettings } from './config.js';
import { HubDashboard } from './dashboard.js';
import { DeliveryReconciliation } from './delivery-reconciliation.js';
import { DownstreamGuards } from './downstream-guards.js';
import { DurableQueue } from './durable-queue.js';
import { EmailSync } from './email-sync.js';
import { EntityVersions } from './entity-versions.js';
import { EventLedger } from './event-ledger.js';
import { EventRouting } from './event-routing.js';
import { IdempotencyStore } from './idempotency-store.js';
import { Inbox } from './inbox.js';
import { pascalCase } from './names.js';
import { OrderPaidFlow } from './order-paid-flow.js';
import { PayloadStore } from './payload-store.js';
import { WebhookIngress } from './webhook-ingress.js';

export interface SwitchyardStackProps extends StackProps {
  readonly settings: HubSettings;
}

/**
 * The integration hub, as in the architecture diagram: webhook ingress → inbox → event routing → flows and
 * consumers, with alarms on every part (thresholds from `settings.sla`), paging once per failing component, and
 * a dashboard.
 */
export class SwitchyardStack extends Stack {
  constructor(scope: Construct, id: string, props: SwitchyardStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const redelivery = settings.redelivery ?? { baseSeconds: 10, capSeconds: 900 };

    const idempotency = new IdempotencyStore(this, 'Idempotency');
    // Each event's stages, written after the acknowledgement (never by the ingest function).
    const ledger = new EventLedger(this, 'EventLedger');
    const routing = new EventRouting(this, 'Routing');
    const payloads = new PayloadStore(this, 'Payloads');
    const inbox = new Inbox(this, 'Inbox', {
      bus: routing.bus,
      idempotency,
      ledger,
      redelivery,
      payloads: payloads.bucket,
      mappers: Object.fromEntries(
        settings.sources.flatMap((source) => (source.mapper ? [[source.name, source.mapper]] : [])),
      ),
    });
    const ingress = new WebhookIngress(this, 'Ingress', {
      sources: settings.sources,
      inbox: inbox.queue.queue,
      payloads: payloads.bucket,
      ...(settings.throttling ? { throttling: settings.throttling } : {}),
      ...(settings.waf ? { waf: settings.waf } : {}),
      ...(settings.secretCacheSeconds
        ? { secretCacheTtl: Duration.seconds(settings.secretCacheSeconds) }
        : {}),
      ...(settings.secretStaleSeconds !== undefined
        ? { secretStaleTtl: Duration.seconds(settings.secretStaleSeconds) }
        : {}),
    });

    const guards = new DownstreamGuards(this, 'DownstreamGuards');
    const orderPaid = new OrderPaidFlow(this, 'OrderPaidFlow', {
      guards,
      ...(settings.guards ? { guardSettings: settings.guards } : {}),
      systems: settings.systems,
      idempotency,
      ledger,
      bus: routing.bus,
      redelivery,
    });
    routing.routeToQueue(
      'OrderPaidRoute',
      { detailTypes: [DetailType.OrderPaid] },
      orderPaid.starter.queue.queue,
    );

    const emailSync = new EmailSync(this, 'EmailSync', {
      emailBaseUrl: settings.systems.email,
      idempotency,
      ledger,
      versions: new EntityVersions(this, 'EntityVersions'),
      guards,
      ...(settings.guards?.email ? { guardSettings: settings.guards.email } : {}),
      redelivery,
    });
    routing.routeToQueue(
      'ContactRoute',
      { detailTypes: [DetailType.ContactCreated, DetailType.ContactUpdated, DetailType.ContactDeleted] },
      emailSync.queue.queue,
    );

    const audit = new DurableQueue(this, 'Audit');
    routing.routeToQueue('CodeHostAuditRoute', { detailTypePrefix: GITHUB_DETAIL_TYPE_PREFIX }, audit.queue);

    const alarms = new Alarms(this, 'Alarms', {
      ...(settings.runbookBaseUrl ? { runbookBaseUrl: settings.runbookBaseUrl } : {}),
      ...(settings.sla ? { sla: settings.sla } : {}),
      sources: settings.sources,
    });
    // The queues whose dead letters go back where they came from (`npm run ops -- redrive <name>`).
    const redrivable: Record<string, DurableQueue> = {
      inbox: inbox.queue,
      'email-sync': emailSync.queue,
      audit,
      'order-paid-start': orderPaid.starter.queue,
    };
    for (const [name, queue] of Object.entries(redrivable)) {
      alarms.watchDeadLetterQueue(
        `${pascalCase(name)}DeadLetters`,
        queue.deadLetterQueue,
        `The ${name} dead-letter queue`,
      );
    }
    alarms.watchDeadLetterQueue(
      'RoutingDeadLetters',
      routing.deadLetterQueue,
      'The routing dead-letter queue',
    );
    // Each component pages once, through its composite (lib/alarms.ts); dead letters and parked sagas page alone.
    guards.alarmOnOpen((id, metric, what, runbook, system) =>
      alarms.watchMetric(id, metric, what, runbook, { component: alarms.downstream(system) }),
    );
    alarms.watchIngress(ingress, settings.sources);
    alarms.watchRouting(inbox, routing);
    alarms.watchFlowComponent(
      'OrderPaidFlow',
      'order-paid',
      orderPaid,
      orderPaid.steps.flatMap((step) => guards.systemOf(step) ?? []),
    );
    alarms.watchConsumer(
      'EmailSync',
      'email-sync',
      emailSync,
      [guards.systemOf(emailSync.worker) ?? []].flat(),
    );
    alarms.watchMetric(
      'OrderPaidSagasParked',
      orderPaid.parkingQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      'The order-paid parking queue holds a saga whose compensation failed: a system may be left half-applied (an invoice without its order in the CRM).',
      'saga-parked',
    );
    const githubReconciliation = settings.reconcile?.github
      ? new DeliveryReconciliation(this, 'ReconcileGithub', {
          github: settings.reconcile.github,
          sources: settings.sources,
          alarms,
        })
      : undefined;

    const dashboard = new HubDashboard(this, 'Dashboard', {
      api: ingress.api,
      sources: settings.sources.map((source) => source.name),
      ackBudgetMilliseconds: alarms.sla.ackP99Milliseconds,
      queues: Object.fromEntries(Object.entries(redrivable).map(([name, queue]) => [name, queue.queue])),
      deadLetterQueues: {
        ...Object.fromEntries(
          Object.entries(redrivable).map(([name, queue]) => [name, queue.deadLetterQueue]),
        ),
        routing: routing.deadLetterQueue,
        'order-paid-parking': orderPaid.parkingQueue,
        ...(githubReconciliation ? { 'reconcile-github': githubReconciliation.deadLetterQueue } : {}),
      },
      flows: { 'order-paid': orderPaid.stateMachine },
      downstreams: Object.keys(settings.systems),
      functions: {
        ingest: ingress.ingest,
        router: inbox.worker,
        'order-paid-starter': orderPaid.starter.worker,
        ...Object.fromEntries(orderPaid.steps.map((step) => [step.node.id, step])),
        'email-sync': emailSync.worker,
        ...(githubReconciliation ? { 'reconcile-github': githubReconciliation.fn } : {}),
      },
      alarms: [...alarms.alarms, ...alarms.composites],
    });

    new CfnOutput(this, 'WebhookBaseUrl', {
      value: ingress.webhookBaseUrl,
      description: 'Vendors post to <WebhookBaseUrl>/<source>',
    });
    new CfnOutput(this, 'DeadLetterQueues', {
      value: this.toJsonString(
        Object.fromEntries(
          Object.entries(redrivable).map(([name, queue]) => [
            name,
            { deadLetterQueueUrl: queue.deadLetterQueue.queueUrl, queueUrl: queue.queue.queueUrl },
          ]),
        ),
      ),
      description: 'JSON {<name>: {deadLetterQueueUrl, queueUrl}} of the queues the operator CLI redrives',
    });
    new CfnOutput(this, EVENT_LEDGER_OUTPUT_ID, {
      value: ledger.table.tableName,
      description: 'The event ledger table the operator CLI reads (`history`, `failures`)',
    });
    new CfnOutput(this, 'OnCallTopicArn', {
      value: alarms.topic.topicArn,
      description: 'Subscribe on-call here',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: dashboard.consoleUrl,
      description: "The hub's CloudWatch dashboard in the console",
    });
    for (const [source, secret] of Object.entries(ingress.signingSecrets)) {
      new CfnOutput(this, signingSecretOutputId(source), {
        value: secret.secretArn,
        description: `Put the signing secret of source "${source}" here`,
      });
    }
    if (githubReconciliation) {
      new CfnOutput(this, reconcileTokenOutputId('github'), {
        value: githubReconciliation.tokenSecret.secretArn,
        description: 'Put the GitHub API token of the delivery reconciliation here',
      });
    }
  }
}

/** Id of the stack output with the event ledger's table name (read by cli/switchyard.ts). */
export const EVENT_LEDGER_OUTPUT_ID = 'EventLedgerTableName';

/** Id of the stack output with the signing secret ARN of a source: `stripe-eu` → `SigningSecretStripeEu`. */
export function signingSecretOutputId(source: string): string {
  return `SigningSecret${pascalCase(source)}`;
}

/** Id of the stack output with the ARN of a reconciliation's API token secret: `github` → `ReconcileTokenGithub`. */
export function reconcileTokenOutputId(vendor: 'github'): string {
  return `ReconcileToken${pascalCase(vendor)}`;
}
