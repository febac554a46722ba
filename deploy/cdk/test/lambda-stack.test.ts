import * as assert from 'assert/strict';
import { test } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { lambdaLimitsToml, ThumbflowLambdaStack, ThumbflowLambdaStackProps } from '../lib/lambda-stack';
import { logicalId, newApp, only, placeholderZip, roleStatements } from './helpers';
import { checkLeastPrivilege, checkPipeline } from './pipeline-checks';

function synth(props: Partial<ThumbflowLambdaStackProps> = {}): Template {
  const stack = new ThumbflowLambdaStack(newApp(), 'Test', { codeZip: placeholderZip(), ...props });
  return Template.fromStack(stack);
}

function config(t: Template): string {
  const [, fn] = only(t, 'AWS::Lambda::Function', { Properties: { Handler: 'bootstrap' } });
  return fn.Properties.Environment.Variables.THUMBFLOW_CONFIG;
}

test('the reference architecture with thumbflow as the function', () => {
  const t = synth();
  checkPipeline(t, { visibilityTimeout: 60 });
  const [, fn] = only(t, 'AWS::Lambda::Function', { Properties: { Handler: 'bootstrap' } });
  const roleId = logicalId(t, 'AWS::IAM::Role', 'FunctionRole');
  const logGroupId = logicalId(t, 'AWS::Logs::LogGroup', 'LogGroup');
  assert.equal(fn.Properties.Runtime, 'provided.al2023');
  assert.deepEqual(fn.Properties.Architectures, ['x86_64']);
  assert.equal(fn.Properties.Timeout, 10);
  assert.equal(fn.Properties.MemorySize, 1024);
  assert.deepEqual(fn.Properties.Role, { 'Fn::GetAtt': [roleId, 'Arn'] });
  assert.deepEqual(fn.Properties.LoggingConfig, { LogFormat: 'Text', LogGroup: { Ref: logGroupId } });
  assert.ok(fn.Properties.Code.S3Key, 'the zip is a file asset');
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
    EventSourceArn: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'PipelineQueue'), 'Arn'] },
    BatchSize: 10,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 10 },
  });
  t.hasResource('AWS::Logs::LogGroup', {
    Properties: { RetentionInDays: 14 },
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
  });
  checkLeastPrivilege(t, roleId);
  // Logs only to its own group (no AWSLambdaBasicExecutionRole, no logs:* on every group).
  const role = t.findResources('AWS::IAM::Role')[roleId];
  assert.equal(role.Properties.ManagedPolicyArns, undefined);
  const logs = roleStatements(t, roleId).filter((s) => JSON.stringify(s.Action).includes('logs:'));
  assert.deepEqual(logs.map((s) => s.Resource), [{ 'Fn::GetAtt': [logGroupId, 'Arn'] }]);
  t.resourceCountIs('AWS::KMS::Key', 0);
  for (const output of ['BucketName', 'QueueUrl', 'DeadLetterQueueUrl', 'AlarmTopicArn', 'FunctionName', 'LogGroupName']) {
    t.hasOutput(output, {});
  }
});

test('THUMBFLOW_CONFIG carries the prefixes and sizes', () => {
  const text = config(synth({
    uploadPrefix: 'in/photos/', outputPrefix: 'out/',
    sizes: [{ name: 'tiny', width: 32 }, { name: 'card', width: 400, height: 300 }],
  }));
  assert.match(text, /^\[output\]\nprefix = "out\/"\nupload_prefix = "in\/photos\/"\n/);
  assert.match(text, /\[\[thumbnails\.sizes\]\]\nname = "tiny"\nwidth = 32\n/);
  assert.match(text, /\[\[thumbnails\.sizes\]\]\nname = "card"\nwidth = 400\nheight = 300\n/);
});

test('deleteThumbnails: removals notify the queue, the role may delete thumbnails, the config says so', () => {
  assert.match(config(synth()), /\[pipeline\]\ndelete_thumbnails = false\n/);
  const t = synth({ deleteThumbnails: true });
  checkPipeline(t, { visibilityTimeout: 60, deleteThumbnails: true });
  checkLeastPrivilege(t, logicalId(t, 'AWS::IAM::Role', 'FunctionRole'),
    { visibilityTimeout: 60, deleteThumbnails: true });
  assert.match(config(t), /\[pipeline\]\ndelete_thumbnails = true\n/);
});

