// Assertions both stacks must pass: the bucket, the queues, the notification, the alarms and
// the least-privilege statements of the role that runs thumbflow.
import * as assert from 'assert/strict';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { IMAGE_SUFFIXES } from '../lib/pipeline';
import { actionsOf, logicalId, only, roleStatements } from './helpers';

export interface Expected {
  readonly visibilityTimeout: number;
  readonly uploadPrefix?: string;
  readonly outputPrefix?: string;
  /** The stack was made with deleteThumbnails: removals notify too, DeleteObject on thumbnails. */
  readonly deleteThumbnails?: boolean;
}

export function checkPipeline(t: Template, expected: Expected): void {
  const uploadPrefix = expected.uploadPrefix ?? 'uploads/';
  const dlqId = logicalId(t, 'AWS::SQS::Queue', 'PipelineDeadLetterQueue');
  const queueId = logicalId(t, 'AWS::SQS::Queue', 'PipelineQueue');

  // Queues: visibility, 4 days retention, redrive after 3 receives to a 10-day DLQ; both
  // retained when the stack goes (dead letters survive a stack deletion).
  t.hasResource('AWS::SQS::Queue', {
    Properties: Match.objectLike({
      VisibilityTimeout: expected.visibilityTimeout,
      MessageRetentionPeriod: 345600,
      ReceiveMessageWaitTimeSeconds: 20,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
    }),
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
  t.hasResource('AWS::SQS::Queue', {
    Properties: Match.objectLike({ MessageRetentionPeriod: 864000 }),
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
  for (const queue of Object.values(t.findResources('AWS::SQS::Queue'))) {
    assert.equal(queue.DeletionPolicy, 'Retain');
  }
  // Non-TLS requests to the queues are denied too.
  for (const id of [queueId, dlqId]) {
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: Match.arrayWith([{ Ref: id }]),
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        })]),
      },
    });
  }

  // Bucket: versioned, private, encrypted, noncurrent versions expire, retained.
  const [bucketId, bucket] = only(t, 'AWS::S3::Bucket');
  assert.equal(bucket.DeletionPolicy, 'Retain');
  assert.equal(bucket.Properties.VersioningConfiguration.Status, 'Enabled');
  assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
  });
  assert.ok(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration.length === 1);
  const rules = bucket.Properties.LifecycleConfiguration.Rules as any[];
  const noncurrent = rules.find((r) => r.NoncurrentVersionExpiration);
  assert.ok(noncurrent, JSON.stringify(rules));
  assert.equal(noncurrent.Status, 'Enabled');
  assert.ok(noncurrent.NoncurrentVersionExpiration.NoncurrentDays >= 1);

  // Bucket policy: deny every non-TLS request, on the bucket and its objects.
  t.hasResourceProperties('AWS::S3::BucketPolicy', {
    Bucket: { Ref: bucketId },
    PolicyDocument: {
      Statement: Match.arrayWith([{
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: [{ 'Fn::GetAtt': [bucketId, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }],
      }]),
    },
  });

  // The notification: uploads under the prefix with an image suffix (both cases), and
  // nothing else, go to the queue.
  const [, notifications] = only(t, 'Custom::S3BucketNotifications');
  const configs = notifications.Properties.NotificationConfiguration.QueueConfigurations as any[];
  const expectedSuffixes = IMAGE_SUFFIXES.flatMap((s) => [s, s.toUpperCase()]).sort();
  const events = expected.deleteThumbnails ? ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'] : ['s3:ObjectCreated:*'];
  for (const event of events) {
    const ofEvent = configs.filter((c) => c.Events[0] === event);
    assert.deepEqual(ofEvent.map((c) => c.Filter.Key.FilterRules.find((r: any) => r.Name === 'suffix').Value).sort(),
      expectedSuffixes, event);
  }
  assert.equal(configs.length, events.length * expectedSuffixes.length);
  for (const c of configs) {
    assert.equal(c.Events.length, 1);
    assert.ok(events.includes(c.Events[0]), c.Events[0]);
    assert.deepEqual(c.QueueArn, { 'Fn::GetAtt': [queueId, 'Arn'] });
    assert.equal(c.Filter.Key.FilterRules.find((r: any) => r.Name === 'prefix').Value, uploadPrefix);
    assert.equal(c.Filter.Key.FilterRules.length, 2);
  }
  // Only this bucket may send to the queue.
  t.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [{ Ref: queueId }],
    PolicyDocument: {
      Statement: Match.arrayWith([Match.objectLike({
        Effect: 'Allow',
        Principal: { Service: 's3.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      })]),
    },
  });

  // Alarms to the SNS topic: any dead letter; the oldest upload event too old.
  const topicId = logicalId(t, 'AWS::SNS::Topic', 'PipelineAlarmTopic');
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    AlarmActions: [{ Ref: topicId }],
  });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateAgeOfOldestMessage',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
    AlarmActions: [{ Ref: topicId }],
  });
}

/** The role's statements grant thumbflow's needs on exactly these resources, nothing wider. */
export function checkLeastPrivilege(t: Template, roleId: string, expected: Expected = { visibilityTimeout: 0 }): void {
  const uploadPrefix = expected.uploadPrefix ?? 'uploads/';
  const outputPrefix = expected.outputPrefix ?? 'thumbnails/';
  const bucketId = logicalId(t, 'AWS::S3::Bucket', 'PipelineBucket');
  const queueId = logicalId(t, 'AWS::SQS::Queue', 'PipelineQueue');
  const dlqId = logicalId(t, 'AWS::SQS::Queue', 'PipelineDeadLetterQueue');
  const objects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}*`]] });
  const granted = new Map<string, any[]>();
  for (const s of roleStatements(t, roleId)) {
    assert.equal(s.Effect, 'Allow');
    for (const action of actionsOf(s)) {
      assert.ok(!action.includes('*') || action === 'kms:GenerateDataKey*' || action === 'kms:ReEncrypt*', action);
      const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      granted.set(action, [...(granted.get(action) ?? []), ...resources.map((r: any) => ({ r, c: s.Condition }))]);
    }
  }
  const resourcesOf = (action: string) => (granted.get(action) ?? []).map((g) => g.r);
  assert.deepEqual(resourcesOf('s3:PutObject'), [objects(outputPrefix)]);
  assert.deepEqual(resourcesOf('s3:GetObject').map((r) => JSON.stringify(r)).sort(),
    [objects(uploadPrefix), objects(outputPrefix)].map((r) => JSON.stringify(r)).sort());
  const list = granted.get('s3:ListBucket') ?? [];
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].r, { 'Fn::GetAtt': [bucketId, 'Arn'] });
  assert.deepEqual(list[0].c, { StringLike: { 's3:prefix': [`${uploadPrefix}*`] } });
  if (expected.deleteThumbnails) {
    assert.deepEqual(resourcesOf('s3:DeleteObject'), [objects(outputPrefix)]);
  } else {
    assert.ok(!granted.has('s3:DeleteObject'));
  }
  for (const action of ['s3:*', 's3:PutBucketPolicy', 'sqs:*', 'sqs:DeleteQueue']) {
    assert.ok(!granted.has(action), action);
  }
  for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes']) {
    assert.deepEqual(resourcesOf(action).filter((r) => r['Fn::GetAtt']?.[0] === queueId).length, 1, action);
  }
  assert.deepEqual(resourcesOf('sqs:ReceiveMessage'), [{ 'Fn::GetAtt': [queueId, 'Arn'] }]);
  assert.deepEqual(resourcesOf('sqs:SendMessage'), [{ 'Fn::GetAtt': [dlqId, 'Arn'] }]);
}
