import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DetailType, EVENT_SOURCE_PREFIX } from '../functions/contracts.js';
import { LedgerStage } from '../functions/shared/ledger.js';
import type { SystemsSettings } from './config.js';
import type { DownstreamGuards, GuardSettings } from './downstream-guards.js';
import { type EventLedger, ledgerEntryThen } from './event-ledger.js';
import type { IdempotencyStore } from './idempotency-store.js';
import { QueueWorker } from './queue-worker.js';
import { ServiceFunction } from './service-function.js';

export interface OrderPaidFlowProps {
  readonly systems: SystemsSettings;
  readonly idempotency: IdempotencyStore;
  /**
   * Where the starter, each step and the flow's end (`delivered` or `failed`, written by the state machine)
   * record the event's stages.
   */
  readonly ledger: EventLedger;
  /** The bus `flow.failed` is put on. */
  readonly bus: events.IEventBus;
  /** Redelivery backoff of failed starts, seconds. */
  readonly redelivery: { readonly baseSeconds: number; readonly capSeconds: number };
  /** The circuit breakers and rate limits of the systems the steps call. */
  readonly guards: DownstreamGuards;
  /**
   * Breaker and rate settings per system.
   * @default the guard defaults, no rate limit
   */
  readonly guardSettings?: Readonly<Partial<Record<keyof SystemsSettings, GuardSettings>>>;
}

/** Error names a step throws for failures worth retrying (see functions/connectors/http.ts). */
const TRANSIENT_ERRORS = ['TransientUpstreamError', 'IdempotencyAlreadyInProgressError'];
/** Errors of the downstream guard (functions/connectors/guard.ts): the system was not called. */
const GUARD_ERRORS = ['CircuitOpenError', 'RateLimitedError'];
/** Lambda service errors AWS advises retrying (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html). */
const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];
/** `source` of the events flows emit. */
export const FLOW_EVENT_SOURCE = `${EVENT_SOURCE_PREFIX}flows`;

/**
 * The order-paid flow, a Standard state machine started by `order.paid` through its starter (a queue and a
 * function that names each execution after the event key, so one event is one execution):
 * create the invoice (accounting) → update the customer (CRM) → send the receipt (email platform).
 * Transient step errors retry with capped exponential backoff and full jitter; a step that fails for good
 * runs the compensations of the steps before it in reverse (the CRM step failing voids the invoice), puts
 * `flow.failed` on the bus and ends the execution as failed. A compensation that fails for good parks the
 * saga record (the order, what was done, both errors) in `parkingQueue` for manual repair before the flow
 * fails. Every step is idempotent on the event key, so a second execution for the same event calls no system
 * twice. The starter, each step and the flow's end (`delivered` before success, `failed` after `flow.failed`)
 * write the event's stages to the event ledger, best effort.
 */
