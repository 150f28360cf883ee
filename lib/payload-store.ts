import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * The claim-check bucket: webhook bodies too large for a queue message, written by the ingest function before
 * it acknowledges and read by the router. Encrypted, private, TLS only; objects expire after 30 days, past
 * the 14 days a message can wait in a queue or dead-letter queue. Retained with the stack's deletion, like
 * the queues' contents would be lost otherwise.
 */
export class PayloadStore extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the hub functions read and write it; enable CloudTrail S3 data events where access must be audited.',
    });
  }
}
