"""A full disk is a transient fault, never a reason to dead-letter (issue 13, item 1).

`thumbflow serve` keeps its data folder on a small tmpfs mounted by the test (the CI machine
runs as root; without root or mount the test fails when CI=true and is skipped otherwise).
A burst of uploads goes through boto3 with the SDK's retries off, so every answer is seen:
mid-burst a filler file takes the disk's space, the rest of the burst is refused with
503 SlowDown naming the disk (never 400 EntityTooLarge), /readyz says not ready, and the
workers' thumbnail writes fail for lack of space. Then the filler goes, and with no redrive:
every acknowledged upload (200) has its three thumbnails, the DLQ is empty, nothing is lost.
"""
import errno
import io
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from test_pipeline_embedded import Serve, dlq_list, queue_stats

TMPFS_BYTES = 48 << 20
RESERVE_BYTES = 4 << 20
SIZES = ("small", "medium", "large")


class TmpfsMount:
    """A tmpfs of `size` bytes mounted on a fresh folder; unmounted by close()."""

    def __init__(self, size):
        self.path = tempfile.mkdtemp(prefix="tf-tmpfs-")
        why = None
        if os.geteuid() != 0:
            why = "mounting a tmpfs needs root"
        elif not shutil.which("mount"):
            why = "mount is not installed"
        else:
            proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                   self.path], capture_output=True, text=True, timeout=30)
            if proc.returncode != 0:
                why = f"mount -t tmpfs failed: {proc.stderr.strip()}"
        if why:
            os.rmdir(self.path)
            if os.environ.get("CI"):
                raise AssertionError(f"{why}; CI must be able to run this test")
            raise unittest.SkipTest(why)
        self.mounted = True

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True, timeout=30)
            self.mounted = False
            os.rmdir(self.path)


