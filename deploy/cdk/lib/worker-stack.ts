// `thumbflow worker` on ECS Fargate: the same bucket and queues as the Lambda stack, consumed
// by long-running tasks from a container image (scripts/build-image), scaled on the backlog.
import { CfnOutput, CfnParameter, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULT_SIZES, outputAndSizesToml, pipelineTomlLines, ThumbflowPipeline, ThumbflowPipelineProps,
  ThumbnailSize,
} from './pipeline';

/** Where the worker serves /metrics, /healthz and /readyz inside the task. */
export const METRICS_LISTEN = '127.0.0.1:9100';

export interface ThumbflowWorkerStackProps extends StackProps, ThumbflowPipelineProps {
  /** @default small 50, medium 150, large 300 px wide */
  readonly sizes?: ThumbnailSize[];
  /** The image's CPU architecture (the machine scripts/build-image ran on). @default X86_64 */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /** ECR repository in this account and region the image is pulled from. @default "thumbflow" */
  readonly imageRepositoryName?: string;
  /** Tasks when the queue is empty; 0 costs nothing idle but the first upload waits for a task (minutes). @default 0 */
  readonly minTasks?: number;
  /** @default 10 */
  readonly maxTasks?: number;
  /** Backlog (visible + in-flight messages) one task is expected to carry. @default 50 */
  readonly backlogPerTask?: number;
  /** Task size. @default 1024 (1 vCPU) */
  readonly cpu?: number;
  /** @default 2048 */
  readonly memoryLimitMiB?: number;
  /** Time from SIGTERM to SIGKILL (at most 120 s on Fargate); the worker drains for 5 s less. @default 30 s */
  readonly stopTimeout?: Duration;
  /** @default two weeks */
  readonly logRetention?: logs.RetentionDays;
  /** Run in this VPC (public subnets with a public IP, or private subnets with egress). @default a new VPC with public subnets only (no NAT gateway) */
  readonly vpc?: ec2.IVpc;
}

/**
 * Task counts the scaling steps jump between: every count up to 4, then roughly x1.5, and
 * the maximum; few enough steps for one policy (Application Auto Scaling allows 20).
 */
export function taskCounts(maxTasks: number): number[] {
  const counts: number[] = [];
  for (let n = 1; n < maxTasks; n = n < 4 ? n + 1 : Math.ceil(n * 1.5)) counts.push(n);
  counts.push(maxTasks);
  return counts;
}

/**
 * Step scaling to an exact task count: with backlog B per task, a backlog of 1..B runs one
 * task, B+1..2B two, and so on up to maxTasks; an empty queue (nothing visible, nothing in
 * flight) runs minTasks. In-flight messages count, so scaling in never stops a task that
 * is still working on the last messages.
 */
export function scalingSteps(minTasks: number, maxTasks: number, backlogPerTask: number): appscaling.ScalingInterval[] {
  const steps: appscaling.ScalingInterval[] = [{ upper: 0, change: minTasks }];
  let previous = 0;
  for (const n of taskCounts(maxTasks)) {
    steps.push({ lower: previous * backlogPerTask + 1, change: n });
    previous = n;
  }
  return steps;
}

export class ThumbflowWorkerStack extends Stack {
  readonly pipeline: ThumbflowPipeline;
  readonly service: ecs.FargateService;

