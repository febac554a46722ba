// The part both deployments share: the versioned bucket whose uploads notify an SQS queue
// (dead letters after 3 receives, kept 10 days), the alarms on both queues, an optional KMS
// key, and the IAM statements a thumbflow process needs (Lambda function or Fargate task).
import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

// The suffixes thumbflow's embedded notification rule accepts by default (README, Storage).
// S3 suffix filters are case-sensitive and thumbflow's are not, so each suffix is also
// registered upper-case (".JPG" from cameras); mixed case (".Jpg") does not notify.
export const IMAGE_SUFFIXES = [
  '.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.heic', '.heif',
  '.tif', '.tiff', '.jxl', '.svg',
];

export interface ThumbnailSize {
  readonly name: string;
  readonly width: number;
  readonly height?: number;
}

export const DEFAULT_SIZES: ThumbnailSize[] = [
  { name: 'small', width: 50 },
  { name: 'medium', width: 150 },
  { name: 'large', width: 300 },
];

export interface ThumbflowPipelineProps {
  /** Key prefix whose uploads make thumbnails (ends with "/"). @default "uploads/" */
  readonly uploadPrefix?: string;
  /** Key prefix thumbnails are written under (ends with "/"). @default "thumbnails/" */
  readonly outputPrefix?: string;
  /** The upload queue's visibility timeout. @default 60 s */
  readonly visibilityTimeout?: Duration;
  /** How long an unprocessed upload event is kept. @default 4 days */
  readonly queueRetention?: Duration;
  /** Noncurrent object versions (overwritten thumbnails) are deleted after this. @default 30 days */
  readonly noncurrentVersionExpiration?: Duration;
  /** Alarm when the main queue's oldest message is older than this. @default 15 minutes */
  readonly maxMessageAge?: Duration;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
  /** A customer managed KMS key for the bucket, the queues and the alarm topic ($1/month). @default false (SSE-S3, SSE-SQS, unencrypted topic) */
  readonly kmsKey?: boolean;
  /**
   * Thumbnails follow their source: deleting an upload deletes its thumbnails ([pipeline]
   * delete_thumbnails; README "Thumbnails follow their source"). The bucket then also
   * notifies the queue of removals, and thumbflow may delete under the output prefix.
   * @default false (deleting is irreversible; nothing is deleted unless asked for)
   */
  readonly deleteThumbnails?: boolean;
}

export class ThumbflowPipeline extends Construct {
  readonly bucket: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly alarmTopic: sns.Topic;
  readonly key?: kms.Key;
  readonly uploadPrefix: string;
  readonly outputPrefix: string;
  readonly deleteThumbnails: boolean;

  constructor(scope: Construct, id: string, props: ThumbflowPipelineProps = {}) {
    super(scope, id);
    this.uploadPrefix = checkPrefix('uploadPrefix', props.uploadPrefix ?? 'uploads/');
    this.outputPrefix = checkPrefix('outputPrefix', props.outputPrefix ?? 'thumbnails/');
    this.deleteThumbnails = props.deleteThumbnails ?? false;
    if (this.outputPrefix.startsWith(this.uploadPrefix)) {
      // Thumbnails would notify the queue and make thumbnails of themselves.
      throw new Error(`outputPrefix "${this.outputPrefix}" must not lie under uploadPrefix "${this.uploadPrefix}"`);
    }

    if (props.kmsKey) {
      this.key = new kms.Key(this, 'Key', {
        description: 'thumbflow: bucket, queues and alarm topic',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // CloudWatch publishes alarms to the encrypted topic.
      this.key.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsToEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }));
    }

