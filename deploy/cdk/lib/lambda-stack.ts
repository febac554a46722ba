// thumbflow as the Lambda function of the reference architecture: S3 uploads/ -> SQS ->
// Lambda (provided.al2023, the zip from `scripts/build --target lambda-zip`) -> thumbnails/.
import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  DEFAULT_SIZES, outputAndSizesToml, pipelineTomlLines, ThumbflowPipeline, ThumbflowPipelineProps,
  ThumbnailSize,
} from './pipeline';

/** No record starts with less than this left of the invocation ([lambda] deadline_margin_ms). */
export const DEADLINE_MARGIN_MS = 3000;

export interface ThumbflowLambdaStackProps extends StackProps, ThumbflowPipelineProps {
  /** thumbflow-lambda.zip (`scripts/build --target lambda-zip`). */
  readonly codeZip: string;
  /** The architecture the zip was built on. @default x86_64 */
  readonly architecture?: lambda.Architecture;
  /** @default small 50, medium 150, large 300 px wide */
  readonly sizes?: ThumbnailSize[];
  /** Function timeout (5..900 s); the queue's visibility timeout is six times this. @default 10 s */
  readonly timeout?: Duration;
  /** @default 1024 MB */
  readonly memorySize?: number;
  /** SQS messages per invocation (1..10). @default 10 */
  readonly batchSize?: number;
  /** Most concurrent invocations the event source starts (2..1000). @default 10 */
  readonly maxConcurrency?: number;
  /** @default two weeks */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The per-image deadline and the S3 timeouts follow the function timeout: a record's work
 * and each S3 request end before the invocation does, so the runtime can still answer with
 * the records to retry instead of being killed mid-batch.
 */
export function lambdaLimitsToml(timeout: Duration): string {
  const budgetMs = timeout.toMilliseconds() - DEADLINE_MARGIN_MS;
  const requestMs = Math.min(60000, Math.floor(budgetMs / 2));
  return [
    '[limits]',
    `timeout_s = ${Math.floor(budgetMs / 1000)}`,
    '',
    '[aws]',
    `connect_timeout_ms = ${Math.min(3000, Math.floor(requestMs / 2))}`,
    `request_timeout_ms = ${requestMs}`,
    '',
    '[lambda]',
    `deadline_margin_ms = ${DEADLINE_MARGIN_MS}`,
  ].join('\n') + '\n';
}

export class ThumbflowLambdaStack extends Stack {
  readonly pipeline: ThumbflowPipeline;
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: ThumbflowLambdaStackProps) {
    super(scope, id, props);
    const timeout = props.timeout ?? Duration.seconds(10);
    const seconds = timeout.toSeconds();
    if (!Number.isInteger(seconds) || seconds < 5 || seconds > 900) {
      throw new Error(`timeout ${seconds} s: a whole number of seconds in 5..900`);
    }
    const batchSize = props.batchSize ?? 10;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
      throw new Error(`batchSize ${batchSize}: 1..10`);
    }
    const maxConcurrency = props.maxConcurrency ?? 10;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(`maxConcurrency ${maxConcurrency}: 2..1000`);
    }

    // AWS's guidance for SQS event sources: visibility at least six times the timeout.
    this.pipeline = new ThumbflowPipeline(this, 'Pipeline', {
      ...props,
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(6 * seconds),
    });

    const logGroup = this.pipeline.newLogGroup(this, 'LogGroup', props.logRetention);

    // Not the default role: it would carry AWSLambdaBasicExecutionRole (logs:* on every group).
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'thumbflow function: uploads in, thumbnails out, its queue and log group',
    });
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'Logs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }));
    this.pipeline.grantThumbflow(role);

    this.function = new lambda.Function(this, 'Function', {
      description: 'thumbflow custom runtime (S3 uploads -> thumbnails)',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(props.codeZip),
      architecture: props.architecture ?? lambda.Architecture.X86_64,
      timeout,
      memorySize: props.memorySize ?? 1024,
      role,
      logGroup,
      loggingFormat: lambda.LoggingFormat.TEXT,
      environment: {
        THUMBFLOW_CONFIG: outputAndSizesToml(this.pipeline, props.sizes ?? DEFAULT_SIZES) + '\n' +
          ['[pipeline]', ...pipelineTomlLines(this.pipeline)].join('\n') + '\n\n' +
          lambdaLimitsToml(timeout),
      },
    });
    this.function.addEventSource(new SqsEventSource(this.pipeline.queue, {
      batchSize,
      reportBatchItemFailures: true,
      maxConcurrency,
    }));

    this.pipeline.addOutputs(this);
    new CfnOutput(this, 'FunctionName', { value: this.function.functionName });
    new CfnOutput(this, 'LogGroupName', { value: logGroup.logGroupName });
  }
}