export class OrderPaidFlow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly steps: ServiceFunction[] = [];
  /** Route `order.paid` to `starter.queue.queue`. */
  readonly starter: QueueWorker;
  /**
   * Saga records of executions whose compensation failed for good, kept 14 days for manual repair: JSON
   * `{flow, execution, eventKey, order, done: {invoiceId}, pending: ["VoidInvoice"], failure, compensationFailure}`
   * (each failure `{Error, Cause}`). Watch it like a dead-letter queue.
   */
  readonly parkingQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: OrderPaidFlowProps) {
    super(scope, id);
    const step = (name: string, entry: string, system: keyof SystemsSettings) => {
      const baseUrl = props.systems[system];
      const fn = new ServiceFunction(this, name, {
        entry: `steps/${entry}.ts`,
        serviceName: `order-paid-${entry}`,
        timeout: Duration.seconds(15),
        environment: {
          DOWNSTREAM_BASE_URL: baseUrl,
          IDEMPOTENCY_TABLE_NAME: props.idempotency.table.tableName,
        },
      });
      props.idempotency.table.grantReadWriteData(fn);
      props.ledger.grantWrite(fn);
      props.guards.grantTo(fn, system, props.guardSettings?.[system]);
      this.steps.push(fn);
      return fn;
    };
    const invoke = (
      name: string,
      fn: ServiceFunction,
      payload: Record<string, string>,
      resultSelector?: object,
    ) => {
      const task = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject(payload),
        retryOnServiceExceptions: false,
        ...(resultSelector
          ? { resultSelector, resultPath: '$.result' }
          : { resultPath: sfn.JsonPath.DISCARD }),
      });
      task.addRetry({
        errors: LAMBDA_SERVICE_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 6,
        backoffRate: 2,
      });
      // A system whose breaker is open or whose rate is spent: wait longer than an open period (30 s).
      task.addRetry({
        errors: GUARD_ERRORS,
        interval: Duration.seconds(10),
        maxAttempts: 6,
        backoffRate: 2,
        maxDelay: Duration.seconds(120),
        jitterStrategy: sfn.JitterType.FULL,
      });
      task.addRetry({
        errors: TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        maxAttempts: 5,
        backoffRate: 2,
        maxDelay: Duration.seconds(60),
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };

    const order = { 'eventKey.$': '$.detail.eventKey', 'order.$': '$.detail' };
    const createInvoice = invoke(
      'CreateInvoice',
      step('CreateInvoiceStep', 'create-invoice', 'accounting'),
      order,
      {
        'invoiceId.$': '$.Payload.invoiceId',
      },
    );
    const updateCustomer = invoke(
      'UpdateCustomer',
      step('UpdateCustomerStep', 'update-customer', 'crm'),
      order,
    );
    const sendReceipt = invoke('SendReceipt', step('SendReceiptStep', 'send-receipt', 'email'), {
      ...order,
      'invoiceId.$': '$.result.invoiceId',
    });
    const voidInvoice = invoke('VoidInvoice', step('VoidInvoiceStep', 'void-invoice', 'accounting'), {
      'eventKey.$': '$.detail.eventKey',
      'invoiceId.$': '$.result.invoiceId',
    });

    const emitFailed = new tasks.EventBridgePutEvents(this, 'EmitFlowFailed', {
      entries: [
        {
          eventBus: props.bus,
          source: FLOW_EVENT_SOURCE,
          detailType: DetailType.FlowFailed,
          detail: sfn.TaskInput.fromObject({
            'eventKey.$': '$.detail.eventKey',
            flow: 'order-paid',
            'error.$': '$.failure.Error',
            'cause.$': '$.failure.Cause',
          }),
        },
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });
    const recordFailed = props.ledger.flowEntry(this, 'RecordFailed', {
      stage: LedgerStage.failed,
      flow: 'order-paid',
      details: {
        errorName: "{% $exists($states.input.failure.Error) ? $states.input.failure.Error : 'unknown' %}",
      },
    });
    const failed = emitFailed.next(
      ledgerEntryThen(recordFailed, new sfn.Fail(this, 'OrderPaidFailed', { error: 'OrderPaidFlowFailed' })),
    );
    const catchInto = (task: tasks.LambdaInvoke, next: sfn.IChainable) =>
      task.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.failure' });
    catchInto(createInvoice, emitFailed);
    catchInto(updateCustomer, voidInvoice);
    catchInto(sendReceipt, emitFailed);

    this.parkingQueue = new sqs.Queue(this, 'ParkingQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.parkingQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'The parking queue is where failed sagas end, like a dead-letter queue; it is watched by an alarm.',
    });
    // If even parking fails, the failed execution keeps the same record in its history (90 days) and pages.
    const parkSaga = new tasks.SqsSendMessage(this, 'ParkSaga', {
      queue: this.parkingQueue,
      messageBody: sfn.TaskInput.fromObject({
        flow: 'order-paid',
        'execution.$': '$$.Execution.Id',
        'eventKey.$': '$.detail.eventKey',
        'order.$': '$.detail',
        'done.$': '$.result',
        pending: ['VoidInvoice'],
        'failure.$': '$.failure',
        'compensationFailure.$': '$.compensationFailure',
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    parkSaga.addRetry({ errors: [sfn.Errors.ALL], interval: Duration.seconds(2), maxAttempts: 3 });
    parkSaga.addCatch(emitFailed, { errors: [sfn.Errors.ALL], resultPath: '$.parkingFailure' });
    parkSaga.next(emitFailed);
    voidInvoice.addCatch(parkSaga, { errors: [sfn.Errors.ALL], resultPath: '$.compensationFailure' });
    voidInvoice.next(failed);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        createInvoice
          .next(updateCustomer)
          .next(sendReceipt)
          .next(
            ledgerEntryThen(
              props.ledger.flowEntry(this, 'RecordDelivered', {
                stage: LedgerStage.delivered,
                flow: 'order-paid',
              }),
              new sfn.Succeed(this, 'OrderPaidDone'),
            ),
          ),
      ),
      timeout: Duration.hours(2),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.starter = new QueueWorker(this, 'Starter', {
      entry: 'flow-starter/handler.ts',
      serviceName: 'order-paid-starter',
      ledger: props.ledger,
      redelivery: props.redelivery,
      environment: { STATE_MACHINE_ARN: this.stateMachine.stateMachineArn, FLOW_NAME: 'order-paid' },
    });
    this.stateMachine.grantStartExecution(this.starter.worker);

    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing and CloudWatch Logs delivery actions support no resource-level permissions.',
    });
    for (const fn of this.steps) {
      Validations.of(this.stateMachine).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          'Invoking a step function by any of its versions or aliases; the grant is scoped to that function.',
      });
    }
  }
}