    // Dead letters are what an operator needs after an incident: deleting the stack must
    // not delete them, so both queues are retained.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(10),
      encryption: this.key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(60),
      retentionPeriod: props.queueRetention ?? Duration.days(4),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 3 },
      encryption: this.key ? sqs.QueueEncryption.KMS : sqs.QueueEncryption.SQS_MANAGED,
      encryptionMasterKey: this.key,
      dataKeyReuse: this.key ? Duration.hours(24) : undefined,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      versioned: true,
      enforceSSL: true, // bucket policy: deny every request with aws:SecureTransport false
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: this.key ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: this.key,
      bucketKeyEnabled: this.key ? true : undefined,
      lifecycleRules: [{
        id: 'NoncurrentVersions',
        // Every reprocessed upload overwrites its thumbnails, leaving a noncurrent version.
        noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      }],
      removalPolicy: RemovalPolicy.RETAIN, // it holds the users' images
    });
    const destination = new QueueDestination(this.queue, this.key);
    const events = this.deleteThumbnails
      ? [s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED]
      : [s3.EventType.OBJECT_CREATED];
    for (const event of events) {
      for (const suffix of IMAGE_SUFFIXES) {
        for (const variant of [suffix, suffix.toUpperCase()]) {
          this.bucket.addEventNotification(event, destination,
            { prefix: this.uploadPrefix, suffix: variant });
        }
      }
    }

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'thumbflow alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    }
    const notify = new cw_actions.SnsAction(this.alarmTopic);
    const dlqAlarm = new cloudwatch.Alarm(this, 'DeadLetterQueueAlarm', {
      alarmDescription: 'thumbflow: messages in the dead-letter queue (permanent failures or 3 receives); read their thumbflow-reason attribute',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5), statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const maxAge = props.maxMessageAge ?? Duration.minutes(15);
    const ageAlarm = new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
      alarmDescription: `thumbflow: an upload event has waited more than ${maxAge.toSeconds()} s (consumers stopped, throttled or failing)`,
      metric: this.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5), statistic: 'Maximum',
      }),
      threshold: maxAge.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [dlqAlarm, ageAlarm]) {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
    }
  }

  /** Stack outputs for the bucket, the queues and the alarm topic. */
  addOutputs(scope: Construct): void {
    new CfnOutput(scope, 'BucketName', {
      value: this.bucket.bucketName,
      description: 'Upload images under the upload prefix; thumbnails appear under the output prefix',
    });
    new CfnOutput(scope, 'QueueUrl', { value: this.queue.queueUrl });
    new CfnOutput(scope, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(scope, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }

  /** A log group for thumbflow's output: encrypted with the key when there is one, retained. */
  newLogGroup(scope: Construct, id: string, retention?: logs.RetentionDays): logs.LogGroup {
    if (this.key) {
      this.key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${Stack.of(scope).region}.amazonaws.com`));
    }
    return new logs.LogGroup(scope, id, {
      retention: retention ?? logs.RetentionDays.TWO_WEEKS,
      encryptionKey: this.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /**
   * What thumbflow needs and nothing more: read uploads, write and HEAD thumbnails, list only
   * under the upload prefix (so a deleted source is a 404, not a 403), consume the queue and
   * dead-letter permanent failures.
   */
  grantThumbflow(grantee: iam.IGrantable): void {
    const policy = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    policy(new iam.PolicyStatement({
      sid: 'ReadUploads',
      actions: ['s3:GetObject'],
      resources: [this.bucket.arnForObjects(`${this.uploadPrefix}*`)],
    }));
    // GetObject also covers HeadObject: the idempotency check reads the source ETag
    // recorded on existing thumbnails.
    policy(new iam.PolicyStatement({
      sid: 'WriteAndCheckThumbnails',
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [this.bucket.arnForObjects(`${this.outputPrefix}*`)],
    }));
    if (this.deleteThumbnails) {
      policy(new iam.PolicyStatement({
        sid: 'DeleteThumbnailsOfRemovedUploads',
        actions: ['s3:DeleteObject'],
        resources: [this.bucket.arnForObjects(`${this.outputPrefix}*`)],
      }));
    }
    policy(new iam.PolicyStatement({
      sid: 'TellMissingFromForbidden',
      actions: ['s3:ListBucket'],
      resources: [this.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${this.uploadPrefix}*`] } },
    }));
    this.queue.grantConsumeMessages(grantee);
    this.deadLetterQueue.grantSendMessages(grantee);
    if (this.key) {
      // SSE-KMS objects: decrypt to read, generate data keys to write.
      this.key.grantEncryptDecrypt(grantee);
    }
  }
}

/**
 * s3-notifications' SqsDestination, except that the key policy names the account rather
 * than the bucket: the bucket is encrypted with the same key, and a key policy naming the
 * bucket would make key -> bucket -> key a cycle. The queue policy still admits this bucket
 * only.
 */
class QueueDestination implements s3.IBucketNotificationDestination {
  constructor(private readonly queue: sqs.Queue, private readonly key?: kms.Key) {}

  bind(_scope: Construct, bucket: s3.IBucket): s3.BucketNotificationDestinationConfig {
    const account = Stack.of(this.queue).account;
    const s3Service = new iam.ServicePrincipal('s3.amazonaws.com');
    this.queue.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'UploadEventsFromTheBucketOnly',
      principals: [s3Service],
      actions: ['sqs:SendMessage'],
      resources: [this.queue.queueArn],
      conditions: {
        ArnLike: { 'aws:SourceArn': bucket.bucketArn },
        StringEquals: { 'aws:SourceAccount': account },
      },
    }));
    this.key?.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'S3EventsToEncryptedQueue',
      principals: [s3Service],
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': account } },
    }));
    // The queue's subtree holds its policy: S3 checks it may send when the rule is created.
    return { arn: this.queue.queueArn, type: s3.BucketNotificationDestinationType.QUEUE, dependencies: [this.queue] };
  }
}

function checkPrefix(name: string, prefix: string): string {
  if (!/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(prefix)) {
    throw new Error(`${name} "${prefix}": expected path segments ending with "/" (for example "uploads/")`);
  }
  return prefix;
}

/** TOML basic string. */
export function tomlString(value: string): string {
  return JSON.stringify(value);
}

/** The lines of THUMBFLOW_CONFIG's [pipeline] table that the construct decides. */
export function pipelineTomlLines(pipeline: ThumbflowPipeline): string[] {
  return [`delete_thumbnails = ${pipeline.deleteThumbnails}`];
}

/** The [output] and [[thumbnails.sizes]] tables of THUMBFLOW_CONFIG. */
export function outputAndSizesToml(pipeline: ThumbflowPipeline, sizes: ThumbnailSize[]): string {
  if (sizes.length === 0) throw new Error('sizes: at least one thumbnail size is required');
  const lines = [
    '[output]',
    `prefix = ${tomlString(pipeline.outputPrefix)}`,
    `upload_prefix = ${tomlString(pipeline.uploadPrefix)}`,
  ];
  for (const size of sizes) {
    if (!/^[A-Za-z0-9_-]+$/.test(size.name)) throw new Error(`size name "${size.name}": letters, digits, - and _ only`);
    for (const [field, value] of [['width', size.width], ['height', size.height]] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 10000)) {
        throw new Error(`size ${size.name}: ${field} ${value} is not a whole number in 1..10000`);
      }
    }
    lines.push('', '[[thumbnails.sizes]]', `name = ${tomlString(size.name)}`, `width = ${size.width}`);
    if (size.height !== undefined) lines.push(`height = ${size.height}`);
  }
  return lines.join('\n') + '\n';
}
