"""`thumbflow backfill`: thumbnails for objects that existed before the pipeline.

Embedded (`serve` on a data folder whose uploads notify nothing, so 1,000 objects exist
without events): a dry run queues nothing; a pass interrupted by SIGINT, resumed, killed with
SIGKILL, resumed again, completes without restarting from the first key; serve's workers then
make every object's thumbnails; a second pass queues nothing (all current); objects added
later are the only ones a third pass queues; --force queues everything again and the workers
remake it; on a terminal the progress is a bar.

On moto_server (S3 + SQS): the same 1,000 objects, a pass interrupted by SIGINT and resumed;
the queue then holds one S3 event per object (key, size and ETag of the object), in batches;
a second pass queues nothing (what the complete pass sent is pending).

Each object is a tiny valid PNG generated here (the same 67 bytes under every key).
"""
import base64
import concurrent.futures
import json
import os
import pty
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import harness
from test_pipeline_embedded import Serve, cli_json, wait_drained

N = 1000
# A 1x1 RGB PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
# Uploads queue nothing (the objects "predate" the pipeline); fsync off keeps 3,000 thumbnail
# writes quick (durability is not what this test is about).
NO_EVENTS = "notifications = []\n[storage]\nfsync = false\n"
KEYS = [f"uploads/{i // 100}/img{i:04d}.png" for i in range(N)]


def put_all(client, keys, bucket="images"):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=TINY_PNG), keys))


def start_backfill(args, env=None, delay_ms=0):
    """A backfill process with stdout/stderr in files; returns (Popen, out_path, err_path)."""
    tmp = tempfile.mkdtemp(prefix="tf-backfill-run-")
    out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
    argv = [harness.BIN, "backfill", *args]
    if delay_ms:
        argv += ["--test-batch-delay-ms", str(delay_ms)]
    full_env = dict(os.environ)
    full_env.update(env or {})
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=full_env,
                                stdin=subprocess.DEVNULL)
    return proc, out_path, err_path


def read(path):
    with open(path) as f:
        return f.read()


def finish(proc, out_path, err_path, timeout=120):
    proc.wait(timeout=timeout)
    return proc.returncode, read(out_path), read(err_path)


def state_of(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def state_files(folder):
    return [os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".json")]


class BackfillAssertions:
    def interrupt(self, args, state_path_of, sig, env=None):
        """Starts a slowed pass, waits until its state file records progress beyond what it
        held before, and sends `sig`. Returns (exit code, stdout, stderr, state before)."""
        before = state_of(state_path_of()) if state_path_of() else None
        before_listed = (before or {}).get("counts", {}).get("listed", 0)
        proc, out, err = start_backfill(args, env=env, delay_ms=25)
        try:
            harness.wait_for(
                lambda: proc.poll() is not None or (
                    state_path_of() and (state_of(state_path_of()) or {}).get(
                        "counts", {}).get("listed", 0) > before_listed),
                timeout=60, what="the backfill to record progress")
            self.assertIsNone(proc.poll(), f"finished before it could be interrupted:\n"
                                           f"{read(out)}\n{read(err)}")
            proc.send_signal(sig)
            return (*finish(proc, out, err), before)
        finally:
            if proc.poll() is None:
                proc.kill()

    def serve_without_events(self, name):
        """A `serve --workers 0` whose uploads queue nothing; returns (tmp, data, config, serve)."""
        tmp = tempfile.mkdtemp(prefix=f"tf-{name}-")
        data = os.path.join(tmp, "data")
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(NO_EVENTS)
        serve = Serve(tmp, data, workers=0, config=config)
        self.addCleanup(serve.peer.stop)
        return tmp, data, config, serve

    def summary(self, stdout):
        lines = [l for l in stdout.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, stdout)
        return json.loads(lines[0])


