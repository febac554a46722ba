"""End-to-end pipeline benchmark, side by side with the reference implementation.
Started by bench/pipeline/run.sh (see there for the command line); not a test.

Sides, each on fresh peers (127.0.0.1, free ports, stopped by PID, scratch dirs removed):
  serve      `thumbflow serve --data TMP --workers W`: embedded store, S3 endpoint, queue,
             workers in one process; uploads through its S3 endpoint.
  reference  moto_server set up as the reference architecture (bucket, uploads/
             notification to queue `thumbnails`, visibility 60 s, DLQ after 3 receives) and
             the Node + sharp consumer (reference_consumer.js) with W images in flight.
  worker     the same moto set-up consumed by `thumbflow worker --workers W`: the
             apples-to-apples comparison of the consumer alone.
  serve-nofsync  (diagnostic, not in the default set) serve with [storage] fsync = false:
             how much of serve's figures is the durability of each output on this disk.

Throughput: N images (the benchmark photos, bench/corpus, repeated; distinct keys) are PUT by U client
threads as fast as they go, after one warm-up image has gone through. images/s = N / (first
PUT start -> last record's thumbnails written). Per-image latency = PUT response received
by the client -> the consumer's log line for that record, which each consumer writes after
its last thumbnail PUT returned (thumbflow: the record line's "time"; Node: "done_ms"), so
it includes the time spent waiting in the queue behind the rest of the burst.

Single-image latency: one ~2 MP JPEG PUT into an idle side, `--latency-runs` times with
`--latency-pause` seconds between, each under a new key. Reported from the same log line:
PUT start -> written, PUT response -> written, and for thumbflow its own end_to_end_ms
(event time, i.e. the commit of the upload inside the server -> outputs written). The log
file is polled every 1 ms; the timestamps come from the consumer, so the polling adds
nothing to the figure (only the client and consumer clocks are the same clock: one machine).
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import botocore.config

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (Peer, free_port, MOTO_ENV, set_up_reference)

SIZES = ("small", "medium", "large")
ACCESS_KEY = "TFBENCHACCESSKEY0001"
SECRET_KEY = "tf-bench-secret-key-0123456789abcdefghij"
LATENCY_IMAGE = "j02_coldripple.jpg"  # 1789x1118 = 2.0 MP, 263 KB, baseline 4:2:0 Q90


def s3_client(endpoint, key, secret):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret,
                        config=botocore.config.Config(signature_version="s3v4",
                                                      s3={"addressing_style": "path"},
                                                      max_pool_connections=32))


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class RecordLog:
    """Reads a consumer's log incrementally; maps key -> (written at, Unix s; thumbflow's
    end_to_end_ms or None) for every successful, non-duplicate record."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.done = {}
        self.failed = []

    def poll(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        self.offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line = raw.strip()
            if not line.startswith(b"{"):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if doc.get("msg") != "record":
                continue
            if doc.get("outcome") != "ok":
                self.failed.append(doc)
                continue
            if doc.get("duplicate"):
                continue
            at = doc["done_ms"] / 1000.0 if "done_ms" in doc else parse_time(doc["time"])
            self.done[doc["key"]] = (at, doc.get("end_to_end_ms"))

    def wait(self, keys, timeout, peers, interval=0.001):
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if all(k in self.done for k in keys):
                return
            if self.failed:
                raise RuntimeError(f"records failed: {self.failed[:3]}")
            for p in peers:
                if p.proc.poll() is not None:
                    raise RuntimeError(f"{p.name} exited {p.proc.returncode}:\n{p.log()[-3000:]}")
            if time.monotonic() > deadline:
                missing = [k for k in keys if k not in self.done]
                raise RuntimeError(f"timed out: {len(missing)} of {len(keys)} not done "
                                   f"(first {missing[:3]})")
            time.sleep(interval)


class ServeSide:
    name = "thumbflow serve"
    config = None  # TOML text for --config, or None

    def __init__(self, args, tmp, peers):
        """`peers` is owned by the caller, which stops them all (in reverse order) even when
        this constructor fails; every process is added to it as soon as it starts."""
        self.peers = peers
        self.data = os.path.join(tmp, "data")
        port = harness.free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        env = {"THUMBFLOW_ACCESS_KEY_ID": ACCESS_KEY, "THUMBFLOW_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_EC2_METADATA_DISABLED": "true"}
        argv = [args.bin, "serve", "--data", self.data, "--listen", f"127.0.0.1:{port}",
                "--workers", str(args.workers)]
        if self.config:
            with open(os.path.join(tmp, "thumbflow.toml"), "w") as f:
                f.write(self.config)
            argv += ["--config", os.path.join(tmp, "thumbflow.toml")]
        self.peer = harness.Peer(argv, env=env, log_dir=tmp, name="serve")
        peers.append(self.peer)
        self.peer.wait_http(self.endpoint + "/healthz", timeout=60)
        self.client = s3_client(self.endpoint, ACCESS_KEY, SECRET_KEY)
        self.log = RecordLog(self.peer.log_path)


class ServeNoFsyncSide(ServeSide):
    """Diagnostic, not a product setting to recommend: object files not fsynced, to show
    what durability costs on this disk."""
    name = "thumbflow serve, no fsync"
    config = "[storage]\nfsync = false\n"


class MotoSide(ServeSide):
    """moto_server with the reference set-up and one consumer process. moto is started
    here rather than with harness.moto_server() so that its log stays inside `tmp`."""

    def __init__(self, args, tmp, peers):
        self.peers = peers
        port = harness.free_port()
        moto = harness.Peer(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            env=harness.MOTO_ENV, log_dir=tmp, name="moto")
        peers.append(moto)
        self.endpoint = f"http://127.0.0.1:{port}"
        moto.wait_http(self.endpoint + "/moto-api/", timeout=60)
        self.client = s3_client(self.endpoint, "testing", "testing")
        sqs = boto3.client("sqs", endpoint_url=self.endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        self.queue_url, _ = harness.set_up_reference(self.client, sqs)
        # Drain moto's s3:TestEvent so it is not part of the first timed batch.
        sqs.purge_queue(QueueUrl=self.queue_url)
        env = dict(harness.MOTO_ENV, AWS_ENDPOINT_URL=self.endpoint,
                   AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        self.peer = self.start_consumer(args, tmp, env)
        self.log = RecordLog(self.peer.log_path)


class ReferenceSide(MotoSide):
    name = "reference (Node+sharp, moto)"

    def start_consumer(self, args, tmp, env):
        env["NODE_PATH"] = os.path.join(args.node_dir, "node_modules")
        peer = harness.Peer(["node", os.path.join(HERE, "reference_consumer.js"),
                             self.queue_url, str(args.workers)],
                            env=env, log_dir=tmp, name="reference")
        self.peers.append(peer)
        return peer


class WorkerSide(MotoSide):
    name = "thumbflow worker (moto)"

    def start_consumer(self, args, tmp, env):
        metrics = harness.free_port()
        peer = harness.Peer([args.bin, "worker", "--queue-url", self.queue_url, "--workers",
                             str(args.workers), "--metrics-listen", f"127.0.0.1:{metrics}"],
                            env=env, log_dir=tmp, name="worker")
        self.peers.append(peer)
        peer.wait_http(f"http://127.0.0.1:{metrics}/readyz", timeout=60)
        return peer


SERVE_SIDES = {"serve": ServeSide, "serve-nofsync": ServeNoFsyncSide}
SIDES = dict(SERVE_SIDES, reference=ReferenceSide, worker=WorkerSide)


def percentile(values, p):
    values = sorted(values)
    i = min(len(values) - 1, int(round(p * (len(values) - 1))))
    return values[i]


def load_corpus(corpus):
    names = sorted(n for n in os.listdir(corpus)
                   if n.lower().endswith((".jpg", ".jpeg", ".png", ".webp")))
    out = []
    for n in names:
        with open(os.path.join(corpus, n), "rb") as f:
            out.append((n, f.read()))
    return out


def warm_up(side, image):
    key = "uploads/warmup/" + image[0]
    side.client.put_object(Bucket="images", Key=key, Body=image[1])
    side.log.wait([key], timeout=120, peers=side.peers)


def throughput(side, images, args, round_no):
    jobs = [(f"uploads/r{round_no}/{i // len(images)}/{images[i % len(images)][0]}",
             images[i % len(images)][1]) for i in range(args.images)]
    put_done = {}

    def put(job):
        side.client.put_object(Bucket="images", Key=job[0], Body=job[1])
        put_done[job[0]] = time.time()

    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(args.uploaders) as pool:
        uploads = list(pool.map(put, jobs))
    uploaded = time.time()
    keys = [k for k, _ in jobs]
    side.log.wait(keys, timeout=args.timeout, peers=side.peers, interval=0.02)
    end = max(side.log.done[k][0] for k in keys)
    lat = [(side.log.done[k][0] - put_done[k]) * 1000 for k in keys]
    # Untimed check that the log lines mean what they say: 3 thumbnails per image are listed.
    written = sum(1 for size in SIZES
                  for page in side.client.get_paginator("list_objects_v2").paginate(
                      Bucket="images", Prefix=f"thumbnails/{size}/r{round_no}/")
                  for _ in page.get("Contents", []))
    if written != len(SIZES) * len(keys) or len(uploads) != len(jobs):
        raise RuntimeError(f"{side.name}: {written} thumbnails listed for {len(keys)} images")
    return {"images_per_s": len(keys) / (end - start), "upload_s": uploaded - start,
            "total_s": end - start, "p50_ms": percentile(lat, 0.5),
            "p99_ms": percentile(lat, 0.99)}


def latency(side, image, args):
    put_start, put_resp, e2e = [], [], []
    for i in range(args.latency_runs):
        time.sleep(args.latency_pause)
        key = f"uploads/latency/{i}/{image[0]}"
        t0 = time.time()
        side.client.put_object(Bucket="images", Key=key, Body=image[1])
        t1 = time.time()
        side.log.wait([key], timeout=60, peers=side.peers)
        done, end_to_end = side.log.done[key]
        put_start.append((done - t0) * 1000)
        put_resp.append((done - t1) * 1000)
        if end_to_end is not None:
            e2e.append(end_to_end)
        # Untimed check that "written" means present: all three thumbnails answer HEAD.
        for size in SIZES:
            side.client.head_object(Bucket="images", Key=f"thumbnails/{size}/latency/{i}/"
                                    f"{image[0]}")
    out = {"put_start_p50_ms": statistics.median(put_start),
           "put_response_p50_ms": statistics.median(put_resp),
           "put_response_p99_ms": percentile(put_resp, 0.99)}
    if e2e:
        out["server_event_p50_ms"] = statistics.median(e2e)
    return out


def run_side(kind, args, images, latency_image, round_no):
    tmp = tempfile.mkdtemp(prefix="tf-pipebench-")
    peers = []
    try:
        side = SIDES[kind](args, tmp, peers)
        return measure(side, args, images, latency_image, round_no)
    except Exception:
        for p in peers:
            sys.stderr.write(f"--- {p.name} log ---\n{p.log()[-3000:]}\n")
        raise
    finally:
        for p in reversed(peers):
            p.stop(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


def measure(side, args, images, latency_image, round_no):
    warm_up(side, latency_image)
    result = {}
    if args.images > 0:
        result.update(throughput(side, images, args, round_no))
    if args.latency_runs > 0:
        result.update(latency(side, latency_image, args))
    return result


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--node-dir", required=True)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "bench", "corpus", "photos"),
                    help="folder of photos (default: built by bench/corpus/build.sh if missing)")
    ap.add_argument("--images", type=int, default=68)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--uploaders", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--sides", default="serve,reference,worker")
    ap.add_argument("--latency-runs", type=int, default=30)
    ap.add_argument("--latency-pause", type=float, default=0.3)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    sides = args.sides.split(",")
    if not set(sides) <= set(SIDES):
        ap.error(f"--sides: choose from {','.join(SIDES)}")
    subprocess.run([os.path.join(ROOT, "bench", "corpus", "build.sh"), "--if-missing", args.corpus],
                   check=True)
    images = load_corpus(args.corpus)
    latency_image = next(i for i in images if i[0] == LATENCY_IMAGE)

    results = {s: [] for s in sides}
    for r in range(args.rounds):
        for s in sides:  # interleaved: every round runs every side once
            res = run_side(s, args, images, latency_image, r)
            print(f"round {r + 1} {s}: {json.dumps(res)}", file=sys.stderr, flush=True)
            results[s].append(res)

    def med(s, field):
        vals = [r[field] for r in results[s] if field in r]
        return statistics.median(vals) if vals else None

    names = {k: v.name for k, v in SIDES.items()}
    ref = "reference" if "reference" in sides else None
    print(f"bench-corpus {len(images)} images repeated to {args.images}; {args.workers} workers "
          f"(reference: {args.workers} images in flight); {args.uploaders} upload threads; "
          f"{args.rounds} round(s), medians; {os.cpu_count()} cores")
    if args.images > 0:
        print(f"\n{'side':<30} {'images/s':>9} {'vs ref':>7} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'upload s':>9}")
        for s in sides:
            # Ratios within each round (the side-by-side pair), then their median.
            ratios = ([a["images_per_s"] / b["images_per_s"]
                       for a, b in zip(results[s], results[ref])] if ref else [])
            ratio = f"{statistics.median(ratios):.2f}x" if ratios else "-"
            per_round = " ".join(f"{r:.2f}" for r in ratios) if len(ratios) > 1 else ""
            print(f"{names[s]:<30} {fmt(med(s, 'images_per_s')):>9} {ratio:>7} "
                  f"{fmt(med(s, 'p50_ms'), 0):>8} {fmt(med(s, 'p99_ms'), 0):>8} "
                  f"{fmt(med(s, 'upload_s'), 2):>9}  {per_round}")
        print("(vs ref: median over rounds of this side's images/s / the reference's in the "
              "same round, each round's ratio after the table; latency: PUT response -> last "
              "thumbnail written, during the burst; upload s: time to PUT all N)")
    if args.latency_runs > 0:
        print(f"\nsingle {LATENCY_IMAGE} (2.0 MP) into an idle side, {args.latency_runs} runs, "
              f"{args.latency_pause} s apart (ms)")
        print(f"{'side':<30} {'PUT start p50':>14} {'PUT resp p50':>13} {'PUT resp p99':>13} "
              f"{'server event p50':>17}")
        for s in sides:
            print(f"{names[s]:<30} {fmt(med(s, 'put_start_p50_ms')):>14} "
                  f"{fmt(med(s, 'put_response_p50_ms')):>13} "
                  f"{fmt(med(s, 'put_response_p99_ms')):>13} "
                  f"{fmt(med(s, 'server_event_p50_ms')):>17}")
        print("(PUT start/resp: client clock at PUT start / at its response -> the consumer's "
              "record line, written after the last thumbnail PUT returned; server event: "
              "thumbflow's end_to_end_ms, upload committed -> outputs written)")


if __name__ == "__main__":
    main()
