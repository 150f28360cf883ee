import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

/**
 * A DynamoDB table with the hub's defaults: a string partition key, on-demand billing, encryption at rest and
 * point-in-time recovery.
 * @param partitionKey name of the string partition key
 * @param sortKey name of the string sort key, if any (default: none)
 * @param removalPolicy what happens to the table when the stack is deleted
 * @param timeToLiveAttribute the attribute DynamoDB expires items by (epoch seconds), if any
 */
export function hubTable(
  scope: Construct,
  id: string,
  options: {
    partitionKey: string;
    sortKey?: string;
    removalPolicy: RemovalPolicy;
    timeToLiveAttribute?: string;
  },
): dynamodb.TableV2 {
  return new dynamodb.TableV2(scope, id, {
    partitionKey: { name: options.partitionKey, type: dynamodb.AttributeType.STRING },
    ...(options.sortKey ? { sortKey: { name: options.sortKey, type: dynamodb.AttributeType.STRING } } : {}),
    billing: dynamodb.Billing.onDemand(),
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: options.removalPolicy,
    ...(options.timeToLiveAttribute ? { timeToLiveAttribute: options.timeToLiveAttribute } : {}),
  });
}
