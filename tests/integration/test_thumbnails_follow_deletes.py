"""Thumbnails follow their source: `[pipeline] delete_thumbnails = true`.

- embedded (`thumbflow serve`, the aws CLI and boto3): an upload gets its thumbnails; deleting
  the source with the aws CLI deletes them, and only them; a delete followed at once by a new
  upload under the same key ends with the new upload's thumbnails (whatever order the two
  events are handled in); with the option off (the default) a delete leaves the thumbnails
  and queues no removal event;
- on moto_server (S3 + SQS, `thumbflow worker`): the bucket notification sends
  s3:ObjectRemoved:* too, and the worker deletes the removed source's thumbnails.
"""
import json
import os
import tempfile
import time
import unittest

import harness
from test_pipeline_embedded import Serve, cli_json, wait_drained

SIZES = ("small", "medium", "large")
ON = "[pipeline]\ndelete_thumbnails = true\n"


def corpus(path):
    with open(os.path.join(harness.CORPUS, path), "rb") as f:
        return f.read()


def thumbnails(client, bucket, name):
    """{size: source-etag metadata} of the thumbnails of uploads/<name> that exist."""
    out = {}
    for size in SIZES:
        try:
            head = client.head_object(Bucket=bucket, Key=f"thumbnails/{size}/{name}")
        except client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                continue
            raise
        out[size] = head["Metadata"].get("source-etag")
    return out


class EmbeddedTest(unittest.TestCase):
    def setUp(self):
        harness.require_tool("aws")
        self.tmp = tempfile.mkdtemp(prefix="tf-follow-")

    def start(self, config_text):
        config = os.path.join(self.tmp, f"config-{len(os.listdir(self.tmp))}.toml")
        with open(config, "w") as f:
            f.write(config_text)
        serve = Serve(self.tmp, os.path.join(self.tmp, "data"), workers=2, config=config)
        self.addCleanup(serve.peer.stop)
        return serve

    def drained(self, serve):
        stats = wait_drained(serve, 0, 120)
        self.assertEqual((stats["visible"], stats["in_flight"], stats["delayed"], stats["dlq"]),
                         (0, 0, 0, 0), f"{stats}\n{serve.peer.log()[-3000:]}")

    def test_a_deleted_source_loses_its_thumbnails_and_a_new_upload_keeps_its_own(self):
        serve = self.start(ON)
        s3 = serve.client()
        photo = os.path.join(harness.CORPUS, "jpeg", "progressive.jpg")
        serve.aws("s3", "cp", photo, "s3://images/uploads/a.jpg")
        serve.aws("s3", "cp", photo, "s3://images/uploads/b.jpg")
        etag = s3.head_object(Bucket="images", Key="uploads/a.jpg")["ETag"].strip('"')
        harness.wait_for(lambda: len(thumbnails(s3, "images", "a.jpg")) == 3
                         and len(thumbnails(s3, "images", "b.jpg")) == 3,
                         what="thumbnails of a.jpg and b.jpg")
        self.assertEqual(thumbnails(s3, "images", "a.jpg"), {s: etag for s in SIZES})

        serve.aws("s3", "rm", "s3://images/uploads/a.jpg")
        harness.wait_for(lambda: not thumbnails(s3, "images", "a.jpg"),
                         what="the thumbnails of the deleted a.jpg to go")
        self.drained(serve)
        self.assertEqual(len(thumbnails(s3, "images", "b.jpg")), 3, "b.jpg's stay")
        removal = [r for r in serve.log_records()
                   if r.get("msg") == "record" and r.get("key") == "uploads/a.jpg"
                   and r.get("deleted")]
        self.assertEqual(len(removal), 1, serve.peer.log()[-3000:])
        self.assertEqual(sorted(d["key"] for d in removal[0]["deleted"]),
                         sorted(f"thumbnails/{s}/a.jpg" for s in SIZES))
        # The removal made no thumbnails: counted as `removed`, not `ok` (two uploads).
        status, text = harness.http_get(serve.endpoint + "/metrics")
        self.assertEqual(status, 200)
        for line in ('thumbflow_pipeline_records_total{outcome="ok"} 2',
                     'thumbflow_pipeline_records_total{outcome="removed"} 1',
                     'thumbflow_pipeline_processing_seconds_count{outcome="removed"} 1'):
            self.assertIn(line + "\n", text)

        # The re-upload race: delete and upload again at once; both events are queued in
        # order and handled by two workers. The end state is the new upload's thumbnails.
        for round_number in range(3):
            # JPEG again (the thumbnails keep their names), different bytes each round.
            new_bytes = corpus("jpeg/subsampling_420.jpg" if round_number % 2 == 0
                               else "jpeg/progressive_restart_markers.jpg")
            s3.delete_object(Bucket="images", Key="uploads/b.jpg")
            new_etag = s3.put_object(Bucket="images", Key="uploads/b.jpg",
                                     Body=new_bytes)["ETag"].strip('"')
            self.drained(serve)
            self.assertEqual(thumbnails(s3, "images", "b.jpg"), {s: new_etag for s in SIZES},
                             f"round {round_number}\n{serve.peer.log()[-3000:]}")

    def test_off_by_default_a_delete_leaves_the_thumbnails(self):
        serve = self.start("")
        s3 = serve.client()
        serve.aws("s3", "cp", os.path.join(harness.CORPUS, "jpeg", "progressive.jpg"),
                  "s3://images/uploads/keep.jpg")
        harness.wait_for(lambda: len(thumbnails(s3, "images", "keep.jpg")) == 3,
                         what="thumbnails of keep.jpg")
        self.drained(serve)
        serve.aws("s3", "rm", "s3://images/uploads/keep.jpg")
        stats = cli_json("queue", "stats", "--data", serve.data)
        self.assertEqual(stats["visible"] + stats["in_flight"], 0, "no removal event queued")
        self.assertEqual(len(thumbnails(s3, "images", "keep.jpg")), 3)


