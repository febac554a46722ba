"""`thumbflow dlq list|redrive|purge` and `thumbflow status` on SQS (--queue-url), on
moto_server.

What this pins down:
  - dead letters from both paths are listed with their fields: one that a `thumbflow worker`
    dead-lettered (a non-image under uploads/: reason not-an-image, from the thumbflow-reason
    message attribute) and one that SQS moved itself through the queue's RedrivePolicy
    (maxReceiveCount 1: reason max-receives); key, bucket, receive_count, time, body;
  - listing consumes nothing: afterwards the DLQ holds every message, visible, and a second
    list shows them again; each list is one receive per message (the count SQS keeps grows
    by one per look), and a Ctrl-C during a list makes what it holds visible at once;
  - a Ctrl-C during a redrive by copy moves each message exactly once (queue or DLQ), makes
    what it holds visible at once and prints what it moved (exit 1, "interrupted");
  - status prints the queue's and the DLQ's depths, as the embedded status does;
  - redrive --all on moto (which does not implement StartMessageMoveTask) falls back to
    receive/send/delete, says so on stderr, and leaves the original bodies in the queue without
    thumbflow's attributes; --method task fails there and moves nothing; redrive by id moves
    only that message;
  - dlq purge empties the DLQ; --dlq-url names a DLQ explicitly;
  - a refusal (moto's auth, unknown keys) names SQS's error code and request id;
  - bad usage exits 2, a missing queue exits 1, and `dlq list --data` on a folder that does
    not exist exits 1 and creates nothing.
"""
import json
import os
import shutil
import signal
import tempfile
import unittest
import urllib.request

import harness

wait_for = harness.wait_for


def event_body(key, bucket="images"):
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "thumbnails",
               "bucket": {"name": bucket}, "object": {"key": key, "size": 10}}}]})


class SqsOpsCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._moto = harness.moto_server()
        cls.endpoint, cls.env = cls._moto.__enter__()
        cls.s3 = harness.boto3_client("s3", cls.endpoint)
        cls.sqs = harness.boto3_client("sqs", cls.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls._moto.__exit__(None, None, None)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tf-sqs-ops-")
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def make_queues(self, name, max_receive_count):
        dlq_url = self.sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(
            QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = self.sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                         "maxReceiveCount": str(max_receive_count)})})["QueueUrl"]
        return queue_url, dlq_url

    def tf(self, *args, code=0):
        proc = harness.run_thumbflow(list(args), env=self.env, timeout=120)
        self.assertEqual(proc.returncode, code, f"thumbflow {' '.join(args)} exited "
                         f"{proc.returncode}:\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def tf_json(self, *args):
        return json.loads(self.tf(*args).stdout)

    def depth(self, url):
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (int(a["ApproximateNumberOfMessages"]),
                int(a["ApproximateNumberOfMessagesNotVisible"]))

    def drain(self, url):
        """Every message of `url` (received, then deleted)."""
        out = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           MessageAttributeNames=["All"],
                                           AttributeNames=["All"]).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def dead_letter_both_ways(self, queue_url, dlq_url):
        """One message dead-lettered by SQS's RedrivePolicy (maxReceiveCount 1), one by a
        thumbflow worker (a text file under uploads/: not-an-image)."""
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=event_body("uploads/moved.jpg"))
        # Received once (count 1 = maxReceiveCount); the next receive moves it to the DLQ.
        got = self.sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)
        self.assertEqual(len(got.get("Messages", [])), 1)
        self.assertEqual(self.sqs.receive_message(QueueUrl=queue_url).get("Messages", []), [])
        self.assertEqual(self.depth(dlq_url), (1, 0))

        self.s3.create_bucket(Bucket="images")
        self.s3.put_object(Bucket="images", Key="uploads/bad.jpg", Body=b"not an image at all")
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=event_body("uploads/bad.jpg"))
        config = os.path.join(self.tmp, "worker.toml")
        with open(config, "w") as f:
            f.write("[pipeline]\nworkers = 1\n[queue]\nreceive_wait_s = 1\n")
        worker = harness.Peer([harness.BIN, "worker", "--config", config, "--queue-url",
                               queue_url], env=self.env, log_dir=self.tmp, name="worker")
        self.peers.append(worker)
        wait_for(lambda: self.depth(dlq_url)[0] == 2, timeout=120,
                 what="the worker to dead-letter uploads/bad.jpg")
        self.assertEqual(worker.stop(timeout=30), 0, worker.log())

    def test_list_status_redrive_purge(self):
        queue_url, dlq_url = self.make_queues("ops", max_receive_count=1)
        self.dead_letter_both_ways(queue_url, dlq_url)

        letters = self.tf_json("dlq", "list", "--queue-url", queue_url)
        self.assertEqual(len(letters), 2, letters)
        by_key = {d["key"]: d for d in letters}
        self.assertEqual(set(by_key), {"uploads/bad.jpg", "uploads/moved.jpg"})
        bad, moved = by_key["uploads/bad.jpg"], by_key["uploads/moved.jpg"]
        self.assertEqual(bad["reason"], "not-an-image")
        self.assertEqual(bad["receive_count"], 1)
        self.assertEqual(bad["bucket"], "images")
        self.assertEqual(bad["keys"], ["uploads/bad.jpg"])
        self.assertEqual(bad["body"], event_body("uploads/bad.jpg"))
        self.assertEqual(bad["attributes"], {})  # thumbflow's own attributes are fields
        self.assertRegex(bad["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertRegex(bad["sent_time"], r"^\d{4}-\d\d-\d\dT")
        self.assertEqual(moved["reason"], "max-receives")
        self.assertGreaterEqual(moved["receive_count"], 1)
        self.assertEqual(moved["body"], event_body("uploads/moved.jpg"))
        # Nothing consumed: both are still there and visible, and a second list sees them.
        self.assertEqual(self.depth(dlq_url), (2, 0))
        again = self.tf_json("dlq", "list", "--queue-url", queue_url, "--max", "10")
        self.assertEqual({d["key"] for d in again}, {"uploads/bad.jpg", "uploads/moved.jpg"})
        self.assertEqual(len(self.tf_json("dlq", "list", "--queue-url", queue_url,
                                          "--max", "1")), 1)

        self.sqs.send_message(QueueUrl=queue_url, MessageBody=event_body("uploads/q.jpg"))
        status = self.tf_json("status", "--queue-url", queue_url)
        self.assertEqual(status["queue_url"], queue_url)
        self.assertEqual(status["dlq_url"], dlq_url)
        self.assertEqual((status["visible"], status["in_flight"], status["delayed"],
                          status["dlq"]), (1, 0, 0, 2), status)
        self.assertEqual(status["dlq_depth"], {"visible": 2, "in_flight": 0, "delayed": 0})
        self.assertIsNone(status["oldest_age_s"])
        self.drain(queue_url)

        # The message-move task: moto does not implement it; --method task says so, moves
        # nothing.
        proc = self.tf("dlq", "redrive", "--all", "--method", "task", "--queue-url", queue_url,
                       code=1)
        self.assertIn("StartMessageMoveTask", proc.stderr)
        self.assertEqual(self.depth(dlq_url), (2, 0))

        # By id: only that message moves.
        proc = self.tf("dlq", "redrive", "--queue-url", queue_url, bad["id"])
        self.assertEqual(json.loads(proc.stdout), {"redriven": 1, "method": "copy"})
        self.assertEqual(self.depth(dlq_url), (1, 0))
        back = self.drain(queue_url)
        self.assertEqual([m["Body"] for m in back], [event_body("uploads/bad.jpg")])
        self.assertNotIn("MessageAttributes", back[0])  # thumbflow-reason stays behind

        # --all, auto: falls back to copying on moto, and says why.
        proc = self.tf("dlq", "redrive", "--all", "--queue-url", queue_url)
        self.assertEqual(json.loads(proc.stdout), {"redriven": 1, "method": "copy"})
        self.assertIn("did not start a message-move task", proc.stderr)
        self.assertEqual(self.depth(dlq_url), (0, 0))
        status = self.tf_json("status", "--queue-url", queue_url)
        self.assertEqual((status["visible"], status["dlq"]), (1, 0), status)
        self.assertEqual([m["Body"] for m in self.drain(queue_url)],
                         [event_body("uploads/moved.jpg")])
        self.assertEqual(self.tf_json("dlq", "list", "--queue-url", queue_url), [])

        # Purge.
        for i in range(3):
            self.sqs.send_message(QueueUrl=dlq_url, MessageBody=event_body(f"uploads/{i}.jpg"))
        self.assertEqual(self.tf_json("status", "--queue-url", queue_url)["dlq"], 3)
        self.assertEqual(self.tf_json("dlq", "purge", "--queue-url", queue_url),
                         {"purged": True})
        self.assertEqual(self.depth(dlq_url), (0, 0))

    def test_list_is_one_receive_per_look_and_gives_back_at_once_on_ctrl_c(self):
        queue_url, dlq_url = self.make_queues("look", max_receive_count=3)
        for i in range(3):
            self.sqs.send_message(QueueUrl=dlq_url, MessageBody=event_body(f"uploads/{i}.jpg"))
        # Each list receives each message exactly once (SQS counts that; it cannot be
        # avoided): the DLQ's count, less the look itself, goes 0, 1, 2.
        for look in range(3):
            letters = self.tf_json("dlq", "list", "--queue-url", queue_url)
            self.assertEqual(sorted(d["receive_count"] for d in letters), [look] * 3, letters)
            self.assertEqual(self.depth(dlq_url), (3, 0), "visible again at once")

        # Ctrl-C while the list holds every message (its last, 1 s long poll finds nothing
        # new): it stops, gives them back at once and says so (exit 1). Before, SIGINT's
        # default action left them hidden for 120 s.
        for attempt in range(10):
            peer = harness.Peer([harness.BIN, "dlq", "list", "--queue-url", queue_url],
                                env=self.env, log_dir=self.tmp, name=f"list{attempt}",
                                separate_stdout=True)
            self.peers.append(peer)
            wait_for(lambda: self.depth(dlq_url)[1] == 3 or peer.proc.poll() is not None,
                     timeout=60, what="the list to hold every message", interval=0.01)
            if peer.proc.poll() is not None:
                continue  # it ended first: try again
            peer.signal(signal.SIGINT)
            code = peer.proc.wait(timeout=60)
            peer.stop(1)
            if code == 0:
                continue  # the signal came after the walk had ended
            self.assertEqual(code, 1, peer.log())
            self.assertIn("interrupted", peer.log())
            self.assertEqual(self.depth(dlq_url), (3, 0), "visible again at once")
            break
        else:
            self.fail("no list was interrupted while it held the messages in 10 attempts")

    def test_redrive_by_copy_on_ctrl_c_moves_each_message_once_and_gives_back_the_rest(self):
        # SIGINT while `dlq redrive --method copy` is between its first and last message: it
        # finishes the message in hand, gives back what it holds at once and exits 1
        # ("interrupted") with what it moved. Before, SIGINT's default action left the page
        # it held hidden for the walk's visibility timeout.
        total = 150
        bodies = sorted(event_body(f"uploads/{i}.jpg") for i in range(total))
        for attempt in range(5):
            queue_url, dlq_url = self.make_queues(f"stop{attempt}", max_receive_count=3)
            for i in range(0, total, 10):
                self.sqs.send_message_batch(QueueUrl=dlq_url, Entries=[
                    {"Id": str(j), "MessageBody": event_body(f"uploads/{j}.jpg")}
                    for j in range(i, i + 10)])
            self.assertEqual(self.depth(dlq_url), (total, 0))
            peer = harness.Peer([harness.BIN, "dlq", "redrive", "--all", "--method", "copy",
                                 "--queue-url", queue_url], env=self.env, log_dir=self.tmp,
                                name=f"redrive{attempt}", separate_stdout=True)
            self.peers.append(peer)
            wait_for(lambda: self.depth(queue_url)[0] > 0 or peer.proc.poll() is not None,
                     timeout=60, what="the redrive to move a first message", interval=0.01)
            if peer.proc.poll() is None:
                peer.signal(signal.SIGINT)
            code = peer.proc.wait(timeout=60)
            peer.stop(1)
            if code == 0:
                self.assertEqual(self.depth(queue_url), (total, 0), peer.log())
                continue  # it ended before the signal: try again
            self.assertEqual(code, 1, peer.log())
            self.assertIn("interrupted", peer.log())
            summary = json.loads(peer.out())
            moved = summary["redriven"]
            self.assertEqual(summary, {"redriven": moved, "method": "copy", "interrupted": True})
            # Nothing hidden: what was moved is in the queue, the rest back in the DLQ.
            self.assertEqual(self.depth(queue_url), (moved, 0), peer.log())
            self.assertEqual(self.depth(dlq_url), (total - moved, 0), peer.log())
            # Each message exactly once, in one queue or the other.
            in_queue = [m["Body"] for m in self.drain(queue_url)]
            in_dlq = [m["Body"] for m in self.drain(dlq_url)]
            self.assertEqual(len(in_queue), moved)
            self.assertEqual(sorted(in_queue + in_dlq), bodies)
            if 0 < moved < total:
                break
        else:
            self.fail("no redrive was interrupted between its first and last message in 5 "
                      "attempts")

    def test_explicit_dlq_and_endpoint_flags(self):
        queue_url = self.sqs.create_queue(QueueName="plain")["QueueUrl"]
        other_url = self.sqs.create_queue(QueueName="plain-dead")["QueueUrl"]
        self.sqs.send_message(QueueUrl=other_url, MessageBody=event_body("uploads/x.png"),
                              MessageAttributes={"thumbflow-reason": {
                                  "DataType": "String", "StringValue": "truncated"}})
        # Without a RedrivePolicy and without --dlq-url there is no DLQ to list.
        proc = self.tf("dlq", "list", "--queue-url", queue_url, code=1)
        self.assertIn("no dead-letter queue", proc.stderr)
        status = self.tf_json("status", "--queue-url", queue_url)
        self.assertIsNone(status["dlq_url"])
        self.assertEqual(status["dlq"], 0)
        # By name, with the endpoint given by flag instead of AWS_ENDPOINT_URL.
        env = dict(self.env)
        del env["AWS_ENDPOINT_URL"]
        proc = harness.run_thumbflow(["dlq", "list", "--queue-url", "plain", "--dlq-url",
                                      "plain-dead", "--endpoint-url", self.endpoint,
                                      "--region", "us-east-1"], env=env, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        letters = json.loads(proc.stdout)
        self.assertEqual([(d["key"], d["reason"]) for d in letters],
                         [("uploads/x.png", "truncated")])
        status = self.tf_json("status", "--queue-url", queue_url, "--dlq-url", other_url)
        self.assertEqual((status["dlq_url"], status["dlq"]), (other_url, 1))

    def set_auth(self, free_actions):
        """moto checks signatures and policies of every action after the next
        `free_actions` ("inf": never), as in test_credential_sources."""
        req = urllib.request.Request(self.endpoint + "/moto-api/reset-auth",
                                     data=str(free_actions).encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200)

    def test_a_refusal_names_the_aws_error_code_and_request_id(self):
        # With its authentication on, moto refuses keys it does not know with 403
        # InvalidClientTokenId (query-style XML with <Errors>, on SQS's JSON protocol too). The
        # user must read that code and the request id, not a bare "HTTP 403 Forbidden".
        queue_url, _ = self.make_queues("refused", max_receive_count=3)
        env = dict(self.env, AWS_ACCESS_KEY_ID="AKIAIOSFODNN7WRONGKY",
                   AWS_SECRET_ACCESS_KEY="not-the-secret")
        self.set_auth(0)
        try:
            proc = harness.run_thumbflow(["status", "--queue-url", queue_url], env=env,
                                         timeout=60)
        finally:
            self.set_auth("inf")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("access denied: ", proc.stderr)
        self.assertIn("sqs://refused: HTTP 403 InvalidClientTokenId: ", proc.stderr)
        self.assertRegex(proc.stderr, r"\(request id [A-Za-z0-9]+\)")

    def test_usage_and_missing_things(self):
        queue_url, _ = self.make_queues("usage", max_receive_count=3)
        data = os.path.join(self.tmp, "data")
        for args in (["dlq", "list"], ["status"],
                     ["dlq", "list", "--data", data, "--queue-url", queue_url],
                     ["status", "--data", data, "--queue-url", queue_url],
                     ["dlq", "purge", "--data", data, "--region", "eu-west-1"],
                     ["dlq", "list", "--queue-url", queue_url, "--queue", "other"],
                     ["dlq", "redrive", "--queue-url", queue_url],
                     ["dlq", "redrive", "--all", "--method", "teleport", "--queue-url",
                      queue_url]):
            proc = harness.run_thumbflow(args, env=self.env, timeout=60)
            self.assertEqual(proc.returncode, 2, f"{args}: {proc.stdout} {proc.stderr}")
            self.assertEqual(proc.stdout, "")
        missing = queue_url.rsplit("/", 1)[0] + "/no-such-queue"
        for args in (["dlq", "list", "--queue-url", missing],
                     ["status", "--queue-url", missing]):
            proc = harness.run_thumbflow(args, env=self.env, timeout=60)
            self.assertEqual(proc.returncode, 1, f"{args}: {proc.stdout} {proc.stderr}")
            self.assertIn("no-such-queue", proc.stderr)
        # A data folder that does not exist is an error for every dlq command, not an empty
        # DLQ, and is not created.
        for command in ("list", "purge"):
            proc = harness.run_thumbflow(["dlq", command, "--data", data], timeout=60)
            self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
            self.assertIn("thumbflow.db", proc.stderr)
            self.assertEqual(proc.stdout, "")
        proc = harness.run_thumbflow(["dlq", "redrive", "--all", "--data", data], timeout=60)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertFalse(os.path.exists(data))


if __name__ == "__main__":
    unittest.main()