test('the per-image deadline and S3 timeouts end before the function does', () => {
  for (const seconds of [5, 10, 30, 60, 300, 900]) {
    const text = lambdaLimitsToml(Duration.seconds(seconds));
    const value = (name: string) => Number(new RegExp(`^${name} = (\\d+)$`, 'm').exec(text)![1]);
    const budgetMs = seconds * 1000 - value('deadline_margin_ms');
    assert.ok(value('timeout_s') >= 1 && value('timeout_s') * 1000 <= budgetMs, `${seconds}: ${text}`);
    assert.ok(value('request_timeout_ms') <= budgetMs / 2, `${seconds}: ${text}`);
    assert.ok(value('connect_timeout_ms') <= value('request_timeout_ms'), `${seconds}: ${text}`);
  }
  const t = synth({ timeout: Duration.seconds(30) });
  assert.match(config(t), /\[limits\]\ntimeout_s = 27\n/);
  assert.match(config(t), /request_timeout_ms = 13500\n/);
  only(t, 'AWS::Lambda::Function', { Properties: { Timeout: 30 } });
  t.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 180, MessageRetentionPeriod: 345600 });
});

test('stack props: prefixes, batch size, concurrency, memory, architecture', () => {
  const t = synth({
    uploadPrefix: 'incoming/', outputPrefix: 'thumbs/', batchSize: 5, maxConcurrency: 50,
    memorySize: 2048, architecture: lambda.Architecture.ARM_64, logRetention: 30,
  });
  checkPipeline(t, { visibilityTimeout: 60, uploadPrefix: 'incoming/', outputPrefix: 'thumbs/' });
  checkLeastPrivilege(t, logicalId(t, 'AWS::IAM::Role', 'FunctionRole'),
    { visibilityTimeout: 60, uploadPrefix: 'incoming/', outputPrefix: 'thumbs/' });
  t.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 5, ScalingConfig: { MaximumConcurrency: 50 } });
  t.hasResourceProperties('AWS::Lambda::Function', { Handler: 'bootstrap', MemorySize: 2048, Architectures: ['arm64'] });
  t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
});

test('the optional KMS key encrypts bucket, queues, topic and logs', () => {
  const t = synth({ kmsKey: true, alarmEmail: 'ops@example.com' });
  const [keyId, key] = only(t, 'AWS::KMS::Key');
  assert.equal(key.Properties.EnableKeyRotation, true);
  assert.equal(key.DeletionPolicy, 'Retain');
  const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
  t.hasResourceProperties('AWS::S3::Bucket', {
    BucketEncryption: { ServerSideEncryptionConfiguration: [{
      BucketKeyEnabled: true,
      ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn },
    }] },
  });
  assert.equal(Object.keys(t.findResources('AWS::SQS::Queue', { Properties: { KmsMasterKeyId: keyArn } })).length, 2);
  t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
  t.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn });
  t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  // S3 may send to the encrypted queue; CloudWatch may publish to the encrypted topic.
  t.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: { Statement: Match.arrayWith([
      Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Effect: 'Allow' }),
      Match.objectLike({ Principal: { Service: 's3.amazonaws.com' }, Effect: 'Allow' }),
    ]) },
  });
  const roleId = logicalId(t, 'AWS::IAM::Role', 'FunctionRole');
  const kms = roleStatements(t, roleId).filter((s) => JSON.stringify(s.Action).includes('kms:'));
  assert.ok(kms.length >= 1 && kms.every((s) => JSON.stringify(s.Resource) === JSON.stringify(keyArn)));
});

test('bad props are refused with the reason', () => {
  assert.throws(() => synth({ batchSize: 11 }), /batchSize 11/);
  assert.throws(() => synth({ maxConcurrency: 1 }), /maxConcurrency 1/);
  assert.throws(() => synth({ timeout: Duration.seconds(3) }), /timeout 3 s/);
  assert.throws(() => synth({ uploadPrefix: 'uploads' }), /uploadPrefix "uploads"/);
  assert.throws(() => synth({ uploadPrefix: 'a/', outputPrefix: 'a/thumbs/' }), /must not lie under/);
  assert.throws(() => synth({ sizes: [] }), /at least one/);
  assert.throws(() => synth({ sizes: [{ name: 'x"y', width: 10 }] }), /size name/);
  assert.throws(() => synth({ sizes: [{ name: 'big', width: 0 }] }), /width 0/);
});