class EmbeddedTest(unittest.TestCase, BackfillAssertions):
    def test_embedded_pass_interrupted_resumed_then_nothing_left(self):
        tmp, data, config, serve = self.serve_without_events("backfill")
        s3 = serve.client()
        put_all(s3, KEYS)
        s3.put_object(Bucket="images", Key="uploads/readme.txt", Body=b"not an image")
        self.assertEqual(cli_json("queue", "stats", "--data", data)["visible"], 0)
        base = ["--data", data, "--config", config]
        state_dir = os.path.join(data, "backfill")

        # A dry run decides everything and sends nothing.
        code, out, err = finish(*start_backfill(base + ["--dry-run"]))
        self.assertEqual(code, 0, err)
        dry = self.summary(out)
        self.assertEqual((dry["listed"], dry["would_queue"], dry["queued"], dry["ignored"]),
                         (N + 1, N, 0, 1), dry)
        self.assertEqual(dry["prefix"], "uploads/")
        self.assertEqual(cli_json("queue", "stats", "--data", data)["visible"], 0)
        self.assertFalse(os.path.isdir(state_dir) and state_files(state_dir),
                         "a dry run writes no state")
        self.assertIn('"msg":"backfill progress"', err)  # not a terminal: JSON lines

        state_path = lambda: (state_files(state_dir) or [None])[0] if os.path.isdir(
            state_dir) else None
        # SIGINT: the batch in flight is finished, the state written, exit 1.
        code, out, err, _ = self.interrupt(base, state_path, signal.SIGINT)
        self.assertEqual(code, 1, err)
        first = self.summary(out)
        self.assertFalse(first["complete"])
        self.assertIn("interrupted", err)
        self.assertLess(first["listed"], N)
        state = state_of(state_path())
        self.assertEqual(state["after"], first["last_key"])
        self.assertFalse(state["complete"])
        self.assertEqual(cli_json("queue", "stats", "--data", data)["visible"], first["queued"])

        # SIGKILL: no summary; what was sent after the last state write is sent again.
        code, out, err, before = self.interrupt(base, state_path, signal.SIGKILL)
        self.assertEqual(code, -signal.SIGKILL)
        killed_state = state_of(state_path())
        self.assertGreater(killed_state["after"], before["after"])

        code, out, err = finish(*start_backfill(base))
        self.assertEqual(code, 0, err)
        last = self.summary(out)
        self.assertTrue(last["complete"])
        self.assertEqual(last["resumed_after"], killed_state["after"])
        self.assertLess(last["listed"], N, "resumed, not restarted")
        self.assertEqual(last["pass"]["listed"], N + 1, last)
        self.assertEqual(last["pass"]["ignored"], 1)
        self.assertTrue(state_of(state_path())["complete"])
        queued = cli_json("queue", "stats", "--data", data)["visible"]
        self.assertGreaterEqual(queued, N)
        self.assertLessEqual(queued - N, 200, "at most the batches of a second re-sent")

        # The workers make every object's thumbnails from those events.
        serve.peer.stop()
        serve = Serve(tmp, data, workers=2, config=config, name="serve-workers")
        self.addCleanup(serve.peer.stop)
        s3 = serve.client()
        stats = wait_drained(serve, 0, 300)
        self.assertEqual((stats["visible"], stats["in_flight"], stats["dlq"]), (0, 0, 0),
                         f"{stats}\n{serve.peer.log()[-3000:]}")
        small = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="images",
                                                                  Prefix="thumbnails/small/"):
            small.update(o["Key"] for o in page.get("Contents", []))
        self.assertEqual(small, {"thumbnails/small/" + k[len("uploads/"):] for k in KEYS})

        # A second pass: everything is current, nothing is queued.
        code, out, err = finish(*start_backfill(base))
        self.assertEqual(code, 0, err)
        again = self.summary(out)
        self.assertEqual((again["listed"], again["queued"], again["skipped"], again["ignored"]),
                         (N + 1, 0, N, 1), again)
        self.assertIsNone(again["resumed_after"])
        self.assertEqual(cli_json("queue", "stats", "--data", data)["visible"], 0)

        # Objects added later (still without events) are all a third pass queues.
        put_all(s3, ["uploads/late/a.png", "uploads/late/b.png"])
        code, out, err = finish(*start_backfill(base))
        late = self.summary(out)
        self.assertEqual((late["queued"], late["skipped"]), (2, N), late)
        wait_drained(serve, 0, 120)

        # --force queues every object again, marked for a remake: the workers rewrite them.
        before_ms = s3.head_object(Bucket="images", Key="thumbnails/large/0/img0000.png")[
            "LastModified"]
        time.sleep(1.1)  # S3's Last-Modified has whole seconds
        code, out, err = finish(*start_backfill(base + ["--force", "--prefix", "uploads/0/"]))
        self.assertEqual(code, 0, err)
        forced = self.summary(out)
        self.assertEqual((forced["queued"], forced["skipped"], forced["prefix"]),
                         (100, 0, "uploads/0/"), forced)
        wait_drained(serve, 0, 120)
        after_ms = s3.head_object(Bucket="images", Key="thumbnails/large/0/img0000.png")[
            "LastModified"]
        self.assertGreater(after_ms, before_ms, "remade although current")

    def test_terminal_progress_bar_and_usage_errors(self):
        tmp, data, config, serve = self.serve_without_events("backfill-tty")
        put_all(serve.client(), KEYS[:30])
        # stderr on a terminal: a bar redrawn in place.
        leader, follower = pty.openpty()
        proc = subprocess.Popen([harness.BIN, "backfill", "--data", data, "--config", config,
                                 "--dry-run"], stdout=subprocess.PIPE, stderr=follower,
                                stdin=subprocess.DEVNULL)
        os.close(follower)
        stdout, _ = proc.communicate(timeout=60)
        bar = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            bar += chunk
        os.close(leader)
        self.assertEqual(proc.returncode, 0, bar)
        self.assertIn(b"\r", bar)
        self.assertIn(b"30/30 listed, 30 would queue", bar)
        self.assertIn(b"ETA", bar)
        self.assertNotIn(b'"msg"', bar)
        self.assertEqual(json.loads(stdout)["would_queue"], 30)

        for args, needle in [
            ([], "--data DIR"),
            (["--data", data, "--queue-url", "q"], "not both"),
            (["--queue-url", "http://127.0.0.1:1/q"], "--bucket"),
            (["--data", data, "--prefix", "elsewhere/"], "upload_prefix"),
            (["--data", os.path.join(tmp, "missing")], "does not exist"),
        ]:
            code, out, err = finish(*start_backfill(args + ["--config", config]))
            self.assertEqual(code, 1 if needle == "does not exist" else 2, (args, err))
            self.assertIn(needle, err)
            self.assertEqual(out, "")


