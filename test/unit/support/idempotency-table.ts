/**
 * An in-memory stand-in for the Powertools idempotency table, behind an aws-sdk-client-mock DynamoDB mock:
 * PutItem succeeds for a new key and fails with ConditionalCheckFailedException carrying the stored item
 * (as DynamoDB does with `ReturnValuesOnConditionCheckFailure: ALL_OLD`) for a key already stored;
 * UpdateItem and DeleteItem change the stored item.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClientResolvedConfig,
  PutItemCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

type Item = Record<string, AttributeValue>;

export interface IdempotencyTable {
  items: Map<string, Item>;
  /** The stored records, unmarshalled. */
  records(): Record<string, unknown>[];
}

export function fakeIdempotencyTable(
  dynamodb: AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBClientResolvedConfig>,
): IdempotencyTable {
  const items = new Map<string, Item>();
  const idOf = (key: Item | undefined) => key?.id?.S ?? '';
  dynamodb.on(PutItemCommand).callsFake((input: { Item: Item }) => {
    const id = idOf(input.Item);
    const existing = items.get(id);
    if (existing) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
        Item: existing,
      });
    }
    items.set(id, input.Item);
    return {};
  });
  dynamodb
    .on(UpdateItemCommand)
    .callsFake(
      (input: {
        Key: Item;
        ExpressionAttributeValues: Item;
        ExpressionAttributeNames: Record<string, string>;
      }) => {
        const id = idOf(input.Key);
        const values = input.ExpressionAttributeValues;
        const item: Item = { ...(items.get(id) ?? input.Key) };
        for (const [placeholder, name] of Object.entries(input.ExpressionAttributeNames)) {
          const value = values[`:${placeholder.slice(1)}`];
          if (value) item[name] = value;
        }
        items.set(id, item);
        return {};
      },
    );
  dynamodb.on(DeleteItemCommand).callsFake((input: { Key: Item }) => {
    items.delete(idOf(input.Key));
    return {};
  });
  return { items, records: () => [...items.values()].map((item) => unmarshall(item)) };
}

/** A COMPLETED idempotency record holding `data`, valid for another day. */
export function completedItem(id: string, data: unknown, attributes: Record<string, unknown> = {}): Item {
  return marshall({
    id,
    status: 'COMPLETED',
    expiration: Math.floor(Date.now() / 1000) + 86_400,
    data,
    ...attributes,
  });
}
