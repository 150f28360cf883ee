import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * Client settings shared by every AWS SDK client of the functions: short timeouts so a slow AWS call fails
 * while the caller can still answer (the ingest function answers 503 rather than time out), and two
 * attempts in total.
 *
 * @param requestTimeoutMs time allowed for one attempt, milliseconds
 */
export function clientConfig(requestTimeoutMs: number) {
  return {
    maxAttempts: 2,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: requestTimeoutMs }),
  };
}

/**
 * `clientConfig` for SQS clients: also sends calls to the configured endpoint rather than the host of the queue
 * URL (the same host on AWS; locally, it keeps calls going through `AWS_ENDPOINT_URL`, where the fault proxy is).
 */
export function sqsClientConfig(requestTimeoutMs: number) {
  return { ...clientConfig(requestTimeoutMs), useQueueUrlAsEndpoint: false };
}
