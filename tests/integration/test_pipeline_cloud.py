"""Cloud mode end to end: `thumbflow worker` processes on moto_server's S3 + SQS, set up as
the reference architecture (bucket, uploads/ notification to a queue with visibility 60 s
and a DLQ after 3 receives; boto3 for the set-up, the aws CLI for uploads).

What this pins down:
  - two workers sharing one queue turn every uploaded image into thumbnails/{small,medium,
    large}/..., with the real Content-Type and the source ETag in the metadata;
  - a non-image ends in the DLQ with the reason as a message attribute, untouched body;
  - under normal operation no record is processed twice (JSON log lines of both workers);
  - --metrics-listen serves /metrics, /healthz and /readyz;
  - SIGTERM during processing: exit 0 within the grace period, and nothing is lost (a new
    worker finishes whatever was given back);
  - SIGTERM at any moment from the worker's first step (its stop signals blocked) on: set-up,
    "worker started", after a record: exit 0 with its start and stop lines.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import harness

# Photos from the corpus (testdata/corpus): four JPEGs and a PNG of 1-2 MP for the normal
# run; for the SIGTERM run, 12 MP JPEGs made from them with vips, so that each takes a while.
PHOTOS = ("jpeg/progressive.jpg", "jpeg/subsampling_420.jpg", "jpeg/subsampling_444.jpg",
          "jpeg/grayscale.jpg", "png/gray_alpha.png")
BIG_SOURCES = ("jpeg/progressive.jpg", "jpeg/subsampling_420.jpg", "jpeg/subsampling_444.jpg",
               "jpeg/grayscale.jpg", "jpeg/progressive_restart_markers.jpg",
               "jpeg/subsampling_422_odd_size.jpg")
SIZES = ("small", "medium", "large")
GRACE_S = 5


def aws_cli(env, endpoint, *args):
    proc = subprocess.run(["aws", "--endpoint-url", endpoint, *args], env=env,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"aws {' '.join(args)} failed:\n{proc.stderr}")


wait_for = harness.wait_for


def stop(peer, timeout):
    """Stops a worker; returns (exit code, its log). Peer.stop() closes the log handle."""
    code = peer.stop(timeout=timeout)
    with open(peer.log_path, "rb") as f:
        return code, f.read().decode("utf-8", "replace")


def record_lines(log_text):
    out = []
    for line in log_text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("msg") == "record":
            out.append(doc)
    return out


class PipelineCloudTest(unittest.TestCase):
    def setUp(self):
        harness.require_tool("aws")
        self.tmp = tempfile.mkdtemp(prefix="tf-pipeline-cloud-")
        self.config = os.path.join(self.tmp, "thumbflow.toml")
        self.write_config()
        self.workers = []

    def write_config(self, more_pipeline=""):
        with open(self.config, "w") as f:
            f.write(f"[pipeline]\nworkers = 2\ngrace_period = {GRACE_S}\n{more_pipeline}"
                    "[queue]\nreceive_wait_s = 1\n")

    def tearDown(self):
        for w in self.workers:
            w.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def set_up_reference(self, endpoint):
        self.s3, self.sqs = harness.moto_clients(endpoint)
        self.queue_url, self.dlq_url = harness.set_up_reference(self.s3, self.sqs)

    def start_worker(self, env, name, metrics_port=None):
        """A worker, returned once its /readyz answers 200 (it has logged "worker started").

        Waiting matters to every test that signals it: until the binary's ~100 libraries are
        loaded (0.1-0.2 s on a loaded 2-core machine) nothing of thumbflow runs, and a SIGTERM
        then kills it by the default action (-15, an empty log)."""
        metrics_port = metrics_port or harness.free_port()
        argv = [harness.BIN, "worker", "--config", self.config, "--queue-url", self.queue_url,
                "--metrics-listen", f"127.0.0.1:{metrics_port}"]
        peer = harness.Peer(argv, env=env, log_dir=self.tmp, name=name)
        self.workers.append(peer)
        peer.wait_http(f"http://127.0.0.1:{metrics_port}/readyz", timeout=30)
        return peer

    def thumbnails(self):
        keys = {}
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket="images", Prefix="thumbnails/"):
            for o in page.get("Contents", []):
                keys[o["Key"]] = o
        return keys

    def dead_letters(self):
        got = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10,
                                       VisibilityTimeout=0, MessageAttributeNames=["All"])
        return got.get("Messages", [])

    def queue_empty(self):
        a = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])
        a = a["Attributes"]
        return (int(a["ApproximateNumberOfMessages"]) == 0 and
                int(a["ApproximateNumberOfMessagesNotVisible"]) == 0)

    def test_two_workers_process_every_upload_once(self):
        with harness.moto_server() as (endpoint, moto_env):
            env = dict(moto_env)
            self.set_up_reference(endpoint)
            metrics_port = harness.free_port()
            metrics_port2 = harness.free_port()
            w1 = self.start_worker(env, "worker1", metrics_port)
            w2 = self.start_worker(env, "worker2", metrics_port2)

            images = [os.path.basename(p) for p in PHOTOS]
            cli_env = dict(os.environ)
            cli_env.update(moto_env)
            for i, path in enumerate(PHOTOS):
                aws_cli(cli_env, endpoint, "s3", "cp", os.path.join(harness.CORPUS, path),
                        f"s3://images/uploads/set{i % 2}/{images[i]}")
            notes = os.path.join(self.tmp, "notes.jpg")
            with open(notes, "w") as f:
                f.write("this is not a picture\n")
            aws_cli(cli_env, endpoint, "s3", "cp", notes, "s3://images/uploads/notes.jpg")

            expected = {f"thumbnails/{size}/set{i % 2}/{name}"
                        for i, name in enumerate(images) for size in SIZES}
            wait_for(lambda: expected <= set(self.thumbnails()), what="all thumbnails")
            dead = wait_for(self.dead_letters, what="the non-image in the DLQ")
            self.assertEqual(len(dead), 1)
            self.assertEqual(dead[0]["MessageAttributes"]["thumbflow-reason"]["StringValue"],
                             "not-an-image")
            body = json.loads(dead[0]["Body"])
            self.assertIn("notes.jpg", body["Records"][0]["s3"]["object"]["key"])
            wait_for(self.queue_empty, what="an empty queue")

            keys = self.thumbnails()
            self.assertFalse([k for k in keys if "notes.jpg" in k], "a reject has no thumbnails")
            head = self.s3.head_object(Bucket="images", Key=f"thumbnails/large/set0/{images[0]}")
            self.assertEqual(head["ContentType"], "image/jpeg")
            source = self.s3.head_object(Bucket="images", Key=f"uploads/set0/{images[0]}")
            self.assertEqual(head["Metadata"]["source-etag"], source["ETag"].strip('"'))
            self.assertEqual(head["Metadata"]["width"], "300")

            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                metrics = r.read().decode()
            self.assertIn("thumbflow_pipeline_records_total", metrics)
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port2}/metrics") as r:
                metrics2 = r.read().decode()
            # AWS client calls by service, operation and outcome; retries; the build. Either
            # worker may have taken every message, so the calls that follow work are looked
            # for in both; each worker has polled.
            for scrape in (metrics, metrics2):
                self.assertIn('thumbflow_aws_requests_total{service="sqs",'
                              'operation="ReceiveMessage",outcome="ok"} ', scrape)
            for call in ('service="sqs",operation="DeleteMessage",outcome="ok"',
                         'service="s3",operation="PutObject",outcome="ok"'):
                self.assertTrue(any(f"thumbflow_aws_requests_total{{{call}}} " in scrape
                                    for scrape in (metrics, metrics2)), call)
            self.assertIn('thumbflow_aws_retries_total{service="sqs",operation="ReceiveMessage"}',
                          metrics)
            self.assertIn("thumbflow_aws_request_duration_seconds_bucket{", metrics)
            self.assertIn("thumbflow_build_info{", metrics)
            self.assertIn("process_resident_memory_bytes ", metrics)
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz") as r:
                self.assertEqual(r.status, 200)

            code1, log1 = stop(w1, GRACE_S + 15)
            code2, log2 = stop(w2, GRACE_S + 15)
            self.assertEqual(code1, 0, log1)
            self.assertEqual(code2, 0, log2)
            # Every line a worker writes on stderr is JSON, its start and stop lines included.
            for log in (log1, log2):
                msgs = [line["msg"] for line in harness.json_log_lines(log, "worker stderr")]
                self.assertIn("worker started", msgs)
                self.assertIn("worker stopped", msgs)
            records = record_lines(log1) + record_lines(log2)
            done = [r["key"] for r in records if r["outcome"] == "ok" and not r.get("duplicate")]
            self.assertEqual(sorted(done), sorted(f"uploads/set{i % 2}/{n}"
                                                  for i, n in enumerate(images)),
                             "every image processed exactly once")
            rejected = [r for r in records if r["outcome"] == "permanent"]
            self.assertEqual([(r["key"], r["reason"]) for r in rejected],
                             [("uploads/notes.jpg", "not-an-image")])

    def test_sigterm_during_processing_loses_nothing(self):
        with harness.moto_server() as (endpoint, moto_env):
            env = dict(moto_env)
            self.set_up_reference(endpoint)
            big = []
            for i, source in enumerate(BIG_SOURCES):
                name = f"big{i}_{os.path.basename(source)}"
                harness.make_photo(source, os.path.join(self.tmp, name), 4000, 3000)
                big.append(name)
            # Everything is queued before the worker starts, so that the SIGTERM after its
            # first record finds work in progress and work not yet received (uploads made
            # while it ran could all be done before the test looked at its log).
            for name in big:
                with open(os.path.join(self.tmp, name), "rb") as f:
                    self.s3.put_object(Bucket="images", Key=f"uploads/{name}", Body=f.read())
            worker = self.start_worker(env, "worker-term")
            # Stop in the middle: after the first record, before the last.
            wait_for(lambda: record_lines(worker.log()), what="a first processed record")
            started = time.monotonic()
            worker.signal(signal.SIGTERM)
            worker.proc.wait(timeout=GRACE_S + 15)
            elapsed = time.monotonic() - started
            code, log = stop(worker, 1)  # it has exited: this closes its log handle
            self.assertEqual(code, 0, log)
            self.assertLess(elapsed, GRACE_S + 10, "exit within the grace period (plus poll)")
            self.assertIn("worker stopped", log)

            second = self.start_worker(env, "worker-after")
            expected = {f"thumbnails/{size}/{name}" for name in big for size in SIZES}
            wait_for(lambda: expected <= set(self.thumbnails()), timeout=300,
                     what="every thumbnail after the restart")
            wait_for(self.queue_empty, what="an empty queue")
            self.assertEqual(self.dead_letters(), [])
            code, log = stop(second, GRACE_S + 15)
            self.assertEqual(code, 0, log)

    def test_sigterm_at_each_moment_after_start_up_is_graceful(self):
        # The graceful stop holds from `worker`'s first step, blocking its stop signals
        # (core/stop_signal.h): a SIGTERM at that very moment, while the config, credentials
        # and codec helpers are set up, at "worker started" or after a record is an exit 0
        # with the start and stop lines. (Before that step the loader is still mapping the
        # binary's libraries and the default action applies; start_worker waits that out.)
        # Each moment gets a fresh worker; what they give back is done by the last one.
        # Messages a cut-off first poll had already taken stay invisible for the visibility
        # timeout (queue.h ReceiveOptions::abort): 10 s here rather than the queue's 60.
        # Every first poll that got its answer before the stop counts as a receive, as SQS
        # counts it, even though the worker releases those messages at once: eight workers
        # can take the same messages past the reference's 3 receives, and SQS then
        # dead-letters them (it did, in CI). This queue allows more receives.
        self.write_config("visibility_timeout = 10\n")
        with harness.moto_server() as (endpoint, moto_env):
            env = dict(moto_env)
            self.set_up_reference(endpoint)
            dlq_arn = self.sqs.get_queue_attributes(
                QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                             "maxReceiveCount": "50"})})
            names = []

            def upload(prefix):
                for path in PHOTOS:
                    names.append(prefix + os.path.basename(path))
                    with open(os.path.join(harness.CORPUS, path), "rb") as f:
                        self.s3.put_object(Bucket="images", Key=f"uploads/{names[-1]}",
                                           Body=f.read())

            upload("")
            argv = [harness.BIN, "worker", "--config", self.config, "--queue-url", self.queue_url]

            def signals_blocked(peer):
                return harness.stop_signals_blocked(peer.pid) or peer.proc.poll() is not None

            # (moment, reached(peer), polled every ... s, then a pause of ... s); the first
            # moment lasts milliseconds.
            moments = [(f"stop signals blocked + {pause} s", signals_blocked, 0.001, pause)
                       for pause in (0, 0.02, 0.05, 0.1, 0.2, 0.4)]
            moments += [("worker started", lambda peer: "worker started" in peer.log(), 0.2, 0),
                        ("a record made", lambda peer: record_lines(peer.log()), 0.2, 0)]
            for i, (moment, reached, interval, pause) in enumerate(moments):
                if moment == "a record made":
                    # An earlier worker may have made every thumbnail before its stop (the
                    # images are small): this one gets images of its own.
                    upload("again-")
                peer = harness.Peer(argv, env=env, log_dir=self.tmp, name=f"worker-moment{i}")
                self.workers.append(peer)
                wait_for(lambda: reached(peer), timeout=30, what=moment, interval=interval)
                time.sleep(pause)
                peer.signal(signal.SIGTERM)
                peer.proc.wait(timeout=GRACE_S + 15)
                code, log = stop(peer, 1)
                self.assertEqual(code, 0, f"SIGTERM at {moment}:\n{log}")
                msgs = [line["msg"] for line in harness.json_log_lines(log, "worker stderr")]
                self.assertIn("worker started", msgs, moment)
                self.assertIn("worker stopped", msgs, moment)

            last = self.start_worker(env, "worker-last")
            expected = {f"thumbnails/{size}/{name}" for name in names for size in SIZES}
            try:
                wait_for(lambda: expected <= set(self.thumbnails()), what="every thumbnail")
            except AssertionError as e:
                letters = [m["Body"][:300] for m in self.dead_letters()]
                raise AssertionError(f"{e}: missing {sorted(expected - set(self.thumbnails()))}"
                                     f"\ndead letters: {letters}\nlast worker:\n"
                                     f"{last.log()[-6000:]}") from None
            wait_for(self.queue_empty, what="an empty queue")
            self.assertEqual(self.dead_letters(), [])
            code, log = stop(last, GRACE_S + 15)
            self.assertEqual(code, 0, log)

    def start_idle_worker(self, env, name):
        """A worker with the default 20 s long poll, waited for until it is polling."""
        config = os.path.join(self.tmp, f"{name}.toml")
        with open(config, "w") as f:
            f.write("[pipeline]\nworkers = 1\n")  # [queue] receive_wait_s: the default 20
        port = harness.free_port()
        argv = [harness.BIN, "worker", "--config", config, "--queue-url", self.queue_url,
                "--metrics-listen", f"127.0.0.1:{port}"]
        peer = harness.Peer(argv, env=env, log_dir=self.tmp, name=name)
        self.workers.append(peer)
        peer.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=30)
        time.sleep(1)  # well into its first 20 s poll
        return peer

    def test_idle_worker_stops_at_once_on_sigterm(self):
        # The 20 s long poll is cut off: the old behaviour (waiting it out, 17.5 s measured)
        # cannot pass the bound below, which is generous for a prompt stop (about 1 s).
        with harness.moto_server() as (endpoint, moto_env):
            self.set_up_reference(endpoint)
            worker = self.start_idle_worker(dict(moto_env), "worker-idle")
            started = time.monotonic()
            worker.signal(signal.SIGTERM)
            code = worker.proc.wait(timeout=30)
            elapsed = time.monotonic() - started
            code, log = stop(worker, 1)
            print(f"\n  idle worker exited {elapsed:.2f} s after SIGTERM", flush=True)
            self.assertEqual(code, 0, log)
            self.assertLess(elapsed, 10, f"an idle worker took {elapsed:.1f} s to stop:\n{log}")
            self.assertIn("worker stopped", log)
            self.assertNotIn("receive failed", log)
            # Nothing lost: an upload made now is processed by the next worker.
            with open(os.path.join(harness.CORPUS, "jpeg/grayscale.jpg"), "rb") as f:
                self.s3.put_object(Bucket="images", Key="uploads/after-stop.jpg", Body=f.read())
            following = self.start_worker(dict(moto_env), "worker-next")
            expected = {f"thumbnails/{size}/after-stop.jpg" for size in SIZES}
            wait_for(lambda: expected <= set(self.thumbnails()),
                     what="the next upload's thumbnails")
            code, log = stop(following, GRACE_S + 15)
            self.assertEqual(code, 0, log)

    def test_sighup_stops_gracefully(self):
        # SIGHUP is a graceful stop (documented), never the default kill.
        with harness.moto_server() as (endpoint, moto_env):
            self.set_up_reference(endpoint)
            worker = self.start_idle_worker(dict(moto_env), "worker-hup")
            worker.signal(signal.SIGHUP)
            worker.proc.wait(timeout=30)
            code, log = stop(worker, 1)
            self.assertEqual(code, 0, log)
            self.assertIn("worker stopped", log)

    # Keys the pipeline accepts whose text looks like percent-encoding, with dots that are
    # not dot segments, spaces and reserved characters: the worker HEADs, GETs and PUTs each
    # under exactly its own bytes (its requests are signed and sent byte for byte).
    LITERAL_PATHS = ["enc/%2F..%2Fx.jpg", "enc/%25%32%46.jpg", "sp ace/ a +plus %20.jpg",
                     "..dots/x..y/....jpg", "res/!$&'()*,;=:@[]{}~.jpg",
                     "q/what?x=1&y=2#frag.jpg"]

    def test_keys_are_sent_literally(self):
        with harness.moto_server() as (endpoint, moto_env):
            self.set_up_reference(endpoint)
            with open(os.path.join(harness.CORPUS, "jpeg/grayscale.jpg"), "rb") as f:
                image = f.read()
            for path in self.LITERAL_PATHS:
                self.s3.put_object(Bucket="images", Key="uploads/" + path, Body=image)
            worker = self.start_worker(dict(moto_env), "worker-literal")
            expected = {f"thumbnails/{size}/{path}" for path in self.LITERAL_PATHS
                        for size in SIZES}
            wait_for(lambda: expected <= set(self.thumbnails()),
                     what="thumbnails under the literal keys")
            wait_for(self.queue_empty, what="an empty queue")
            self.assertEqual(self.dead_letters(), [])
            self.assertEqual(set(self.thumbnails()), expected, "no thumbnail under another key")
            for path in self.LITERAL_PATHS:
                head = self.s3.head_object(Bucket="images", Key=f"thumbnails/small/{path}")
                self.assertEqual(urllib.parse.unquote_plus(head["Metadata"]["source-key"]),
                                 "uploads/" + path)
            code, log = stop(worker, GRACE_S + 15)
            self.assertEqual(code, 0, log)
            # Each record was done once, none skipped as a duplicate or gone.
            done = sorted(r["key"] for r in record_lines(log) if r["outcome"] == "ok")
            self.assertEqual(done, sorted("uploads/" + p for p in self.LITERAL_PATHS))


if __name__ == "__main__":
    unittest.main()
