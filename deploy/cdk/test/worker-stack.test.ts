import * as assert from 'assert/strict';
import { test } from 'node:test';
import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { METRICS_LISTEN, scalingSteps, taskCounts, ThumbflowWorkerStack, ThumbflowWorkerStackProps } from '../lib/worker-stack';
import { actionsOf, logicalId, newApp, only, roleStatements } from './helpers';
import { checkLeastPrivilege, checkPipeline } from './pipeline-checks';

function synth(props: ThumbflowWorkerStackProps = {}): Template {
  return Template.fromStack(new ThumbflowWorkerStack(newApp(), 'Test', props));
}

function container(t: Template): any {
  const [, task] = only(t, 'AWS::ECS::TaskDefinition');
  assert.equal(task.Properties.ContainerDefinitions.length, 1);
  return task.Properties.ContainerDefinitions[0];
}

test('thumbflow worker on Fargate from the image URI parameter', () => {
  const t = synth();
  checkPipeline(t, { visibilityTimeout: 60 });
  t.hasParameter('WorkerImageUri', { Type: 'String' });
  const [, task] = only(t, 'AWS::ECS::TaskDefinition');
  assert.deepEqual(task.Properties.RequiresCompatibilities, ['FARGATE']);
  assert.equal(task.Properties.NetworkMode, 'awsvpc');
  assert.equal(task.Properties.Cpu, '1024');
  assert.equal(task.Properties.Memory, '2048');
  assert.deepEqual(task.Properties.RuntimePlatform, { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' });
  const c = container(t);
  const queueId = logicalId(t, 'AWS::SQS::Queue', 'PipelineQueue');
  assert.deepEqual(c.Image, { Ref: 'WorkerImageUri' });
  assert.deepEqual(c.Command, ['worker', '--queue-url', { Ref: queueId }, '--region', { Ref: 'AWS::Region' },
    '--metrics-listen', METRICS_LISTEN]);
  assert.equal(c.User, '10001');
  // SIGTERM drain: the worker's grace period ends 5 s before ECS sends SIGKILL.
  assert.equal(c.StopTimeout, 30);
  const env = Object.fromEntries(c.Environment.map((e: any) => [e.Name, e.Value]));
  assert.match(env.THUMBFLOW_CONFIG, /\[pipeline\]\nvisibility_timeout = 60\ngrace_period = 25\ndelete_thumbnails = false\n/);
  assert.match(env.THUMBFLOW_CONFIG, /^\[output\]\nprefix = "thumbnails\/"\nupload_prefix = "uploads\/"\n/);
  // The health check asks /readyz, which turns 503 when the drain starts.
  assert.deepEqual(c.HealthCheck.Command,
    ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', `http://${METRICS_LISTEN}/readyz`]);
  assert.ok(c.HealthCheck.Interval * c.HealthCheck.Retries > c.StopTimeout);
  const logGroupId = logicalId(t, 'AWS::Logs::LogGroup', 'LogGroup');
  assert.equal(c.LogConfiguration.LogDriver, 'awslogs');
  assert.deepEqual(c.LogConfiguration.Options['awslogs-group'], { Ref: logGroupId });
  t.hasResource('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 14 }, DeletionPolicy: 'Retain' });

  // Task role: thumbflow's needs only. Execution role: pull the one repository, write logs.
  const taskRoleId = task.Properties.TaskRoleArn['Fn::GetAtt'][0];
  checkLeastPrivilege(t, taskRoleId);
  const executionRoleId = task.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
  const pull = roleStatements(t, executionRoleId).filter((s) => actionsOf(s).includes('ecr:BatchGetImage'));
  assert.equal(pull.length, 1);
  assert.match(JSON.stringify(pull[0].Resource), /:repository\/thumbflow"/);

  const [, service] = only(t, 'AWS::ECS::Service');
  assert.equal(service.Properties.LaunchType, 'FARGATE');
  assert.equal(service.Properties.DesiredCount, 0);
  assert.equal(service.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, 'ENABLED');
  assert.deepEqual(service.Properties.DeploymentConfiguration.DeploymentCircuitBreaker, { Enable: true, Rollback: true });
  // No inbound; HTTPS out only.
  const [, sg] = only(t, 'AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('thumbflow workers') } });
  assert.equal(sg.Properties.SecurityGroupIngress, undefined);
  assert.deepEqual(sg.Properties.SecurityGroupEgress.map((e: any) => [e.IpProtocol, e.FromPort, e.ToPort]), [['tcp', 443, 443]]);
  t.resourceCountIs('AWS::EC2::NatGateway', 0);
  for (const output of ['BucketName', 'QueueUrl', 'DeadLetterQueueUrl', 'AlarmTopicArn', 'ClusterName', 'ServiceName', 'LogGroupName']) {
    t.hasOutput(output, {});
  }
});

test('scales on the backlog per task, from zero', () => {
  const t = synth({ minTasks: 0, maxTasks: 10, backlogPerTask: 50 });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
    MinCapacity: 0, MaxCapacity: 10, ScalableDimension: 'ecs:service:DesiredCount',
  });
  const policies = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'));
  assert.equal(policies.length, 2);
  for (const p of policies) {
    assert.equal(p.Properties.PolicyType, 'StepScaling');
    assert.equal(p.Properties.StepScalingPolicyConfiguration.AdjustmentType, 'ExactCapacity');
  }
  // Both scaling alarms watch visible + in-flight messages of the main queue.
  const queueId = logicalId(t, 'AWS::SQS::Queue', 'PipelineQueue');
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm', {
    Properties: { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'visible + inflight' })]) },
  }));
  assert.equal(alarms.length, 2);
  for (const alarm of alarms) {
    const names = alarm.Properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => {
      assert.deepEqual(m.MetricStat.Metric.Dimensions, [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
      return m.MetricStat.Metric.MetricName;
    });
    assert.deepEqual(names.sort(), ['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible']);
  }
  // Exact task counts: empty -> 0; 1..50 -> 1; 51..100 -> 2; ...; the last step is maxTasks.
  const steps = scalingSteps(0, 10, 50);
  assert.deepEqual(steps.slice(0, 4), [{ upper: 0, change: 0 }, { lower: 1, change: 1 }, { lower: 51, change: 2 }, { lower: 101, change: 3 }]);
  assert.equal(steps[steps.length - 1].change, 10);
  assert.deepEqual(taskCounts(1), [1]);
  assert.ok(taskCounts(1000).length <= 19, `${taskCounts(1000).length} steps`);
  assert.deepEqual(taskCounts(1000).slice(-1), [1000]);
});

