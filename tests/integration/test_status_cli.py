"""`thumbflow status --data DIR` through the binary, against a data folder that `serve` has
open, with messages put in and taken out by the `queue` commands (other processes).

What this pins down:
  - a folder without thumbflow data is an error (exit 1) and status creates nothing there;
    a missing --data is a usage error (exit 2);
  - visible / in_flight / delayed / dlq follow sends, receives, deletes and dead-lettering
    exactly, while `serve --workers 0` holds the database open; --config picks the queue;
  - throughput counts what the workers finished: with `serve --workers 1`, an event whose
    source does not exist (gone) and a body that is not an event (DLQ, not-an-event) show up
    in last_minute and last_5_minutes by outcome while serve runs idle (it flushes its
    counts every second), and stay the same after it stops.
"""
import json
import os
import shutil
import tempfile
import time
import unittest

import harness

ACCESS_KEY = "TFSTATUSACCESSKEY001"
SECRET_KEY = "tf-status-secret-key-0123456789abcdefghi"
DEPTHS = ("visible", "in_flight", "delayed", "dlq")


def event_body(key):
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "thumbnails",
               "bucket": {"name": "images"}, "object": {"key": key, "size": 10}}}]})


class StatusCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tf-status-cli-")
        self.data = os.path.join(self.tmp, "data")
        self.serve = None

    def tearDown(self):
        if self.serve:
            self.serve.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tf(self, *args):
        proc = harness.run_thumbflow(list(args) + ["--data", self.data], timeout=60)
        self.assertEqual(proc.returncode, 0, f"thumbflow {' '.join(args)} exited "
                         f"{proc.returncode}:\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
        return json.loads(proc.stdout)

    def depths(self, *args):
        status = self.tf("status", *args)
        return {k: status[k] for k in DEPTHS}

    def start_serve(self, workers, config=None):
        port = harness.free_port()
        argv = [harness.BIN, "serve", "--data", self.data, "--listen", f"127.0.0.1:{port}",
                "--workers", str(workers)]
        if config:
            argv += ["--config", config]
        self.serve = harness.Peer(
            argv, env={"THUMBFLOW_ACCESS_KEY_ID": ACCESS_KEY,
                       "THUMBFLOW_SECRET_ACCESS_KEY": SECRET_KEY},
            log_dir=self.tmp, name="serve")
        self.serve.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=30)

    def stop_serve(self):
        code = self.serve.stop(timeout=30)
        with open(self.serve.log_path, "rb") as f:  # stop() closed the Peer's handle
            self.assertEqual(code, 0, f.read().decode("utf-8", "replace"))

    def test_folder_without_data_is_an_error_and_stays_empty(self):
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        proc = harness.run_thumbflow(["status", "--data", empty])
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("thumbflow.db", proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(os.listdir(empty), [])
        proc = harness.run_thumbflow(["status", "--data", os.path.join(self.tmp, "nothing")])
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nothing")))
        proc = harness.run_thumbflow(["status"])
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)

    def test_depths_follow_the_queue_while_serve_runs(self):
        self.start_serve(workers=0)
        status = self.tf("status")
        self.assertEqual(status["data"], self.data)
        self.assertEqual(status["queue"], "thumbnails")
        self.assertEqual({k: status[k] for k in DEPTHS},
                         {"visible": 0, "in_flight": 0, "delayed": 0, "dlq": 0})
        self.assertEqual(status["throughput"]["last_minute"]["records"], 0)
        self.assertEqual(status["throughput"]["last_minute"]["seconds"], 60)
        self.assertEqual(status["throughput"]["last_5_minutes"]["seconds"], 300)

        for body in ("a", "b", "c"):
            self.tf("queue", "send", body)
        self.tf("queue", "send", "later", "--delay", "600")
        self.assertEqual(self.depths(), {"visible": 3, "in_flight": 0, "delayed": 1, "dlq": 0})

        got = self.tf("queue", "receive", "--max", "2", "--visibility", "600")
        self.assertEqual(len(got), 2)
        self.assertEqual(self.depths(), {"visible": 1, "in_flight": 2, "delayed": 1, "dlq": 0})
        self.tf("queue", "delete", got[0]["receipt"])
        self.assertEqual(self.depths(), {"visible": 1, "in_flight": 1, "delayed": 1, "dlq": 0})

        # With max_receive_count = 1 the second receive of a message dead-letters it.
        config = os.path.join(self.tmp, "once.toml")
        with open(config, "w") as f:
            f.write("[queue]\nmax_receive_count = 1\n")
        self.assertEqual(len(self.tf("queue", "receive", "--visibility", "0",
                                     "--config", config)), 1)
        self.assertEqual(self.tf("queue", "receive", "--config", config), [])
        self.assertEqual(self.depths(), {"visible": 0, "in_flight": 1, "delayed": 1,
                                         "dlq": 1})
        self.assertEqual(len(self.tf("dlq", "list")), 1)

        # Another queue is counted only when the config names it.
        other = os.path.join(self.tmp, "other.toml")
        with open(other, "w") as f:
            f.write('[queue]\nname = "other"\n')
        self.tf("queue", "send", "x", "--queue", "other")
        status = self.tf("status", "--config", other)
        self.assertEqual(status["queue"], "other")
        self.assertEqual({k: status[k] for k in DEPTHS},
                         {"visible": 1, "in_flight": 0, "delayed": 0, "dlq": 0})
        self.assertEqual(self.depths(), {"visible": 0, "in_flight": 1, "delayed": 1, "dlq": 1})
        self.stop_serve()
        self.assertEqual(self.depths(), {"visible": 0, "in_flight": 1, "delayed": 1, "dlq": 1})

    def test_throughput_counts_what_workers_finished(self):
        config = os.path.join(self.tmp, "poll.toml")
        with open(config, "w") as f:
            f.write("[queue]\nreceive_wait_s = 1\n")
        self.start_serve(workers=1, config=config)
        self.tf("queue", "send", event_body("uploads/missing.jpg"))
        self.tf("queue", "send", "this is not an S3 event")
        deadline = time.monotonic() + 30
        while self.depths() != {"visible": 0, "in_flight": 0, "delayed": 0, "dlq": 1}:
            self.assertLess(time.monotonic(), deadline,
                            f"not processed: {self.depths()}\n{self.serve.log()}")
            time.sleep(0.1)
        self.assertEqual(self.tf("dlq", "list")[0]["reason"], "not-an-event")

        def counts():
            status = self.tf("status")
            return {window: {k: status["throughput"][window][k]
                             for k in ("messages", "records", "gone", "permanent", "ok")}
                    for window in ("last_minute", "last_5_minutes")}

        expected = {"messages": 2, "records": 1, "gone": 1, "permanent": 1, "ok": 0}
        # While serve runs idle, its counts reach the file within about a second (bounded
        # wait, not a timed assertion: the failure is "never there", with what was seen).
        deadline = time.monotonic() + 30
        while counts() != {"last_minute": expected, "last_5_minutes": expected}:
            self.assertLess(time.monotonic(), deadline, f"idle serve, counts: {counts()}")
            time.sleep(0.2)
        self.stop_serve()
        self.assertEqual(counts(), {"last_minute": expected, "last_5_minutes": expected})
        t = self.tf("status")["throughput"]["last_minute"]
        self.assertAlmostEqual(t["records_per_second"], 1 / t["seconds"])


if __name__ == "__main__":
    unittest.main()
