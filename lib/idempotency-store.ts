import { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { hubTable } from './hub-table.js';

/**
 * The DynamoDB table behind Powertools idempotency: deduplication records of the router and step results of
 * the flows (keys are prefixed with the function name, so they never collide). On-demand, encrypted,
 * point-in-time recovery, expired records removed by TTL on `expiration`, and retained when the stack is
 * deleted: losing it would let every vendor retry through again.
 *
 * Key schema and attributes: https://docs.powertools.aws.dev/lambda/typescript/latest/features/idempotency/#required-resources
 */
export class IdempotencyStore extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = hubTable(this, 'Table', {
      partitionKey: 'id',
      timeToLiveAttribute: 'expiration',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
