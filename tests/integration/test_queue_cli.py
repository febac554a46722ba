"""The `queue` and `dlq` commands through the thumbflow binary, on a fresh data folder.

Time-dependent behaviour is covered by the C++ conformance suite with a manual clock; here
visibility 0 makes a message receivable again at once, and a config with
max_receive_count = 1 sends the second receive to the DLQ.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, run_thumbflow


class QueueCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tf-queue-cli-")
        self.data = os.path.join(self.dir, "data")  # created by `queue send`

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def tf(self, *args, expect=0):
        proc = run_thumbflow(list(args) + ["--data", self.data], timeout=60)
        self.assertEqual(proc.returncode, expect,
                         f"thumbflow {' '.join(args)} exited {proc.returncode}:\n"
                         f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        if expect == 0:
            return json.loads(proc.stdout)
        return proc

    def test_send_receive_delete_stats(self):
        sent = self.tf("queue", "send", '{"Records":[]}')
        self.assertRegex(sent["id"], r"^[0-9a-f-]{36}$")
        self.assertTrue(os.path.exists(os.path.join(self.data, "thumbflow.db")))
        # One reading: oldest_age_s grows by the second, so two readings may differ by one.
        stats = self.tf("queue", "stats")
        self.assertGreaterEqual(stats.pop("oldest_age_s"), 0)
        self.assertEqual(stats, {"visible": 1, "in_flight": 0, "delayed": 0, "dlq": 0})
        got = self.tf("queue", "receive", "--max", "10", "--visibility", "120")
        self.assertEqual(len(got), 1)
        self.assertEqual(set(got[0]), {"id", "receipt", "body", "receive_count", "attributes"})
        self.assertEqual(got[0]["id"], sent["id"])
        self.assertEqual(got[0]["body"], '{"Records":[]}')
        self.assertEqual(got[0]["receive_count"], 1)
        self.assertEqual(got[0]["attributes"], {})
        stats = self.tf("queue", "stats")
        self.assertEqual((stats["visible"], stats["in_flight"]), (0, 1))
        self.assertEqual(self.tf("queue", "receive"), [])
        self.tf("queue", "delete", got[0]["receipt"])
        stats = self.tf("queue", "stats")
        self.assertEqual(stats, {"visible": 0, "in_flight": 0, "delayed": 0, "dlq": 0,
                                 "oldest_age_s": 0})
        # Deleting again (already gone) is fine.
        self.tf("queue", "delete", got[0]["receipt"])

    def test_named_queues_are_separate(self):
        self.tf("queue", "send", "a", "--queue", "other")
        self.assertEqual(self.tf("queue", "receive"), [])
        got = self.tf("queue", "receive", "--queue", "other")
        self.assertEqual([m["body"] for m in got], ["a"])

    def test_delay_and_purge(self):
        self.tf("queue", "send", "later", "--delay", "600")
        self.tf("queue", "send", "now")
        stats = self.tf("queue", "stats")
        self.assertEqual((stats["visible"], stats["delayed"]), (1, 1))
        self.assertEqual(self.tf("queue", "purge"), {"purged": True})
        stats = self.tf("queue", "stats")
        self.assertEqual((stats["visible"], stats["delayed"]), (0, 0))

    def test_dead_letters_list_redrive_purge(self):
        config = os.path.join(self.dir, "thumbflow.toml")
        with open(config, "w") as f:
            f.write("[queue]\nmax_receive_count = 1\n")
        ids = [self.tf("queue", "send", body, "--config", config)["id"]
               for body in ("one", "two")]
        first = self.tf("queue", "receive", "--max", "10", "--visibility", "0",
                        "--config", config)
        self.assertEqual(len(first), 2)
        # Received once already; the next receive moves both to the DLQ.
        self.assertEqual(self.tf("queue", "receive", "--max", "10", "--config", config), [])
        letters = self.tf("dlq", "list", "--config", config)
        self.assertEqual(sorted(d["id"] for d in letters), sorted(ids))
        self.assertEqual({d["reason"] for d in letters}, {"max-receives"})
        self.assertEqual(set(letters[0]), {"id", "bucket", "key", "keys", "reason",
                                           "receive_count", "time", "sent_time",
                                           "first_receive_time", "attributes", "body"})
        one = next(d for d in letters if d["id"] == ids[0])
        # Not S3 events: no key; the embedded DLQ knows every time.
        self.assertEqual((one["body"], one["bucket"], one["key"], one["keys"]),
                         ("one", None, None, []))
        self.assertEqual(one["receive_count"], 1)
        for field in ("time", "sent_time", "first_receive_time"):
            self.assertRegex(one[field], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertLessEqual(one["sent_time"], one["first_receive_time"])
        self.assertLessEqual(one["first_receive_time"], one["time"])
        self.assertEqual(self.tf("queue", "stats", "--config", config)["dlq"], 2)

        self.assertEqual(self.tf("dlq", "redrive", ids[0], "--config", config), {"redriven": 1})
        back = self.tf("queue", "receive", "--config", config)
        self.assertEqual([(m["id"], m["body"], m["receive_count"]) for m in back],
                         [(ids[0], "one", 1)])
        self.assertEqual(self.tf("dlq", "redrive", "--all", "--config", config),
                         {"redriven": 1})
        self.assertEqual(self.tf("dlq", "list", "--config", config), [])
        # Back to the DLQ, then purge it.
        self.tf("queue", "receive", "--visibility", "0", "--config", config)
        self.tf("queue", "receive", "--config", config)
        self.assertEqual(len(self.tf("dlq", "list", "--config", config)), 1)
        self.assertEqual(self.tf("dlq", "purge"), {"purged": True})
        self.assertEqual(self.tf("dlq", "list"), [])

    def create_data(self):
        """An empty queue in the data folder (only `queue send` creates one)."""
        self.tf("queue", "send", "seed")
        self.tf("queue", "purge")

    def test_usage_and_failure_exit_codes(self):
        self.create_data()
        # Bad usage: 2.
        self.tf("queue", "receive", "--max", "11", expect=2)
        self.tf("queue", "receive", "--wait", "21", expect=2)
        self.tf("dlq", "redrive", expect=2)
        self.tf("dlq", "redrive", "--all", "some-id", expect=2)
        self.tf("queue", "delete", "not-a-receipt", expect=2)
        proc = run_thumbflow(["queue", "stats"])  # --data missing
        self.assertEqual(proc.returncode, 2, proc.stderr)
        bad_config = os.path.join(self.dir, "bad.toml")
        with open(bad_config, "w") as f:
            f.write("[queue]\nmax_receive_count = 0\n")
        proc = self.tf("queue", "stats", "--config", bad_config, expect=2)
        self.assertIn("queue.max_receive_count", proc.stderr)
        # Bad bodies: refused with a clear message, nothing stored.
        # (A 256 KiB argument exceeds the kernel's argv limit; a small configured limit
        # exercises the same check.)
        small = os.path.join(self.dir, "small.toml")
        with open(small, "w") as f:
            f.write("[queue]\nmax_body_bytes = 10\n")
        proc = run_thumbflow(["queue", "send", "x" * 11, "--data", self.data, "--config", small])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("limit", proc.stderr)
        self.assertEqual(self.tf("queue", "stats")["visible"], 0)
        # The operation itself fails (the data folder is a file): 1.
        blocker = os.path.join(self.dir, "file")
        open(blocker, "w").close()
        proc = run_thumbflow(["queue", "stats", "--data", blocker])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("thumbflow:", proc.stderr)

    def test_bad_utf8_body_is_refused(self):
        proc = subprocess.run([BIN.encode(), b"queue", b"send", b"\xff\xfe", b"--data",
                               self.data.encode()], capture_output=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"UTF-8", proc.stderr)
        self.assertEqual(self.tf("queue", "stats")["visible"], 0)

    def test_works_while_another_process_long_polls(self):
        # A receiver long-polls the same file; a send from another process reaches it.
        self.create_data()
        receiver = subprocess.Popen(
            [BIN, "queue", "receive", "--wait", "20", "--data", self.data],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.tf("queue", "stats")  # the file is shared, not locked
            self.tf("queue", "send", "cross-process")
            out, err = receiver.communicate(timeout=30)
        finally:
            if receiver.poll() is None:
                receiver.kill()
                receiver.wait()
        self.assertEqual(receiver.returncode, 0, err)
        got = json.loads(out)
        # The receiver may have started polling before or after the send; either way it
        # gets the message within its wait.
        self.assertEqual([m["body"] for m in got], ["cross-process"])


if __name__ == "__main__":
    unittest.main()
