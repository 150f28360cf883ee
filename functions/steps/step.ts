/**
 * The shape shared by every step of a flow: a Lambda handler that runs its connector call at most once per
 * event key and step (Powertools idempotency in DynamoDB: a re-started or retried step returns the stored
 * result instead of calling the system again), through the system's shared circuit breaker and rate limiter
 * (functions/connectors/guard.ts), and sends an `Idempotency-Key` of `<event key>:<step>` so the system can
 * deduplicate too. Every log line of a step carries its event key and step name. Each outcome goes to the
 * event ledger (functions/shared/ledger.ts), best effort: `step-succeeded` (`replayed` when answered from the
 * stored result) or `step-failed` with the error name.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { guardFromEnvironment } from '../connectors/guard.js';
import type { CallContext } from '../connectors/systems.js';
import { clientConfig } from '../shared/aws.js';
import { requiredEnv } from '../shared/env.js';
import { LedgerStage, ledgerFromEnvironment } from '../shared/ledger.js';
import { instrument, logger, metrics, tracer } from '../shared/powertools.js';

/** Step results are kept 14 days, like the router's deduplication records. */
const STEP_RECORD_SECONDS = 14 * 24 * 3600;

/** What every step receives: the canonical event's key, plus the step's own input. */
export interface StepInput {
  eventKey: string;
}

/**
 * Builds the Lambda handler of one step.
 * @param step the step's name, part of the `Idempotency-Key` (e.g. `create-invoice`)
 * @param run the connector call; gets the system's base URL (env `DOWNSTREAM_BASE_URL`), the remaining time
 *   and the idempotency key. Must not mutate its input.
 */
export function defineStep<I extends StepInput, O extends object>(
  step: string,
  run: (input: I, call: CallContext) => Promise<O>,
) {
  const baseUrl = requiredEnv('DOWNSTREAM_BASE_URL');
  /** Whether this invocation was answered from a stored result (one input per invocation). */
  let replayed = false;
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'eventKey',
    expiresAfterSeconds: STEP_RECORD_SECONDS,
    throwOnNoIdempotencyKey: true,
    // Called only when Powertools answers from a COMPLETED record; the output itself stays as stored.
    responseHook: (response) => {
      replayed = true;
      return response;
    },
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: requiredEnv('IDEMPOTENCY_TABLE_NAME'),
    awsSdkV3Client: tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(2000))),
  });
  const guard = guardFromEnvironment(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(500))));
  const ledger = ledgerFromEnvironment(tracer.captureAWSv3Client(new DynamoDBClient(clientConfig(1000))), {
    logger,
    metrics,
    tracer,
  });
  /** Writes the step's outcome to the ledger (best effort: never throws), for an input with an event key. */
  const recordOutcome = async (eventKey: unknown, details: Record<string, string | boolean>) => {
    if (typeof eventKey !== 'string' || eventKey === '') return;
    await ledger.record([
      {
        eventKey,
        stage: 'errorName' in details ? LedgerStage.stepFailed : LedgerStage.stepSucceeded,
        discriminator: step,
        details: { step, ...details },
      },
    ]);
  };
  const idempotent = makeIdempotent(
    async (input: I, context: Context): Promise<O> => {
      return guard.run(
        (remainingTimeMs) =>
          run(input, { baseUrl, remainingTimeMs, idempotencyKey: `${input.eventKey}:${step}` }),
        context.getRemainingTimeInMillis(),
      );
    },
    { persistenceStore, config },
  );
  return instrument(async (input: I, context: Context): Promise<O> => {
    config.registerLambdaContext(context);
    // Before the idempotency check, so that a step answered from its stored result logs them too. One event
    // per invocation, and injectLambdaContext resets the keys after it.
    logger.appendKeys({ eventKey: input.eventKey, step });
    replayed = false;
    let output: O;
    try {
      output = await idempotent(input, context);
    } catch (error) {
      await recordOutcome(input.eventKey, { errorName: (error as Error).name });
      throw error;
    }
    await recordOutcome(input.eventKey, replayed ? { replayed } : {});
    return output;
  });
}