class CloudTest(unittest.TestCase, BackfillAssertions):
    def test_moto_pass_interrupted_resumed_one_event_per_object(self):
        with harness.moto_server() as (endpoint, env):
            s3, sqs = harness.moto_clients(endpoint)
            s3.create_bucket(Bucket="images")  # no notification: the objects predate it
            queue_url = sqs.create_queue(QueueName="thumbnails")["QueueUrl"]
            put_all(s3, KEYS)
            tmp = tempfile.mkdtemp(prefix="tf-backfill-moto-")
            state = os.path.join(tmp, "state.json")
            env = dict(env)
            env["XDG_STATE_HOME"] = os.path.join(tmp, "xdg")
            base = ["--bucket", "images", "--queue-url", queue_url, "--state", state]

            code, out, err, _ = self.interrupt(base, lambda: state, signal.SIGINT, env=env)
            self.assertEqual(code, 1, err)
            first = self.summary(out)
            self.assertFalse(first["complete"])
            self.assertEqual(first["mode"], "s3")
            code, out, err = finish(*start_backfill(base, env=env))
            self.assertEqual(code, 0, err)
            second = self.summary(out)
            self.assertTrue(second["complete"])
            self.assertEqual(second["resumed_after"], first["last_key"])
            self.assertEqual(first["queued"] + second["queued"], N, (first, second))

            # One event per object: 1,000 on the queue (the SIGINT stop wrote its state after
            # its last batch, so the resume sent none twice). moto's receive slows down with
            # the queue's length (about 1.5 s a call at 1,000 on a loaded machine), so the
            # bodies are checked on a sample of 30.
            def depth():
                attributes = sqs.get_queue_attributes(
                    QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
                return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            self.assertEqual(depth(), N)
            etags = {}
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket="images"):
                for o in page.get("Contents", []):
                    etags[o["Key"]] = o["ETag"].strip('"')
            seen = []
            for _ in range(3):
                for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                             VisibilityTimeout=600).get("Messages", []):
                    record = json.loads(m["Body"])["Records"][0]
                    key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
                    self.assertEqual(record["eventName"], "ObjectCreated:Put")
                    self.assertEqual(record["s3"]["object"]["eTag"], etags[key])
                    self.assertEqual(record["s3"]["object"]["size"], len(TINY_PNG))
                    seen.append(key)
            self.assertEqual(len(seen), 30)
            self.assertEqual(len(set(seen)), 30)

            # A second pass: what the complete pass sent is pending (on the queue, no
            # thumbnails yet), so nothing is sent again.
            code, out, err = finish(*start_backfill(base, env=env))
            self.assertEqual(code, 0, err)
            again = self.summary(out)
            self.assertEqual((again["listed"], again["queued"], again["pending"]), (N, 0, N),
                             again)
            self.assertEqual(depth(), N - 30)  # the 30 received are in flight


if __name__ == "__main__":
    unittest.main()
