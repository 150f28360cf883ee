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
