"""`thumbflow` as a Lambda custom runtime (started as `bootstrap`), against a Runtime API
emulator, with S3 and SQS on moto_server.

The emulator hands the runtime SQS events built from messages really received from moto's
queue (real receipt handles), as Lambda's SQS event source does, and records what the
runtime answers on the response and error endpoints.
"""
import os
import signal
import tempfile
import time
import unittest

import harness
from lambda_emulator import RuntimeApiEmulator, s3_event, sqs_event

GOOD = os.path.join(harness.CORPUS, "orientation", "landscape_eveningglow_1.jpg")  # 600x375
NOT_AN_IMAGE = os.path.join(harness.CORPUS, "reject", "text_named.jpg")
ACCOUNT = "123456789012"
BUCKET = "images"

CONFIG = """
[lambda]
deadline_margin_ms = 2000
concurrency = 2
"""


def start_runtime(emulator, env, log_dir, config=CONFIG):
    """Starts the thumbflow binary through a symlink named `bootstrap`, as Lambda does."""
    link = os.path.join(log_dir, "bootstrap")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(harness.BIN), link)
    full_env = dict(env)
    full_env.update({
        "AWS_LAMBDA_RUNTIME_API": emulator.address,
        "THUMBFLOW_CONFIG": config,
        "AWS_LAMBDA_FUNCTION_NAME": "thumbnails",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    })
    return harness.Peer([link], env=full_env, log_dir=log_dir, name="bootstrap")


class LambdaBrokenConfigTest(unittest.TestCase):
    def run_with_config(self, config):
        with RuntimeApiEmulator() as emulator, tempfile.TemporaryDirectory() as d:
            env = dict(harness.MOTO_ENV)
            runtime = start_runtime(emulator, env, d, config=config)
            try:
                code = runtime.proc.wait(timeout=60)
            finally:
                runtime.kill()
            log = runtime.log()
            return code, emulator.init_errors, emulator.handed_out, log

    def test_broken_config_is_an_init_error(self):
        code, init_errors, handed_out, log = self.run_with_config(
            '[thumbnails]\nformat = "bmp"\n')
        self.assertEqual(code, 2, log)
        self.assertEqual(len(init_errors), 1, log)
        error_type, body = init_errors[0]
        self.assertEqual(error_type, "Runtime.ConfigError")
        self.assertEqual(body["errorType"], "Runtime.ConfigError")
        self.assertIn("thumbnails.format", body["errorMessage"])
        self.assertEqual(handed_out, [], "no invocation may be fetched after a failed init")

    def test_unknown_lambda_field_and_missing_file_are_init_errors(self):
        code, init_errors, _, log = self.run_with_config("[lambda]\ndeadline_margin = 5\n")
        self.assertEqual(code, 2, log)
        self.assertEqual([e[0] for e in init_errors], ["Runtime.ConfigError"])
        self.assertIn("lambda.deadline_margin", init_errors[0][1]["errorMessage"])

        code, init_errors, _, log = self.run_with_config("/nonexistent/thumbflow.toml")
        self.assertNotEqual(code, 0, log)
        self.assertEqual([e[0] for e in init_errors], ["Runtime.ConfigError"])
        self.assertIn("/nonexistent/thumbflow.toml", init_errors[0][1]["errorMessage"])


class LambdaRuntimeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._moto = harness.moto_server()
        cls.endpoint, cls.env = cls._moto.__enter__()
        cls.env = dict(cls.env)
        cls.env["AWS_SESSION_TOKEN"] = "session-token-from-lambda"
        cls.s3, cls.sqs = harness.moto_clients(cls.endpoint)
        cls.s3.create_bucket(Bucket=BUCKET)
        cls.dlq_url = cls.sqs.create_queue(QueueName="uploads-dlq")["QueueUrl"]
        cls.queue_url = cls.sqs.create_queue(QueueName="uploads", Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:%s:uploads-dlq",'
                             '"maxReceiveCount":"3"}' % ACCOUNT})["QueueUrl"]
        cls.plain_url = cls.sqs.create_queue(QueueName="no-dlq")["QueueUrl"]
        with open(GOOD, "rb") as f:
            cls.good_bytes = f.read()
        with open(NOT_AN_IMAGE, "rb") as f:
            cls.text_bytes = f.read()
        cls.s3.put_object(Bucket=BUCKET, Key="uploads/good.jpg", Body=cls.good_bytes,
                          ContentType="image/jpeg")
        cls.s3.put_object(Bucket=BUCKET, Key="uploads/text.jpg", Body=cls.text_bytes)
        cls.s3.put_object(Bucket=BUCKET, Key="uploads/late.jpg", Body=cls.good_bytes)

        # A source the codec helper never finishes (the test marker of
        # image/codec_helper.h): the deliberately slow image of test_5.
        cls.s3.put_object(Bucket=BUCKET, Key="uploads/slow.jpg",
                          Body=b"THUMBFLOW-TEST-HANG" + b"\0" * 64)

        cls.emulator = RuntimeApiEmulator().__enter__()
        cls.log_dir = tempfile.mkdtemp(prefix="tf-lambda-")
        runtime_env = dict(cls.env, THUMBFLOW_TEST_CODEC_HOOKS="1")
        cls.runtime = start_runtime(cls.emulator, runtime_env, cls.log_dir)

    @classmethod
    def tearDownClass(cls):
        cls.runtime.stop()
        cls.emulator.__exit__(None, None, None)
        cls._moto.__exit__(None, None, None)

    def deliver(self, queue_url, queue_name, bodies):
        """Sends `bodies` and receives them back; returns (event, {body: message id})."""
        for body in bodies:
            self.sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        messages = []
        for _ in range(20):
            got = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           AttributeNames=["All"]).get("Messages", [])
            messages += got
            if len(messages) >= len(bodies):
                break
        self.assertEqual(len(messages), len(bodies))
        ids = {m["Body"]: m["MessageId"] for m in messages}
        return sqs_event(messages, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}"), ids

    def answer(self, event, deadline_ms=None):
        request_id = self.emulator.invoke(event, deadline_ms)
        return self.emulator.wait_answer(request_id, self.runtime)

    def failures(self, body):
        return sorted(item["itemIdentifier"] for item in body["batchItemFailures"])

    def test_1_batch_of_good_non_image_and_missing(self):
        good = s3_event(BUCKET, "uploads/good.jpg", len(self.good_bytes))
        text = s3_event(BUCKET, "uploads/text.jpg", len(self.text_bytes))
        missing = s3_event(BUCKET, "uploads/missing.jpg", 1234)
        test_event = '{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"images","RequestId":"x","HostId":"y"}'
        event, ids = self.deliver(self.queue_url, "uploads", [good, text, missing, test_event])

        kind, body = self.answer(event)
        self.assertEqual(kind, "response", body)
        # Nothing to retry: the thumbnails are written, the non-image is in the DLQ, the
        # missing source is acknowledged, the test event is acknowledged.
        self.assertEqual(body, {"batchItemFailures": []}, self.runtime.log())

        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix="thumbnails/")
        keys = sorted(o["Key"] for o in listed.get("Contents", []))
        self.assertEqual(keys, ["thumbnails/large/good.jpg", "thumbnails/medium/good.jpg",
                                "thumbnails/small/good.jpg"])
        widths = {"small": 50, "medium": 150, "large": 300}
        for size, width in widths.items():
            head = self.s3.head_object(Bucket=BUCKET, Key=f"thumbnails/{size}/good.jpg")
            self.assertEqual(head["ContentType"], "image/jpeg")
            self.assertEqual(head["Metadata"].get("width"), str(width))
            self.assertEqual(head["Metadata"].get("source-key"), "uploads/good.jpg")

        dead = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                        MessageAttributeNames=["All"]).get("Messages", [])
        self.assertEqual(len(dead), 1, dead)
        self.assertEqual(dead[0]["Body"], text)  # the original S3 event, unchanged
        self.assertEqual(dead[0]["MessageAttributes"]["thumbflow-reason"]["StringValue"],
                         "not-an-image")
        self.sqs.change_message_visibility(QueueUrl=self.dlq_url,
                                           ReceiptHandle=dead[0]["ReceiptHandle"],
                                           VisibilityTimeout=0)
        self.assertIn('"source-missing"', self.runtime.log())

    def test_2_permanent_failure_without_dlq_is_retried(self):
        good = s3_event(BUCKET, "uploads/good.jpg", len(self.good_bytes))
        text = s3_event(BUCKET, "uploads/text.jpg", len(self.text_bytes))
        event, ids = self.deliver(self.plain_url, "no-dlq", [good, text])
        kind, body = self.answer(event)
        self.assertEqual(kind, "response", body)
        self.assertEqual(self.failures(body), [ids[text]], self.runtime.log())

    def test_3_deadline_too_close_starts_nothing(self):
        late = s3_event(BUCKET, "uploads/late.jpg", len(self.good_bytes))
        text = s3_event(BUCKET, "uploads/text.jpg", len(self.text_bytes))
        event, ids = self.deliver(self.plain_url, "no-dlq", [late, text])
        deadline = int(time.time() * 1000) + 500  # below the 2000 ms margin
        kind, body = self.answer(event, deadline_ms=deadline)
        self.assertEqual(kind, "response", body)
        self.assertEqual(self.failures(body), sorted(ids.values()))
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix="thumbnails/")
        self.assertFalse([o for o in listed.get("Contents", []) if "late" in o["Key"]])

    def test_5_slow_image_is_cut_at_the_invocation_deadline(self):
        # Issue 13 item 4: a record is bounded by the invocation's remaining time (minus a
        # margin), not by limits.timeout_s (30 s): the invocation answers before its deadline
        # and lists the record for retry; on its last receive it is dead-lettered as timeout.
        slow = s3_event(BUCKET, "uploads/slow.jpg", 83)
        good = s3_event(BUCKET, "uploads/good.jpg", len(self.good_bytes))
        event, ids = self.deliver(self.queue_url, "uploads", [slow, good])
        deadline = int(time.time() * 1000) + 5000
        kind, body = self.answer(event, deadline_ms=deadline)
        answered_ms = int(time.time() * 1000)
        self.assertEqual(kind, "response", body)
        self.assertLess(answered_ms, deadline, self.runtime.log()[-3000:])
        self.assertEqual(self.failures(body), [ids[slow]], self.runtime.log()[-3000:])

        for record in event["Records"]:
            record["attributes"]["ApproximateReceiveCount"] = "3"  # maxReceiveCount
        event["Records"] = [r for r in event["Records"] if r["body"] == slow]
        deadline = int(time.time() * 1000) + 5000
        kind, body = self.answer(event, deadline_ms=deadline)
        self.assertLess(int(time.time() * 1000), deadline)
        self.assertEqual((kind, body), ("response", {"batchItemFailures": []}),
                         self.runtime.log()[-3000:])
        dead = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                        MessageAttributeNames=["All"]).get("Messages", [])
        reasons = {d["Body"]: d["MessageAttributes"]["thumbflow-reason"]["StringValue"]
                   for d in dead}
        self.assertEqual(reasons.get(slow), "timeout", self.runtime.log()[-3000:])
        self.assertIsNone(self.runtime.proc.poll(), "the runtime keeps serving")

    def test_4_event_that_is_not_sqs_goes_to_the_error_endpoint(self):
        kind, (error_type, body) = self.answer({"detail-type": "Scheduled Event"})
        self.assertEqual(kind, "error")
        self.assertEqual(error_type, "Runtime.InvalidEvent")
        self.assertEqual(body["errorType"], "Runtime.InvalidEvent")
        # The runtime keeps serving after an invocation error.
        kind, body = self.answer({"Records": []})
        self.assertEqual((kind, body), ("response", {"batchItemFailures": []}))

    def test_6_every_line_is_json_and_each_batch_has_an_emf_metrics_line(self):
        # Runs last: the batches of the tests above are in the log.
        lines = harness.json_log_lines(self.runtime.log(), "the runtime's stderr")
        emf = [line for line in lines if "_aws" in line]
        self.assertGreaterEqual(len(emf), 5, lines)
        for line in emf:
            self.assertEqual(line["msg"], "metrics")
            aws = line["_aws"]
            self.assertIsInstance(aws["Timestamp"], int)
            self.assertLessEqual(abs(aws["Timestamp"] / 1000 - time.time()), 3600)
            (directive,) = aws["CloudWatchMetrics"]
            self.assertEqual(directive["Namespace"], "thumbflow")
            self.assertEqual(directive["Dimensions"], [["FunctionName"]])
            self.assertEqual(line["FunctionName"], "thumbnails")
            for metric in directive["Metrics"]:
                self.assertIn(metric["Unit"], ("Count", "Milliseconds"), metric)
                self.assertIn(metric["Name"], line, "a declared metric without a value")
        # test_1's batch: a thumbnail, a dead letter, a missing source, a test event.
        first = [line for line in emf if line["Messages"] == 4]
        self.assertTrue(first, emf)
        self.assertEqual((first[0]["RecordsOk"], first[0]["RecordsPermanent"],
                          first[0]["RecordsGone"], first[0]["DeadLettered"],
                          first[0]["BatchItemFailures"]), (1, 1, 1, 1, 0), first[0])
        self.assertEqual(len(first[0]["ProcessingTime"]), first[0]["Records"])


if __name__ == "__main__":
    unittest.main()
