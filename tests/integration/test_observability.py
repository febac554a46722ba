"""Logs and metrics that fit the tools people use (issue 16 item 5), on `thumbflow serve`:

  - every line serve writes on stderr is one JSON object with time (RFC 3339 UTC, ms), level
    and msg: the start-up and stop lines, the workers' record lines, and what libvips says
    about a damaged image (a truncated JPEG), also from the codec helper processes; the
    human start-up banner (URL, the aws CLI's `export` lines, the dashboard) is on stdout;
  - --log-level (before or after the command) and [log] level; a bad level names the field;
  - /metrics has thumbflow_build_info, the standard process_* families and the processing
    histogram for every outcome, a failure included.
"""
import json
import os
import re
import tempfile
import time
import unittest
import urllib.request

import harness

ACCESS_KEY = "TFOBSACCESSKEY00001"
SECRET_KEY = "tf-obs-secret-key-0123456789abcdefghijk"
GOOD = os.path.join(harness.CORPUS, "orientation", "landscape_eveningglow_1.jpg")
TRUNCATED = os.path.join(harness.CORPUS, "reject", "truncated_60pct.jpg")
NOT_AN_IMAGE = os.path.join(harness.CORPUS, "reject", "text_named.jpg")


def start_serve(tmp, args=(), env=None, name="serve", before=()):
    """`thumbflow [before...] serve ...` on a free port, stderr and stdout kept apart."""
    port = harness.free_port()
    full_env = {"THUMBFLOW_ACCESS_KEY_ID": ACCESS_KEY, "THUMBFLOW_SECRET_ACCESS_KEY": SECRET_KEY,
                "THUMBFLOW_CONFIG": "", "THUMBFLOW_LOG_LEVEL": "",
                "XDG_CONFIG_HOME": tempfile.mkdtemp()}
    full_env.update(env or {})
    argv = [harness.BIN, *before, "serve", "--data", os.path.join(tmp, "data"), "--listen",
            f"127.0.0.1:{port}", *args]
    peer = harness.Peer(argv, env=full_env, log_dir=tmp, name=name, separate_stdout=True)
    endpoint = f"http://127.0.0.1:{port}"
    peer.wait_http(endpoint + "/healthz", timeout=30)
    harness.wait_for(lambda: "dashboard:" in peer.out(), timeout=30, what="serve's banner")
    return peer, endpoint


def client(endpoint):
    return harness.boto3_client("s3", endpoint, ACCESS_KEY, SECRET_KEY, signature_version="s3v4",
                                s3={"addressing_style": "path"})


def upload(endpoint, key, path):
    with open(path, "rb") as f:
        client(endpoint).put_object(Bucket="images", Key=key, Body=f.read())


def records(peer):
    return [line for line in harness.json_log_lines(peer.log()) if line["msg"] == "record"]


def record_for(peer, key):
    found = [r for r in records(peer) if r.get("key") == key]
    return found[-1] if found else None


class ServeLogsAndMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="tf-obs-")
        cls.serve, cls.endpoint = start_serve(cls.tmp, ["--workers", "1"])
        upload(cls.endpoint, "uploads/good.jpg", GOOD)
        upload(cls.endpoint, "uploads/truncated.jpg", TRUNCATED)
        upload(cls.endpoint, "uploads/notes.jpg", NOT_AN_IMAGE)
        for key in ("uploads/good.jpg", "uploads/truncated.jpg", "uploads/notes.jpg"):
            harness.wait_for(lambda: record_for(cls.serve, key), timeout=120,
                             what=f"the record line of {key}")

    @classmethod
    def tearDownClass(cls):
        cls.serve.stop()

    def test_every_stderr_line_is_json_with_time_and_level(self):
        lines = harness.json_log_lines(self.serve.log(), "serve's stderr")
        serving = [line for line in lines if line["msg"] == "serving"]
        self.assertEqual(len(serving), 1, lines)
        self.assertEqual(serving[0]["url"], self.endpoint)
        self.assertEqual(serving[0]["workers"], 1)
        self.assertEqual(serving[0]["credentials"], "environment")
        self.assertNotIn("token", json.dumps(serving[0]), "the login token stays out of logs")
        # The damaged JPEG: libvips' warning is the reason and detail of a JSON record line,
        # never plain VIPS-WARNING text.
        truncated = record_for(self.serve, "uploads/truncated.jpg")
        self.assertEqual((truncated["level"], truncated["outcome"], truncated["reason"]),
                         ("warn", "permanent", "truncated"), truncated)
        self.assertIn("premature end", truncated["detail"].lower(), truncated)
        self.assertEqual(record_for(self.serve, "uploads/good.jpg")["outcome"], "ok")
        self.assertNotIn("VIPS-WARNING", self.serve.log())

    def test_the_banner_on_stdout_has_the_url_the_exports_and_the_dashboard(self):
        out = self.serve.out()
        self.assertIn(f"thumbflow: serving S3 on {self.endpoint} (", out)
        self.assertIn("1 worker)", out)
        exports = re.findall(r"^  export (.*)$", out, re.M)
        self.assertEqual(exports, [f"AWS_ENDPOINT_URL={self.endpoint}",
                                   f'AWS_ACCESS_KEY_ID={ACCESS_KEY} '
                                   'AWS_SECRET_ACCESS_KEY="$THUMBFLOW_SECRET_ACCESS_KEY"'])
        self.assertRegex(out, rf"dashboard: {re.escape(self.endpoint)}/ui/\?token=[0-9a-f]+")

    def test_metrics_have_build_process_and_per_outcome_histograms(self):
        status, text = harness.http_get(self.endpoint + "/metrics")
        self.assertEqual(status, 200, text)
        self.assertRegex(text, r'(?m)^thumbflow_build_info\{version="[^"]+"(,commit="[0-9a-f]+")?'
                               r',libvips="\d+\.\d+\.\d+"\} 1$')
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        for family in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                       "process_virtual_memory_bytes", "process_start_time_seconds",
                       "process_open_fds", "process_max_fds"):
            self.assertGreater(samples.get(family, 0), 0, family)
        self.assertIn("# TYPE process_cpu_seconds_total counter", text)
        self.assertLessEqual(samples["process_start_time_seconds"], time.time())
        self.assertGreater(samples["process_start_time_seconds"], time.time() - 3600)
        # The processing histogram for a success and for the failures (labelled outcome).
        for outcome, least in (("ok", 1), ("permanent", 2)):
            key = ('thumbflow_pipeline_processing_seconds_bucket'
                   f'{{outcome="{outcome}",le="+Inf"}}')
            self.assertGreaterEqual(samples.get(key, 0), least, f"{key}\n{text}")
            self.assertIn(f'thumbflow_pipeline_processing_seconds_count{{outcome="{outcome}"}}',
                          samples)


