// The reference implementation, as a long-running consumer (bench/pipeline/run.sh): what the
// original AWS Lambda does, driven by SQS long polling instead of the Lambda event source.
//
//   node reference_consumer.js QUEUE_URL CONCURRENCY
//
// Environment: AWS_ENDPOINT_URL (moto_server), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
// AWS_REGION; NODE_PATH pointing at a scratch node_modules with sharp and the AWS SDK v3
// (@aws-sdk/client-s3, @aws-sdk/client-sqs), installed by run.sh outside the repository.
//
// For every record of every S3 event message: GET the object, run one sharp pipeline per
// size (small 50, medium 150, large 300 px wide: thumbflow's defaults, which mirror the
// reference) under Promise.all with resize(w, null, {fit: 'contain', withoutEnlargement:
// true}) in the input's format, PUT each to thumbnails/{size}/{path below uploads/} with the
// source's Content-Type, then delete the message. (The original Lambda handled only the
// first record of a batch; every message here carries one record, so that makes no
// difference to the figures.)
//
// Concurrency: CONCURRENCY images in flight at once (run.sh passes thumbflow's worker
// count). One receive loop keeps at most 2 x CONCURRENCY messages received but unfinished
// (thumbflow's default max_in_flight), asking SQS for up to 10 at a time with a 20 s long
// poll. sharp keeps its own defaults (libvips threads = cores), as the Lambda did.
//
// Output: one JSON line per record on stdout, written after its three thumbnails are stored:
//   {"msg":"record","key":"uploads/...","outcome":"ok","done_ms":<Unix ms>,"duration_ms":N}
// Failures print outcome "error" and leave the message to SQS's retry/DLQ. Runs until
// SIGTERM/SIGINT.
'use strict';
const sharp = require('sharp');
const { S3Client, GetObjectCommand, PutObjectCommand } = require('@aws-sdk/client-s3');
const { SQSClient, ReceiveMessageCommand, DeleteMessageCommand } = require('@aws-sdk/client-sqs');

const [queueUrl, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if (!queueUrl || !(concurrency > 0)) {
  console.error('usage: node reference_consumer.js QUEUE_URL CONCURRENCY');
  process.exit(2);
}
const SIZES = [['small', 50], ['medium', 150], ['large', 300]];
const UPLOAD_PREFIX = 'uploads/';
const OUTPUT_PREFIX = 'thumbnails/';

const s3 = new S3Client({ forcePathStyle: true });
const sqs = new SQSClient({});
let stopping = false;

async function processRecord(record) {
  const bucket = record.s3.bucket.name;
  const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
  const started = Date.now();
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const input = Buffer.from(await got.Body.transformToByteArray());
  const path = key.startsWith(UPLOAD_PREFIX) ? key.slice(UPLOAD_PREFIX.length) : key;
  await Promise.all(SIZES.map(async ([name, width]) => {
    const output = await sharp(input)
      .resize(width, null, { fit: 'contain', withoutEnlargement: true })
      .toBuffer();
    await s3.send(new PutObjectCommand({
      Bucket: bucket, Key: `${OUTPUT_PREFIX}${name}/${path}`, Body: output,
      ContentType: got.ContentType,
    }));
  }));
  const done = Date.now();
  console.log(JSON.stringify({ msg: 'record', key, outcome: 'ok', done_ms: done,
                               duration_ms: done - started }));
}

async function processMessage(message) {
  const event = JSON.parse(message.Body);
  for (const record of event.Records || []) {
    if (!record.s3) continue;
    await processRecord(record);
  }
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl,
                                            ReceiptHandle: message.ReceiptHandle }));
}

// Messages received but not yet taken by a lane, and lanes waiting for one.
const buffered = [];
const waiting = [];
let held = 0;  // received and not finished (buffered + being processed)

function take() {
  if (buffered.length > 0) return Promise.resolve(buffered.shift());
  return new Promise((resolve) => waiting.push(resolve));
}

async function lane() {
  for (;;) {
    const message = await take();
    if (message === null) return;
    try {
      await processMessage(message);
    } catch (e) {
      console.log(JSON.stringify({ msg: 'record', outcome: 'error', error: String(e),
                                   done_ms: Date.now() }));
    }
    held -= 1;
    wake();
  }
}

let wakeReceiver = null;
function wake() {
  if (wakeReceiver) {
    const w = wakeReceiver;
    wakeReceiver = null;
    w();
  }
}

async function receiveLoop() {
  const limit = 2 * concurrency;
  while (!stopping) {
    if (held >= limit) {
      await new Promise((resolve) => { wakeReceiver = resolve; });
      continue;
    }
    let got;
    try {
      got = await sqs.send(new ReceiveMessageCommand({
        QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, limit - held),
        WaitTimeSeconds: 20,
      }));
    } catch (e) {
      if (stopping) break;
      console.error(`receive failed: ${e}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      continue;
    }
    for (const message of got.Messages || []) {
      held += 1;
      if (waiting.length > 0) waiting.shift()(message);
      else buffered.push(message);
    }
  }
}

function stop() {
  stopping = true;
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

console.error(`reference consumer: sharp ${sharp.versions.sharp} (libvips ${sharp.versions.vips}), ` +
              `${concurrency} images in flight, queue ${queueUrl}`);
for (let i = 0; i < concurrency; i += 1) lane();
receiveLoop().catch((e) => { console.error(e); process.exit(1); });
