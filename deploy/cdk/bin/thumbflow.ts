#!/usr/bin/env node
// The thumbflow CDK app: two stacks over the same architecture (S3 uploads/ -> SQS -> thumbnails/).
//   ThumbflowLambda   thumbflow as a provided.al2023 function (needs the lambda-zip build)
//   ThumbflowWorkers  `thumbflow worker` tasks on ECS Fargate (needs the image in ECR at deploy)
// Context (-c name=value or cdk.json): architecture (x86_64 | arm64, the build machine's),
// lambdaZip (path, relative to this folder), kmsKey (true | false), alarmEmail,
// deleteThumbnails (true | false: thumbnails follow their source's deletion).
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { ThumbflowLambdaStack } from '../lib/lambda-stack';
import { ThumbflowWorkerStack } from '../lib/worker-stack';

const app = new App();
const context = (name: string): string | undefined => {
  const value = app.node.tryGetContext(name);
  return value === undefined || value === '' ? undefined : String(value);
};

const architecture = context('architecture') ?? 'x86_64';
if (architecture !== 'x86_64' && architecture !== 'arm64') {
  throw new Error(`context architecture "${architecture}": x86_64 or arm64`);
}
const common = {
  kmsKey: context('kmsKey') === 'true',
  deleteThumbnails: context('deleteThumbnails') === 'true',
  alarmEmail: context('alarmEmail'),
  // No account/region lookups: the stacks are environment-agnostic, so synth runs offline.
};

const lambdaZip = path.resolve(__dirname, '..', context('lambdaZip') ?? '../../build/thumbflow-lambda.zip');
if (fs.existsSync(lambdaZip)) {
  new ThumbflowLambdaStack(app, 'ThumbflowLambda', {
    ...common,
    description: 'thumbflow on AWS Lambda: S3 uploads -> SQS -> thumbnails',
    codeZip: lambdaZip,
    architecture: architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
  });
} else {
  process.stderr.write(`thumbflow: stack ThumbflowLambda left out: ${lambdaZip} does not exist ` +
    '(scripts/build --target lambda-zip, or -c lambdaZip=PATH)\n');
}

new ThumbflowWorkerStack(app, 'ThumbflowWorkers', {
  ...common,
  description: 'thumbflow workers on ECS Fargate: S3 uploads -> SQS -> thumbnails',
  cpuArchitecture: architecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
});