class CloudTest(unittest.TestCase):
    def test_the_worker_deletes_the_thumbnails_of_a_removed_source(self):
        with harness.moto_server() as (endpoint, env):
            s3, sqs = harness.moto_clients(endpoint)
            queue_url, _ = harness.set_up_reference(s3, sqs)
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"]["QueueArn"]
            # What deploy/ sets up when the option is on: removals notify the queue too.
            s3.put_bucket_notification_configuration(
                Bucket="images", NotificationConfiguration={"QueueConfigurations": [{
                    "Id": "thumbnails", "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [
                        {"Name": "prefix", "Value": "uploads/"}]}}}]})
            tmp = tempfile.mkdtemp(prefix="tf-follow-cloud-")
            config = os.path.join(tmp, "config.toml")
            with open(config, "w") as f:
                f.write(ON)
            worker = harness.Peer([harness.BIN, "worker", "--queue-url", queue_url, "--config",
                                   config, "--workers", "2"], env=env, log_dir=tmp,
                                  name="worker")
            self.addCleanup(worker.stop)
            photo = corpus("jpeg/progressive.jpg")
            etag = s3.put_object(Bucket="images", Key="uploads/x.jpg", Body=photo)["ETag"]
            s3.put_object(Bucket="images", Key="uploads/y.jpg", Body=photo)
            harness.wait_for(lambda: len(thumbnails(s3, "images", "x.jpg")) == 3
                             and len(thumbnails(s3, "images", "y.jpg")) == 3,
                             what=f"thumbnails on moto\n{worker.log()[-2000:]}")
            self.assertEqual(set(thumbnails(s3, "images", "x.jpg").values()), {etag.strip('"')})
            s3.delete_object(Bucket="images", Key="uploads/x.jpg")
            harness.wait_for(lambda: not thumbnails(s3, "images", "x.jpg"),
                             what=f"x.jpg's thumbnails to go\n{worker.log()[-2000:]}")
            self.assertEqual(len(thumbnails(s3, "images", "y.jpg")), 3)
            self.assertEqual(worker.stop(), 0, worker.log()[-2000:])
            lines = [json.loads(l) for l in worker.log().splitlines() if l.startswith("{")]
            deleted = [l for l in lines if l.get("key") == "uploads/x.jpg" and l.get("deleted")]
            self.assertEqual(len(deleted), 1, worker.log()[-3000:])


if __name__ == "__main__":
    unittest.main()