class LogLevelTest(unittest.TestCase):
    def test_log_level_warn_hides_info_lines_before_or_after_the_command(self):
        for name, before, args in (("after", (), ("--log-level", "warn")),
                                   ("before", ("--log-level", "warn"), ())):
            tmp = tempfile.mkdtemp(prefix=f"tf-obs-{name}-")
            peer, endpoint = start_serve(tmp, ["--workers", "1", *args], before=before,
                                         name=name)
            try:
                upload(endpoint, "uploads/good.jpg", GOOD)
                upload(endpoint, "uploads/notes.jpg", NOT_AN_IMAGE)
                # The failure is a warn line; the success an info line, which must not show.
                harness.wait_for(lambda: record_for(peer, "uploads/notes.jpg"), timeout=120,
                                 what="the warn record line")
                harness.wait_for(lambda: '"thumbnails/small/good.jpg"' in json.dumps(
                    client(endpoint).list_objects_v2(Bucket="images", Prefix="thumbnails/")
                    .get("Contents", []), default=str) or None, timeout=120,
                    what="the good image's thumbnails")
            finally:
                self.assertEqual(peer.stop(), 0, peer.log())
            lines = harness.json_log_lines(peer.log())
            self.assertTrue(lines, name)
            self.assertEqual({line["level"] for line in lines} - {"warn", "error"}, set(),
                             (name, lines))
            self.assertIn("dashboard:", peer.out(), "the banner is not a log line")

    def test_log_level_from_the_config_and_the_environment(self):
        tmp = tempfile.mkdtemp(prefix="tf-obs-config-")
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write('[log]\nlevel = "error"\n')
        peer, _ = start_serve(tmp, ["--workers", "0", "--config", config], name="config")
        self.assertEqual(peer.stop(), 0, peer.log())
        self.assertEqual(harness.json_log_lines(peer.log()), [])
        # THUMBFLOW_LOG_LEVEL and then --log-level override [log] level.
        peer, _ = start_serve(tmp, ["--workers", "0", "--config", config], name="env",
                              env={"THUMBFLOW_LOG_LEVEL": "info"})
        self.assertEqual(peer.stop(), 0, peer.log())
        self.assertIn("serving", [line["msg"] for line in harness.json_log_lines(peer.log())])
        peer, _ = start_serve(tmp, ["--workers", "0", "--config", config, "--log-level", "debug"],
                              name="flag", env={"THUMBFLOW_LOG_LEVEL": "error"})
        self.assertEqual(peer.stop(), 0, peer.log())
        self.assertIn("stopped", [line["msg"] for line in harness.json_log_lines(peer.log())])

    def test_a_bad_level_names_the_field(self):
        tmp = tempfile.mkdtemp(prefix="tf-obs-bad-")
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write('[log]\nlevel = "nope"\n')
        data = os.path.join(tmp, "data")
        serve = ["serve", "--data", data, "--listen", f"127.0.0.1:{harness.free_port()}"]
        # serve: the error is a JSON line like the rest of its stderr.
        proc = harness.run_thumbflow([*serve, "--config", config], timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        (line,) = harness.json_log_lines(proc.stderr)
        self.assertEqual(line["level"], "error")
        self.assertIn("log.level", line["msg"])
        self.assertIn("nope", line["msg"])
        # A one-shot command keeps the plain text a person at a terminal reads.
        proc = harness.run_thumbflow(["queue", "stats", "--data", data, "--config", config])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"^thumbflow: .*log\.level")
        # The option and the variable are named too.
        proc = harness.run_thumbflow([*serve, "--log-level", "nope"], timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--log-level", proc.stderr)
        proc = harness.run_thumbflow(serve, env={"THUMBFLOW_LOG_LEVEL": "loud",
                                                 "THUMBFLOW_CONFIG": ""}, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        (line,) = harness.json_log_lines(proc.stderr)
        self.assertIn("THUMBFLOW_LOG_LEVEL", line["msg"])


if __name__ == "__main__":
    unittest.main()