test('stack props: tasks, size, stop timeout, architecture, KMS', () => {
  const t = synth({
    minTasks: 1, maxTasks: 4, cpu: 2048, memoryLimitMiB: 4096, stopTimeout: Duration.seconds(60),
    cpuArchitecture: ecs.CpuArchitecture.ARM64, kmsKey: true, uploadPrefix: 'in/', outputPrefix: 'out/',
    imageRepositoryName: 'images/thumbflow',
  });
  checkPipeline(t, { visibilityTimeout: 60, uploadPrefix: 'in/', outputPrefix: 'out/' });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 4 });
  t.hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1 });
  const [, task] = only(t, 'AWS::ECS::TaskDefinition');
  assert.equal(task.Properties.Cpu, '2048');
  assert.equal(task.Properties.RuntimePlatform.CpuArchitecture, 'ARM64');
  const c = container(t);
  assert.equal(c.StopTimeout, 60);
  assert.match(c.Environment[0].Value, /grace_period = 55\n/);
  checkLeastPrivilege(t, task.Properties.TaskRoleArn['Fn::GetAtt'][0],
    { visibilityTimeout: 60, uploadPrefix: 'in/', outputPrefix: 'out/' });
  t.resourceCountIs('AWS::KMS::Key', 1);
  const executionRoleId = task.Properties.ExecutionRoleArn['Fn::GetAtt'][0];
  assert.match(JSON.stringify(roleStatements(t, executionRoleId)), /:repository\/images\/thumbflow"/);
});

test('bad props are refused with the reason', () => {
  assert.throws(() => synth({ minTasks: 3, maxTasks: 2 }), /minTasks 3/);
  assert.throws(() => synth({ backlogPerTask: 0 }), /backlogPerTask 0/);
  assert.throws(() => synth({ stopTimeout: Duration.seconds(150) }), /stopTimeout 150 s/);
});

test('deleteThumbnails: removals notify the queue and the task may delete thumbnails', () => {
  const t = synth({ deleteThumbnails: true });
  checkPipeline(t, { visibilityTimeout: 60, deleteThumbnails: true });
  const [, task] = only(t, 'AWS::ECS::TaskDefinition');
  checkLeastPrivilege(t, task.Properties.TaskRoleArn['Fn::GetAtt'][0],
    { visibilityTimeout: 60, deleteThumbnails: true });
  const env = Object.fromEntries(container(t).Environment.map((e: any) => [e.Name, e.Value]));
  assert.match(env.THUMBFLOW_CONFIG, /\ndelete_thumbnails = true\n/);
});