def fill(path):
    """Writes `path` until the disk refuses (ENOSPC); returns the bytes written."""
    written = 0
    chunk = b"\0" * (256 << 10)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                if len(chunk) <= 4096:
                    return written
                chunk = chunk[: len(chunk) // 2]


def codec_helpers(serve_pid, count, timeout=30):
    """The pids of serve's `count` codec helpers (`thumbflow codec-helper SERVE_PID`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"codec-helper" in argv and str(serve_pid).encode() in argv:
                found.append(int(entry))
        if len(found) >= count or time.monotonic() > deadline:
            if len(found) < count:
                raise AssertionError(f"serve {serve_pid} has codec helpers {found}, "
                                     f"expected {count}")
            return found
        time.sleep(0.1)


def resume(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        harness.require_tool("vips")
        self.tmp = tempfile.mkdtemp(prefix="tf-diskfull-")
        self.mount = TmpfsMount(TMPFS_BYTES)
        self.addCleanup(self.mount.close)
        self.data = os.path.join(self.mount.path, "data")
        self.config = os.path.join(self.tmp, "thumbflow.toml")
        with open(self.config, "w") as f:
            # timeout_s: the images the held-back helpers have taken must not time out
            # while the burst is uploaded (see codec_helpers).
            f.write(f"[storage]\nmin_free_bytes = {RESERVE_BYTES}\n"
                    "[pipeline]\nworkers = 2\nretry_base = 1\n[limits]\ntimeout_s = 300\n")
        self.png = os.path.join(self.tmp, "src.png")
        harness.make_gradient_png(self.png, 2400, 1800)
        with open(self.png, "rb") as f:
            self.body = f.read()

    def test_full_disk_mid_burst_loses_nothing_and_dead_letters_nothing(self):
        serve = Serve(self.tmp, self.data, workers=2, config=self.config)
        self.addCleanup(serve.peer.stop)
        client = serve.client(retries={"max_attempts": 1, "mode": "standard"})
        self.assertEqual(harness.http_get(serve.endpoint + "/readyz")[0], 200)
        # The workers are held back while the first uploads are acknowledged, so that a
        # backlog meets the full disk: workers that kept up with the burst (they did, in
        # CI) would write nothing after the filler. Their codec helpers are stopped
        # (SIGSTOP); the two images they take wait, the rest stay queued.
        helpers = codec_helpers(serve.peer.pid, 2)
        for pid in helpers:
            os.kill(pid, signal.SIGSTOP)
        self.addCleanup(resume, helpers)

        total = 120
        acknowledged, refused = [], []
        filled = threading.Event()
        start_filling = threading.Event()

        def burst():
            for i in range(total):
                key = f"uploads/burst/{i:04d}.png"
                try:
                    # A file-like body makes botocore send "Expect: 100-continue", so a
                    # refusal arrives before the body is sent, as with the aws CLI.
                    client.put_object(Bucket="images", Key=key, Body=io.BytesIO(self.body),
                                      ContentType="image/png")
                    acknowledged.append(key)
                except client.exceptions.ClientError as e:
                    refused.append((key, e.response["ResponseMetadata"]["HTTPStatusCode"],
                                    e.response["Error"].get("Code"),
                                    e.response["Error"].get("Message", "")))
                if i == 40:
                    start_filling.set()
                    filled.wait(60)

        uploader = threading.Thread(target=burst)
        uploader.start()
        self.assertTrue(start_filling.wait(300))
        filler = os.path.join(self.mount.path, "filler")
        fill(filler)
        resume(helpers)
        filled.set()
        uploader.join(600)
        self.assertFalse(uploader.is_alive())

        # While full: the rest of the burst was refused with a retryable 503 naming the
        # disk, never EntityTooLarge; /readyz says why.
        log = serve.peer.log()
        self.assertGreaterEqual(len(acknowledged), 41)
        self.assertTrue(refused, "the burst after the filler should be refused")
        for key, status, code, message in refused:
            self.assertEqual((status, code), (503, "SlowDown"), (key, message))
            self.assertTrue("min_free_bytes" in message or "No space left" in message,
                            (key, message))
        status, body = harness.http_get(serve.endpoint + "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("not ready", body)
        # A 1-byte upload is refused the same way (the EntityTooLarge case).
        with self.assertRaises(client.exceptions.ClientError) as tiny:
            client.put_object(Bucket="images", Key="uploads/tiny.png", Body=io.BytesIO(b"x"))
        self.assertEqual(tiny.exception.response["Error"]["Code"], "SlowDown")

        # The workers ran into the full disk: held and retried, never dead-lettered.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and '"reason":"no-space"' not in log:
            time.sleep(0.5)
            log = serve.peer.log()
        self.assertIn('"reason":"no-space"', log, "no thumbnail write met the full disk")
        self.assertNotIn('"reason":"too-large"', log)

        # Space comes back: everything acknowledged finishes, with no redrive.
        os.unlink(filler)
        deadline = time.monotonic() + 300
        missing = None
        while time.monotonic() < deadline:
            stats = queue_stats(self.data)
            keys = set()
            for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket="images", Prefix="thumbnails/"):
                keys.update(o["Key"] for o in page.get("Contents", []))
            missing = [(size, key) for key in acknowledged for size in SIZES
                       if f"thumbnails/{size}/{key[len('uploads/'):]}" not in keys]
            if not missing and stats["visible"] + stats["in_flight"] + stats["delayed"] == 0:
                break
            time.sleep(1)
        log = serve.peer.log()
        self.assertEqual(missing, [], f"acknowledged uploads without thumbnails; log:\n{log[-6000:]}")
        stats = queue_stats(self.data)
        self.assertEqual(stats["dlq"], 0, dlq_list(self.data))
        self.assertEqual(stats["visible"] + stats["in_flight"] + stats["delayed"], 0, stats)
        self.assertEqual(harness.http_get(serve.endpoint + "/readyz")[0], 200)
        self.assertIn('"msg":"paused', log.replace(" ", ""))
        self.assertNotIn("EntityTooLarge", log)
        # Refused uploads stored nothing; acknowledged ones are all there.
        listed = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket="images",
                                                                     Prefix="uploads/"):
            listed.update(o["Key"] for o in page.get("Contents", []))
        self.assertEqual(listed, set(acknowledged))
        print(f"disk full: {len(acknowledged)} acknowledged, {len(refused)} refused with 503, "
              f"0 lost, DLQ empty", flush=True)
        self.assertEqual(serve.peer.stop(), 0)


if __name__ == "__main__":
    unittest.main()