  constructor(scope: Construct, id: string, props: ThumbflowWorkerStackProps = {}) {
    super(scope, id, props);
    const minTasks = props.minTasks ?? 0;
    const maxTasks = props.maxTasks ?? 10;
    const backlogPerTask = props.backlogPerTask ?? 50;
    if (!Number.isInteger(minTasks) || minTasks < 0 || !Number.isInteger(maxTasks) || maxTasks < 1 || maxTasks < minTasks) {
      throw new Error(`minTasks ${minTasks} / maxTasks ${maxTasks}: whole numbers with 0 <= minTasks <= maxTasks, maxTasks >= 1`);
    }
    if (!Number.isInteger(backlogPerTask) || backlogPerTask < 1) {
      throw new Error(`backlogPerTask ${backlogPerTask}: a whole number >= 1`);
    }
    const stopTimeout = props.stopTimeout ?? Duration.seconds(30);
    if (stopTimeout.toSeconds() < 10 || stopTimeout.toSeconds() > 120) {
      throw new Error(`stopTimeout ${stopTimeout.toSeconds()} s: 10..120 (Fargate's limit)`);
    }
    const visibility = props.visibilityTimeout ?? Duration.seconds(60);

    this.pipeline = new ThumbflowPipeline(this, 'Pipeline', { ...props, visibilityTimeout: visibility });
    const pipeline = this.pipeline;

    const imageUri = new CfnParameter(this, 'WorkerImageUri', {
      type: 'String',
      description: 'The thumbflow image (scripts/build-image, pushed to ECR), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/thumbflow:0.1.0',
      allowedPattern: '^\\S+$',
    });

    const vpc = props.vpc ?? new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0, // $32/month each; tasks get a public IP instead
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } }, // free; S3 traffic stays off the internet
    });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc });

    const logGroup = pipeline.newLogGroup(this, 'LogGroup', props.logRetention);

    const taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu ?? 1024,
      memoryLimitMiB: props.memoryLimitMiB ?? 2048,
      runtimePlatform: {
        cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    pipeline.grantThumbflow(taskDefinition.taskRole);
    // fromRegistry grants no pull rights: the execution role may pull from the one repository.
    const repositoryArn = this.formatArn({
      service: 'ecr', resource: 'repository', resourceName: props.imageRepositoryName ?? 'thumbflow',
    });
    taskDefinition.addToExecutionRolePolicy(new iam.PolicyStatement({
      sid: 'PullTheImage',
      actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      resources: [repositoryArn],
    }));
    taskDefinition.addToExecutionRolePolicy(new iam.PolicyStatement({
      sid: 'EcrLogin',
      actions: ['ecr:GetAuthorizationToken'],
      resources: ['*'], // the action has no resource type
    }));

    const gracePeriod = stopTimeout.toSeconds() - 5;
    const config = outputAndSizesToml(pipeline, props.sizes ?? DEFAULT_SIZES) + '\n' + [
      '[pipeline]',
      `visibility_timeout = ${visibility.toSeconds()}`,
      `grace_period = ${gracePeriod}`,
      ...pipelineTomlLines(pipeline),
    ].join('\n') + '\n';
    taskDefinition.addContainer('worker', {
      image: ecs.ContainerImage.fromRegistry(imageUri.valueAsString),
      // The image's ENTRYPOINT is thumbflow.
      command: ['worker', '--queue-url', pipeline.queue.queueUrl, '--region', this.region,
        '--metrics-listen', METRICS_LISTEN],
      environment: { THUMBFLOW_CONFIG: config },
      // SIGTERM: the worker stops receiving and finishes in-flight images within
      // [pipeline] grace_period (5 s less than this), then gives the rest back at once.
      stopTimeout,
      // /readyz answers 200 while the worker receives and 503 once it drains; busybox's
      // wget (in the image for this) exits non-zero on anything but 2xx.
      healthCheck: {
        command: ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', `http://${METRICS_LISTEN}/readyz`],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'worker', logGroup }),
      user: '10001', // also the image's USER
    });

    const securityGroup = new ec2.SecurityGroup(this, 'WorkerSecurityGroup', {
      vpc,
      description: 'thumbflow workers: no inbound; HTTPS out to S3, SQS, ECR and CloudWatch Logs',
      allowAllOutbound: false,
    });
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs');

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      desiredCount: minTasks,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      assignPublicIp: props.vpc === undefined,
      vpcSubnets: props.vpc === undefined ? { subnetType: ec2.SubnetType.PUBLIC } : undefined,
      securityGroups: [securityGroup],
      circuitBreaker: { rollback: true },
    });

    const backlog = new cloudwatch.MathExpression({
      expression: 'visible + inflight',
      label: 'Backlog (visible + in flight)',
      usingMetrics: {
        visible: pipeline.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        inflight: pipeline.queue.metricApproximateNumberOfMessagesNotVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      },
      period: Duration.minutes(1),
    });
    this.service.autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: maxTasks })
      .scaleOnMetric('BacklogPerTask', {
        metric: backlog,
        scalingSteps: scalingSteps(minTasks, maxTasks, backlogPerTask),
        adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
        cooldown: Duration.seconds(60),
      });

    pipeline.addOutputs(this);
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
  }
}
