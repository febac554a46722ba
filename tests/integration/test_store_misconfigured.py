"""Errors are classified by what happened (issue 13, item 6), on moto_server's S3 + SQS.

A worker whose configuration is wrong (its output bucket does not exist) must not
dead-letter healthy messages: they stay in the queue, /readyz says not ready and why, and
one loud line is logged (not one per message). Once the configuration is fixed, the same
messages become thumbnails with no redrive. A key that is genuinely bad is the message's
own fault and goes to the DLQ with reason `invalid-key`.
"""
import json
import os
import shutil
import tempfile
import unittest
import urllib.parse

import harness

SIZES = ("small", "medium", "large")


def bad_key_event(bucket, key):
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-12-05T12:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "thumbnails",
               "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": 10,
                          "eTag": "0123456789abcdef0123456789abcdef"}}}]})


class StoreMisconfiguredTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tf-misconfigured-")
        self.workers = []
        self.png = os.path.join(self.tmp, "src.png")
        harness.make_gradient_png(self.png, 640, 480)

    def tearDown(self):
        for w in self.workers:
            w.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_config(self, name, output_bucket):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("[pipeline]\nworkers = 2\ngrace_period = 5\nretry_base = 1\n"
                    "[queue]\nreceive_wait_s = 1\n"
                    f"[output]\nbucket = \"{output_bucket}\"\n")
        return path

    def start_worker(self, env, config, name, metrics_port):
        argv = [harness.BIN, "worker", "--config", config, "--queue-url", self.queue_url,
                "--metrics-listen", f"127.0.0.1:{metrics_port}"]
        peer = harness.Peer(argv, env=env, log_dir=self.tmp, name=name)
        self.workers.append(peer)
        peer.wait_http(f"http://127.0.0.1:{metrics_port}/healthz", timeout=30)
        return peer

    def attributes(self, url):
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (int(a["ApproximateNumberOfMessages"]),
                int(a["ApproximateNumberOfMessagesNotVisible"]))

    def test_misconfiguration_is_retried_and_a_bad_key_is_dead_lettered(self):
        with harness.moto_server() as (endpoint, moto_env):
            self.s3, self.sqs = harness.moto_clients(endpoint)
            self.queue_url, self.dlq_url = harness.set_up_reference(self.s3, self.sqs)
            self.s3.create_bucket(Bucket="thumbs-out")
            # The s3:TestEvent of the notification set-up: acknowledged by any worker, it
            # would end the pause this test looks at. Only the uploads' events stay.
            self.sqs.purge_queue(QueueUrl=self.queue_url)
            with open(self.png, "rb") as f:
                body = f.read()
            keys = [f"uploads/m/{i}.png" for i in range(4)]
            for key in keys:
                self.s3.put_object(Bucket="images", Key=key, Body=body, ContentType="image/png")
            harness.wait_for(lambda: self.attributes(self.queue_url)[0] == len(keys), 60,
                     "the upload events")

            # 1. The output bucket does not exist: a fault of the set-up, not of the images.
            port = harness.free_port()
            wrong = self.start_worker(moto_env, self.write_config("wrong.toml", "no-such-out"),
                                      "worker-wrong", port)
            # Until its first receive the worker is 503 "starting"; wait for the reason.
            status, body = harness.wait_for(
                lambda: (lambda r: r if r[0] == 503 and "misconfigured" in r[1] else None)(
                    harness.http_get(f"http://127.0.0.1:{port}/readyz")),
                120, "/readyz to report the misconfiguration")
            self.assertIn("no-such-out", body)
            # Held, not spending receives: past several back-offs nothing reaches the DLQ.
            harness.wait_for(lambda: wrong.log().count('"reason":"misconfigured"') >= 3 * len(keys),
                     120, "several rounds of retries")
            self.assertEqual(self.attributes(self.dlq_url), (0, 0))
            visible, in_flight = self.attributes(self.queue_url)
            self.assertEqual(visible + in_flight, len(keys))
            log = wrong.log()
            self.assertEqual(log.count('"msg":"paused'), 1, log[-4000:])
            code = wrong.stop(timeout=30)
            self.assertEqual(code, 0, wrong.log()[-4000:])
            # Stopping gave the held messages back at once.
            self.assertEqual(self.attributes(self.queue_url), (len(keys), 0))
            self.assertEqual(self.attributes(self.dlq_url), (0, 0))

            # 2. A key that is the message's own fault, beside the healthy ones.
            self.sqs.send_message(QueueUrl=self.queue_url,
                                  MessageBody=bad_key_event("images", "uploads/../escape.png"))

            # 3. Fixed configuration: every image gets its thumbnails, no redrive; the bad
            #    key is dead-lettered with its reason.
            port = harness.free_port()
            fixed = self.start_worker(moto_env, self.write_config("fixed.toml", "thumbs-out"),
                                      "worker-fixed", port)

            def done():
                listed = set()
                for page in self.s3.get_paginator("list_objects_v2").paginate(
                        Bucket="thumbs-out", Prefix="thumbnails/"):
                    listed.update(o["Key"] for o in page.get("Contents", []))
                want = {f"thumbnails/{s}/{k[len('uploads/'):]}" for k in keys for s in SIZES}
                return want <= listed and self.attributes(self.queue_url) == (0, 0)

            harness.wait_for(done, 180, "thumbnails of every image")
            dead = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                            VisibilityTimeout=0,
                                            MessageAttributeNames=["All"]).get("Messages", [])
            self.assertEqual(len(dead), 1, dead)
            reasons = {name: a.get("StringValue") for name, a in
                       dead[0].get("MessageAttributes", {}).items()}
            self.assertIn("invalid-key", reasons.values(), reasons)
            self.assertEqual(harness.http_get(f"http://127.0.0.1:{port}/readyz")[0], 200)
            self.assertEqual(fixed.stop(timeout=30), 0)


if __name__ == "__main__":
    unittest.main()
