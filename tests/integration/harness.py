"""Shared fixtures for the integration tests: free ports, peers started and stopped by PID.

Everything listens on 127.0.0.1 only. Peers are started with their output in a log file
inside a temporary folder, so a failing test can print it.
"""
import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

ROOT = os.environ.get("THUMBFLOW_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
# The edge-case corpus committed with the repository (testdata/corpus/README.md). A few
# entries of its manifest are generated at test time (too big to commit): full_corpus()
# gives a folder with every file.
CORPUS = os.path.join(ROOT, "testdata", "corpus")
BIN = os.environ.get("THUMBFLOW_BIN") or os.path.join(ROOT, "build", "src", "cli", "thumbflow")

# Every temporary folder of a test process (data folders, peer logs, configs) is made inside
# one scratch folder that goes when the process exits, so runs leave nothing in /tmp. Failure
# messages carry the logs they need; THUMBFLOW_KEEP_TMP=1 keeps the folder for a post-mortem.
SCRATCH = tempfile.mkdtemp(prefix="tf-test-")
tempfile.tempdir = SCRATCH
if os.environ.get("THUMBFLOW_KEEP_TMP") != "1":
    atexit.register(shutil.rmtree, SCRATCH, True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_tool(name):
    """Skips the test when a peer is missing, except in CI, where a missing peer fails."""
    if shutil.which(name):
        return
    if os.environ.get("CI"):
        raise AssertionError(f"{name} is required in CI but is not installed")
    raise unittest.SkipTest(f"{name} is not installed; skipping")


def corpus_manifest():
    with open(os.path.join(CORPUS, "manifest.json")) as f:
        return json.load(f)


_full_corpus = None


def make_photo(source, dest, width, height):
    """Writes a width x height JPEG (Q90) made from corpus photo `source` with vips (upscaled,
    centre-cropped): the large photos the tests need are not committed."""
    require_tool("vips")
    argv = ["vips", "thumbnail", os.path.join(CORPUS, source), dest + "[Q=90,strip]", str(width),
            "--height", str(height), "--size", "up", "--crop", "centre"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed:\n{proc.stderr}")


def full_corpus():
    """A folder holding exactly the manifest's files: links to the committed ones and the
    generated ones (testdata/corpus/generate.py, which needs the `vips` command), made once
    per test process in the scratch folder."""
    global _full_corpus
    if _full_corpus is None:
        require_tool("vips")
        sys.path.insert(0, CORPUS)
        import generate  # testdata/corpus/generate.py
        _full_corpus = generate.materialize(os.path.join(SCRATCH, "corpus"), CORPUS)
    return _full_corpus


class Peer:
    """A child process started in its own process group and stopped by PID.

    Its stdout and stderr go to one log file, or, with separate_stdout=True, stderr to the
    log file and stdout to another (`out()`): thumbflow serve writes JSON log lines on stderr
    and its human start-up banner (URLs, `export` lines) on stdout."""

    def __init__(self, argv, env=None, log_dir=None, name="peer", separate_stdout=False):
        self.name = name
        self.log_dir = log_dir or tempfile.mkdtemp(prefix=f"tf-{name}-")
        self.log_path = os.path.join(self.log_dir, f"{name}.log")
        self._log = open(self.log_path, "ab")
        self.out_path = os.path.join(self.log_dir, f"{name}.out") if separate_stdout else None
        self._out = open(self.out_path, "ab") if separate_stdout else self._log
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, env=full_env, stdout=self._out, stderr=self._log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        """The peer's output so far (only stderr with separate_stdout); also readable after
        stop()."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def out(self):
        """The peer's stdout so far, with separate_stdout; else the same as log()."""
        if self.out_path is None:
            return self.log()
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_http(self, url, timeout=30.0, ok_statuses=(200,)):
        """Waits until `url` answers with one of `ok_statuses`; raises with the log if not."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status in ok_statuses:
                        return
            except urllib.error.HTTPError as e:
                if e.code in ok_statuses:
                    return
                last = e
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError(f"{self.name} did not answer {url} in {timeout}s ({last}):\n{self.log()}")

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        self._out.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def moto_server():
    """Starts moto_server on a free port; yields (endpoint_url, env for AWS clients)."""
    require_tool("moto_server")
    port = free_port()
    log_dir = tempfile.mkdtemp(prefix="tf-moto-")
    peer = Peer(["moto_server", "-H", "127.0.0.1", "-p", str(port)], env=MOTO_ENV,
                log_dir=log_dir, name="moto")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        peer.wait_http(endpoint + "/moto-api/", timeout=60)
        env = dict(MOTO_ENV)
        env["AWS_ENDPOINT_URL"] = endpoint
        # Keep the clients' own config out of the tests.
        env["AWS_CONFIG_FILE"] = os.devnull
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        yield endpoint, env
    finally:
        peer.stop()
        shutil.rmtree(log_dir, ignore_errors=True)


def boto3_client(service, endpoint, access_key="testing", secret_key="testing",
                 region="us-east-1", **config):
    """A boto3 client for `endpoint` (moto_server, whose test keys are the default, or
    thumbflow serve); `config` goes to botocore.config.Config as given (signature_version,
    s3={"addressing_style": ...}, retries): without it, botocore's defaults."""
    import boto3  # only the tests that talk to an AWS API need it
    import botocore.config
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        config=botocore.config.Config(**config))


def moto_clients(endpoint):
    """(s3, sqs): boto3 clients for moto_server at `endpoint` with its test keys, us-east-1."""
    return boto3_client("s3", endpoint), boto3_client("sqs", endpoint)


def run_thumbflow(args, env=None, timeout=300, input=None, check=False):
    """Runs the thumbflow binary; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([BIN] + list(args), env=full_env, capture_output=True, text=True,
                          timeout=timeout, input=input, check=check)


def set_up_reference(s3, sqs, bucket="images"):
    """The reference architecture on boto3 clients (moto_server): `bucket` whose uploads/
    prefix notifies queue `thumbnails` (visibility 60 s), which dead-letters to
    `thumbnails-dlq` (retention 10 days) after 3 receives. Returns (queue_url, dlq_url)."""
    dlq_url = sqs.create_queue(QueueName="thumbnails-dlq",
                               Attributes={"MessageRetentionPeriod": "864000"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName="thumbnails", Attributes={
        "VisibilityTimeout": "60",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": "3"})})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
            "Id": "thumbnails", "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}}}]})
    return queue_url, dlq_url


def make_gradient_png(path, width, height):
    """Writes a `width` x `height` RGB gradient PNG made with the vips CLI (libvips-tools):
    small on disk, while its decode (PNG has no shrink-on-load) keeps a worker busy."""
    require_tool("vips")
    work = tempfile.mkdtemp(prefix="tf-png-")
    steps = [["vips", "xyz", f"{work}/xy.v", str(width), str(height)],
             ["vips", "extract_band", f"{work}/xy.v", f"{work}/x.v", "0"],
             ["vips", "linear", f"{work}/x.v", f"{work}/g.v", str(255.0 / width), "0",
              "--uchar"],
             ["vips", "bandjoin_const", f"{work}/g.v", f"{work}/rgb.v", "40 90"],
             ["vips", "copy", f"{work}/rgb.v", path]]
    try:
        for argv in steps:
            subprocess.run(argv, check=True, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def http_get(url):
    """(status, body) of a GET; HTTP errors are answers, a connection failure is (0, why)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, str(e)


LOG_LEVELS = ("debug", "info", "warn", "error")


def json_log_lines(text, what="stderr"):
    """Parses every line of `text` as a thumbflow JSON log line and returns the objects;
    fails naming the first line that is not one (an object with "time" in RFC 3339 UTC with
    milliseconds, a known "level" and a "msg")."""
    import re
    time_re = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            raise AssertionError(f"{what} line {number} is not JSON: {line!r}") from None
        if not (isinstance(doc, dict) and isinstance(doc.get("time"), str)
                and time_re.match(doc["time"]) and doc.get("level") in LOG_LEVELS
                and isinstance(doc.get("msg"), str)):
            raise AssertionError(f"{what} line {number} lacks time/level/msg: {line!r}")
        lines.append(doc)
    return lines


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def stop_signals_blocked(pid):
    """Whether the main thread of `pid` blocks SIGTERM, SIGINT and SIGHUP (Linux /proc); True
    once the process has gone (nothing more to wait for)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    mask = int(line.split()[1], 16)
                    return all(mask >> (sig - 1) & 1 for sig in STOP_SIGNALS)
    except OSError:
        return True
    return False


def wait_for(predicate, timeout=120.0, what="condition", interval=0.2):
    """Polls `predicate` every `interval` seconds until it returns something true, and returns
    that; raises naming `what` after `timeout` seconds (a bound against hanging, not a timing
    assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def chromium(profile_dir, window="1400,1000"):
    """A headless Chromium driven by Selenium (Debian's chromium, chromium-driver and
    python3-selenium; scripts/bootstrap). Skips when one is missing, except in CI."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        # Debian's python3-selenium when this Python has none of its own: appended, so this
        # Python's packages keep precedence.
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if os.environ.get("CI"):
            raise
        raise unittest.SkipTest("python3-selenium is not installed (scripts/bootstrap)")
    for tool in ("chromium", "chromedriver"):
        require_tool(tool)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={window}", f"--user-data-dir={profile_dir}"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium")
    driver = webdriver.Chrome(options=options,
                              service=Service(executable_path=shutil.which("chromedriver")))
    driver.set_page_load_timeout(30)
    return driver
