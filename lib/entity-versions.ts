import { RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { hubTable } from './hub-table.js';

/**
 * The last applied version of each entity the hub mirrors into other systems (e.g. a CRM contact), keyed
 * `pk` = `<kind>#<source>#<entity id>`, so an update that arrives after a newer one is recognised and skipped
 * (last writer wins on the source's own timestamp). On-demand, encrypted, point-in-time recovery, retained.
 */
export class EntityVersions extends Construct {
  readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = hubTable(this, 'Table', { partitionKey: 'pk', removalPolicy: RemovalPolicy.RETAIN });
  }
}
