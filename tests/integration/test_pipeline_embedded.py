"""The embedded pipeline end to end: `thumbflow serve` (store, S3 endpoint, SQLite queue and
workers in one process) driven by real S3 clients (the aws CLI v1 and boto3).

- the whole corpus uploaded with the aws CLI: every `ok` image gets its three thumbnails with
  the right size, Content-Type and metadata; every reject is in the DLQ with its reason and has
  no thumbnails;
- the same event delivered twice is processed once (outputs unchanged, logged as duplicate);
- SIGKILL in the middle of a burst of 200 uploads, restart on the same data folder: every
  acknowledged PUT gets its thumbnails, nothing is lost, the DLQ stays empty.
"""
import json
import os
import queue as pyqueue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import harness

ACCESS_KEY = "TFE2EACCESSKEY00001"
SECRET_KEY = "tf-e2e-secret-key-0123456789abcdefghijk"
SIZES = {"small": 50, "medium": 150, "large": 300}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif", ".tif",
                  ".tiff", ".jxl", ".svg")


def sniff(data):
    """Content type from the bytes' magic number, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


def event_key(body):
    return urllib.parse.unquote_plus(json.loads(body)["Records"][0]["s3"]["object"]["key"])


class Serve:
    """One `thumbflow serve` process on a free port with its own client configuration."""

    def __init__(self, tmp, data, workers=2, config=None, name="serve"):
        self.tmp = tmp
        self.data = data
        self.port = harness.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = {"THUMBFLOW_ACCESS_KEY_ID": ACCESS_KEY, "THUMBFLOW_SECRET_ACCESS_KEY": SECRET_KEY}
        argv = [harness.BIN, "serve", "--data", data, "--listen", f"127.0.0.1:{self.port}",
                "--workers", str(workers)]
        if config:
            argv += ["--config", config]
        self.peer = harness.Peer(argv, env=env, log_dir=tmp, name=name)
        self.peer.wait_http(self.endpoint + "/healthz", timeout=30)

    def client(self, **config):
        return harness.boto3_client("s3", self.endpoint, ACCESS_KEY, SECRET_KEY,
                                    signature_version="s3v4", s3={"addressing_style": "path"},
                                    **config)

    def aws(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                    "AWS_EC2_METADATA_DISABLED": "true"})
        proc = subprocess.run(["aws", "--endpoint-url", self.endpoint, *args], env=env,
                              capture_output=True, text=True, timeout=180)
        if proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n"
                                 f"--- serve log ---\n{self.peer.log()[-4000:]}")
        return proc

    def log_records(self):
        """The JSON log lines of serve (one per processed record, plus message lines)."""
        out = []
        for line in self.peer.log().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out


def cli_json(*args):
    proc = harness.run_thumbflow(list(args), timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"thumbflow {' '.join(args)} failed ({proc.returncode}): "
                             f"{proc.stderr}")
    return json.loads(proc.stdout)


def queue_stats(data):
    return cli_json("queue", "stats", "--data", data)


def dlq_list(data):
    return cli_json("dlq", "list", "--data", data)


def wait_drained(serve, expected_dlq, timeout):
    """Polls until nothing is visible, delayed or in flight and the DLQ holds `expected_dlq`.

    Returns the last stats; the caller asserts on them (a timeout is a failure, not a skip).
    """
    deadline = time.monotonic() + timeout
    stats = None
    while time.monotonic() < deadline:
        if serve.peer.proc.poll() is not None:
            raise AssertionError(f"serve exited with {serve.peer.proc.returncode}:\n"
                                 f"{serve.peer.log()[-4000:]}")
        stats = queue_stats(serve.data)
        if (stats["visible"] == 0 and stats["in_flight"] == 0 and stats["delayed"] == 0
                and stats["dlq"] == expected_dlq):
            return stats
        time.sleep(0.5)
    return stats


def list_keys(client, prefix):
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="images",
                                                                   Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def thumbnails_of(keys, path):
    """The output keys for the upload `uploads/{path}`: `{path}` or `{path}.{new ext}`."""
    found = {}
    for size in SIZES:
        base = f"thumbnails/{size}/{path}"
        hits = [k for k in keys if k == base or (k.startswith(base + ".")
                                                   and "/" not in k[len(base):])]
        if hits:
            found[size] = hits
    return found


class PipelineEmbeddedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        harness.require_tool("aws")
        cls.tmp = tempfile.mkdtemp(prefix="tf-e2e-")
        cls.data = os.path.join(cls.tmp, "data")
        cls.manifest = harness.corpus_manifest()
        cls.serve = Serve(cls.tmp, cls.data, workers=2)
        cls.corpus_done = False

    @classmethod
    def tearDownClass(cls):
        code = cls.serve.peer.stop(timeout=30)
        if code != 0:
            with open(cls.serve.peer.log_path, "rb") as f:
                tail = f.read().decode("utf-8", "replace")[-4000:]
            raise AssertionError(f"serve exited with {code}:\n{tail}")
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def upload_corpus(self):
        """Uploads the whole corpus once (shared by the tests of this class)."""
        cls = type(self)
        if cls.corpus_done:
            return
        self.serve.aws("s3", "cp", "--recursive", "--only-show-errors", harness.full_corpus(),
                       "s3://images/uploads/")
        rejects = [e for e in self.manifest if e["expect"] == "reject"]
        stats = wait_drained(self.serve, len(rejects), timeout=240)
        self.assertEqual((stats["visible"], stats["in_flight"], stats["delayed"], stats["dlq"]),
                         (0, 0, 0, len(rejects)),
                         f"queue not drained: {stats}\n{self.serve.peer.log()[-4000:]}")
        cls.corpus_done = True

    def test_1_corpus_end_to_end(self):
        self.upload_corpus()
        c = self.serve.client()
        uploads = list_keys(c, "uploads/")
        self.assertEqual(sorted(uploads), sorted("uploads/" + e["file"] for e in self.manifest))
        thumbs = list_keys(c, "thumbnails/")
        expected_thumbs = set()
        problems = []
        for e in self.manifest:
            if e["expect"] != "ok":
                continue
            path = e["file"]
            src_etag = c.head_object(Bucket="images", Key="uploads/" + path)["ETag"].strip('"')
            found = thumbnails_of(thumbs, path)
            ow, oh = e["oriented_width"], e["oriented_height"]
            for size, box in SIZES.items():
                hits = found.get(size, [])
                if len(hits) != 1:
                    problems.append(f"{path} {size}: thumbnails {hits}")
                    continue
                key = hits[0]
                expected_thumbs.add(key)
                obj = c.get_object(Bucket="images", Key=key)
                data = obj["Body"].read()
                meta = obj["Metadata"]
                ctype = obj["ContentType"]
                real = sniff(data)
                if real is None or ctype != real:
                    problems.append(f"{key}: Content-Type {ctype}, bytes say {real}")
                if meta.get("source-etag", "").strip('"') != src_etag:
                    problems.append(f"{key}: source-etag {meta.get('source-etag')} != {src_etag}")
                want_w = min(box, ow)
                want_h = want_w * oh / ow
                try:
                    w, h = int(meta["width"]), int(meta["height"])
                except (KeyError, ValueError):
                    problems.append(f"{key}: metadata {meta}")
                    continue
                if w != want_w or abs(h - want_h) > 1 or h < 1:
                    problems.append(f"{key}: {w}x{h}, expected {want_w}x{want_h:.1f} "
                                    f"(oriented {ow}x{oh})")
        dlq = dlq_list(self.data)
        by_key = {}
        for d in dlq:
            by_key.setdefault(event_key(d["body"]), []).append(d)
        for e in self.manifest:
            if e["expect"] != "reject":
                continue
            key = "uploads/" + e["file"]
            entries = by_key.get(key, [])
            if [d["reason"] for d in entries] != [e["reason"]]:
                problems.append(f"{key}: DLQ entries {[d['reason'] for d in entries]}, "
                                f"expected [{e['reason']}]")
            leaked = thumbnails_of(thumbs, e["file"])
            if leaked:
                problems.append(f"{key}: rejected but has thumbnails {leaked}")
        ok_keys = {"uploads/" + e["file"] for e in self.manifest if e["expect"] == "ok"}
        for key in by_key:
            if key in ok_keys:
                problems.append(f"{key}: ok image in the DLQ ({by_key[key][0]['reason']})")
        extra = sorted(set(thumbs) - expected_thumbs)
        if extra:
            problems.append(f"unexpected thumbnails: {extra}")
        self.assertEqual(problems, [], "\n".join(problems))

    def test_2_duplicate_delivery_is_processed_once(self):
        self.upload_corpus()
        c = self.serve.client()
        path = "jpeg/subsampling_420.jpg"
        key = "uploads/" + path
        head = c.head_object(Bucket="images", Key=key)
        thumbs = list_keys(c, "thumbnails/")
        found = thumbnails_of(thumbs, path)
        self.assertEqual(sorted(found), sorted(SIZES), found)
        before = {}
        for size, hits in found.items():
            obj = c.get_object(Bucket="images", Key=hits[0])
            before[hits[0]] = (obj["ETag"], obj["Body"].read(), obj["LastModified"])
        # The event the store emitted for this upload: the same shape as a dead letter's body
        # (bytes of the contract), with this object's key, size and ETag.
        template = json.loads(dlq_list(self.data)[0]["body"])
        obj = template["Records"][0]["s3"]["object"]
        obj["key"] = urllib.parse.quote_plus(key, safe="/")
        obj["size"] = head["ContentLength"]
        obj["eTag"] = head["ETag"].strip('"')
        body = json.dumps(template)
        sent = cli_json("queue", "send", "--data", self.data, body)
        deadline = time.monotonic() + 60
        lines = []
        while time.monotonic() < deadline:
            lines = [r for r in self.serve.log_records()
                     if r.get("message_id") == sent["id"] and r.get("msg") == "record"]
            if lines:
                break
            time.sleep(0.2)
        self.assertEqual(len(lines), 1, f"record lines for {sent['id']}: {lines}\n"
                         f"{self.serve.peer.log()[-3000:]}")
        self.assertEqual(lines[0]["key"], key)
        self.assertEqual(lines[0]["outcome"], "ok", lines[0])
        self.assertIs(lines[0].get("duplicate"), True, lines[0])
        stats = wait_drained(self.serve, len(dlq_list(self.data)), timeout=30)
        self.assertEqual((stats["visible"], stats["in_flight"]), (0, 0), stats)
        for k, (etag, data, modified) in before.items():
            obj = c.get_object(Bucket="images", Key=k)
            self.assertEqual(obj["ETag"], etag, k)
            self.assertEqual(obj["Body"].read(), data, k)
            self.assertEqual(obj["LastModified"], modified, k)
        # Processed once: exactly one non-duplicate ok record for this key in the whole log.
        first = [r for r in self.serve.log_records() if r.get("msg") == "record"
                 and r.get("key") == key and r.get("outcome") == "ok" and not r.get("duplicate")]
        self.assertEqual(len(first), 1, first)


class CrashRecoveryTest(unittest.TestCase):
    TOTAL = 200
    KILL_AFTER = 80
    THREADS = 4
    SOURCE = "jpeg/subsampling_422_odd_size.jpg"  # 1003x627, 84 KB

    def test_sigkill_mid_burst_loses_nothing(self):
        harness.require_tool("aws")
        tmp = tempfile.mkdtemp(prefix="tf-e2e-crash-")
        data = os.path.join(tmp, "data")
        # A short visibility timeout so the messages leased by the killed process come back
        # within seconds rather than the default minute.
        config = os.path.join(tmp, "thumbflow.toml")
        with open(config, "w") as f:
            f.write("[queue]\nvisibility_timeout_s = 6\n")
        with open(os.path.join(harness.CORPUS, self.SOURCE), "rb") as f:
            image = f.read()
        entry = next(e for e in harness.corpus_manifest() if e["file"] == self.SOURCE)

        serve = Serve(tmp, data, workers=2, config=config, name="serve-1")
        keys = [f"uploads/burst/img-{i:03d}.jpg" for i in range(self.TOTAL)]
        todo = pyqueue.Queue()
        for k in keys:
            todo.put(k)
        acked = {}
        lock = threading.Lock()
        up = threading.Event()
        up.set()
        current = {"serve": serve}
        errors_during_crash = []

        def uploader():
            client = None
            client_for = None
            while True:
                try:
                    key = todo.get_nowait()
                except pyqueue.Empty:
                    return
                while True:
                    up.wait(60)
                    s = current["serve"]
                    if client_for is not s:
                        client = s.client(retries={"max_attempts": 1, "mode": "standard"},
                                          connect_timeout=2, read_timeout=10)
                        client_for = s
                    try:
                        r = client.put_object(Bucket="images", Key=key, Body=image,
                                              ContentType="image/jpeg")
                    except Exception as e:  # connection refused/reset while serve is down
                        with lock:
                            errors_during_crash.append(f"{key}: {type(e).__name__}")
                        time.sleep(0.1)
                        continue
                    with lock:
                        acked[key] = r["ETag"].strip('"')
                    break

        threads = [threading.Thread(target=uploader) for _ in range(self.THREADS)]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with lock:
                    n = len(acked)
                if n >= self.KILL_AFTER:
                    break
                time.sleep(0.005)
            up.clear()
            serve.peer.kill()
            with lock:
                acked_at_kill = len(acked)
            self.assertGreaterEqual(acked_at_kill, self.KILL_AFTER)
            self.assertLess(acked_at_kill, self.TOTAL, "the burst finished before the kill")
            stats_at_kill = queue_stats(data)
            print(f"\n  killed after {acked_at_kill} acknowledged PUTs; queue then {stats_at_kill}",
                  flush=True)
            serve.peer._log.close()
            serve = Serve(tmp, data, workers=2, config=config, name="serve-2")
            current["serve"] = serve
            up.set()
            for t in threads:
                t.join(120)
            self.assertFalse(any(t.is_alive() for t in threads), "uploaders did not finish")
            self.assertEqual(sorted(acked), keys)
            stats = wait_drained(serve, 0, timeout=90)
            self.assertEqual((stats["visible"], stats["in_flight"], stats["delayed"],
                              stats["dlq"]), (0, 0, 0, 0),
                             f"not drained: {stats}\n{serve.peer.log()[-4000:]}")
            self.assertEqual(dlq_list(data), [])
            c = serve.client()
            thumbs = set(list_keys(c, "thumbnails/"))
            want_w = min(50, entry["oriented_width"])
            missing, wrong = [], []
            for key in keys:
                path = key[len("uploads/"):]
                for size, box in SIZES.items():
                    tkey = f"thumbnails/{size}/{path}"
                    if tkey not in thumbs:
                        missing.append(tkey)
                        continue
                    head = c.head_object(Bucket="images", Key=tkey)
                    meta = head["Metadata"]
                    want_w = min(box, entry["oriented_width"])
                    if (head["ContentType"] != "image/jpeg"
                            or meta.get("source-etag", "").strip('"') != acked[key]
                            or meta.get("width") != str(want_w)):
                        wrong.append(f"{tkey}: {head['ContentType']} {meta}")
            self.assertEqual(missing, [], f"{len(missing)} thumbnails missing "
                             f"(killed after {acked_at_kill} PUTs, queue then {stats_at_kill})")
            self.assertEqual(wrong, [])
            self.assertEqual(len(thumbs), 3 * self.TOTAL)
        finally:
            up.set()
            code = serve.peer.stop(timeout=30)
            for t in threads:
                t.join(5)
        with open(serve.peer.log_path, "rb") as f:
            tail = f.read().decode("utf-8", "replace")[-4000:]
        self.assertEqual(code, 0, tail)
        shutil.rmtree(tmp, ignore_errors=True)


class PromptRestartTest(unittest.TestCase):
    """A serve restarted after SIGKILL gives back at once what its dead predecessor held.

    The visibility timeout is 600 s here: waiting it out (the old behaviour) cannot finish
    within the generous bound below, while a prompt restart drains in seconds."""
    TOTAL = 40
    SOURCE = "jpeg/subsampling_422_odd_size.jpg"  # 1003x627, 84 KB

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tf-e2e-restart-")
        self.data = os.path.join(self.tmp, "data")
        self.config = os.path.join(self.tmp, "thumbflow.toml")
        with open(self.config, "w") as f:
            f.write("[queue]\nvisibility_timeout_s = 600\n")
        self.serves = []

    def tearDown(self):
        for serve in self.serves:
            serve.peer.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name, workers=2):
        serve = Serve(self.tmp, self.data, workers=workers, config=self.config, name=name)
        self.serves.append(serve)
        return serve

    def test_restart_after_sigkill_resumes_in_flight_messages_at_once(self):
        with open(os.path.join(harness.CORPUS, self.SOURCE), "rb") as f:
            image = f.read()
        # Uploads first (no workers), so the burst is all queued when the workers start.
        serve = self.start("serve-upload", workers=0)
        client = serve.client()
        keys = [f"uploads/restart/img-{i:03d}.jpg" for i in range(self.TOTAL)]
        for key in keys:
            client.put_object(Bucket="images", Key=key, Body=image, ContentType="image/jpeg")
        self.assertEqual(serve.peer.stop(timeout=30), 0, serve.peer.log())

        # Workers start; kill -9 while they hold leases.
        serve = self.start("serve-1")
        deadline = time.monotonic() + 120
        held = 0
        while time.monotonic() < deadline and held == 0:
            held = queue_stats(self.data)["in_flight"]
        serve.peer.kill()
        serve.peer._log.close()
        stats = queue_stats(self.data)
        self.assertGreater(stats["in_flight"], 0,
                           f"no lease was held when serve was killed: {stats}")

        serve = self.start("serve-2")
        stats = wait_drained(serve, 0, timeout=120)
        self.assertEqual((stats["visible"], stats["in_flight"], stats["delayed"], stats["dlq"]),
                         (0, 0, 0, 0),
                         f"the killed serve's leases were not given back at once: {stats}\n"
                         f"{serve.peer.log()[-3000:]}")
        self.assertIn("held by a previous serve are visible again", serve.peer.log())
        thumbs = set(list_keys(serve.client(), "thumbnails/"))
        missing = [f"thumbnails/{size}/{key[len('uploads/'):]}" for key in keys for size in SIZES
                   if f"thumbnails/{size}/{key[len('uploads/'):]}" not in thumbs]
        self.assertEqual(missing, [])
        self.assertEqual(serve.peer.stop(timeout=30), 0, serve.peer.log())

    def test_a_lease_of_another_live_process_is_never_touched(self):
        # A lease taken with `thumbflow queue receive` (no serve owns it) survives a serve
        # start, which releases only leases of dead serves.
        cli_json("queue", "send", "--data", self.data, '{"not": "an event"}')
        got = cli_json("queue", "receive", "--data", self.data, "--visibility", "600")
        self.assertEqual(len(got), 1)
        serve = self.start("serve-lease")
        self.assertEqual(queue_stats(self.data)["in_flight"], 1)
        self.assertNotIn("held by a previous serve", serve.peer.log())
        # The lease holder can still finish its work with its receipt.
        done = cli_json("queue", "delete", "--data", self.data, got[0]["receipt"])
        self.assertEqual(done["deleted"], 1)
        self.assertEqual(serve.peer.stop(timeout=30), 0, serve.peer.log())

    def test_sighup_stops_gracefully(self):
        serve = self.start("serve-hup")
        serve.peer.signal(signal.SIGHUP)
        serve.peer.proc.wait(timeout=30)
        log = serve.peer.log()
        code = serve.peer.stop()
        self.assertEqual(code, 0, log)
        self.assertIn("stopped", log)


if __name__ == "__main__":
    unittest.main()
